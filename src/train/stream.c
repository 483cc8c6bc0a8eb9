/* stream.c - Streaming DiLoCo's fragments and their schedule (method.h; local.c runs the
 * rounds; docs/compression.md). Everything here is a function of the model's layout and
 * of (H, F, tau, T, step): the same on every rank and every P, and after a resume. */
#include <stdlib.h>

#include "../core/cmp.h"
#include "../core/err.h"
#include "method.h"

/* The cut nearest to `target` among offs[from .. to] (the lower one on a tie). */
static int nearest(const int64_t *offs, int from, int to, int64_t target) {
  int best = from;
  for (int j = from + 1; j <= to; j++)
    if (llabs(offs[j] - target) < llabs(offs[best] - target)) best = j;
  return best;
}

int train_stream_cut(const nn_model_t *m, int F, size_t *lo) {
  int nt = nn_trained_tensors(m);
  if (F > nt)
    return dpt_fail("model.outer.fragments = %d, but the model has %d trained tensors: a "
                    "fragment holds at least one whole tensor", F, nt);
  int64_t *offs = dpt_alloc(sizeof(int64_t) * (size_t)nt);
  for (int i = 0; i < nt; i++) offs[i] = (int64_t)m->tensors[i].offset;
  qsort(offs, (size_t)nt, sizeof *offs, dpt_cmp_i64);
  int64_t N = (int64_t)nn_trained_floats(m, m->nparams);
  int j = 0; /* offs[j]: the previous cut */
  lo[0] = 0;
  for (int f = 1; f < F; f++) {
    /* at least one tensor after the previous cut, one left for each later fragment */
    j = nearest(offs, j + 1, nt - (F - f), (int64_t)f * N / F);
    lo[f] = (size_t)offs[j];
  }
  lo[F] = m->nparams;
  dpt_free(offs);
  return 0;
}

/* Whether fragment f's regular round lands after n steps of the epoch: every H steps
 * from its offset floor((f + 1) H / F). */
static int lands_regular(const train_stream_t *st, int64_t H, int f, int64_t n) {
  int64_t o = (int64_t)(f + 1) * H / st->F;
  return n >= o && (n - o) % H == 0;
}

int train_stream_lands(const train_stream_t *st, int H, int T, int f, int64_t s) {
  return lands_regular(st, H, f, s + 1) || s == T - 1;
}

int train_stream_sends(const train_stream_t *st, int H, int T, int f, int64_t s) {
  int64_t n = s + 1;
  if (n + st->tau <= T && lands_regular(st, H, f, n + st->tau)) return st->tau;
  if (s == T - 1 && !lands_regular(st, H, f, T)) return 0; /* the epoch's flush */
  return -1;
}

int64_t train_stream_prev(const train_stream_t *st, int H, int T, int64_t s) {
  for (int64_t p = s - 1; p >= 0; p--)
    for (int f = 0; f < st->F; f++)
      if (train_stream_sends(st, H, T, f, p) >= 0) return p;
  return -1;
}
