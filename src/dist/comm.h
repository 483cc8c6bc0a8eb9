/* comm.h - sums across MPI ranks in a fixed order, with accounting.
 *
 * Work items (gradient leaves of a batch, or LocalSGD workers) are numbered 0..n-1 and
 * summed along the tree of tree.h. With P a power of two, rank r owns the node at depth
 * log2(P) with index r (dist_node); summing the ranks' node sums pairwise by recursive
 * doubling, lower + upper, rebuilds the upper levels of that same tree. So the total is
 * bitwise the one a single rank computes, for every power-of-two P. Other P, or
 * train.reduction: fast, use MPI_Allreduce (deterministic run to run, not across P). */
#ifndef DPT_COMM_H
#define DPT_COMM_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  MPI_Comm comm;
  int rank, nranks;
  int ordered;          /* fixed-tree sums (P a power of two and reduction: ordered) */
  float *recv;          /* scratch for the partner's partial sum */
  size_t cap;
  /* accounting since the last dist_take_stats */
  double seconds;
  int64_t bytes_sent;
  int64_t reductions;
} dist_t;

/* ordered_wanted: train.reduction == ordered. max_n: the longest vector summed. */
void dist_init(dist_t *d, MPI_Comm comm, int ordered_wanted, size_t max_n);
void dist_free(dist_t *d);

/* The node of the canonical tree over n items that rank `rank` of `nranks` owns:
 * [*lo, *hi), possibly empty. For non-ordered communicators: an even block split. */
void dist_node(const dist_t *d, int64_t n, int64_t *lo, int64_t *hi);

/* In place, x (n floats) becomes the sum over ranks, times `by` (1.0f: no scaling; the
 * multiply is fused into the last addition where there is one); present = 0 when this
 * rank's node was empty (x is then ignored and overwritten). */
void dist_sum(dist_t *d, float *x, size_t n, int present, float by);
/* Element-wise sums of doubles / int64 where each element is nonzero on at most one rank
 * (so any order is exact): collecting per-item results. */
void dist_collect_f64(dist_t *d, double *x, size_t n);
void dist_sum_i64(dist_t *d, int64_t *x, size_t n);

#endif
