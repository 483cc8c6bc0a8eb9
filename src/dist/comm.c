/* comm.c - fixed-order sums across ranks (see comm.h). */
#include "comm.h"

#include <string.h>

#include "../core/err.h"

static int is_pow2(int p) { return p > 0 && (p & (p - 1)) == 0; }

void dist_init(dist_t *d, MPI_Comm comm, int ordered_wanted, size_t max_n) {
  memset(d, 0, sizeof *d);
  d->comm = comm;
  MPI_Comm_rank(comm, &d->rank);
  MPI_Comm_size(comm, &d->nranks);
  d->ordered = ordered_wanted && is_pow2(d->nranks);
  d->cap = max_n;
  d->recv = d->nranks > 1 ? dpt_alloc(sizeof(float) * max_n) : NULL;
}

void dist_free(dist_t *d) {
  dpt_free(d->recv);
  memset(d, 0, sizeof *d);
}

void dist_node(const dist_t *d, int64_t n, int64_t *lo, int64_t *hi) {
  if (!d->ordered) {
    *lo = n * d->rank / d->nranks;
    *hi = n * (d->rank + 1) / d->nranks;
    return;
  }
  int64_t a = 0, b = n;
  /* descend from the root: the rank's bits, most significant first, pick the half */
  for (int bit = d->nranks >> 1; bit > 0; bit >>= 1) {
    int64_t mid = a + (b - a + 1) / 2;
    if (d->rank & bit) a = mid; else b = mid;
  }
  *lo = a;
  *hi = b;
}

static double now(void) { return MPI_Wtime(); }

static void multiply(float *x, size_t n, float by) {
  if (by != 1.0f)
    for (size_t i = 0; i < n; i++) x[i] *= by;
}

void dist_sum(dist_t *d, float *x, size_t n, int present, float by) {
  double t0 = now();
  int scaled = 0;
  d->reductions++;
  if (d->nranks == 1) {
    if (!present) memset(x, 0, sizeof(float) * n);
  } else if (!d->ordered) {
    if (!present) memset(x, 0, sizeof(float) * n);
    MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_FLOAT, MPI_SUM, d->comm);
    d->bytes_sent += (int64_t)(2 * sizeof(float) * n * (d->nranks - 1) / d->nranks);
  } else {
    DPT_ASSERT(n <= d->cap);
    for (int bit = 1; bit < d->nranks; bit <<= 1) {
      int partner = d->rank ^ bit, theirs = 0;
      MPI_Sendrecv(&present, 1, MPI_INT, partner, 1, &theirs, 1, MPI_INT, partner, 1,
                   d->comm, MPI_STATUS_IGNORE);
      if (present && theirs) {
        MPI_Sendrecv(x, (int)n, MPI_FLOAT, partner, 2, d->recv, (int)n, MPI_FLOAT, partner,
                     2, d->comm, MPI_STATUS_IGNORE);
        d->bytes_sent += (int64_t)(sizeof(float) * n);
        /* lower + upper on both sides: float addition commutes, so both get one value;
         * the last level also scales, the same two roundings as two passes */
        if (bit << 1 >= d->nranks && by != 1.0f) {
          for (size_t i = 0; i < n; i++) x[i] = (x[i] + d->recv[i]) * by;
          scaled = 1;
        } else {
          for (size_t i = 0; i < n; i++) x[i] += d->recv[i];
        }
      } else if (present) {
        MPI_Send(x, (int)n, MPI_FLOAT, partner, 2, d->comm);
        d->bytes_sent += (int64_t)(sizeof(float) * n);
      } else if (theirs) {
        MPI_Recv(x, (int)n, MPI_FLOAT, partner, 2, d->comm, MPI_STATUS_IGNORE);
        present = 1;
      }
    }
    if (!present) memset(x, 0, sizeof(float) * n);
  }
  d->seconds += now() - t0;
  if (!scaled) multiply(x, n, by);
}

void dist_collect_f64(dist_t *d, double *x, size_t n) {
  if (d->nranks == 1) return;
  double t0 = now();
  MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_DOUBLE, MPI_SUM, d->comm);
  d->seconds += now() - t0;
}

void dist_sum_i64(dist_t *d, int64_t *x, size_t n) {
  if (d->nranks == 1) return;
  double t0 = now();
  MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_INT64_T, MPI_SUM, d->comm);
  d->seconds += now() - t0;
}
