/* tree.h - sums of many gradient (or parameter) vectors in one fixed order.
 *
 * The sum over leaves [0, n) is defined by recursive halving: split [lo, hi) at
 * mid = lo + ceil((hi - lo) / 2), sum each half, add the upper half into the lower.
 * The tree depends on n alone. Across P ranks (tree_reduce), rank r owns the leaves
 * [r*n/P, (r+1)*n/P) and sums the nodes of the tree that lie entirely in that block
 * (its cover, at most two per level); the ranks' node sums are then added in the
 * tree's order above them. Every node is the same two floats added, so the total is
 * bitwise the single-process one for every P, not only powers of two. */
#ifndef DPT_TREE_H
#define DPT_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "comm.h"

/* Writes (overwrites) leaf `leaf` into out (n floats). */
typedef void (*tree_leaf_fn)(void *ctx, int64_t leaf, float *out);

/* A node of the tree: leaves [lo, hi). */
typedef struct {
  int64_t lo, hi;
} tree_node_t;

typedef struct {
  size_t n;        /* floats per vector */
  int depth;       /* scratch vectors available */
  float **scratch;
  /* tree_reduce, grown on demand: every rank's cover and its count per rank; this
   * rank's node sums (own: the output vector, then parts) */
  tree_node_t *nodes;
  int *counts;
  int nodes_cap, ncounts;
  float **own, **parts;
  int nparts;
} tree_t;

/* Scratch for trees of up to max_leaves leaves. */
void tree_init(tree_t *t, size_t n, int64_t max_leaves);
void tree_free(tree_t *t);
/* out = sum of leaves [lo, hi) in the order above, [lo, hi) taken as a tree's root (a
 * node of a larger tree sums as it does inside that tree). */
void tree_sum(const tree_t *t, int64_t lo, int64_t hi, tree_leaf_fn fn, void *ctx,
              float *out);

/* The largest nodes of the tree over [0, n) that lie inside [lo, hi), left to right,
 * into nodes (room for tree_cover_max(n)); returns their count (0 when lo >= hi). */
int tree_cover(int64_t n, int64_t lo, int64_t hi, tree_node_t *nodes);
int tree_cover_max(int64_t n);
/* nodes[0..count): a partition of [0, n) into tree nodes, left to right, sums[i] (len
 * floats) the sum of nodes[i]. Adds them up in the tree's order above the nodes, in
 * place; the total ends in sums[0]. */
void tree_combine(int64_t n, const tree_node_t *nodes, int count, float *const *sums,
                  size_t len);

/* out (t->n floats, every rank) = by * the sum of leaves [0, nleaves) of the tree, each
 * rank computing its block's leaves through fn (train.reduction: ordered). With
 * d->ordered = 0 the ranks' block sums go through MPI_Allreduce instead. Collective. */
void tree_reduce(tree_t *t, comm_t *d, int64_t nleaves, tree_leaf_fn fn, void *ctx,
                 float *out, float by);

#endif
