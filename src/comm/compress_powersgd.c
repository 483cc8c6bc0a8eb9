/* compress_powersgd.c - PowerSGD (Vogels et al. 2019) as PyTorch 1.13's powerSGD_hook
 * (torch/distributed/algorithms/ddp_comm_hooks/powerSGD_hook.py) does it, with the hook's
 * defaults (use_error_feedback, warm_start, min_compression_rate 2, start_powerSGD_iter
 * 1000, orthogonalization_epsilon 0):
 *
 * - rounds < start_iter: plain allreduce of every tensor (the hook's warm-up; the hook
 *   divides each input by K before its sum, dpt sums then divides, as every dpt mean);
 * - then every participant adds its residual to its input (M, all tensors); a tensor
 *   viewed as (rows, cols) = tensor.view(shape[0], -1) with r = min(rows, cols, RANK) is
 *   compressed when (rows + cols) * r * min_rate < rows * cols (so never a 1-D tensor),
 *   or kept dense (uncompressed, or on the keep list);
 * - Q (cols x r per tensor, shared) is drawn from N(0, 1) (dpt's stream keyed by seed
 *   and round) on the first round and whenever warm start is off, else last round's Q;
 *   either way it is orthogonalised (modified Gram-Schmidt, as the hook's
 *   _orthogonalize_gram_schmidt; the hook uses a QR factorisation for r > 2, whose
 *   columns differ from Gram-Schmidt's only in sign and rounding, and the signs cancel
 *   in P Q^T);
 * - stage 0 (allreduce): the dense tensors' values, and P = M Q; the P sum is
 *   orthogonalised (not divided by K);
 * - stage 1 (allreduce): Q = M^T P; the Q sum divided by K is the new Q (warm start);
 * - the output: dense tensors' sum / K, compressed tensors P Q^T;
 * - error feedback: residual = M - output, over every tensor (the hook's
 *   input_tensor_cp - input_tensor, so a dense tensor's residual is the participant's
 *   distance to the mean).
 *
 * Floats per participant and round after the warm-up, what the hook sends for the same
 * shapes and rank (its three allreduces: uncompressed tensors, Ps, Qs):
 *   sum over dense tensors of rows*cols + sum over compressed tensors of (rows+cols)*r,
 * 4 bytes each; during the warm-up every tensor's rows*cols. Products accumulate in double
 * (the hook's bmm in float32); a column of zeros stays zeros (the hook divides by its
 * zero norm and gets NaN). */
#include <math.h>
#include <string.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "compress_impl.h"

#define Q_BUF 1 /* the row's state: 0 the residual (per participant), 1 Q (shared) */

void comm_powersgd_plan(comm_plan_t *pl, comm_tplan_t *t, comm_part_t *part) {
  size_t r = (size_t)pl->opt.rank;
  if (r > t->rows) r = t->rows;
  if (r > t->cols) r = t->cols;
  part->coll = COMM_ALLREDUCE;
  if (!((double)((t->rows + t->cols) * r) * pl->opt.min_rate < (double)(t->rows * t->cols))) {
    t->dense = 1;
    return;
  }
  t->k = r;
  t->p_off = pl->plen;
  t->q_off = pl->qlen;
  t->b_off = part->bytes;
  pl->plen += t->rows * r;
  pl->qlen += t->cols * r;
  part->values += t->rows * r; /* the stage-0 part is P; Q is stage 1's */
  part->bytes += t->rows * r * sizeof(float);
}

static int warming_up(const comm_ctx_t *c) { return c->rounds < c->plan.opt.start_iter; }

/* Modified Gram-Schmidt on the r columns of a (len x r, row-major), as the hook's
 * _orthogonalize_gram_schmidt; sums in double. */
static void orthogonalise(float *a, size_t len, size_t r) {
  for (size_t i = 0; i < r; i++) {
    double ss = 0;
    for (size_t j = 0; j < len; j++) ss += (double)a[j * r + i] * a[j * r + i];
    float norm = (float)sqrt(ss);
    if (norm == 0) continue;
    for (size_t j = 0; j < len; j++) a[j * r + i] /= norm;
    for (size_t c = i + 1; c < r; c++) {
      double dot = 0;
      for (size_t j = 0; j < len; j++) dot += (double)a[j * r + i] * a[j * r + c];
      float d = (float)dot;
      for (size_t j = 0; j < len; j++) a[j * r + c] -= d * a[j * r + i];
    }
  }
}

