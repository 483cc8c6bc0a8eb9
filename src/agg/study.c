/* study.c - a study from analysis/NAME.yaml (the core YAML document loader) or from
 * command-line options (see study.h). */
#include "study.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/boolword.h"
#include "../core/err.h"
#include "../core/ydoc.h"

/* Splits "a,b,c" and pushes each part, trimmed of spaces; empty parts are dropped. */
static void agg_split_push(strlist_t *l, const char *s) {
  for (;;) {
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    while (len && *s == ' ') s++, len--;
    while (len && s[len - 1] == ' ') len--;
    if (len) {
      char *part = dpt_alloc(len + 1);
      memcpy(part, s, len);
      strlist_push_owned(l, part);
    }
    if (!comma) return;
    s = comma + 1;
  }
}

void agg_study_init(agg_study_t *s) {
  memset(s, 0, sizeof *s);
  s->percent = -1;
  s->digits = -1;
  s->se = -1;
}

void agg_study_free(agg_study_t *s) {
  char *strs[] = {s->title, s->doc, s->value, s->sort, s->facet, s->best_of, s->select_by};
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) dpt_free(strs[i]);
  strlist_t *lists[] = {&s->where, &s->rows, &s->cols, &s->values, &s->baseline, &s->network};
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) strlist_free(lists[i]);
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

static void take_list(strlist_t *dst, strlist_t *src) {
  if (!src->n) return;
  strlist_free(dst);
  *dst = *src;
  memset(src, 0, sizeof *src);
}

void agg_study_override(agg_study_t *s, agg_study_t *over) {
  char **mine[] = {&s->title, &s->doc, &s->value, &s->sort, &s->facet, &s->best_of,
                   &s->select_by};
  char **theirs[] = {&over->title, &over->doc, &over->value, &over->sort, &over->facet,
                     &over->best_of, &over->select_by};
  for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) take_string(mine[i], theirs[i]);
  for (int i = 0; i < over->where.n; i++) strlist_push(&s->where, over->where.v[i]);
  take_list(&s->rows, &over->rows);
  take_list(&s->cols, &over->cols);
  take_list(&s->values, &over->values);
  take_list(&s->baseline, &over->baseline);
  take_list(&s->network, &over->network);
  if (over->replicas > 0) s->replicas = over->replicas;
  if (over->compute > 0) s->compute = over->compute;
  if (over->plots) s->plots = over->plots;
  if (over->plot_formats) s->plot_formats = over->plot_formats;
  if (over->has_format) s->format = over->format, s->has_format = 1;
  if (over->target > 0) s->target = over->target;
  if (over->percent >= 0) s->percent = over->percent;
  if (over->digits >= 0) s->digits = over->digits;
  if (over->se >= 0) s->se = over->se;
  agg_study_free(over);
}

/* Each name of "a,b,c" added to *set by parse. */
static int each_name(const char *arg, int (*parse)(const char *, unsigned *), unsigned *set) {
  strlist_t names = {0};
  agg_split_push(&names, arg);
  int rc = 0;
  for (int i = 0; rc == 0 && i < names.n; i++) rc = parse(names.v[i], set);
  strlist_free(&names);
  return rc;
}

/* "sd" or "se" into *se (0, 1). */
static int spread_parse(const char *v, int *se) {
  if (strcmp(v, "sd") && strcmp(v, "se")) return -1;
  *se = !strcmp(v, "se");
  return 0;
}

