/* tree.h - sums of many gradient (or parameter) vectors in one fixed order.
 *
 * The sum over leaves [lo, hi) is defined by recursive halving: split at
 * mid = lo + ceil((hi - lo) / 2), sum each half, add the upper half into the lower.
 * When P (a power of two) processes each own a contiguous equal range of leaves, every
 * range is a node of this tree, so the result is bitwise the same for every such P. */
#ifndef DPT_TREE_H
#define DPT_TREE_H

#include <stddef.h>
#include <stdint.h>

/* Writes (overwrites) leaf `leaf` into out (n floats). */
typedef void (*tree_leaf_fn)(void *ctx, int64_t leaf, float *out);

typedef struct {
  size_t n;        /* floats per vector */
  int depth;       /* scratch vectors available */
  float **scratch;
} tree_t;

/* Scratch for trees of up to max_leaves leaves. */
void tree_init(tree_t *t, size_t n, int64_t max_leaves);
void tree_free(tree_t *t);
/* out = sum of leaves [lo, hi) in the order above. */
void tree_sum(const tree_t *t, int64_t lo, int64_t hi, tree_leaf_fn fn, void *ctx,
              float *out);
/* The depth of tree_sum over n leaves (scratch vectors it needs). */
int tree_depth(int64_t leaves);

#endif
