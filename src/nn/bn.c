/* bn.c - batch normalisation (fused with the residual add and ReLU), the option-A
 * shortcut and the global average pool of the ResNets (see conv3.h). Every loop runs
 * channels innermost, so each channel's sum is taken over the rows in order whatever
 * the compiler vectorises. Batch norm's AVX2 path (8 channels at a time, the same
 * operations lane by lane: double sums of the converted floats, float arithmetic
 * without contraction) gives the scalar loops' bits. */
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <math.h>
#include <string.h>

#include "conv3.h"
#include "kernel.h"

#ifdef NN_HAVE_X86
/* whether c channels take the AVX2 loops */
static int bn_vector(int c) { return nn_kernel() != NN_KERNEL_SCALAR && c % 8 == 0; }
#endif

#ifdef NN_HAVE_X86
/* The per-channel sums run over the rows with the channels of a group of BN_GROUP (or 8)
 * in registers: two 4-double accumulators per 8 channels, each channel's sum still taken
 * over the rows in order, as the scalar loops take it. */
#define BN_GROUP 16

/* the 8 floats of v as two 4-double vectors */
NN_TARGET_AVX2 static inline void widen8(__m256 v, __m256d *lo, __m256d *hi) {
  *lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
  *hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
}

/* channels k0 .. k0+nk-1 (nk 8 or 16): the rows, and their squares, added to their
 * running sums sum and sq (a float's square is exact in double, so the FMA adds it as
 * the scalar loop's multiply and add do) */
NN_TARGET_AVX2 __attribute__((always_inline)) static inline void sum_group_avx2(
    size_t rows, int c, int k0, const int nk, const float *in, double *sum, double *sq) {
  __m256d s[BN_GROUP / 4], q[BN_GROUP / 4], v[2];
#pragma GCC unroll 4
  for (int j = 0; j < nk / 4; j++) {
    s[j] = _mm256_loadu_pd(sum + k0 + 4 * j);
    q[j] = _mm256_loadu_pd(sq + k0 + 4 * j);
  }
  for (size_t r = 0; r < rows; r++)
#pragma GCC unroll 2
    for (int j = 0; j < nk / 8; j++) {
      widen8(_mm256_loadu_ps(in + r * c + k0 + 8 * j), &v[0], &v[1]);
#pragma GCC unroll 2
      for (int h = 0; h < 2; h++) {
        s[2 * j + h] = _mm256_add_pd(s[2 * j + h], v[h]);
        q[2 * j + h] = _mm256_fmadd_pd(v[h], v[h], q[2 * j + h]);
      }
    }
#pragma GCC unroll 4
  for (int j = 0; j < nk / 4; j++) {
    _mm256_storeu_pd(sum + k0 + 4 * j, s[j]);
    _mm256_storeu_pd(sq + k0 + 4 * j, q[j]);
  }
}

NN_TARGET_AVX2 static void sum_avx2(size_t rows, int c, const float *in, double *sums) {
  int k0 = 0;
  for (; k0 + BN_GROUP <= c; k0 += BN_GROUP)
    sum_group_avx2(rows, c, k0, BN_GROUP, in, sums, sums + c);
  for (; k0 < c; k0 += 8) sum_group_avx2(rows, c, k0, 8, in, sums, sums + c);
}

NN_TARGET_AVX2 static void normalise_avx2(nn_bn_t b, size_t rows, int c, const float *in,
                                          const float *res, int relu, float *out) {
  const __m256 zero = _mm256_setzero_ps();
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < c; k += 8) {
      __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(in + r * c + k),
                                                _mm256_loadu_ps(b.mean + k)),
                                  _mm256_loadu_ps(b.rstd + k));
      __m256 y = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(b.gamma + k), xhat),
                               _mm256_loadu_ps(b.beta + k));
      if (res) y = _mm256_add_ps(y, _mm256_loadu_ps(res + r * c + k));
      if (relu) y = _mm256_and_ps(y, _mm256_cmp_ps(y, zero, _CMP_GT_OQ));
      _mm256_storeu_ps(out + r * c + k, y);
    }
}