int agg_study_option(agg_study_t *s, agg_study_opt_t opt, const char *arg) {
  char *end;
  switch (opt) {
    case AGG_OPT_WHERE: strlist_push(&s->where, arg); break;
    case AGG_OPT_ROWS: agg_split_push(&s->rows, arg); break;
    case AGG_OPT_COLS: agg_split_push(&s->cols, arg); break;
    case AGG_OPT_VALUES: agg_split_push(&s->values, arg); break;
    case AGG_OPT_PLOT: return agg_plot_parse(arg, &s->plots);
    case AGG_OPT_PLOT_FORMAT: return each_name(arg, agg_plot_format_parse, &s->plot_formats);
    case AGG_OPT_FACET: take_copy(&s->facet, arg); break;
    case AGG_OPT_BASELINE: strlist_push(&s->baseline, arg); break;
    case AGG_OPT_NETWORK: agg_split_push(&s->network, arg); break;
    case AGG_OPT_REPLICAS:
      errno = 0;
      s->replicas = strtol(arg, &end, 10);
      if (errno || *end || end == arg || s->replicas < 1 || s->replicas > 1000000000)
        return dpt_fail("--replicas wants an integer from 1 to 1e9, not '%s'", arg);
      break;
    case AGG_OPT_COMPUTE:
      errno = 0;
      s->compute = strtod(arg, &end);
      if (errno || *end || end == arg || !(s->compute > 0 && s->compute < 1e15))
        return dpt_fail("--compute wants images per second > 0, not '%s'", arg);
      break;
    case AGG_OPT_SPREAD:
      if (spread_parse(arg, &s->se) < 0) return dpt_fail("--spread wants sd or se, not '%s'", arg);
      break;
    case AGG_OPT_VALUE: take_copy(&s->value, arg); break;
    case AGG_OPT_SORT: take_copy(&s->sort, arg); break;
    case AGG_OPT_BEST_OF: take_copy(&s->best_of, arg); break;
    case AGG_OPT_SELECT_BY: take_copy(&s->select_by, arg); break;
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

/* A key's value in the file: d for messages (FILE:LINE), v the value's node. */
typedef struct {
  const ydoc_t *d;
  const ydoc_node_t *v;
  const char *key;
} entry_t;

static int set_string(const entry_t *e, char **dst) {
  if (e->v->kind != YDOC_SCALAR)
    return ydoc_fail(e->d, e->v, "'%s' wants one value, not a list or map", e->key);
  take_copy(dst, e->v->text);
  return 0;
}

static int set_list(const entry_t *e, strlist_t *dst, int split) {
  strlist_free(dst);
  if (e->v->kind == YDOC_SCALAR) {
    if (split) agg_split_push(dst, e->v->text);
    else strlist_push(dst, e->v->text);
    return 0;
  }
  if (e->v->kind != YDOC_SEQ)
    return ydoc_fail(e->d, e->v, "'%s' wants a value or a list of values", e->key);
  for (int i = 0; i < e->v->n; i++) {
    const char *item = ydoc_scalar(e->v->items[i]);
    if (!item) return ydoc_fail(e->d, e->v->items[i], "'%s' wants a list of plain values", e->key);
    strlist_push(dst, item);
  }
  return 0;
}

static int set_bool(const entry_t *e, int *dst) {
  const char *v = ydoc_scalar(e->v);
  if (v && dpt_parse_bool(v, dst) == 0) return 0;
  dpt_clear_error();
  return ydoc_fail(e->d, e->v, "'%s' wants %s", e->key, DPT_BOOL_WORDS);
}

static int set_number(const entry_t *e, double *dst, double lo, double hi) {
  const char *v = ydoc_scalar(e->v);
  if (!v) return ydoc_fail(e->d, e->v, "'%s' wants a number", e->key);
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (!errno && end != v && !*end && x > lo && x <= hi) return *dst = x, 0;
  return ydoc_fail(e->d, e->v, "'%s' wants a number in (%g, %g], got '%s'", e->key, lo, hi, v);
}

static int set_replicas(const entry_t *e, long *dst) {
  double x;
  if (set_number(e, &x, 0, 1e9) < 0 || x != (long)x)
    return ydoc_fail(e->d, e->v, "'replicas' wants an integer from 1 to 1e9");
  *dst = (long)x;
  return 0;
}

static int set_digits(const entry_t *e, int *dst) {
  double x;
  if (set_number(e, &x, -1, 12) < 0 || x != (int)x)
    return ydoc_fail(e->d, e->v, "'digits' wants an integer from 0 to 12");
  *dst = (int)x;
  return 0;
}

static int set_format(const entry_t *e, agg_study_t *s) {
  if (e->v->kind != YDOC_SCALAR)
    return ydoc_fail(e->d, e->v, "'format' wants one value, not a list or map");
  if (agg_format_parse(e->v->text, &s->format) < 0)
    return dpt_wrap("%s:%d", e->d->name, e->v->line);
  s->has_format = 1;
  return 0;
}

static int set_spread(const entry_t *e, int *se) {
  const char *v = ydoc_scalar(e->v);
  if (v && spread_parse(v, se) == 0) return 0;
  return ydoc_fail(e->d, e->v, "'spread' wants sd or se");
}

/* plots: and plot_format: a list of names, each added to *set by parse. */
static int set_names(const entry_t *e, int (*parse)(const char *, unsigned *), unsigned *set) {
  strlist_t names = {0};
  int rc = set_list(e, &names, 1);
  *set = 0;
  for (int i = 0; rc == 0 && i < names.n; i++)
    if (parse(names.v[i], set) < 0) rc = dpt_wrap("%s:%d", e->d->name, e->v->line);
  strlist_free(&names);
  return rc;
}

/* The keys of a study file, each with how its value is read. */
typedef enum { K_TITLE, K_DOC, K_VALUE, K_SORT, K_FORMAT, K_WHERE, K_ROWS, K_COLS, K_VALUES,
               K_PLOTS, K_TARGET, K_PERCENT, K_DIGITS, K_BASELINE, K_SPREAD, K_FACET,
               K_PLOT_FORMAT, K_NETWORK, K_REPLICAS, K_COMPUTE, K_BEST_OF, K_SELECT_BY,
               K_COUNT } study_key_t;
static const char *const key_names[K_COUNT] = {
    "title", "doc", "value", "sort", "format", "where", "rows", "cols", "values", "plots",
    "target", "percent", "digits", "baseline", "spread", "facet", "plot_format", "network",
    "replicas", "compute", "best_of", "select_by"};

static int read_value(const entry_t *e, study_key_t k, agg_study_t *s) {
  switch (k) {
    case K_TITLE: return set_string(e, &s->title);
    case K_DOC: return set_string(e, &s->doc);
    case K_VALUE: return set_string(e, &s->value);
    case K_SORT: return set_string(e, &s->sort);
    case K_FORMAT: return set_format(e, s);
    case K_WHERE: return set_list(e, &s->where, 0);
    case K_ROWS: return set_list(e, &s->rows, 1);
    case K_COLS: return set_list(e, &s->cols, 1);
    case K_VALUES: return set_list(e, &s->values, 1);
    case K_PLOTS: return set_names(e, agg_plot_parse, &s->plots);
    case K_PLOT_FORMAT: return set_names(e, agg_plot_format_parse, &s->plot_formats);
    case K_FACET: return set_string(e, &s->facet);
    case K_TARGET: return set_number(e, &s->target, 0, 1);
    case K_PERCENT: return set_bool(e, &s->percent);
    case K_DIGITS: return set_digits(e, &s->digits);
    case K_BASELINE: return set_list(e, &s->baseline, 0);
    case K_SPREAD: return set_spread(e, &s->se);
    case K_NETWORK: return set_list(e, &s->network, 1);
    case K_REPLICAS: return set_replicas(e, &s->replicas);
    case K_COMPUTE: return set_number(e, &s->compute, 0, 1e15);
    case K_BEST_OF: return set_string(e, &s->best_of);
    case K_SELECT_BY: return set_string(e, &s->select_by);
    default: DPT_PANIC("study key %d", (int)k);
  }
}

static int read_doc(const ydoc_t *d, agg_study_t *s) {
  const ydoc_node_t *root = d->root;
  if (!root) return 0;
  if (root->kind != YDOC_MAP)
    return ydoc_fail(d, root, "expected a map of keys (title, rows, ...)");
  for (int i = 0; i < root->n; i++) {
    const ydoc_node_t *kn = root->items[2 * i];
    const char *key = ydoc_scalar(kn);
    if (!key) return ydoc_fail(d, kn, "expected a key");
    int k = 0;
    while (k < K_COUNT && strcmp(key_names[k], key)) k++;
    if (k == K_COUNT)
      return ydoc_fail(d, kn, "unknown key '%s' (title, doc, where, rows, cols, value, values, "
                       "sort, baseline, best_of, select_by, spread, target, percent, digits, "
                       "format, plots, facet, plot_format, network, replicas, compute)", key);
    entry_t e = {d, root->items[2 * i + 1], key};
    if (read_value(&e, (study_key_t)k, s) < 0) return -1;
  }
  return 0;
}

int agg_study_parse(agg_study_t *s, const char *yaml, size_t len, const char *name) {
  ydoc_t d;
  if (ydoc_load(&d, name, yaml, len, NULL) < 0) return -1;
  int rc = read_doc(&d, s);
  ydoc_free(&d);
  return rc;
}

int agg_study_load(agg_study_t *s, const char *path) {
  ydoc_t d;
  if (ydoc_load_file(&d, path, NULL) < 0) return dpt_wrap("study");
  int rc = read_doc(&d, s);
  ydoc_free(&d);
  return rc;
}
