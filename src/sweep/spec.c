/* spec.c - reading a sweep spec (see sweep.h): the file as a ydoc tree, the refusal of
 * control characters, the top-level keys, base and set; specaxes.c and specres.c read
 * the axes and the resources.
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
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "../core/readfile.h"
#include "../core/strbuf.h"
#include "specparse.h"

/* ---- control characters ---- */

static int has_control(const ydoc_node_t *n) {
  for (size_t i = 0; i < n->len; i++)
    if ((unsigned char)n->text[i] < 0x20 || n->text[i] == 0x7f) return 1;
  return 0;
}

static int control_error(const ydoc_t *d, const ydoc_node_t *n, const strbuf_t *path,
                         const char *what) {
  return ydoc_fail(d, n, "%s: a control character (newline, tab, ...) in a %s; spec values "
                   "reach job scripts and must be one plain line", path->len ? path->s :
                   "(top level)", what);
}

/* Every value ends up in job scripts, manifests or --set strings, so a control character
 * (newline, tab, escape) in any scalar below n, keys too, is refused, naming where:
 * path ("grid.experiment.name[1]") is n's place. */
static int check_plain(const ydoc_t *d, const ydoc_node_t *n, strbuf_t *path) {
  if (n->kind == YDOC_SCALAR) return has_control(n) ? control_error(d, n, path, "value") : 0;
  size_t len = path->len;
  for (int i = 0; i < n->n; i++) {
    const ydoc_node_t *item = n->items[n->kind == YDOC_MAP ? 2 * i + 1 : i];
    if (n->kind == YDOC_MAP) {
      const ydoc_node_t *k = n->items[2 * i];
      if (k->kind == YDOC_SCALAR && has_control(k)) return control_error(d, k, path, "key");
      if (k->kind != YDOC_SCALAR) TRY(check_plain(d, k, path));
      strbuf_printf(path, "%s%s", path->len ? "." : "", k->kind == YDOC_SCALAR ? k->text : "?");
    } else {
      strbuf_printf(path, "[%d]", i);
    }
    TRY(check_plain(d, item, path));
    path->len = len;
    path->s[len] = 0;
  }
  return 0;
fail:
  return -1;
}

/* ---- base and set ---- */

static int parse_base(spec_ctx_t *c, const ydoc_node_t *n) {
  sweep_spec_t *s = c->spec;
  if (n->kind == YDOC_MAP) {
    s->base_name = dpt_strdup("inline base");
    return spec_flatten(c, n, "", &s->sets, NULL);
  }
  const char *b = ydoc_scalar(n);
  if (!b || !*b) return ydoc_fail(c->doc, n, "base: expected a config file path or a map");
  char dir[4096];
  dpt_dirname(dir, sizeof dir, s->path);
  char *path = b[0] == '/' ? dpt_strdup(b) : dpt_strf("%s/%s", dir, b);
  if (access(path, R_OK) != 0 && access(b, R_OK) == 0) {
    dpt_free(path);
    path = dpt_strdup(b);
  }
  dpt_free(s->base_text);
  s->base_name = path;
  if (dpt_read_file(path, YDOC_MAX_BYTES, &s->base_text, NULL) < 0)
    return dpt_wrap("%s:%d: base", s->path, n->line);
  return 0;
}

/* The base comes first whatever the order in the file, then set:, then the overrides
 * of the command line. */
static int parse_base_and_set(spec_ctx_t *c, const ydoc_node_t *root,
                              const char *const *extra_sets, int nextra) {
  const ydoc_node_t *base = ydoc_get(root, "base"), *set = ydoc_get(root, "set");
  if (!base)
    return ydoc_fail(c->doc, root, "no base: name a run config file (base: base/x.yaml) or "
                     "give one inline");
  TRY(parse_base(c, base));
  if (set && set->kind != YDOC_MAP)
    return ydoc_fail(c->doc, set, "set: expected a map of dotted.key: value");
  if (set) TRY(spec_flatten(c, set, "", &c->spec->sets, NULL));
  for (int i = 0; i < nextra; i++) strlist_push(&c->spec->sets, extra_sets[i]);
  return 0;
fail:
  return -1;
}

/* ---- the top level ---- */

typedef struct {
  const ydoc_node_t *seeds, *replicates, *exclude;
} later_t;

/* One top-level key other than base and set; seeds, replicates and exclude wait in
 * later until every axis is known. */
