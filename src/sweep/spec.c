/* spec.c - reading a sweep spec with libyaml's document tree (see sweep.h).
 *
 *   name: demo
 *   base: base/fashion-mnist.yaml        # relative to this file; or a map (inline config)
 *   set: {model.epochs: 2}               # every task
 *   grid: {model.optimizer: [SGDM, AdamW], model.num_workers: [0, 2]}
 *   zip: [{model.batch_size: [64, 256], model.learning_rate: [0.01, 0.04]}]
 *   exclude: [{model.num_workers: 0, model.work.local_steps: [8, 16]}]
 *   seeds: [0, 1]                        # or replicates: 3 (seeds 0, 1, 2)
 *   resources: {ranks: "max(1, K)", time: "0:10:00", throttle: 4, signal_lead: 60}
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "../config/config_keys.h"
#include "../core/err.h"
#include "../core/fsutil.h"
#include "sweep.h"

typedef struct {
  sweep_spec_t *spec;
  yaml_document_t *doc;
} ctx_t;

/* ---- small helpers ---- */

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...) {
  va_list ap;
  char *s;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0) DPT_PANIC("out of memory");
  va_end(ap);
  char *d = dpt_strdup(s);
  free(s);
  return d;
}

static int line_of(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

static int fail_node(ctx_t *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_node(ctx_t *c, const yaml_node_t *n, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return dpt_fail("%s:%d: %s", c->spec->path, n ? line_of(n) : 0, msg);
}

static const char *scalar(const yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static void push_str(char ***list, int *n, char *s) {
  *list = dpt_realloc(*list, (size_t)(*n + 1) * sizeof **list);
  (*list)[(*n)++] = s;
}

/* A scalar as the text of a --set value: plain scalars as written, quoted ones quoted
 * again so that "1" stays a string and "" stays empty. */
static char *set_value_text(const yaml_node_t *n) {
  const char *v = scalar(n);
  if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) return dpt_strdup(v);
  size_t len = strlen(v), k = 0;
  char *out = dpt_alloc(2 * len + 3);
  out[k++] = '\'';
  for (size_t i = 0; i < len; i++) {
    if (v[i] == '\'') out[k++] = '\'';
    out[k++] = v[i];
  }
  out[k++] = '\'';
  out[k] = 0;
  return out;
}

/* A config key dpt-train knows, or a map that holds some. */
static int key_known(const char *key, int *is_map) {
  if (cfg_key_find(key)) {
    *is_map = 0;
    return 1;
  }
  size_t n = strlen(key);
  for (int i = 0; i < cfg_nkeys; i++)
    if (!strncmp(cfg_keys[i].key, key, n) && cfg_keys[i].key[n] == '.') {
      *is_map = 1;
      return 1;
    }
  return 0;
}

/* Flattens node under prefix into "dotted.key=value" overrides; a map's text in flow
 * style goes to text (may be NULL). */
static int flatten(ctx_t *c, yaml_node_t *n, const char *prefix, char ***sets, int *nsets,
                   char **text) {
  if (n->type == YAML_SCALAR_NODE) {
    int is_map = 0;
    if (!key_known(prefix, &is_map))
      return fail_node(c, n, "'%s' is not a config key (dpt-train --config-reference lists "
                       "them)", prefix);
    char *v = set_value_text(n);
    if (is_map && !(cfg_is_null(v) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)) {
      dpt_free(v);
      return fail_node(c, n, "'%s' is a map of keys, not a value", prefix);
    }
    push_str(sets, nsets, xprintf("%s=%s", prefix, v));
    if (text) *text = v; else dpt_free(v);
    return 0;
  }
  if (n->type == YAML_SEQUENCE_NODE)
    return fail_node(c, n, "'%s': a list is not a config value here", prefix);
  size_t cap = 256, len = 0;
  char *flow = text ? dpt_alloc(cap) : NULL;
  if (flow) flow[len++] = '{';
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
    if (!scalar(k)) return fail_node(c, k, "'%s': map keys must be plain names", prefix);
    char *full = *prefix ? xprintf("%s.%s", prefix, scalar(k)) : dpt_strdup(scalar(k));
    char *sub = NULL;
    int rc = flatten(c, v, full, sets, nsets, flow ? &sub : NULL);
    dpt_free(full);
    if (rc < 0) {
      dpt_free(flow);
      return -1;
    }
    if (flow) {
      size_t need = len + strlen(scalar(k)) + strlen(sub) + 8;
      if (need > cap) flow = dpt_realloc(flow, cap = 2 * need);
      len += (size_t)sprintf(flow + len, "%s%s: %s", p == n->data.mapping.pairs.start ? "" : ", ",
                             scalar(k), sub);
      dpt_free(sub);
    }
  }
  if (flow) {
    flow[len++] = '}';
    flow[len] = 0;
    *text = flow;
  }
  return 0;
}

/* A non-empty word of letters, digits, '_', '-', '.' and the characters in extra: what
 * Slurm accepts in job, partition and account names. */
static int slurm_word(const char *s, const char *extra) {
  if (!s || !*s || *s == '-' || *s == '.') return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr("_-.", *s) && !strchr(extra, *s)) return 0;
  return 1;
}