/* channels k0 .. k0+nk-1 of grad_sums_avx2 */
NN_TARGET_AVX2 __attribute__((always_inline)) static inline void grad_group_avx2(
    nn_bn_t b, size_t rows, int c, int k0, const int nk, const float *in,
    const float *out, int relu, const float *add, float *dout, double *sdy, double *sdyx) {
  const __m256 zero = _mm256_setzero_ps();
  __m256d s1[BN_GROUP / 4], s2[BN_GROUP / 4], lo, hi, xlo, xhi;
#pragma GCC unroll 4
  for (int j = 0; j < nk / 4; j++) {
    s1[j] = _mm256_loadu_pd(sdy + k0 + 4 * j);
    s2[j] = _mm256_loadu_pd(sdyx + k0 + 4 * j);
  }
  for (size_t r = 0; r < rows; r++)
#pragma GCC unroll 2
    for (int j = 0; j < nk / 8; j++) {
      size_t at = r * c + k0 + 8 * j;
      int k = k0 + 8 * j;
      __m256 dy = _mm256_loadu_ps(dout + at);
      if (add) dy = _mm256_add_ps(dy, _mm256_loadu_ps(add + at));
      __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(in + at), _mm256_loadu_ps(b.mean + k)),
                                  _mm256_loadu_ps(b.rstd + k));
      if (relu) {
        __m256 y = out ? _mm256_loadu_ps(out + at)
                       : _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(b.gamma + k), xhat),
                                       _mm256_loadu_ps(b.beta + k));
        dy = _mm256_and_ps(dy, _mm256_cmp_ps(y, zero, _CMP_GT_OQ));
      }
      if (relu || add) _mm256_storeu_ps(dout + at, dy);
      widen8(dy, &lo, &hi);
      widen8(xhat, &xlo, &xhi);
      s1[2 * j] = _mm256_add_pd(s1[2 * j], lo);
      s1[2 * j + 1] = _mm256_add_pd(s1[2 * j + 1], hi);
      s2[2 * j] = _mm256_add_pd(s2[2 * j], _mm256_mul_pd(lo, xlo));
      s2[2 * j + 1] = _mm256_add_pd(s2[2 * j + 1], _mm256_mul_pd(hi, xhi));
    }
#pragma GCC unroll 4
  for (int j = 0; j < nk / 4; j++) {
    _mm256_storeu_pd(sdy + k0 + 4 * j, s1[j]);
    _mm256_storeu_pd(sdyx + k0 + 4 * j, s2[j]);
  }
}

/* adds add (where not NULL) to dout, applies the ReLU's mask to it and adds dy and dy *
 * xhat to each channel's running sums sdy and sdyx (in double) */
NN_TARGET_AVX2 static void grad_sums_avx2(nn_bn_t b, size_t rows, int c, const float *in,
                                          const float *out, int relu, const float *add,
                                          float *dout, double *sdy, double *sdyx) {
  int k0 = 0;
  for (; k0 + BN_GROUP <= c; k0 += BN_GROUP)
    grad_group_avx2(b, rows, c, k0, BN_GROUP, in, out, relu, add, dout, sdy, sdyx);
  for (; k0 < c; k0 += 8)
    grad_group_avx2(b, rows, c, k0, 8, in, out, relu, add, dout, sdy, sdyx);
}

NN_TARGET_AVX2 static void input_grad_avx2(nn_bn_t b, size_t rows, int c, const float *in,
                                           const float *dout, const float *k1, const float *k2,
                                           const float *g, float *din) {
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < c; k += 8) {
      __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(in + r * c + k),
                                                _mm256_loadu_ps(b.mean + k)),
                                  _mm256_loadu_ps(b.rstd + k));
      __m256 t = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(dout + r * c + k),
                                             _mm256_loadu_ps(k1 + k)),
                               _mm256_mul_ps(xhat, _mm256_loadu_ps(k2 + k)));
      _mm256_storeu_ps(din + r * c + k, _mm256_mul_ps(_mm256_loadu_ps(g + k), t));
    }
}
#endif

void nn_bn_sum_rows(size_t rows, int c, const float *in, double *sums) {
#ifdef NN_HAVE_X86
  if (bn_vector(c)) {
    sum_avx2(rows, c, in, sums);
    return;
  }
#endif
  double *sq = sums + c;
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < c; k++) {
      double x = in[r * c + k];
      sums[k] += x;
      sq[k] += x * x;
    }
}

void nn_bn_statistics_summed(const nn_bn_t *b, size_t rows, int c, double *stats) {
  double *mean = stats, *var = stats + c;
  for (int k = 0; k < c; k++) {
    mean[k] /= (double)rows;
    var[k] = var[k] / (double)rows - mean[k] * mean[k];
    if (!(var[k] > 0.0)) var[k] = 0.0; /* rounding below an exact zero */
    b->mean[k] = (float)mean[k];
    b->rstd[k] = (float)(1.0 / sqrt(var[k] + NN_BN_EPS));
    if (rows > 1) var[k] = var[k] * (double)rows / (double)(rows - 1);
  }
}

