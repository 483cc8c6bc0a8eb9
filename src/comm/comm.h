/* comm.h - sums across MPI ranks in a fixed order, with accounting.
 *
 * Work items (gradient leaves of a batch, or LocalSGD workers) are numbered 0..n-1;
 * rank r owns the block [r*n/P, (r+1)*n/P) (comm_block). A fixed-order sum hands every
 * rank's partial sums to comm_sum_parts, which adds them element by element in an order
 * the caller's combine function fixes (tree.h: the summation tree over the items),
 * so the result does not depend on P. train.reduction: fast uses MPI_Allreduce instead
 * (comm_sum: deterministic run to run, not across P). */
#ifndef DPT_COMM_H
#define DPT_COMM_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

/* train.reduction: ordered = fixed-order sums, bitwise the same on every P; fast =
 * MPI_Allreduce's own order. comm_reduction_names[] spells them, NULL-terminated. */
typedef enum { COMM_ORDERED, COMM_FAST } comm_reduction_t;
extern const char *const comm_reduction_names[];

typedef struct {
  MPI_Comm comm;
  int rank, nranks;
  int ordered;          /* fixed-order sums (train.reduction: ordered) */
  float *recv;          /* scratch for the other ranks' partial sums */
  size_t cap;           /* floats in recv */
  MPI_Request *reqs;
  int nreqs;
  float **slots;        /* the parts' chunks this rank combines */
  int nslots;
  int *lens, *displs;   /* per rank: the element chunk it adds up */
  int measure_wait;     /* train.measure_wait: a barrier before each reduction, timed */
  /* accounting, cumulative (callers take differences) */
  double seconds;       /* in communication, the barrier's wait included */
  double wait_seconds;  /* of which waiting at that barrier for the slowest rank */
  int64_t bytes_sent;
  int64_t reductions;
} comm_t;

void comm_init(comm_t *d, MPI_Comm comm, comm_reduction_t reduction);

/* The one "all ranks agree" point: every rank learns whether any rank's rc was an
 * error (< 0), so none waits in a collective for one that already gave up. Returns 0
 * when all succeeded, else -1; a rank that itself succeeded then holds the message
 * "another rank failed (see its message)". Collective over comm. */
int comm_agree(MPI_Comm comm, int rc);
/* Collective: 1 on every rank when any rank's flag is nonzero (a stop vote). */
int comm_any(MPI_Comm comm, int flag);
void comm_free(comm_t *d);

/* The block of n items that rank r owns: [*lo, *hi), possibly empty. */
void comm_block(const comm_t *d, int r, int64_t n, int64_t *lo, int64_t *hi);
/* This rank's block. */
void comm_node(const comm_t *d, int64_t n, int64_t *lo, int64_t *hi);

/* Adds the ranks' partial sums, element by element: slots[0..count) are every rank's
 * partial sums (len floats each: one chunk of the elements), rank 0's first, in order;
 * the total must end in slots[0]. */
typedef void (*comm_combine_fn)(void *ctx, float *const *slots, int count, size_t len);

/* out (n floats, every rank) = by * combine(all ranks' parts). parts: this rank's
 * counts[rank] vectors of n floats; counts[s]: how many rank s has (the same array on
 * every rank). Rank j combines element chunk j of every part and the chunks are then
 * gathered, so each rank sends about (its parts + 1) * n * (P-1)/P floats. out may be
 * parts[0]. Collective. */
void comm_sum_parts(comm_t *d, float *const *parts, const int *counts,
                    comm_combine_fn combine, void *ctx, float *out, size_t n, float by);
/* train.reduction: fast. In place, x (n floats) becomes the sum over ranks
 * (MPI_Allreduce) times `by`; present = 0 when this rank had nothing (x is then ignored
 * and overwritten). */
void comm_sum(comm_t *d, float *x, size_t n, int present, float by);
/* Element-wise sums of doubles / int64 where each element is nonzero on at most one rank
 * (so any order is exact): collecting per-item results. */
void comm_collect_f64(comm_t *d, double *x, size_t n);
void comm_sum_i64(comm_t *d, int64_t *x, size_t n);

#endif