static int parse_int(ctx_t *c, yaml_node_t *n, const char *what, int min, int *out) {
  const char *s = scalar(n);
  char *end;
  errno = 0;
  long v = s ? strtol(s, &end, 10) : 0;
  if (!s || !*s || *end || errno || v < min || v > 1000000000)
    return fail_node(c, n, "%s: expected an integer >= %d, got '%s'", what, min, s ? s : "a list or map");
  *out = (int)v;
  return 0;
}

/* "2G", "512M", "1T", "1024" (MB) into MB. */
static int parse_mem(ctx_t *c, yaml_node_t *n, int *mb) {
  const char *s = scalar(n);
  char *end;
  double v = s ? strtod(s, &end) : -1;
  double scale = 1;
  if (s && *end) {
    if (!strcasecmp(end, "K") || !strcasecmp(end, "KB")) scale = 1.0 / 1024;
    else if (!strcasecmp(end, "M") || !strcasecmp(end, "MB")) scale = 1;
    else if (!strcasecmp(end, "G") || !strcasecmp(end, "GB")) scale = 1024;
    else if (!strcasecmp(end, "T") || !strcasecmp(end, "TB")) scale = 1024 * 1024;
    else scale = -1;
  }
  if (!s || end == s || scale < 0 || v < 0 || v * scale > 1e9)
    return fail_node(c, n, "resources.mem_per_rank: expected a size such as 512M or 2G, got '%s'",
                     s ? s : "a list or map");
  *mb = (int)(v * scale + 0.999);
  return 0;
}

/* ---- axes ---- */

static int add_axis(ctx_t *c, yaml_node_t *knode, yaml_node_t *vnode, int dim) {
  sweep_spec_t *s = c->spec;
  const char *key = scalar(knode);
  if (!key) return fail_node(c, knode, "an axis must be named by a dotted config key");
  int is_map;
  if (!key_known(key, &is_map))
    return fail_node(c, knode, "axis '%s': unknown config key (dpt-train --config-reference "
                     "lists them)", key);
  for (int i = 0; i < s->naxes; i++)
    if (!strcmp(s->axes[i].key, key))
      return fail_node(c, knode, "axis '%s' appears twice (line %d)", key, s->axes[i].line);
  s->axes = dpt_realloc(s->axes, (size_t)(s->naxes + 1) * sizeof *s->axes);
  sweep_axis_t *a = &s->axes[s->naxes++];
  memset(a, 0, sizeof *a);
  a->key = dpt_strdup(key);
  a->dim = dim;
  a->line = line_of(knode);
  yaml_node_item_t *items = NULL;
  int nitems = 1;
  if (vnode->type == YAML_SEQUENCE_NODE) {
    items = vnode->data.sequence.items.start;
    nitems = (int)(vnode->data.sequence.items.top - items);
  }
  if (nitems == 0) return fail_node(c, vnode, "axis '%s' has no values (empty grid)", key);
  if (nitems > SWEEP_MAX_COMBOS)
    return fail_node(c, vnode, "axis '%s' has %d values; at most %ld (split the sweep)", key,
                     nitems, SWEEP_MAX_COMBOS);
  a->values = dpt_alloc((size_t)nitems * sizeof *a->values);
  for (int i = 0; i < nitems; i++) {
    yaml_node_t *v = items ? yaml_document_get_node(c->doc, items[i]) : vnode;
    sweep_value_t *sv = &a->values[a->nvalues++];
    sv->line = line_of(v);
    if (flatten(c, v, key, &sv->sets, &sv->nsets, &sv->text) < 0)
      return dpt_wrap("axis '%s' value %d", key, i + 1);
  }
  return 0;
}