static int parse_key(spec_ctx_t *c, const ydoc_node_t *k, const ydoc_node_t *v, later_t *later) {
  const char *key = ydoc_scalar(k) ? k->text : "";
  if (!strcmp(key, "name")) {
    if (!spec_slurm_word(ydoc_scalar(v), ""))
      return ydoc_fail(c->doc, v, "name: '%s': expected a word of letters, digits, '_', '-' "
                       "and '.' (it names Slurm jobs and the sweep directory)",
                       ydoc_scalar(v) ? v->text : "a list or map");
    dpt_free(c->spec->name);
    c->spec->name = dpt_strdup(v->text);
    return 0;
  }
  if (!strcmp(key, "base") || !strcmp(key, "set")) return 0;
  if (!strcmp(key, "grid")) return spec_parse_grid(c, v);
  if (!strcmp(key, "zip")) return spec_parse_zip(c, v);
  if (!strcmp(key, "resources")) return spec_parse_resources(c, v);
  const ydoc_node_t **slot = !strcmp(key, "exclude") ? &later->exclude
                           : !strcmp(key, "seeds") ? &later->seeds
                           : !strcmp(key, "replicates") ? &later->replicates : NULL;
  if (!slot)
    return ydoc_fail(c->doc, k, "unknown key '%s' (known: name, base, set, grid, zip, exclude, "
                     "seeds, replicates, resources)", key);
  *slot = v;
  return 0;
}

static int parse_spec(spec_ctx_t *c, const ydoc_node_t *root, const char *const *extra_sets,
                      int nextra) {
  sweep_spec_t *spec = c->spec;
  later_t later = {0};
  if (!root || root->kind != YDOC_MAP)
    return ydoc_fail(c->doc, root, "a sweep spec is a map (name, base, set, grid, zip, "
                     "exclude, seeds, replicates, resources)");
  TRY(parse_base_and_set(c, root, extra_sets, nextra));
  for (int p = 0; p < root->n; p++)
    TRY(parse_key(c, root->items[2 * p], root->items[2 * p + 1], &later));
  if (later.seeds && later.replicates)
    return ydoc_fail(c->doc, later.replicates, "give seeds or replicates, not both");
  if (later.seeds) TRY(spec_parse_seeds(c, later.seeds, SPEC_SEEDS));
  if (later.replicates) TRY(spec_parse_seeds(c, later.replicates, SPEC_REPLICATES));
  if (later.exclude) TRY(spec_parse_exclude(c, later.exclude));
  if (!spec->name) {
    const char *b = strrchr(spec->path, '/');
    b = b ? b + 1 : spec->path;
    spec->name = dpt_strf("%.*s", (int)strcspn(b, "."), b);
  }
  return 0;
fail:
  return -1;
}

int sweep_spec_load(sweep_spec_t *spec, const char *path, const char *const *extra_sets,
                    int nextra) {
  memset(spec, 0, sizeof *spec);
  spec->path = dpt_strdup(path);
  spec->res = (sweep_resources_t){dpt_strdup("1"), dpt_strdup("60"), dpt_strdup(""),
                                  dpt_strdup(""), 1, 0, 0, 120, 0, 10};
  spec->base_text = dpt_strdup("{}");
  size_t len;
  if (dpt_read_file(path, YDOC_MAX_BYTES, &spec->text, &len) < 0) return -1;
  /* Room for an axis one value longer than a sweep may have, so that its own check
   * names the axis. */
  const ydoc_opts_t opts = {.max_nodes = 2 * SWEEP_MAX_COMBOS};
  ydoc_t doc;
  if (ydoc_load(&doc, path, spec->text, len, &opts) < 0) return -1;
  spec_ctx_t c = {spec, &doc};
  strbuf_t where = {0};
  int rc = doc.root ? check_plain(&doc, doc.root, &where) : 0;
  strbuf_free(&where);
  if (rc == 0) rc = parse_spec(&c, doc.root, extra_sets, nextra);
  ydoc_free(&doc);
  return rc;
}

void sweep_spec_free(sweep_spec_t *s) {
  for (int i = 0; i < s->naxes; i++) {
    for (int j = 0; j < s->axes[i].nvalues; j++) {
      dpt_free(s->axes[i].values[j].text);
      strlist_free(&s->axes[i].values[j].sets);
    }
    dpt_free(s->axes[i].values);
    dpt_free(s->axes[i].key);
  }
  for (int i = 0; i < s->nrules; i++) {
    for (int j = 0; j < s->rules[i].nconds; j++) strlist_free(&s->rules[i].conds[j].values);
    dpt_free(s->rules[i].conds);
  }
  strlist_free(&s->sets);
  dpt_free(s->axes);
  dpt_free(s->dims);
  dpt_free(s->rules);
  char *const strings[] = {s->res.ranks, s->res.time, s->res.partition, s->res.account,
                           s->path, s->name, s->base_name, s->base_text, s->text};
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) dpt_free(strings[i]);
  memset(s, 0, sizeof *s);
}
