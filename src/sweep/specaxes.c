/* specaxes.c - the axes of a sweep spec: `grid:` (one dimension per axis), `zip:` (axes
 * that move together), `seeds:` or `replicates:`, and `exclude:` rules; and the
 * flattening of a value (a scalar or a map) into dpt-train's --set overrides. */
#include <stdio.h>
#include <string.h>

#include "../config/config_keys.h"
#include "../core/err.h"
#include "../core/strbuf.h"
#include "specparse.h"

/* A scalar as the text of a --set value: plain scalars as written, quoted ones quoted
 * again so that "1" stays a string and "" stays empty. */
static char *set_value_text(const ydoc_node_t *n) {
  if (n->plain) return dpt_strdup(n->text);
  strbuf_t b = {0};
  strbuf_puts(&b, "'");
  for (const char *p = n->text; *p; p++) {
    if (*p == '\'') strbuf_puts(&b, "'");
    strbuf_put(&b, p, 1);
  }
  strbuf_puts(&b, "'");
  return strbuf_take(&b);
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

static int flatten_scalar(spec_ctx_t *c, const ydoc_node_t *n, const char *prefix,
                          strlist_t *sets, char **text) {
  int is_map = 0;
  if (!key_known(prefix, &is_map))
    return ydoc_fail(c->doc, n, "'%s' is not a config key (dpt-train --config-reference "
                     "lists them)", prefix);
  char *v = set_value_text(n);
  if (is_map && !(cfg_is_null(v) && n->plain)) {
    dpt_free(v);
    return ydoc_fail(c->doc, n, "'%s' is a map of keys, not a value", prefix);
  }
  strlist_push_owned(sets, dpt_strf("%s=%s", prefix, v));
  if (text) *text = v;
  else dpt_free(v);
  return 0;
}

int spec_flatten(spec_ctx_t *c, const ydoc_node_t *n, const char *prefix, strlist_t *sets,
                 char **text) {
  if (n->kind == YDOC_SCALAR) return flatten_scalar(c, n, prefix, sets, text);
  if (n->kind == YDOC_SEQ)
    return ydoc_fail(c->doc, n, "'%s': a list is not a config value here", prefix);
  strbuf_t flow = {0};
  for (int p = 0; p < n->n; p++) {
    const ydoc_node_t *k = n->items[2 * p], *v = n->items[2 * p + 1];
    if (!ydoc_scalar(k)) {
      strbuf_free(&flow);
      return ydoc_fail(c->doc, k, "'%s': map keys must be plain names", prefix);
    }
    char *full = *prefix ? dpt_strf("%s.%s", prefix, k->text) : dpt_strdup(k->text);
    char *sub = NULL;
    int rc = spec_flatten(c, v, full, sets, text ? &sub : NULL);
    dpt_free(full);
    if (rc < 0) {
      strbuf_free(&flow);
      return -1;
    }
    if (text) strbuf_printf(&flow, "%s%s: %s", p ? ", " : "{", k->text, sub);
    dpt_free(sub);
  }
  if (text) {
    if (!n->n) strbuf_puts(&flow, "{");
    strbuf_puts(&flow, "}");
    *text = strbuf_take(&flow);
  }
  return 0;
}

/* ---- axes and dimensions ---- */

static int add_axis(spec_ctx_t *c, const ydoc_node_t *knode, const ydoc_node_t *vnode, int dim) {
  sweep_spec_t *s = c->spec;
  const char *key = ydoc_scalar(knode);
  if (!key) return ydoc_fail(c->doc, knode, "an axis must be named by a dotted config key");
  int is_map;
  if (!key_known(key, &is_map))
    return ydoc_fail(c->doc, knode, "axis '%s': unknown config key (dpt-train "
                     "--config-reference lists them)", key);
  for (int i = 0; i < s->naxes; i++)
    if (!strcmp(s->axes[i].key, key))
      return ydoc_fail(c->doc, knode, "axis '%s' appears twice (line %d)", key, s->axes[i].line);
  int seq = vnode->kind == YDOC_SEQ, nitems = seq ? vnode->n : 1;
  if (nitems == 0) return ydoc_fail(c->doc, vnode, "axis '%s' has no values (empty grid)", key);
  if (nitems > SWEEP_MAX_COMBOS)
    return ydoc_fail(c->doc, vnode, "axis '%s' has %d values; at most %ld (split the sweep)",
                     key, nitems, SWEEP_MAX_COMBOS);
  s->axes = dpt_realloc(s->axes, (size_t)(s->naxes + 1) * sizeof *s->axes);
  sweep_axis_t *a = &s->axes[s->naxes++];
  *a = (sweep_axis_t){.key = dpt_strdup(key), .dim = dim, .line = knode->line,
                      .values = dpt_alloc((size_t)nitems * sizeof *a->values)};
  for (int i = 0; i < nitems; i++) {
    const ydoc_node_t *v = seq ? vnode->items[i] : vnode;
    sweep_value_t *sv = &a->values[a->nvalues++];
    sv->line = v->line;
    if (spec_flatten(c, v, key, &sv->sets, &sv->text) < 0)
      return dpt_wrap("axis '%s' value %d", key, i + 1);
  }
  return 0;
}

/* The axes from first_axis on make one dimension. */
static void add_dim(sweep_spec_t *s, int first_axis) {
  s->dims = dpt_realloc(s->dims, (size_t)(s->ndims + 1) * sizeof *s->dims);
  s->dims[s->ndims++] = (sweep_dim_t){s->axes[first_axis].nvalues, first_axis,
                                      s->naxes - first_axis};
}

int spec_parse_grid(spec_ctx_t *c, const ydoc_node_t *n) {
  if (n->kind != YDOC_MAP)
    return ydoc_fail(c->doc, n, "grid: expected a map of dotted.key: [values]");
  for (int p = 0; p < n->n; p++) {
    int first = c->spec->naxes;
    TRY(add_axis(c, n->items[2 * p], n->items[2 * p + 1], c->spec->ndims));
    add_dim(c->spec, first);
  }
  return 0;
fail:
  return -1;
}

static int parse_zip_group(spec_ctx_t *c, const ydoc_node_t *n, int g) {
  if (n->kind != YDOC_MAP || n->n == 0)
    return ydoc_fail(c->doc, n, "zip group %d: expected a map of dotted.key: [values]", g + 1);
  sweep_spec_t *s = c->spec;
  int first = s->naxes;
  for (int p = 0; p < n->n; p++) {
    const ydoc_node_t *k = n->items[2 * p];
    TRY(add_axis(c, k, n->items[2 * p + 1], s->ndims));
    const sweep_axis_t *last = &s->axes[s->naxes - 1], *lead = &s->axes[first];
    if (last->nvalues != lead->nvalues)
      return ydoc_fail(c->doc, k, "zip group %d: axis '%s' has %d values but '%s' has %d; axes "
                       "that move together need the same number", g + 1, last->key,
                       last->nvalues, lead->key, lead->nvalues);
  }
  add_dim(s, first);
  return 0;
fail:
  return -1;
}

int spec_parse_zip(spec_ctx_t *c, const ydoc_node_t *n) {
  if (n->kind == YDOC_MAP) return parse_zip_group(c, n, 0);
  if (n->kind != YDOC_SEQ)
    return ydoc_fail(c->doc, n, "zip: expected a list of groups (maps of dotted.key: [values])");
  for (int g = 0; g < n->n; g++) TRY(parse_zip_group(c, n->items[g], g));
  return 0;
fail:
  return -1;
}

/* replicates: N as the axis experiment.seed = 0 .. N-1. */
static int add_replicates(spec_ctx_t *c, const ydoc_node_t *n) {
  sweep_spec_t *s = c->spec;
  int r;
  TRY(spec_parse_int(c, n, "replicates", 1, &r));
  if (r > SWEEP_MAX_REPLICATES)
    return ydoc_fail(c->doc, n, "replicates: %d; expected at most %d seeds of each "
                     "configuration (a sweep holds at most %ld tasks)", r, SWEEP_MAX_REPLICATES,
                     SWEEP_MAX_COMBOS);
  s->axes = dpt_realloc(s->axes, (size_t)(s->naxes + 1) * sizeof *s->axes);
  sweep_axis_t *a = &s->axes[s->naxes++];
  *a = (sweep_axis_t){dpt_strdup("experiment.seed"), dpt_alloc((size_t)r * sizeof(sweep_value_t)),
                      r, s->ndims, n->line};
  for (int i = 0; i < r; i++) {
    a->values[i].text = dpt_strf("%d", i);
    a->values[i].line = n->line;
    strlist_push_owned(&a->values[i].sets, dpt_strf("experiment.seed=%d", i));
  }
  return 0;
fail:
  return -1;
}

int spec_parse_seeds(spec_ctx_t *c, const ydoc_node_t *n, spec_seeds_t form) {
  sweep_spec_t *s = c->spec;
  for (int i = 0; i < s->naxes; i++)
    if (!strcmp(s->axes[i].key, "experiment.seed"))
      return ydoc_fail(c->doc, n, "%s: experiment.seed is already an axis (line %d)",
                       form == SPEC_REPLICATES ? "replicates" : "seeds", s->axes[i].line);
  int first = s->naxes;
  /* seeds: the axis reader with a key node of its own at the list's line. */
  ydoc_node_t key = {.kind = YDOC_SCALAR, .line = n->line, .column = n->column,
                     .text = (char *)"experiment.seed", .len = 15, .plain = 1};
  TRY(form == SPEC_REPLICATES ? add_replicates(c, n) : add_axis(c, &key, n, s->ndims));
  add_dim(s, first);
  return 0;
fail:
  return -1;
}

/* ---- exclude rules ---- */

static int axis_index(const sweep_spec_t *s, const char *key) {
  for (int i = 0; i < s->naxes; i++)
    if (!strcmp(s->axes[i].key, key)) return i;
  if (!strcmp(key, "seed")) return axis_index(s, "experiment.seed");
  return -1;
}

/* One condition of a rule: key's axis has one of the values v (a scalar or a list). */
static int add_cond(spec_ctx_t *c, sweep_rule_t *rule, const ydoc_node_t *k, const ydoc_node_t *v) {
  int ax = ydoc_scalar(k) ? axis_index(c->spec, k->text) : -1;
  if (ax < 0)
    return ydoc_fail(c->doc, k, "exclude: '%s' is not an axis of this sweep (rules match axis "
                     "values)", ydoc_scalar(k) ? k->text : "?");
  rule->conds = dpt_realloc(rule->conds, (size_t)(rule->nconds + 1) * sizeof *rule->conds);
  sweep_cond_t *cond = &rule->conds[rule->nconds++];
  *cond = (sweep_cond_t){.axis = ax};
  int seq = v->kind == YDOC_SEQ, nitems = seq ? v->n : 1;
  for (int j = 0; j < nitems; j++) {
    const ydoc_node_t *e = seq ? v->items[j] : v;
    if (!ydoc_scalar(e))
      return ydoc_fail(c->doc, e, "exclude: '%s': expected a value or a list of values", k->text);
    strlist_push(&cond->values, e->text);
  }
  return 0;
}

int spec_parse_exclude(spec_ctx_t *c, const ydoc_node_t *n) {
  sweep_spec_t *s = c->spec;
  if (n->kind != YDOC_SEQ)
    return ydoc_fail(c->doc, n, "exclude: expected a list of rules ({dotted.key: value or "
                     "[values]})");
  for (int i = 0; i < n->n; i++) {
    const ydoc_node_t *r = n->items[i];
    if (r->kind != YDOC_MAP || r->n == 0)
      return ydoc_fail(c->doc, r, "exclude: a rule is a map {dotted.key: value or [values]}");
    s->rules = dpt_realloc(s->rules, (size_t)(s->nrules + 1) * sizeof *s->rules);
    sweep_rule_t *rule = &s->rules[s->nrules++];
    *rule = (sweep_rule_t){.line = r->line};
    for (int p = 0; p < r->n; p++) TRY(add_cond(c, rule, r->items[2 * p], r->items[2 * p + 1]));
  }
  return 0;
fail:
  return -1;
}