static void add_dim(sweep_spec_t *s, int first_axis) {
  s->dims = dpt_realloc(s->dims, (size_t)(s->ndims + 1) * sizeof *s->dims);
  s->dims[s->ndims++] = (sweep_dim_t){s->axes[first_axis].nvalues, first_axis,
                                      s->naxes - first_axis};
}

static int parse_grid(ctx_t *c, yaml_node_t *n) {
  if (n->type != YAML_MAPPING_NODE)
    return fail_node(c, n, "grid: expected a map of dotted.key: [values]");
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    int first = c->spec->naxes;
    TRY(add_axis(c, yaml_document_get_node(c->doc, p->key),
                 yaml_document_get_node(c->doc, p->value), c->spec->ndims));
    add_dim(c->spec, first);
  }
  return 0;
fail:
  return -1;
}

static int parse_zip_group(ctx_t *c, yaml_node_t *n, int g) {
  if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.top == n->data.mapping.pairs.start)
    return fail_node(c, n, "zip group %d: expected a map of dotted.key: [values]", g + 1);
  sweep_spec_t *s = c->spec;
  int first = s->naxes;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
    TRY(add_axis(c, k, yaml_document_get_node(c->doc, p->value), s->ndims));
    if (s->axes[s->naxes - 1].nvalues != s->axes[first].nvalues)
      return fail_node(c, k, "zip group %d: axis '%s' has %d values but '%s' has %d; axes "
                       "that move together need the same number", g + 1,
                       s->axes[s->naxes - 1].key, s->axes[s->naxes - 1].nvalues,
                       s->axes[first].key, s->axes[first].nvalues);
  }
  add_dim(s, first);
  return 0;
fail:
  return -1;
}

static int parse_zip(ctx_t *c, yaml_node_t *n) {
  if (n->type == YAML_MAPPING_NODE) return parse_zip_group(c, n, 0);
  if (n->type != YAML_SEQUENCE_NODE)
    return fail_node(c, n, "zip: expected a list of groups (maps of dotted.key: [values])");
  int g = 0;
  for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
    TRY(parse_zip_group(c, yaml_document_get_node(c->doc, *i), g++));
  return 0;
fail:
  return -1;
}

static int parse_seeds(ctx_t *c, yaml_node_t *n, int replicates) {
  sweep_spec_t *s = c->spec;
  for (int i = 0; i < s->naxes; i++)
    if (!strcmp(s->axes[i].key, "experiment.seed"))
      return fail_node(c, n, "%s: experiment.seed is already an axis (line %d)",
                       replicates ? "replicates" : "seeds", s->axes[i].line);
  int first = s->naxes;
  if (replicates) {
    int r;
    TRY(parse_int(c, n, "replicates", 1, &r));
    if (r > SWEEP_MAX_COMBOS)
      return fail_node(c, n, "replicates: %d; at most %ld tasks fit in one sweep (split it)", r,
                       SWEEP_MAX_COMBOS);
    s->axes = dpt_realloc(s->axes, (size_t)(s->naxes + 1) * sizeof *s->axes);
    sweep_axis_t *a = &s->axes[s->naxes++];
    *a = (sweep_axis_t){dpt_strdup("experiment.seed"), dpt_alloc((size_t)r * sizeof(sweep_value_t)),
                        r, s->ndims, line_of(n)};
    for (int i = 0; i < r; i++) {
      a->values[i].text = xprintf("%d", i);
      a->values[i].line = line_of(n);
      push_str(&a->values[i].sets, &a->values[i].nsets, xprintf("experiment.seed=%d", i));
    }
  } else {
    /* Reuse the axis reader with a synthetic key node: the line is the list's. */
    yaml_node_t key = *n;
    key.type = YAML_SCALAR_NODE;
    key.data.scalar.value = (yaml_char_t *)"experiment.seed";
    key.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
    TRY(add_axis(c, &key, n, s->ndims));
  }
  add_dim(s, first);
  return 0;
fail:
  return -1;
}