void nn_bn_statistics(const nn_bn_t *b, size_t rows, int c, const float *in, double *stats) {
  if (stats) {
    for (int k = 0; k < 2 * c; k++) stats[k] = 0;
    nn_bn_sum_rows(rows, c, in, stats);
    nn_bn_statistics_summed(b, rows, c, stats);
    return;
  }
  for (int k = 0; k < c; k++) {
    b->mean[k] = b->run_mean[k];
    b->rstd[k] = (float)(1.0 / sqrt((double)b->run_var[k] + NN_BN_EPS));
  }
}

void nn_bn_normalise(const nn_bn_t *b, size_t rows, int c, const float *in, const float *res,
                     int relu, float *out) {
#ifdef NN_HAVE_X86
  if (bn_vector(c)) {
    normalise_avx2(*b, rows, c, in, res, relu, out);
    return;
  }
#endif
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < c; k++) {
      float xhat = (in[r * c + k] - b->mean[k]) * b->rstd[k];
      float y = b->gamma[k] * xhat + b->beta[k];
      if (res) y += res[r * c + k];
      out[r * c + k] = relu && !(y > 0.0f) ? 0.0f : y;
    }
}

void nn_bn_forward(const nn_bn_t *b, size_t rows, int c, const float *in, const float *res,
                   int relu, float *out, double *stats) {
  nn_bn_statistics(b, rows, c, in, stats);
  nn_bn_normalise(b, rows, c, in, res, relu, out);
}

void nn_bn_dgrad_start(nn_bn_dgrad_t *d, const nn_bn_t *b, int c, const float *in,
                       const float *out, int relu, float *dout) {
  *d = (nn_bn_dgrad_t){.b = b, .c = c, .relu = relu, .in = in, .out = out, .dout = dout,
                       .k1 = d->k1, .k2 = d->k2, .g = d->g, .sdy = d->sdy, .sdyx = d->sdyx};
  for (int k = 0; k < c; k++) d->sdy[k] = d->sdyx[k] = 0;
}

/* rows [r0, r0 + rows) of nn_bn_dgrad_rows, their outputs at out */
static void dgrad_span(nn_bn_dgrad_t *d, size_t r0, size_t rows, const float *out,
                       const float *add) {
  const nn_bn_t *b = d->b;
  int c = d->c, relu = d->relu;
  const float *in = d->in + r0 * c;
  float *dout = d->dout + r0 * c;
  double *sdy = d->sdy, *sdyx = d->sdyx;
  if (add) add += r0 * c;
#ifdef NN_HAVE_X86
  if (bn_vector(c)) {
    grad_sums_avx2(*b, rows, c, in, out, relu, add, dout, sdy, sdyx);
    return;
  }
#endif
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < c; k++) {
      float dy = dout[r * c + k];
      if (add) dout[r * c + k] = dy = dy + add[r * c + k];
      float xhat = (in[r * c + k] - b->mean[k]) * b->rstd[k];
      float y = out ? out[r * c + k] : b->gamma[k] * xhat + b->beta[k];
      if (relu && !(y > 0.0f)) dout[r * c + k] = dy = 0.0f;
      sdy[k] += dy;
      sdyx[k] += (double)dy * xhat;
    }
}

void nn_bn_dgrad_rows(nn_bn_dgrad_t *d, size_t r0, size_t rows, const float *add) {
  if (!d->out || !d->out_w) {
    dgrad_span(d, r0, rows, d->out ? d->out + r0 * d->c : NULL, add);
    return;
  }
  /* padded outputs: a span per image row */
  size_t w = d->out_w, hw = w * d->out_h;
  for (size_t r = r0, end = r0 + rows; r < end;) {
    size_t i = r / hw, y = r % hw / w, x = r % w, span = w - x < end - r ? w - x : end - r;
    dgrad_span(d, r, span, d->out + nn_padded_at(d->out_h, d->out_w, d->c, i, y) + x * d->c,
               add);
    r += span;
  }
}

void nn_bn_dgrad_finish(nn_bn_dgrad_t *d, size_t rows, float *dgamma, float *dbeta) {
  for (int k = 0; k < d->c; k++) {
    dgamma[k] = (float)d->sdyx[k];
    dbeta[k] = (float)d->sdy[k];
    d->k1[k] = (float)(d->sdy[k] / (double)rows);
    d->k2[k] = (float)(d->sdyx[k] / (double)rows);
    d->g[k] = d->b->gamma[k] * d->b->rstd[k];
  }
}

