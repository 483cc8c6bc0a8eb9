/* study.c - reading analysis/NAME.yaml with libyaml's event parser (see study.h). */
#include "study.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "../core/err.h"

void agg_list_push(agg_list_t *l, const char *s) {
  l->v = dpt_realloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
  l->v[l->n++] = dpt_strdup(s);
}

void agg_list_push_split(agg_list_t *l, const char *s) {
  for (;;) {
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    while (len && *s == ' ') s++, len--;
    while (len && s[len - 1] == ' ') len--;
    if (len) {
      char *part = dpt_alloc(len + 1);
      memcpy(part, s, len);
      agg_list_push(l, part);
      dpt_free(part);
    }
    if (!comma) return;
    s = comma + 1;
  }
}

void agg_list_free(agg_list_t *l) {
  for (int i = 0; i < l->n; i++) dpt_free(l->v[i]);
  dpt_free(l->v);
  l->v = NULL;
  l->n = 0;
}

void agg_study_init(agg_study_t *s) {
  memset(s, 0, sizeof *s);
  s->percent = -1;
  s->digits = -1;
}

void agg_study_free(agg_study_t *s) {
  char *strs[] = {s->title, s->doc, s->value, s->sort};
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) dpt_free(strs[i]);
  agg_list_t *lists[] = {&s->where, &s->rows, &s->cols, &s->values};
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) agg_list_free(lists[i]);
  agg_study_init(s);
}

static void take_copy(char **dst, const char *src) {
  dpt_free(*dst);
  *dst = dpt_strdup(src);
}

static void take_string(char **dst, char **src) {
  if (!*src) return;
  dpt_free(*dst);
  *dst = *src;
  *src = NULL;
}

static void take_list(agg_list_t *dst, agg_list_t *src) {
  if (!src->n) return;
  agg_list_free(dst);
  *dst = *src;
  memset(src, 0, sizeof *src);
}

void agg_study_override(agg_study_t *s, agg_study_t *over) {
  char **mine[] = {&s->title, &s->doc, &s->value, &s->sort};
  char **theirs[] = {&over->title, &over->doc, &over->value, &over->sort};
  for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) take_string(mine[i], theirs[i]);
  for (int i = 0; i < over->where.n; i++) agg_list_push(&s->where, over->where.v[i]);
  take_list(&s->rows, &over->rows);
  take_list(&s->cols, &over->cols);
  take_list(&s->values, &over->values);
  if (over->plots) s->plots = over->plots;
  if (over->has_format) s->format = over->format, s->has_format = 1;
  if (over->target > 0) s->target = over->target;
  if (over->percent >= 0) s->percent = over->percent;
  if (over->digits >= 0) s->digits = over->digits;
  agg_study_free(over);
}

int agg_study_option(agg_study_t *s, agg_study_opt_t opt, const char *arg) {
  char *end;
  switch (opt) {
    case AGG_OPT_WHERE: agg_list_push(&s->where, arg); break;
    case AGG_OPT_ROWS: agg_list_push_split(&s->rows, arg); break;
    case AGG_OPT_COLS: agg_list_push_split(&s->cols, arg); break;
    case AGG_OPT_VALUES: agg_list_push_split(&s->values, arg); break;
    case AGG_OPT_PLOT: return agg_plot_parse(arg, &s->plots);
    case AGG_OPT_VALUE: take_copy(&s->value, arg); break;
    case AGG_OPT_SORT: take_copy(&s->sort, arg); break;
    case AGG_OPT_TITLE: take_copy(&s->title, arg); break;
    case AGG_OPT_FORMAT:
      if (agg_format_parse(arg, &s->format) < 0) return -1;
      s->has_format = 1;
      break;
    case AGG_OPT_PERCENT: s->percent = 1; break;
    case AGG_OPT_TARGET:
      errno = 0;
      s->target = strtod(arg, &end);
      if (errno || *end || !(s->target > 0 && s->target <= 1))
        return dpt_fail("--target wants an accuracy in (0, 1], not '%s'", arg);
      break;
    case AGG_OPT_DIGITS:
      s->digits = (int)strtol(arg, &end, 10);
      if (*end || end == arg || s->digits < 0 || s->digits > 12)
        return dpt_fail("--digits wants 0 to 12, not '%s'", arg);
      break;
    default: DPT_PANIC("agg_study_option: no option %d", (int)opt);
  }
  return 0;
}