static int axis_index(const sweep_spec_t *s, const char *key) {
  for (int i = 0; i < s->naxes; i++)
    if (!strcmp(s->axes[i].key, key)) return i;
  if (!strcmp(key, "seed")) return axis_index(s, "experiment.seed");
  return -1;
}

static int parse_exclude(ctx_t *c, yaml_node_t *n) {
  sweep_spec_t *s = c->spec;
  if (n->type != YAML_SEQUENCE_NODE)
    return fail_node(c, n, "exclude: expected a list of rules ({dotted.key: value or [values]})");
  for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
    yaml_node_t *r = yaml_document_get_node(c->doc, *i);
    if (r->type != YAML_MAPPING_NODE || r->data.mapping.pairs.top == r->data.mapping.pairs.start)
      return fail_node(c, r, "exclude: a rule is a map {dotted.key: value or [values]}");
    s->rules = dpt_realloc(s->rules, (size_t)(s->nrules + 1) * sizeof *s->rules);
    sweep_rule_t *rule = &s->rules[s->nrules++];
    memset(rule, 0, sizeof *rule);
    rule->line = line_of(r);
    for (yaml_node_pair_t *p = r->data.mapping.pairs.start; p < r->data.mapping.pairs.top; p++) {
      yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
      yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
      int ax = scalar(k) ? axis_index(s, scalar(k)) : -1;
      if (ax < 0)
        return fail_node(c, k, "exclude: '%s' is not an axis of this sweep (rules match axis "
                         "values)", scalar(k) ? scalar(k) : "?");
      rule->conds = dpt_realloc(rule->conds, (size_t)(rule->nconds + 1) * sizeof *rule->conds);
      sweep_cond_t *cond = &rule->conds[rule->nconds++];
      memset(cond, 0, sizeof *cond);
      cond->axis = ax;
      yaml_node_item_t *items = NULL;
      int nitems = 1;
      if (v->type == YAML_SEQUENCE_NODE) {
        items = v->data.sequence.items.start;
        nitems = (int)(v->data.sequence.items.top - items);
      }
      for (int j = 0; j < nitems; j++) {
        yaml_node_t *e = items ? yaml_document_get_node(c->doc, items[j]) : v;
        if (!scalar(e)) return fail_node(c, e, "exclude: '%s': expected a value or a list of values", scalar(k));
        push_str(&cond->values, &cond->nvalues, dpt_strdup(scalar(e)));
      }
    }
  }
  return 0;
}

static int parse_resources(ctx_t *c, yaml_node_t *n) {
  sweep_resources_t *r = &c->spec->res;
  if (n->type != YAML_MAPPING_NODE) return fail_node(c, n, "resources: expected a map");
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
    const char *key = scalar(k) ? scalar(k) : "";
    char **str = !strcmp(key, "ranks") ? &r->ranks : !strcmp(key, "time") ? &r->time
               : !strcmp(key, "partition") ? &r->partition
               : !strcmp(key, "account") ? &r->account : NULL;
    if (str) {
      if (!scalar(v)) return fail_node(c, v, "resources.%s: expected a value", key);
      const char *val = cfg_is_null(scalar(v)) ? "" : scalar(v);
      /* Slurm names go into #SBATCH lines as they are: its own character set only. */
      if ((str == &r->partition || str == &r->account) && *val &&
          !slurm_word(val, str == &r->partition ? "," : ""))
        return fail_node(c, v, "resources.%s: '%s': expected %s of letters, digits, '_', "
                         "'-' and '.'", key, val, str == &r->partition
                         ? "a Slurm partition name (or a comma-separated list)" : "a Slurm account name");
      dpt_free(*str);
      *str = dpt_strdup(val);
      continue;
    }
    if (!strcmp(key, "cpus_per_rank")) TRY(parse_int(c, v, "resources.cpus_per_rank", 1, &r->cpus_per_rank));
    else if (!strcmp(key, "mem_per_rank")) TRY(parse_mem(c, v, &r->mem_per_rank_mb));
    else if (!strcmp(key, "throttle")) TRY(parse_int(c, v, "resources.throttle", 0, &r->throttle));
    else if (!strcmp(key, "signal_lead")) TRY(parse_int(c, v, "resources.signal_lead", 0, &r->signal_lead));
    else if (!strcmp(key, "max_array_size")) TRY(parse_int(c, v, "resources.max_array_size", 1, &r->max_array_size));
    else if (!strcmp(key, "max_requeues")) TRY(parse_int(c, v, "resources.max_requeues", 0, &r->max_requeues));
    else
      return fail_node(c, k, "resources: unknown key '%s' (known: ranks, time, partition, "
                       "account, cpus_per_rank, mem_per_rank, throttle, signal_lead, "
                       "max_array_size, max_requeues)", key);
  }
  if (!*r->ranks) return fail_node(c, n, "resources.ranks: must not be empty");
  if (!*r->time) return fail_node(c, n, "resources.time: must not be empty");
  return 0;