/* Q from N(0, 1): Box-Muller on the stream keyed by (seed, round), the same on every rank */
static void draw_q(comm_ctx_t *c) {
  uint64_t key = rng_key(c->plan.opt.seed, RNG_POWERSGD, 0, (uint64_t)c->rounds);
  float *q = c->buf[Q_BUF];
  for (size_t i = 0; i < c->plan.qlen; i++) {
    double u1 = 1.0 - rng_unit(rng_at(key, 2 * i)), u2 = rng_unit(rng_at(key, 2 * i + 1));
    q[i] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
  }
}

static int psgd_begin(comm_ctx_t *c) {
  if (warming_up(c)) return 1;
  if (!c->q_ready || !c->plan.opt.warm_start) draw_q(c);
  c->q_ready = 1;
  const comm_plan_t *pl = &c->plan;
  for (int i = 0; i < pl->ntensors; i++)
    if (!pl->t[i].dense) orthogonalise(c->buf[Q_BUF] + pl->t[i].q_off, pl->t[i].cols, pl->t[i].k);
  return pl->plen ? 2 : 1; /* nothing compressed: the dense part is all */
}

static void psgd_wire(const comm_ctx_t *c, int s, comm_wire_t *w) {
  if (s == 0) {
    comm_wire_one(c, warming_up(c), w);
    w->sum_len = c->plan.n + c->plan.plen;
    return;
  }
  memset(w, 0, sizeof *w);
  w->nparts = 1;
  w->part[0] = (comm_part_t){COMM_ALLREDUCE, c->plan.qlen, 0, 0, c->plan.qlen * sizeof(float)};
  w->bytes = w->part[0].bytes;
  w->sum_len = c->plan.qlen;
}

/* out (rows x r) = m (rows x cols) q (cols x r) */
static void mul_mq(const float *m, const float *q, size_t rows, size_t cols, size_t r,
                   double *acc, float *out) {
  for (size_t i = 0; i < rows; i++) {
    memset(acc, 0, sizeof(double) * r);
    for (size_t j = 0; j < cols; j++)
      for (size_t c = 0; c < r; c++) acc[c] += (double)m[i * cols + j] * q[j * r + c];
    for (size_t c = 0; c < r; c++) out[i * r + c] = (float)acc[c];
  }
}

/* out (cols x r) = m^T (cols x rows) p (rows x r) */
static void mul_mtp(const float *m, const float *p, size_t rows, size_t cols, size_t r,
                    double *acc, float *out) {
  memset(acc, 0, sizeof(double) * cols * r);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++)
      for (size_t c = 0; c < r; c++) acc[j * r + c] += (double)m[i * cols + j] * p[i * r + c];
  for (size_t j = 0; j < cols * r; j++) out[j] = (float)acc[j];
}

/* stage 0: the peer's M (input plus residual) kept in its residual buffer until the
 * round ends; the dense values, then P = M Q */
static int psgd_encode0(comm_ctx_t *c, comm_peer_t *peer, int k, const float *x, uint8_t *dst) {
  const comm_plan_t *pl = &c->plan;
  float *m = peer->buf[0];
  for (int i = 0; i < pl->ntensors; i++) {
    const comm_tplan_t *t = &pl->t[i];
    if (comm_check_finite(c, t, k, x + t->off, "input") < 0) return -1;
    for (size_t j = t->off; j < t->off + t->size; j++)
      m[j] = pl->opt.error_feedback ? x[j] + m[j] : x[j];
    if (comm_check_finite(c, t, k, m + t->off, "input plus error-feedback residual") < 0)
      return -1;
  }
  size_t dense_bytes = pl->dense_floats * sizeof(float);
  float *p = dpt_alloc(sizeof(float) * (pl->plen + 1));
  double *acc = dpt_alloc(sizeof(double) * ((size_t)pl->opt.rank + 1));
  for (int i = 0; i < pl->ntensors; i++) {
    const comm_tplan_t *t = &pl->t[i];
    if (t->dense)
      memcpy(dst + t->b_off, m + t->off, t->size * sizeof(float));
    else
      mul_mq(m + t->off, c->buf[Q_BUF] + t->q_off, t->rows, t->cols, t->k, acc, p + t->p_off);
  }
  memcpy(dst + dense_bytes, p, pl->plen * sizeof(float));
  dpt_free(acc);
  dpt_free(p);
  return 0;
}