/* ---------------------------------------------------------------- parsing */

typedef struct {
  yaml_parser_t p;
  yaml_event_t ev;
  const char *name;
} reader_t;

static int next(reader_t *r) {
  yaml_event_delete(&r->ev);
  if (!yaml_parser_parse(&r->p, &r->ev))
    return dpt_fail("%s:%zu: YAML syntax error: %s", r->name, r->p.problem_mark.line + 1,
                    r->p.problem ? r->p.problem : "unknown");
  return 0;
}

static size_t line(const reader_t *r) { return r->ev.start_mark.line + 1; }
static const char *scalar(const reader_t *r) { return (const char *)r->ev.data.scalar.value; }

static int set_string(reader_t *r, char **dst, const char *key) {
  if (r->ev.type != YAML_SCALAR_EVENT)
    return dpt_fail("%s:%zu: '%s' wants one value, not a list or map", r->name, line(r), key);
  dpt_free(*dst);
  *dst = dpt_strdup(scalar(r));
  return 0;
}

static int set_list(reader_t *r, agg_list_t *dst, const char *key, int split) {
  agg_list_free(dst);
  if (r->ev.type == YAML_SCALAR_EVENT) {
    if (split) agg_list_push_split(dst, scalar(r));
    else agg_list_push(dst, scalar(r));
    return 0;
  }
  if (r->ev.type != YAML_SEQUENCE_START_EVENT)
    return dpt_fail("%s:%zu: '%s' wants a value or a list of values", r->name, line(r), key);
  for (;;) {
    if (next(r) < 0) return -1;
    if (r->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
    if (r->ev.type != YAML_SCALAR_EVENT)
      return dpt_fail("%s:%zu: '%s' wants a list of plain values", r->name, line(r), key);
    agg_list_push(dst, scalar(r));
  }
}

static int set_bool(reader_t *r, int *dst, const char *key) {
  if (r->ev.type == YAML_SCALAR_EVENT) {
    const char *v = scalar(r);
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1")) return *dst = 1, 0;
    if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0")) return *dst = 0, 0;
  }
  return dpt_fail("%s:%zu: '%s' wants true or false", r->name, line(r), key);
}

static int set_number(reader_t *r, double *dst, const char *key, double lo, double hi) {
  if (r->ev.type == YAML_SCALAR_EVENT) {
    char *end;
    errno = 0;
    double x = strtod(scalar(r), &end);
    if (!errno && end != scalar(r) && !*end && x > lo && x <= hi) return *dst = x, 0;
    return dpt_fail("%s:%zu: '%s' wants a number in (%g, %g], got '%s'", r->name, line(r), key,
                    lo, hi, scalar(r));
  }
  return dpt_fail("%s:%zu: '%s' wants a number", r->name, line(r), key);
}

static int set_format(reader_t *r, agg_study_t *s) {
  if (r->ev.type != YAML_SCALAR_EVENT)
    return dpt_fail("%s:%zu: 'format' wants one value, not a list or map", r->name, line(r));
  if (agg_format_parse(scalar(r), &s->format) < 0)
    return dpt_wrap("%s:%zu", r->name, line(r));
  s->has_format = 1;
  return 0;
}

static int set_plots(reader_t *r, agg_study_t *s) {
  agg_list_t names = {0};
  size_t at = line(r);
  int rc = set_list(r, &names, "plots", 1);
  s->plots = 0;
  for (int i = 0; rc == 0 && i < names.n; i++)
    if (agg_plot_parse(names.v[i], &s->plots) < 0) rc = dpt_wrap("%s:%zu", r->name, at);
  agg_list_free(&names);
  return rc;
}

static int read_value(reader_t *r, agg_study_t *s, const char *key) {
  double x;
  if (!strcmp(key, "title")) return set_string(r, &s->title, key);
  if (!strcmp(key, "doc")) return set_string(r, &s->doc, key);
  if (!strcmp(key, "value")) return set_string(r, &s->value, key);
  if (!strcmp(key, "sort")) return set_string(r, &s->sort, key);
  if (!strcmp(key, "format")) return set_format(r, s);
  if (!strcmp(key, "where")) return set_list(r, &s->where, key, 0);
  if (!strcmp(key, "rows")) return set_list(r, &s->rows, key, 1);
  if (!strcmp(key, "cols")) return set_list(r, &s->cols, key, 1);
  if (!strcmp(key, "values")) return set_list(r, &s->values, key, 1);
  if (!strcmp(key, "plots")) return set_plots(r, s);
  if (!strcmp(key, "target")) return set_number(r, &s->target, key, 0, 1);
  if (!strcmp(key, "percent")) return set_bool(r, &s->percent, key);
  if (!strcmp(key, "digits")) {
    if (set_number(r, &x, key, -1, 12) < 0 || x != (int)x)
      return dpt_fail("%s:%zu: 'digits' wants an integer from 0 to 12", r->name, line(r));
    s->digits = (int)x;
    return 0;
  }
  return dpt_fail("%s:%zu: unknown key '%s' (title, doc, where, rows, cols, value, values, "
                  "sort, target, percent, digits, format, plots)",
                  r->name, line(r), key);
}

static int parse_events(reader_t *r, agg_study_t *s) {
  do {
    if (next(r) < 0) return -1;
  } while (r->ev.type == YAML_STREAM_START_EVENT || r->ev.type == YAML_DOCUMENT_START_EVENT);
  if (r->ev.type == YAML_STREAM_END_EVENT || r->ev.type == YAML_DOCUMENT_END_EVENT) return 0;
  if (r->ev.type != YAML_MAPPING_START_EVENT)
    return dpt_fail("%s:%zu: expected a map of keys (title, rows, ...)", r->name, line(r));
  for (;;) {
    if (next(r) < 0) return -1;
    if (r->ev.type == YAML_MAPPING_END_EVENT) return 0;
    if (r->ev.type != YAML_SCALAR_EVENT)
      return dpt_fail("%s:%zu: expected a key", r->name, line(r));
    char *key = dpt_strdup(scalar(r));
    int rc = next(r) < 0 ? -1 : read_value(r, s, key);
    dpt_free(key);
    if (rc < 0) return -1;
  }
}

int agg_study_parse(agg_study_t *s, const char *yaml, size_t len, const char *name) {
  reader_t r;
  memset(&r, 0, sizeof r);
  r.name = name;
  if (!yaml_parser_initialize(&r.p)) DPT_PANIC("yaml_parser_initialize");
  yaml_parser_set_input_string(&r.p, (const unsigned char *)yaml, len);
  int rc = parse_events(&r, s);
  yaml_event_delete(&r.ev);
  yaml_parser_delete(&r.p);
  return rc;
}

int agg_study_load(agg_study_t *s, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return dpt_fail("%s: cannot open study: %s", path, strerror(errno));
  size_t cap = 4096, len = 0, got;
  char *buf = dpt_alloc(cap);
  while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) buf = dpt_realloc(buf, cap *= 2);
  }
  int err = ferror(f);
  fclose(f);
  int rc = err ? dpt_fail("%s: cannot read study", path) : agg_study_parse(s, buf, len, path);
  dpt_free(buf);
  return rc;
}