fail:
  return -1;
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    dpt_fail("%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  size_t len = 0, cap = 4096, got;
  char *text = dpt_alloc(cap);
  while ((got = fread(text + len, 1, cap - len - 1, f)) > 0)
    if ((len += got) == cap - 1) text = dpt_realloc(text, cap *= 2);
  int bad = ferror(f);
  fclose(f);
  text[len] = 0;
  if (bad) {
    dpt_free(text);
    dpt_fail("%s: cannot read", path);
    return NULL;
  }
  return text;
}

static int parse_base(ctx_t *c, yaml_node_t *n) {
  sweep_spec_t *s = c->spec;
  if (n->type == YAML_MAPPING_NODE) {
    s->base_name = dpt_strdup("inline base");
    return flatten(c, n, "", &s->sets, &s->nsets, NULL);
  }
  if (!scalar(n) || !*scalar(n))
    return fail_node(c, n, "base: expected a config file path or a map");
  const char *b = scalar(n);
  char dir[4096];
  dpt_dirname(dir, sizeof dir, s->path);
  char *path = b[0] == '/' ? dpt_strdup(b) : xprintf("%s/%s", dir, b);
  if (access(path, R_OK) != 0 && access(b, R_OK) == 0) {
    dpt_free(path);
    path = dpt_strdup(b);
  }
  dpt_free(s->base_text);
  s->base_text = read_text(path);
  s->base_name = path;
  if (!s->base_text) return dpt_wrap("%s:%d: base", s->path, line_of(n));
  return 0;
}

/* ---- the checks before the document tree is used ---- */

#define SPEC_MAX_DEPTH 32

typedef struct {
  int is_map, expect_key; /* a map expects a key next, else that key's value */
  int index;              /* a sequence's current item (-1 before the first) */
  char *key;              /* a map's current key */
} frame_t;

/* "resources.partition", "grid.model.optimizer[1]": where the scanner is. */
static void scan_path(const frame_t *st, int depth, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < depth && len < cap; i++) {
    if (st[i].is_map && st[i].key)
      len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? "." : "", st[i].key);
    else if (!st[i].is_map && st[i].index >= 0)
      len += (size_t)snprintf(buf + len, cap - len, "[%d]", st[i].index);
  }
  if (!buf[0]) snprintf(buf, cap, "(top level)");
}

/* A node starts inside parent: a map alternates key and value, a sequence counts. */
static void begin_node(frame_t *parent) {
  if (!parent) return;
  if (parent->is_map) parent->expect_key = !parent->expect_key;
  else parent->index++;
}

static int has_control(const unsigned char *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (v[i] < 0x20 || v[i] == 0x7f) return 1;
  return 0;
}

/* Walks the spec's events once: every value ends up in job scripts, manifests or --set
 * strings, so a control character (newline, tab, escape) anywhere is refused, naming
 * the key. Aliases are refused (a self-referential one makes a cyclic tree), and the
 * nesting is bounded, so flatten() and the other readers of the tree stay shallow. */