void nn_bn_backward_sums(const nn_bn_t *b, size_t rows, int c, const float *in,
                         const float *out, int relu, float *dout, float *dgamma, float *dbeta,
                         nn_bn_dgrad_t *d) {
  nn_bn_dgrad_start(d, b, c, in, out, relu, dout);
  nn_bn_dgrad_rows(d, 0, rows, NULL);
  nn_bn_dgrad_finish(d, rows, dgamma, dbeta);
}

void nn_bn_input_grad(const nn_bn_dgrad_t *d, size_t r0, size_t rows, float *din) {
  const nn_bn_t *b = d->b;
  int c = d->c;
  const float *in = d->in + r0 * c, *dout = d->dout + r0 * c, *k1 = d->k1, *k2 = d->k2,
              *g = d->g;
#ifdef NN_HAVE_X86
  if (bn_vector(c)) {
    input_grad_avx2(*b, rows, c, in, dout, k1, k2, g, din);
    return;
  }
#endif
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < c; k++) {
      float xhat = (in[r * c + k] - b->mean[k]) * b->rstd[k];
      din[r * c + k] = g[k] * (dout[r * c + k] - k1[k] - xhat * k2[k]);
    }
}

void nn_bn_backward(const nn_bn_t *b, size_t rows, int c, const float *in, const float *out,
                    int relu, float *dout, float *dgamma, float *dbeta, float *din) {
  float k1[c], k2[c], g[c];
  double sdy[c], sdyx[c];
  nn_bn_dgrad_t d = {.k1 = k1, .k2 = k2, .g = g, .sdy = sdy, .sdyx = sdyx};
  nn_bn_backward_sums(b, rows, c, in, out, relu, dout, dgamma, dbeta, &d);
  nn_bn_input_grad(&d, 0, rows, din);
}

void nn_bn_update_running(float *run_mean, float *run_var, const double *stats, int c,
                          double momentum) {
  for (int k = 0; k < c; k++) {
    run_mean[k] = (float)((1.0 - momentum) * run_mean[k] + momentum * stats[k]);
    run_var[k] = (float)((1.0 - momentum) * run_var[k] + momentum * stats[c + k]);
  }
}

/* --- option-A shortcut */

void nn_shortcut_forward(int n, int h, int w, int cin, int cout, int stride, const float *x,
                         float *out, int padded) {
  int oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1, lo = (cout - cin) / 2;
  memset(out, 0, sizeof(float) * n * (padded ? nn_padded_size(oh, ow, cout) : (size_t)oh * ow * cout));
  for (int i = 0; i < n; i++)
    for (int y = 0; y < oh; y++) {
      float *o = out + (padded ? nn_padded_at(oh, ow, cout, i, y) : ((size_t)i * oh + y) * ow * cout);
      const float *xr = x + (padded ? nn_padded_at(h, w, cin, i, y * stride)
                                    : ((size_t)i * h + y * stride) * w * cin);
      for (int xx = 0; xx < ow; xx++)
        memcpy(o + (size_t)xx * cout + lo, xr + (size_t)xx * stride * cin, sizeof(float) * cin);
    }
}

void nn_shortcut_backward(int n, int h, int w, int cin, int cout, int stride,
                          const float *dout, float *din) {
  int oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1, lo = (cout - cin) / 2;
  for (int i = 0; i < n; i++)
    for (int y = 0; y < oh; y++)
      for (int xx = 0; xx < ow; xx++) {
        const float *d = dout + (((size_t)i * oh + y) * ow + xx) * cout + lo;
        float *g = din + (((size_t)i * h + y * stride) * w + xx * stride) * cin;
        for (int k = 0; k < cin; k++) g[k] += d[k];
      }
}

/* --- global average pool */

void nn_avgpool_forward(int n, int hw, int c, const float *in, float *out) {
  float inv = (float)(1.0 / hw);
  for (int i = 0; i < n; i++) {
    float *o = out + (size_t)i * c;
    for (int k = 0; k < c; k++) o[k] = 0.0f;
    for (int p = 0; p < hw; p++)
      for (int k = 0; k < c; k++) o[k] += in[((size_t)i * hw + p) * c + k];
    for (int k = 0; k < c; k++) o[k] *= inv;
  }
}

void nn_avgpool_backward(int n, int hw, int c, const float *dout, float *din) {
  float inv = (float)(1.0 / hw);
  for (int i = 0; i < n; i++)
    for (int p = 0; p < hw; p++)
      for (int k = 0; k < c; k++) din[((size_t)i * hw + p) * c + k] = dout[(size_t)i * c + k] * inv;
}
