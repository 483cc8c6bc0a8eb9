/* specparse.h - what the three parts of the sweep spec reader share: spec.c (the file,
 * its top-level keys, base and set), specaxes.c (grid, zip, seeds, exclude) and
 * specres.c (resources). Each reads a part of the spec's ydoc tree into the spec and
 * fails with "SPEC:LINE: ..." (ydoc_fail). */
#ifndef DPT_SWEEP_SPECPARSE_H
#define DPT_SWEEP_SPECPARSE_H

#include "../core/strlist.h"
#include "../core/ydoc.h"
#include "sweep.h"

typedef struct {
  sweep_spec_t *spec;
  const ydoc_t *doc;
} spec_ctx_t;

/* Flattens node n under the dotted prefix into "dotted.key=value" overrides in sets,
 * refusing keys dpt-train does not know; a value's text (a map in flow style) goes to
 * *text when text is not NULL. */
int spec_flatten(spec_ctx_t *c, const ydoc_node_t *n, const char *prefix, strlist_t *sets,
                 char **text);

int spec_parse_grid(spec_ctx_t *c, const ydoc_node_t *n);
int spec_parse_zip(spec_ctx_t *c, const ydoc_node_t *n);
/* seeds: [0, 1] (a list of seeds) or replicates: N (seeds 0 .. N-1). */
typedef enum { SPEC_SEEDS, SPEC_REPLICATES } spec_seeds_t;
int spec_parse_seeds(spec_ctx_t *c, const ydoc_node_t *n, spec_seeds_t form);
int spec_parse_exclude(spec_ctx_t *c, const ydoc_node_t *n);
int spec_parse_resources(spec_ctx_t *c, const ydoc_node_t *n);

/* An integer in [min, 1e9] into *out; fails "WHAT: expected an integer >= MIN, got ...". */
int spec_parse_int(spec_ctx_t *c, const ydoc_node_t *n, const char *what, int min, int *out);

/* A non-empty word of letters, digits, '_', '-', '.' and the characters in extra: what
 * Slurm accepts in job, partition and account names. */
int spec_slurm_word(const char *s, const char *extra);

#endif
