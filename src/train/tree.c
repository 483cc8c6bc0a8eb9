/* tree.c - fixed-order tree sums (see tree.h). */
#include "tree.h"

#include "../core/err.h"

int tree_depth(int64_t leaves) {
  int d = 0;
  while (leaves > 1) {
    leaves = (leaves + 1) / 2;
    d++;
  }
  return d;
}

void tree_init(tree_t *t, size_t n, int64_t max_leaves) {
  t->n = n;
  t->depth = tree_depth(max_leaves);
  t->scratch = dpt_alloc(sizeof(float *) * (t->depth + 1));
  for (int i = 0; i < t->depth; i++) t->scratch[i] = dpt_alloc(sizeof(float) * n);
}

void tree_free(tree_t *t) {
  for (int i = 0; i < t->depth; i++) dpt_free(t->scratch[i]);
  dpt_free(t->scratch);
  t->scratch = NULL;
  t->depth = 0;
}

static void sum_level(const tree_t *t, int level, int64_t lo, int64_t hi, tree_leaf_fn fn,
                      void *ctx, float *out) {
  if (hi - lo == 1) {
    fn(ctx, lo, out);
    return;
  }
  DPT_ASSERT(level < t->depth);
  int64_t mid = lo + (hi - lo + 1) / 2;
  float *upper = t->scratch[level];
  sum_level(t, level + 1, lo, mid, fn, ctx, out);
  sum_level(t, level + 1, mid, hi, fn, ctx, upper);
  for (size_t i = 0; i < t->n; i++) out[i] += upper[i];
}

void tree_sum(const tree_t *t, int64_t lo, int64_t hi, tree_leaf_fn fn, void *ctx,
              float *out) {
  DPT_ASSERT(hi > lo);
  sum_level(t, 0, lo, hi, fn, ctx, out);
}