static int scan_spec(const char *path, const char *text) {
  yaml_parser_t parser;
  yaml_event_t ev;
  frame_t st[SPEC_MAX_DEPTH];
  int depth = 0, rc = 0, done = 0;
  char where[512];
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
  while (!done && rc == 0) {
    if (!yaml_parser_parse(&parser, &ev)) {
      rc = dpt_fail("%s:%d: YAML: %s %s", path, (int)parser.problem_mark.line + 1,
                    parser.problem ? parser.problem : "syntax error",
                    parser.context ? parser.context : "");
      break;
    }
    int line = (int)ev.start_mark.line + 1;
    frame_t *top = depth ? &st[depth - 1] : NULL;
    switch (ev.type) {
      case YAML_ALIAS_EVENT:
        scan_path(st, depth, where, sizeof where);
        rc = dpt_fail("%s:%d: %s: YAML aliases (*%s) are not allowed in a sweep spec; "
                      "write the value out", path, line, where, (char *)ev.data.alias.anchor);
        break;
      case YAML_SCALAR_EVENT: {
        int is_key = top && top->is_map && top->expect_key;
        begin_node(top);
        if (has_control(ev.data.scalar.value, ev.data.scalar.length)) {
          char *value_key = is_key ? top->key : NULL;
          if (is_key) top->key = NULL; /* a key: name the map it is in */
          scan_path(st, depth, where, sizeof where);
          if (is_key) top->key = value_key;
          rc = dpt_fail("%s:%d: %s: a control character (newline, tab, ...) in a %s; "
                        "spec values reach job scripts and must be one plain line", path,
                        line, where, is_key ? "key" : "value");
          break;
        }
        if (is_key) {
          dpt_free(top->key);
          top->key = dpt_strdup((char *)ev.data.scalar.value);
        }
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT:
        if (depth == SPEC_MAX_DEPTH) {
          scan_path(st, depth, where, sizeof where);
          rc = dpt_fail("%s:%d: %s: nested more than %d levels deep", path, line, where,
                        SPEC_MAX_DEPTH);
          break;
        }
        begin_node(top);
        st[depth++] = (frame_t){ev.type == YAML_MAPPING_START_EVENT, 1, -1, NULL};
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        dpt_free(st[--depth].key);
        break;
      case YAML_STREAM_END_EVENT:
        done = 1;
        break;
      default:
        break;
    }
    yaml_event_delete(&ev);
  }
  while (depth > 0) dpt_free(st[--depth].key);
  yaml_parser_delete(&parser);
  return rc;
}

/* ---- the spec ---- */

int sweep_spec_load(sweep_spec_t *spec, const char *path, const char *const *extra_sets,
                    int nextra) {
  memset(spec, 0, sizeof *spec);
  spec->path = dpt_strdup(path);
  spec->res = (sweep_resources_t){dpt_strdup("1"), dpt_strdup("60"), dpt_strdup(""),
                                  dpt_strdup(""), 1, 0, 0, 120, 0, 10};
  spec->base_text = dpt_strdup("{}");
  char *text = read_text(path);
  if (!text) return -1;
  if (scan_spec(path, text) < 0) {
    dpt_free(text);
    return -1;
  }
  yaml_parser_t parser;
  yaml_document_t doc;
  ctx_t c = {spec, &doc};
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
  int ok = yaml_parser_load(&parser, &doc);
  if (!ok) {
    dpt_fail("%s:%d: YAML: %s %s", path, (int)parser.problem_mark.line + 1,
             parser.problem ? parser.problem : "syntax error", parser.context ? parser.context : "");
    yaml_parser_delete(&parser);
    dpt_free(text);
    return -1;
  }
  yaml_parser_delete(&parser);
  dpt_free(text);
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  int rc = -1, have_base = 0;
  yaml_node_t *seeds = NULL, *replicates = NULL, *exclude = NULL, *set = NULL;
  if (!root || root->type != YAML_MAPPING_NODE) {
    fail_node(&c, root, "a sweep spec is a map (name, base, set, grid, zip, exclude, seeds, "
              "replicates, resources)");
    goto done;
  }
  /* The base comes first whatever the order in the file, then set:, then the axes. */
  for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(&doc, p->key);
    yaml_node_t *v = yaml_document_get_node(&doc, p->value);
    const char *key = scalar(k) ? scalar(k) : "";
    if (!strcmp(key, "base")) {
      if (parse_base(&c, v) < 0) goto done;
      have_base = 1;
    } else if (!strcmp(key, "set")) set = v;
  }
  if (!have_base) {
    fail_node(&c, root, "no base: name a run config file (base: base/x.yaml) or give one inline");
    goto done;
  }
  if (set) {
    if (set->type != YAML_MAPPING_NODE) {
      fail_node(&c, set, "set: expected a map of dotted.key: value");
      goto done;
    }
    if (flatten(&c, set, "", &spec->sets, &spec->nsets, NULL) < 0) goto done;
  }
  for (int i = 0; i < nextra; i++) push_str(&spec->sets, &spec->nsets, dpt_strdup(extra_sets[i]));
  for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(&doc, p->key);
    yaml_node_t *v = yaml_document_get_node(&doc, p->value);
    const char *key = scalar(k) ? scalar(k) : "";
    int r = 0;
    if (!strcmp(key, "name")) {
      if (!slurm_word(scalar(v), "")) {
        fail_node(&c, v, "name: '%s': expected a word of letters, digits, '_', '-' and '.' "
                  "(it names Slurm jobs and the sweep directory)", scalar(v) ? scalar(v) : "a list or map");
        goto done;
      }
      dpt_free(spec->name);
      spec->name = dpt_strdup(scalar(v));
    } else if (!strcmp(key, "base") || !strcmp(key, "set")) {
    } else if (!strcmp(key, "grid")) r = parse_grid(&c, v);
    else if (!strcmp(key, "zip")) r = parse_zip(&c, v);
    else if (!strcmp(key, "exclude")) exclude = v;
    else if (!strcmp(key, "seeds")) seeds = v;
    else if (!strcmp(key, "replicates")) replicates = v;
    else if (!strcmp(key, "resources")) r = parse_resources(&c, v);
    else {
      fail_node(&c, k, "unknown key '%s' (known: name, base, set, grid, zip, exclude, seeds, "
                "replicates, resources)", key);
      goto done;
    }
    if (r < 0) goto done;
  }
  if (seeds && replicates) {
    fail_node(&c, replicates, "give seeds or replicates, not both");
    goto done;
  }
  if ((seeds || replicates) && parse_seeds(&c, seeds ? seeds : replicates, !seeds) < 0) goto done;
  if (exclude && parse_exclude(&c, exclude) < 0) goto done;
  if (!spec->name) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strcspn(b, ".");
    spec->name = xprintf("%.*s", (int)n, b);
  }
  rc = 0;
