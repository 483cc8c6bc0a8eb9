/* plotlabel.h - what a figure's legend and panels say: short labels built from the keys
 * that tell its curves apart ("H=4", "DiLoCo"), and the key whose values split the curves
 * into panels (facets).
 *
 * The groups of a figure come as a matrix of key texts: val[g * nkeys + k] is key k's text
 * for group g (NULL: the group's runs lack the key). sel lists the nsel groups the figure
 * draws. */
#ifndef DPT_AGG_PLOTLABEL_H
#define DPT_AGG_PLOTLABEL_H

/* More curves than this in one panel split the figure into panels, when a key allows. */
#define AGG_PLOT_MAX_CURVES 8

/* keep[k] = 1 for each key that tells curves apart among the selected groups: one that
 * varies while the keys kept before it stay the same. A key the earlier ones determine
 * (DiLoCo always runs AdamW) or that never varies says nothing and is left out; key
 * `skip` (the facet key; -1: none) too. */
void agg_label_keys(const char *const *val, int nkeys, const int *sel, int nsel, int skip,
                    int *keep);

/* The label of group g from the kept keys (a new string): "KEY=VALUE" pairs joined by
 * ", ", with a short name for the keys a study names often (model.work.local_steps is H,
 * model.num_workers K), the bare value for keys whose values name themselves (method,
 * optimizer, strategy, sharding), and the key without its "model." otherwise. "all runs"
 * when no key is kept. */
char *agg_label_text(const char *const *keys, const char *const *val, int nkeys, int g,
                     const int *keep);

/* The key to split the selected groups into panels: `want` when given (it must be one of
 * keys; else fails naming it and the keys), else, past AGG_PLOT_MAX_CURVES curves, the
 * varying key that leaves at most AGG_PLOT_MAX_CURVES curves per panel in the fewest panels
 * (failing that, the fewest curves in the fullest panel); -1: no panels. */
int agg_facet_key(const char *const *keys, const char *const *val, int nkeys, const int *sel,
                  int nsel, const char *want, int *facet);

#endif
