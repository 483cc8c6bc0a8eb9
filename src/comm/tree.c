/* tree.c - fixed-order tree sums (see tree.h). */
#include "tree.h"

#include <string.h>

#include "../core/err.h"

/* The depth of tree_sum over n leaves (scratch vectors it needs). */
static int tree_depth(int64_t leaves) {
  int d = 0;
  while (leaves > 1) {
    leaves = (leaves + 1) / 2;
    d++;
  }
  return d;
}

void tree_init(tree_t *t, size_t n, int64_t max_leaves) {
  memset(t, 0, sizeof *t);
  t->n = n;
  t->depth = tree_depth(max_leaves);
  t->scratch = dpt_alloc(sizeof(float *) * (t->depth + 1));
  for (int i = 0; i < t->depth; i++) t->scratch[i] = dpt_alloc(sizeof(float) * n);
}

void tree_free(tree_t *t) {
  for (int i = 0; i < t->depth; i++) dpt_free(t->scratch[i]);
  for (int i = 0; i < t->nparts; i++) dpt_free(t->parts[i]);
  dpt_free(t->scratch);
  dpt_free(t->parts);
  dpt_free(t->nodes);
  dpt_free(t->own);
  dpt_free(t->counts);
  memset(t, 0, sizeof *t);
}

static int64_t split(int64_t lo, int64_t hi) { return lo + (hi - lo + 1) / 2; }

static void sum_level(const tree_t *t, int level, int64_t lo, int64_t hi, tree_leaf_fn fn,
                      void *ctx, float *out) {
  if (hi - lo == 1) {
    fn(ctx, lo, out);
    return;
  }
  DPT_ASSERT(level < t->depth);
  int64_t mid = split(lo, hi);
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

/* ---------------------------------------------------------------- covers */

int tree_cover_max(int64_t n) { return 2 * tree_depth(n) + 1; }

static void cover(int64_t a, int64_t b, int64_t lo, int64_t hi, tree_node_t *nodes,
                  int *count) {
  if (b <= lo || a >= hi) return;
  if (lo <= a && b <= hi) {
    nodes[(*count)++] = (tree_node_t){a, b};
    return;
  }
  int64_t mid = split(a, b);
  cover(a, mid, lo, hi, nodes, count);
  cover(mid, b, lo, hi, nodes, count);
}

int tree_cover(int64_t n, int64_t lo, int64_t hi, tree_node_t *nodes) {
  int count = 0;
  if (lo < hi) cover(0, n, lo, hi, nodes, &count);
  return count;
}

/* Sum of node [a, b) from the partition's sums starting at *next; returns the index of
 * the vector that holds it. */
static int combine(int64_t a, int64_t b, const tree_node_t *nodes, int count, int *next,
                   float *const *sums, size_t len) {
  DPT_ASSERT(*next < count && nodes[*next].lo == a);
  if (nodes[*next].hi == b) return (*next)++;
  DPT_ASSERT(nodes[*next].hi < b);
  int64_t mid = split(a, b);
  int lower = combine(a, mid, nodes, count, next, sums, len);
  int upper = combine(mid, b, nodes, count, next, sums, len);
  float *x = sums[lower];
  const float *y = sums[upper];
  for (size_t i = 0; i < len; i++) x[i] += y[i];
  return lower;
}

void tree_combine(int64_t n, const tree_node_t *nodes, int count, float *const *sums,
                  size_t len) {
  int next = 0;
  int root = combine(0, n, nodes, count, &next, sums, len);
  DPT_ASSERT(root == 0 && next == count);
}

/* ---------------------------------------------------------------- across ranks */

typedef struct {
  int64_t n;
  const tree_node_t *nodes;
} combine_ctx_t;

static void combine_cb(void *ctx, float *const *slots, int count, size_t len) {
  const combine_ctx_t *c = ctx;
  tree_combine(c->n, c->nodes, count, slots, len);
}

/* Every rank's cover of its block, rank after rank, into t->nodes / t->counts. */
static void all_covers(tree_t *t, const comm_t *d, int64_t n) {
  int per = tree_cover_max(n);
  if (t->nodes_cap < per * d->nranks) {
    dpt_free(t->nodes);
    dpt_free(t->own);
    t->nodes_cap = per * d->nranks;
    t->nodes = dpt_alloc(sizeof(tree_node_t) * t->nodes_cap);
    t->own = dpt_alloc(sizeof(float *) * per);
  }
  if (t->ncounts < d->nranks) {
    dpt_free(t->counts);
    t->ncounts = d->nranks;
    t->counts = dpt_alloc(sizeof(int) * t->ncounts);
  }
  int total = 0;
  for (int r = 0; r < d->nranks; r++) {
    int64_t lo, hi;
    comm_block(d, r, n, &lo, &hi);
    t->counts[r] = tree_cover(n, lo, hi, t->nodes + total);
    total += t->counts[r];
  }
}

void tree_reduce(tree_t *t, comm_t *d, int64_t nleaves, tree_leaf_fn fn, void *ctx,
                 float *out, float by) {
  int64_t lo, hi;
  comm_block(d, d->rank, nleaves, &lo, &hi);
  if (!d->ordered) {
    if (hi > lo) tree_sum(t, lo, hi, fn, ctx, out);
    comm_sum(d, out, t->n, hi > lo, by);
    return;
  }
  all_covers(t, d, nleaves);
  int mine = 0;
  for (int r = 0; r < d->rank; r++) mine += t->counts[r];
  int count = t->counts[d->rank];
  if (t->nparts < count - 1) {
    t->parts = dpt_realloc(t->parts, sizeof(float *) * (count - 1));
    for (int i = t->nparts; i < count - 1; i++) t->parts[i] = dpt_alloc(sizeof(float) * t->n);
    t->nparts = count - 1;
  }
  for (int i = 0; i < count; i++) {
    const tree_node_t *node = &t->nodes[mine + i];
    t->own[i] = i == 0 ? out : t->parts[i - 1];
    tree_sum(t, node->lo, node->hi, fn, ctx, t->own[i]);
  }
  combine_ctx_t c = {nleaves, t->nodes};
  comm_sum_parts(d, t->own, t->counts, combine_cb, &c, out, t->n, by);
}
