/* shard.h - dealing the training images to K LocalSGD workers (data.sharding):
 *   iid           order by label (stable), deal round-robin: worker k gets k, k+K, ...
 *   random        a seeded permutation cut into K near-equal parts
 *   classes:C     worker k holds the C classes of slots kC .. kC+C-1 (slot s = class
 *                 s mod num_classes); a class shared by several slots is split evenly
 *   dirichlet:A   equal quotas; worker k draws q_k ~ Dirichlet(A * prior) (Gamma draws
 *                 in log space, so tiny A does not underflow) and fills its quota sample
 *                 by sample without replacement, renormalising q_k over the classes left
 *                 when one runs out (Hsu et al. 2020, appendix A)
 * Deterministic in the seed; independent of the number of processes. */
#ifndef DPT_SHARD_H
#define DPT_SHARD_H

#include <stddef.h>
#include <stdint.h>

/* data.sharding: the scheme (an index into shard_defs[], in its order) and its
 * parameter; shard_scheme_parse reads it from the rows, shard_scheme_text writes it. */
typedef enum { SHARD_IID, SHARD_RANDOM, SHARD_CLASSES, SHARD_DIRICHLET } shard_kind_t;
typedef struct {
  shard_kind_t kind;
  int classes;      /* classes:C */
  double alpha;     /* dirichlet:A */
} shard_scheme_t;

/* What a scheme's build step gets: the training indices grouped by class (class c at
 * by_class[start[c] .. start[c+1]), each in idx order) and the scheme's text for
 * messages. */
typedef struct {
  const shard_scheme_t *scheme;
  const int64_t *idx, *start;
  int64_t *by_class;
  int64_t n;
  int num_classes, K;
  uint64_t seed;
  const char *text;
} shard_job_t;

/* The parameter a scheme's spelling carries after "NAME:". */
typedef enum { SHARD_PARAM_NONE, SHARD_PARAM_CLASSES, SHARD_PARAM_ALPHA } shard_param_t;

/* A row of the sharding table: one scheme. */
typedef struct {
  const char *name;     /* data.sharding's spelling: NAME, or NAME:PARAM */
  const char *label;    /* for tables */
  shard_param_t param;  /* classes: an integer >= 1, alpha: a number > 0 */
  /* Fills offsets[K+1] and out[n] (each worker's indices are sorted afterwards). */
  int (*build)(const shard_job_t *job, int64_t *offsets, int64_t *out);
} shard_def_t;

extern const shard_def_t shard_defs[];
extern const int shard_ndefs;

/* What shard_scheme_parse accepts, for an error message. */
#define SHARD_SCHEME_FORMS "iid, random, classes:C (C >= 1) or dirichlet:A (A > 0)"
/* data.sharding's text into its scheme (the config layer calls it); -1 when it is none
 * of the forms. */
int shard_scheme_parse(const char *s, shard_scheme_t *out);

/* The scheme as data.sharding spells it ("classes:3"; A as the shortest %g that reads
 * back to the same double). */
void shard_scheme_text(const shard_scheme_t *s, char *buf, size_t cap);

/* idx[0..n): the training indices; labels: the split's labels (indexed by idx values).
 * Fills offsets[K+1] and out[n]: worker k's indices are out[offsets[k] .. offsets[k+1]),
 * each worker's in ascending order. */
int shard_build(const shard_scheme_t *scheme, const int64_t *idx, int64_t n, const uint8_t *labels,
                int num_classes, int K, uint64_t seed, int64_t *offsets, int64_t *out);

#endif