/* stage 1: Q = M^T P with the orthogonalised P sum */
static void psgd_encode1(comm_ctx_t *c, comm_peer_t *peer, uint8_t *dst) {
  const comm_plan_t *pl = &c->plan;
  const float *phat = c->sum[0] + pl->n;
  float *q = dpt_alloc(sizeof(float) * (pl->qlen + 1));
  size_t most = 0;
  for (int i = 0; i < pl->ntensors; i++)
    if (!pl->t[i].dense && pl->t[i].cols * pl->t[i].k > most) most = pl->t[i].cols * pl->t[i].k;
  double *acc = dpt_alloc(sizeof(double) * (most + 1));
  for (int i = 0; i < pl->ntensors; i++) {
    const comm_tplan_t *t = &pl->t[i];
    if (!t->dense)
      mul_mtp(peer->buf[0] + t->off, phat + t->p_off, t->rows, t->cols, t->k, acc, q + t->q_off);
  }
  memcpy(dst, q, pl->qlen * sizeof(float));
  dpt_free(acc);
  dpt_free(q);
}

static int psgd_encode(comm_ctx_t *c, comm_peer_t *peer, int k, int s, const float *x,
                       uint8_t *dst) {
  if (warming_up(c)) return comm_encode_one(c, peer, k, x, 1, dst);
  if (s == 0) return psgd_encode0(c, peer, k, x, dst);
  psgd_encode1(c, peer, dst);
  return 0;
}

static void psgd_decode(const comm_ctx_t *c, int s, const uint8_t *src, float *out) {
  const comm_plan_t *pl = &c->plan;
  if (s == 1) {
    memcpy(out, src, pl->qlen * sizeof(float));
    return;
  }
  memset(out + pl->n, 0, pl->plen * sizeof(float));
  if (warming_up(c)) {
    comm_decode_one(c, 1, src, out);
    return;
  }
  memset(out, 0, sizeof(float) * pl->n); /* the compressed tensors come in finish */
  for (int i = 0; i < pl->ntensors; i++)
    if (pl->t[i].dense)
      memcpy(out + pl->t[i].off, src + pl->t[i].b_off, pl->t[i].size * sizeof(float));
  memcpy(out + pl->n, src + pl->dense_floats * sizeof(float), pl->plen * sizeof(float));
}

static void psgd_stage_done(comm_ctx_t *c, int s, const float *sum, int K) {
  const comm_plan_t *pl = &c->plan;
  if (s == 1) {
    const float k = (float)K;
    for (size_t i = 0; i < pl->qlen; i++) c->buf[Q_BUF][i] = c->sum[1][i] = sum[i] / k;
    return;
  }
  memcpy(c->sum[0], sum, sizeof(float) * (pl->n + pl->plen));
  if (warming_up(c)) return;
  for (int i = 0; i < pl->ntensors; i++) {
    const comm_tplan_t *t = &pl->t[i];
    if (!t->dense) orthogonalise(c->sum[0] + pl->n + t->p_off, t->rows, t->k);
  }
}

static void psgd_finish(const comm_ctx_t *c, int K, float *out) {
  const comm_plan_t *pl = &c->plan;
  comm_finish_mean(c, K, out);
  if (warming_up(c)) return;
  const float *phat = c->sum[0] + pl->n, *q = c->buf[Q_BUF];
  for (int i = 0; i < pl->ntensors; i++) {
    const comm_tplan_t *t = &pl->t[i];
    if (t->dense) continue;
    for (size_t a = 0; a < t->rows; a++)
      for (size_t b = 0; b < t->cols; b++) {
        double v = 0;
        for (size_t j = 0; j < t->k; j++)
          v += (double)phat[t->p_off + a * t->k + j] * q[t->q_off + b * t->k + j];
        out[t->off + a * t->cols + b] = (float)v;
      }
  }
}

static void psgd_peer_finish(const comm_ctx_t *c, comm_peer_t *peer, const float *out) {
  const comm_plan_t *pl = &c->plan;
  if (warming_up(c)) return;
  float *m = peer->buf[0];
  for (int i = 0; i < pl->ntensors; i++) {
    const comm_tplan_t *t = &pl->t[i];
    for (size_t j = t->off; j < t->off + t->size; j++)
      m[j] = pl->opt.error_feedback ? m[j] - out[j] : 0.0f;
  }
}

const comm_round_ops_t comm_powersgd_round = {psgd_begin,  psgd_wire,   psgd_encode,
                                              psgd_decode, psgd_stage_done, psgd_finish,
                                              psgd_peer_finish};
