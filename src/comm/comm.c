/* comm.c - fixed-order sums across ranks (see comm.h). */
#include "comm.h"

#include <string.h>

#include "../core/err.h"

const char *const comm_reduction_names[] = {"ordered", "fast", NULL};

void comm_init(comm_t *d, MPI_Comm comm, comm_reduction_t reduction) {
  memset(d, 0, sizeof *d);
  d->comm = comm;
  MPI_Comm_rank(comm, &d->rank);
  MPI_Comm_size(comm, &d->nranks);
  d->ordered = reduction == COMM_ORDERED;
  d->lens = dpt_alloc(sizeof(int) * d->nranks);
  d->displs = dpt_alloc(sizeof(int) * d->nranks);
}

int comm_agree(MPI_Comm comm, int rc) {
  int ok = rc >= 0, all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, comm);
  if (!all && ok) return dpt_fail("another rank failed (see its message)");
  return all ? 0 : -1;
}

int comm_any(MPI_Comm comm, int flag) {
  int mine = flag != 0, any = 0;
  MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm);
  return any;
}

void comm_free(comm_t *d) {
  dpt_free(d->recv);
  dpt_free(d->reqs);
  dpt_free(d->slots);
  dpt_free(d->lens);
  dpt_free(d->displs);
  memset(d, 0, sizeof *d);
}

void comm_block(const comm_t *d, int r, int64_t n, int64_t *lo, int64_t *hi) {
  *lo = n * r / d->nranks;
  *hi = n * (r + 1) / d->nranks;
}

void comm_node(const comm_t *d, int64_t n, int64_t *lo, int64_t *hi) {
  comm_block(d, d->rank, n, lo, hi);
}

static double now(void) { return MPI_Wtime(); }

/* train.measure_wait: the ranks meet before a reduction, so that the time a rank waits
 * for the slowest one is measured apart from the time the data takes to travel. */
static void meet(comm_t *d) {
  if (!d->measure_wait || d->nranks == 1) return;
  double t0 = now();
  MPI_Barrier(d->comm);
  d->wait_seconds += now() - t0;
}

static void multiply(float *x, size_t n, float by) {
  if (by != 1.0f)
    for (size_t i = 0; i < n; i++) x[i] *= by;
}

/* Room for `floats` received floats, `reqs` requests and `slots` slots. */
static void reserve(comm_t *d, size_t floats, int reqs, int slots) {
  if (floats > d->cap) {
    dpt_free(d->recv);
    d->recv = dpt_alloc(sizeof(float) * floats);
    d->cap = floats;
  }
  if (reqs > d->nreqs) {
    dpt_free(d->reqs);
    d->reqs = dpt_alloc(sizeof(MPI_Request) * reqs);
    d->nreqs = reqs;
  }
  if (slots > d->nslots) {
    dpt_free(d->slots);
    d->slots = dpt_alloc(sizeof(float *) * slots);
    d->nslots = slots;
  }
}

void comm_sum_parts(comm_t *d, float *const *parts, const int *counts,
                    comm_combine_fn combine, void *ctx, float *out, size_t n, float by) {
  double t0 = now();
  meet(d);
  int P = d->nranks, me = d->rank, total = 0;
  d->reductions++;
  for (int s = 0; s < P; s++) {
    total += counts[s];
    int64_t lo, hi;
    comm_block(d, s, (int64_t)n, &lo, &hi);
    d->displs[s] = (int)lo;
    d->lens[s] = (int)(hi - lo);
  }
  size_t off = (size_t)d->displs[me], len = (size_t)d->lens[me];
  int others = total - counts[me];
  reserve(d, (size_t)others * len + 1, others + counts[me] * (P - 1) + 1, total + 1);
  /* slots: every part's chunk `me`, rank by rank; this rank's own parts in place */
  float **slots = d->slots;
  int nreq = 0;
  for (int s = 0, slot = 0, theirs = 0; s < P; s++)
    for (int i = 0; i < counts[s]; i++, slot++) {
      if (s == me) {
        slots[slot] = parts[i] + off;
        continue;
      }
      slots[slot] = d->recv + (size_t)theirs++ * len;
      MPI_Irecv(slots[slot], (int)len, MPI_FLOAT, s, i, d->comm, &d->reqs[nreq++]);
    }
  for (int j = 0; j < P; j++)
    for (int i = 0; j != me && i < counts[me]; i++) {
      MPI_Isend(parts[i] + d->displs[j], d->lens[j], MPI_FLOAT, j, i, d->comm,
                &d->reqs[nreq++]);
      d->bytes_sent += (int64_t)sizeof(float) * d->lens[j];
    }
  MPI_Waitall(nreq, d->reqs, MPI_STATUSES_IGNORE);
  combine(ctx, slots, total, len);
  float *sum = slots[0], *dst = out + off;
  if (by != 1.0f)
    for (size_t i = 0; i < len; i++) dst[i] = sum[i] * by;
  else if (dst != sum)
    memcpy(dst, sum, sizeof(float) * len);
  if (P > 1) {
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, out, d->lens, d->displs, MPI_FLOAT,
                   d->comm);
    /* as a ring allgather sends: every chunk but one */
    d->bytes_sent += (int64_t)(sizeof(float) * (n - len));
    /* the combining counts as communication, as the additions of a reduction do */
    d->seconds += now() - t0;
  }
}

void comm_sum(comm_t *d, float *x, size_t n, int present, float by) {
  double t0 = now();
  meet(d);
  d->reductions++;
  if (!present) memset(x, 0, sizeof(float) * n);
  if (d->nranks > 1) {
    MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_FLOAT, MPI_SUM, d->comm);
    d->bytes_sent += (int64_t)(2 * sizeof(float) * n * (d->nranks - 1) / d->nranks);
  }
  d->seconds += now() - t0;
  multiply(x, n, by);
}

void comm_collect_f64(comm_t *d, double *x, size_t n) {
  if (d->nranks == 1) return;
  double t0 = now();
  MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_DOUBLE, MPI_SUM, d->comm);
  d->seconds += now() - t0;
}

void comm_sum_i64(comm_t *d, int64_t *x, size_t n) {
  if (d->nranks == 1) return;
  double t0 = now();
  MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_INT64_T, MPI_SUM, d->comm);
  d->seconds += now() - t0;
}