done:
  yaml_document_delete(&doc);
  return rc;
}

void sweep_spec_free(sweep_spec_t *s) {
  for (int i = 0; i < s->naxes; i++) {
    for (int j = 0; j < s->axes[i].nvalues; j++) {
      sweep_value_t *v = &s->axes[i].values[j];
      dpt_free(v->text);
      for (int k = 0; k < v->nsets; k++) dpt_free(v->sets[k]);
      dpt_free(v->sets);
    }
    dpt_free(s->axes[i].values);
    dpt_free(s->axes[i].key);
  }
  for (int i = 0; i < s->nrules; i++) {
    for (int j = 0; j < s->rules[i].nconds; j++) {
      for (int k = 0; k < s->rules[i].conds[j].nvalues; k++) dpt_free(s->rules[i].conds[j].values[k]);
      dpt_free(s->rules[i].conds[j].values);
    }
    dpt_free(s->rules[i].conds);
  }
  for (int i = 0; i < s->nsets; i++) dpt_free(s->sets[i]);
  dpt_free(s->sets);
  dpt_free(s->axes);
  dpt_free(s->dims);
  dpt_free(s->rules);
  dpt_free(s->res.ranks);
  dpt_free(s->res.time);
  dpt_free(s->res.partition);
  dpt_free(s->res.account);
  dpt_free(s->path);
  dpt_free(s->name);
  dpt_free(s->base_name);
  dpt_free(s->base_text);
  memset(s, 0, sizeof *s);
}
