/* layers.c - conv+ReLU+maxpool, linear(+ReLU) and softmax cross-entropy (see layers.h). */
#include "layers.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <math.h>
#include <string.h>

#include "conv3.h"
#include "kernel.h"

void nn_conv_shape_init(nn_conv_shape_t *s, int cin, int cout, int k, int h, int w) {
  s->cin = cin;
  s->cout = cout;
  s->k = k;
  s->h = h;
  s->w = w;
  s->oh = h - k + 1;
  s->ow = w - k + 1;
  s->ph = s->oh / 2;
  s->pw = s->ow / 2;
}

/* --- direct conv forward
 *
 * No im2col: the weights are transposed once per call to wt (k, k, cin, cp) with cp =
 * cout rounded up to 16 (zero columns), and a register block of output positions x
 * output channels runs over the k*k*cin taps, broadcasting one input value and loading
 * one weight vector per tap: nn_corr (conv3.c). Every conv output is a blocked sum
 * (kernel.h) in tap order (ky, kx, ci): each kernel row ky's k*cin taps in blocks of
 * NN_SUM_BLOCK from its first, each block one chain of fused multiply-adds from 0, the
 * blocks added in order, whatever the vector width or register block, so the AVX-512,
 * AVX2 and scalar paths give the same bits. */

static int round16(int c) { return (c + 15) / 16 * 16; }

/* the end of the block of a sum's terms that starts at t0, of n */
static int block_end(int t0, int n) { return n - t0 < NN_SUM_BLOCK ? n : t0 + NN_SUM_BLOCK; }

static void transpose_weights(const nn_conv_shape_t *s, const float *weight, float *wt) {
  int kd = s->k * s->k * s->cin, C = s->cout, cp = round16(C);
  for (int j = 0; j < kd; j++) {
    for (int c = 0; c < C; c++) wt[(size_t)j * cp + c] = weight[(size_t)c * kd + j];
    for (int c = C; c < cp; c++) wt[(size_t)j * cp + c] = 0.0f;
  }
}

/* LeNet's forward on the correlation kernel of conv3.c (nn_corr) */
static void conv_direct(const nn_conv_shape_t *s, const float *in, const float *wt,
                        float *out) {
  nn_corr_t c = {in, s->w, s->cin, s->k, 1, s->oh, s->ow, round16(s->cout), wt};
  nn_corr(&c, out);
}

#ifdef NN_HAVE_X86
/* bias_relu_pool's scalar loop for one window, 8 channels at a time: same comparisons,
 * same bits. Returns the channels done (the rest go through the scalar loop). */
NN_TARGET_AVX2 static int pool_window_avx2(int C, int cp, const float *r0, const float *r1,
                                           const float *bias, float *out, uint8_t *am) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  int c = 0;
  for (; c + 8 <= C; c += 8) {
    __m256 v1 = _mm256_loadu_ps(r0 + cp + c), v2 = _mm256_loadu_ps(r1 + c);
    __m256 v3 = _mm256_loadu_ps(r1 + cp + c), best = _mm256_loadu_ps(r0 + c);
    __m256 bi = zero, m;
    m = _mm256_cmp_ps(v1, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, v1, m);
    bi = _mm256_blendv_ps(bi, one, m);
    m = _mm256_cmp_ps(v2, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, v2, m);
    bi = _mm256_blendv_ps(bi, _mm256_set1_ps(2.0f), m);
    m = _mm256_cmp_ps(v3, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, v3, m);
    bi = _mm256_blendv_ps(bi, _mm256_set1_ps(3.0f), m);
    best = _mm256_add_ps(best, _mm256_loadu_ps(bias + c));
    _mm256_storeu_ps(out + c, _mm256_max_ps(best, zero)); /* NaN and -0 give +0 */
    int32_t idx[8];
    _mm256_storeu_si256((__m256i *)idx, _mm256_cvtps_epi32(bi));
    for (int l = 0; l < 8; l++) am[c + l] = (uint8_t)idx[l];
  }
  return c;
}
#endif

/* Bias, ReLU and 2x2 max-pool in one pass over convout (oh*ow, cp); ties go to the first
 * (PyTorch's rule). */
static void bias_relu_pool(const nn_conv_shape_t *s, const float *convout, const float *bias,
                           float *pooled, uint8_t *argmax) {
  int C = s->cout, cp = round16(C);
#ifdef NN_HAVE_X86
  int vec = nn_kernel() != NN_KERNEL_SCALAR;
#endif
  for (int py = 0; py < s->ph; py++)
    for (int px = 0; px < s->pw; px++) {
      const float *r0 = convout + ((size_t)(2 * py) * s->ow + 2 * px) * cp;
      const float *r1 = r0 + (size_t)s->ow * cp;
      float *out = pooled + ((size_t)py * s->pw + px) * C;
      uint8_t *am = argmax + ((size_t)py * s->pw + px) * C;
      int c = 0;
#ifdef NN_HAVE_X86
      if (vec) c = pool_window_avx2(C, cp, r0, r1, bias, out, am);
#endif
      for (; c < C; c++) {
        float v0 = r0[c], v1 = r0[cp + c], v2 = r1[c], v3 = r1[cp + c];
        float best = v0;
        uint8_t bi = 0;
        if (v1 > best) { best = v1; bi = 1; }
        if (v2 > best) { best = v2; bi = 2; }
        if (v3 > best) { best = v3; bi = 3; }
        best += bias[c];
        out[c] = best > 0.0f ? best : 0.0f;
        am[c] = bi;
      }
    }
}

size_t nn_conv_forward_scratch(const nn_conv_shape_t *s) {
  size_t kd = (size_t)s->k * s->k * s->cin, cp = round16(s->cout);
  size_t P = (size_t)s->oh * s->ow;
  return (P > kd ? P : kd) * cp;
}

void nn_conv_pool_forward_batch(const nn_conv_shape_t *s, int n, const float *in,
                             const float *weight, const float *bias, float *pooled,
                             uint8_t *argmax, float *scratch, float *convout) {
  size_t isz = (size_t)s->h * s->w * s->cin, osz = (size_t)s->ph * s->pw * s->cout;
  transpose_weights(s, weight, scratch);
  for (int j = 0; j < n; j++) {
    conv_direct(s, in + j * isz, scratch, convout);
    bias_relu_pool(s, convout, bias, pooled + j * osz, argmax + j * osz);
  }
}

void nn_conv_pool_forward(const nn_conv_shape_t *s, const float *in, const float *weight,
                       const float *bias, float *pooled, uint8_t *argmax, float *scratch,
                       float *convout) {
  nn_conv_pool_forward_batch(s, 1, in, weight, bias, pooled, argmax, scratch, convout);
}

/* --- sparse conv backward
 *
 * After 2x2 max-pool only one conv output in four can receive a gradient (the window's
 * argmax), and only where the ReLU was open. So instead of a dense dconv and two GEMMs
 * over it, the nonzero gradients are listed and each contributes one k*cin-long row per
 * kernel row ky: dweight[c] += g * input patch, din patch += g * weight[c]. That is at
 * most a quarter of the dense work, needs no im2col/col2im, and reads the input and the
 * weights where they lie. Every call adds to each element a sum in list order (window
 * order, then channel order) in blocks of NN_SUM_BLOCK entries: each block one chain of
 * fused multiply-adds from 0, added to the element in order (kernel.h). The vector paths
 * only put several elements' chains side by side (AVX-512: 16 lanes, a masked vector for
 * a row's tail; AVX2: 8 lanes), so the result does not depend on the vector width. */

#ifdef NN_HAVE_X86
static const int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* acc_rows' blocked sums on nv <= SIDE_BY_SIDE vectors of 16 floats at once: vector v
 * at dst + v*dstride and base + v*sstride (+ off[e]), its lanes masked by m, the last
 * vector's by mlast. Masked-off lanes are neither read nor written. */
#define SIDE_BY_SIDE 8
NN_TARGET_AVX512 __attribute__((always_inline)) static inline void acc_vectors_avx512(
    float *dst, int dstride, const float *base, int sstride, int nv, __mmask16 m,
    __mmask16 mlast, int n, const int32_t *off, const float *g) {
  for (int e0 = 0; e0 < n; e0 += NN_SUM_BLOCK) {
    __m512 a[SIDE_BY_SIDE];
#pragma GCC unroll 8
    for (int v = 0; v < SIDE_BY_SIDE; v++) a[v] = _mm512_setzero_ps();
    for (int e = e0, e1 = block_end(e0, n); e < e1; e++) {
      const float *src = base + off[e];
      __m512 ge = _mm512_set1_ps(g[e]);
#pragma GCC unroll 8
      for (int v = 0; v < SIDE_BY_SIDE; v++) {
        if (v >= nv) break;
        __m512 x = _mm512_maskz_loadu_ps(v == nv - 1 ? mlast : m, src + v * sstride);
        a[v] = _mm512_fmadd_ps(ge, x, a[v]);
      }
    }
#pragma GCC unroll 8
    for (int v = 0; v < SIDE_BY_SIDE; v++) {
      if (v >= nv) break;
      __mmask16 mv = v == nv - 1 ? mlast : m;
      float *d = dst + v * dstride;
      _mm512_mask_storeu_ps(d, mv, _mm512_add_ps(_mm512_maskz_loadu_ps(mv, d), a[v]));
    }
  }
}

/* acc_rows in 16-wide vectors: 64 floats at a time, then the rest (up to 3 full vectors
 * and a masked one) in one pass over the list. */
NN_TARGET_AVX512 static void acc_rows_avx512(float *dst, int len, int n, const float *base,
                                             const int32_t *off, const float *g) {
  int r = 0;
  for (; r + 64 <= len; r += 64)
    acc_vectors_avx512(dst + r, 16, base + r, 16, 4, 0xffff, 0xffff, n, off, g);
  if (r < len) {
    int rest = len - r, nv = (rest + 15) / 16;
    __mmask16 mlast = (__mmask16)((1u << (rest - 16 * (nv - 1))) - 1);
    acc_vectors_avx512(dst + r, 16, base + r, 16, nv, 0xffff, mlast, n, off, g);
  }
}

/* acc_rows_short for every len <= 16: one masked vector per row, SIDE_BY_SIDE rows at a
 * time (LeNet's K = 5: five chains side by side instead of one). */
NN_TARGET_AVX512 static void acc_rows_short_avx512(float *dst, int dstride, const float *base,
                                                   int sstride, int K, int len, int n,
                                                   const int32_t *off, const float *g) {
  __mmask16 mask = (__mmask16)((1u << len) - 1);
  for (int k0 = 0; k0 < K; k0 += SIDE_BY_SIDE) {
    int nr = K - k0 < SIDE_BY_SIDE ? K - k0 : SIDE_BY_SIDE;
    acc_vectors_avx512(dst + k0 * dstride, dstride, base + k0 * sstride, sstride, nr, mask,
                       mask, n, off, g);
  }
}

/* acc_rows in 8-wide vectors (a masked one for the tail): the same chains. */
/* acc_rows' lanes r .. r + 8 nv - 1 as nv chains side by side */
NN_TARGET_AVX2 __attribute__((always_inline)) static inline void rows_chunk_avx2(
    float *dst, int r, const int nv, int n, const float *base, const int32_t *off,
    const float *g) {
  for (int e0 = 0; e0 < n; e0 += NN_SUM_BLOCK) {
    __m256 a[8];
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) a[v] = _mm256_setzero_ps();
    for (int e = e0, e1 = block_end(e0, n); e < e1; e++) {
      const float *src = base + off[e] + r;
      __m256 ge = _mm256_set1_ps(g[e]);
#pragma GCC unroll 8
      for (int v = 0; v < nv; v++) a[v] = _mm256_fmadd_ps(ge, _mm256_loadu_ps(src + 8 * v), a[v]);
    }
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++)
      _mm256_storeu_ps(dst + r + 8 * v, _mm256_add_ps(_mm256_loadu_ps(dst + r + 8 * v), a[v]));
  }
}

NN_TARGET_AVX2 static void acc_rows_avx2(float *dst, int len, int n, const float *base,
                                         const int32_t *off, const float *g) {
  int r = 0;
  /* 8 chains side by side where the row allows (LeNet's conv2: 320 floats), enough to
   * cover the FMA latency; then 4, 1 and a masked one */
  for (; r + 64 <= len; r += 64) rows_chunk_avx2(dst, r, 8, n, base, off, g);
  for (; r + 32 <= len; r += 32) rows_chunk_avx2(dst, r, 4, n, base, off, g);
  for (; r + 8 <= len; r += 8) rows_chunk_avx2(dst, r, 1, n, base, off, g);
  if (r < len) {
    __m256i mask = _mm256_loadu_si256((const __m256i *)(lanes + 8 - (len - r)));
    for (int e0 = 0; e0 < n; e0 += NN_SUM_BLOCK) {
      __m256 a0 = _mm256_setzero_ps();
      for (int e = e0, e1 = block_end(e0, n); e < e1; e++)
        a0 = _mm256_fmadd_ps(_mm256_set1_ps(g[e]), _mm256_maskload_ps(base + off[e] + r, mask),
                             a0);
      _mm256_maskstore_ps(dst + r, mask, _mm256_add_ps(_mm256_maskload_ps(dst + r, mask), a0));
    }
  }
}

/* nr (<= 6) rows k0 .. of acc_rows_short for 8 < len <= 16: each row two vectors, the
 * second masked; 2 nr chains side by side */
NN_TARGET_AVX2 __attribute__((always_inline)) static inline void short_block_avx2(
    float *dst, int dstride, const float *base, int sstride, int k0, const int nr,
    __m256i mask, int n, const int32_t *off, const float *g) {
  for (int e0 = 0; e0 < n; e0 += NN_SUM_BLOCK) {
    __m256 a[12];
#pragma GCC unroll 12
    for (int r = 0; r < 12; r++) a[r] = _mm256_setzero_ps();
    for (int e = e0, e1 = block_end(e0, n); e < e1; e++) {
      const float *src = base + off[e] + k0 * sstride;
      __m256 ge = _mm256_set1_ps(g[e]);
#pragma GCC unroll 6
      for (int r = 0; r < 6; r++) {
        if (r >= nr) break;
        a[2 * r] = _mm256_fmadd_ps(ge, _mm256_loadu_ps(src + r * sstride), a[2 * r]);
        a[2 * r + 1] = _mm256_fmadd_ps(ge, _mm256_maskload_ps(src + r * sstride + 8, mask),
                                       a[2 * r + 1]);
      }
    }
#pragma GCC unroll 6
    for (int r = 0; r < 6; r++) {
      if (r >= nr) break;
      float *d = dst + (k0 + r) * dstride;
      _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), a[2 * r]));
      _mm256_maskstore_ps(d + 8, mask, _mm256_add_ps(_mm256_maskload_ps(d + 8, mask), a[2 * r + 1]));
    }
  }
}

/* acc_rows_short for 8 < len <= 16: blocks of up to 6 rows, so that a kernel's 5 rows
 * (LeNet's conv1: 15 floats each) run side by side and no row is left to a latency-bound
 * pair of chains. */
NN_TARGET_AVX2 static void acc_rows_short_avx2(float *dst, int dstride, const float *base,
                                               int sstride, int K, int len, int n,
                                               const int32_t *off, const float *g) {
  __m256i mask = _mm256_loadu_si256((const __m256i *)(lanes + 16 - len));
  for (int k0 = 0; k0 < K; k0 += 6) {
    int nr = K - k0 < 6 ? K - k0 : 6;
    if (nr == 5) /* the hot cases, specialised */
      short_block_avx2(dst, dstride, base, sstride, k0, 5, mask, n, off, g);
    else if (nr == 6)
      short_block_avx2(dst, dstride, base, sstride, k0, 6, mask, n, off, g);
    else
      short_block_avx2(dst, dstride, base, sstride, k0, nr, mask, n, off, g);
  }
}
#endif

/* acc_rows one element at a time. */
NN_SCALAR_FMA
static void acc_rows_scalar(float *dst, int len, int n, const float *base, const int32_t *off,
                            const float *g) {
  for (int r = 0; r < len; r++)
    for (int e0 = 0; e0 < n; e0 += NN_SUM_BLOCK) {
      float a = 0.0f;
      for (int e = e0, e1 = block_end(e0, n); e < e1; e++) a = fmaf(g[e], base[off[e] + r], a);
      dst[r] = dst[r] + a;
    }
}

/* dst[0..len) += sum over e in 0..n-1, in order, of g[e] * base[off[e] + 0..len), in
 * blocks of NN_SUM_BLOCK entries each added on its own. */
static void acc_rows(float *dst, int len, int n, const float *base, const int32_t *off,
                     const float *g) {
  switch (nn_kernel()) {
#ifdef NN_HAVE_X86
    case NN_KERNEL_AVX512: acc_rows_avx512(dst, len, n, base, off, g); return;
    case NN_KERNEL_AVX2: acc_rows_avx2(dst, len, n, base, off, g); return;
#endif
    default: acc_rows_scalar(dst, len, n, base, off, g); return;
  }
}

/* acc_rows over K rows at once (row r: dst + r*dstride, base + r*sstride), for short rows
 * (len <= 16), where one row alone would leave a single FMA chain waiting on latency.
 * Same per-element order as acc_rows. */
static void acc_rows_short(float *dst, int dstride, const float *base, int sstride, int K,
                           int len, int n, const int32_t *off, const float *g) {
#ifdef NN_HAVE_X86
  if (nn_kernel() == NN_KERNEL_AVX512) {
    acc_rows_short_avx512(dst, dstride, base, sstride, K, len, n, off, g);
    return;
  }
  if (len > 8 && nn_kernel() == NN_KERNEL_AVX2) {
    acc_rows_short_avx2(dst, dstride, base, sstride, K, len, n, off, g);
    return;
  }
#endif
  for (int k0 = 0; k0 < K; k0++)
    acc_rows(dst + k0 * dstride, len, n, base + k0 * sstride, off, g);
}

void nn_conv_pool_backward(const nn_conv_shape_t *s, const float *in, const float *weight,
                        const float *pooled, const uint8_t *argmax, const float *dpooled,
                        float *dweight, float *dbias, float *din, float *scratch, float *dconv) {
  int C = s->cout, W = s->w, cin = s->cin, K = s->k, R = K * cin, kd = K * R;
  int PP = s->ph * s->pw, P = s->oh * s->ow;
  /* Per channel: the open windows' gradients (into dconv) and the input offsets of the
   * conv outputs they reach (into scratch), in window order. Scratch use: 2*C*PP <= 2*P*C. */
  float *g = dconv;
  int32_t *pos = (int32_t *)scratch;
  int32_t *cnt = pos + (size_t)C * PP;
  for (int c = 0; c < C; c++) cnt[c] = 0;
  for (int py = 0; py < s->ph; py++)
    for (int px = 0; px < s->pw; px++) {
      size_t o = ((size_t)py * s->pw + px) * C;
      for (int c = 0; c < C; c++) {
        /* branch-free: always write the next slot, keep it only when the ReLU is open */
        int a = argmax[o + c];
        int y = 2 * py + (a >> 1), x = 2 * px + (a & 1);
        size_t e = (size_t)c * PP + cnt[c];
        g[e] = dpooled[o + c];
        pos[e] = (y * W + x) * cin;
        cnt[c] += pooled[o + c] > 0.0f;
      }
    }
  for (int c = 0; c < C; c++)
    for (int e = 0; e < cnt[c]; e++) dbias[c] += g[(size_t)c * PP + e];
  for (int c = 0; c < C; c++)
    if (R <= 16)
      acc_rows_short(dweight + (size_t)c * kd, R, in, W * cin, K, R, cnt[c],
                     pos + (size_t)c * PP, g + (size_t)c * PP);
    else
      for (int ky = 0; ky < K; ky++)
        acc_rows(dweight + (size_t)c * kd + ky * R, R, cnt[c], in + (size_t)ky * W * cin,
                 pos + (size_t)c * PP, g + (size_t)c * PP);
  if (!din) return;
  /* Per conv output position: the channels with a gradient there, in channel order
   * (slots p*C..) with their weight-row offsets. Scratch use: P*C + P. */
  memset(din, 0, sizeof(float) * s->h * s->w * cin);
  int32_t *woff = (int32_t *)scratch;
  int32_t *fill = woff + (size_t)P * C; /* entries per position */
  for (int p = 0; p < P; p++) fill[p] = 0;
  for (int py = 0; py < s->ph; py++)
    for (int px = 0; px < s->pw; px++) {
      size_t o = ((size_t)py * s->pw + px) * C;
      for (int c = 0; c < C; c++) {
        int a = argmax[o + c];
        int p = (2 * py + (a >> 1)) * s->ow + 2 * px + (a & 1);
        size_t e = (size_t)p * C + fill[p];
        g[e] = dpooled[o + c];
        woff[e] = c * kd;
        fill[p] += pooled[o + c] > 0.0f;
      }
    }
  for (int p = 0; p < P; p++) {
    int n = fill[p];
    if (!n) continue;
    int oy = p / s->ow, ox = p % s->ow;
    for (int ky = 0; ky < K; ky++)
      acc_rows(din + ((size_t)(oy + ky) * W + ox) * cin, R, n, weight + ky * R,
               woff + (size_t)p * C, g + (size_t)p * C);
  }
}

double nn_xent_forward_backward(int n, int classes, const float *logits,
                             const uint8_t *labels, float *dlogits, int *correct,
                             float *losses) {
  double total = 0.0;
  for (int i = 0; i < n; i++) {
    const float *z = logits + (size_t)i * classes;
    int best = 0;
    for (int j = 1; j < classes; j++)
      if (z[j] > z[best]) best = j;
    /* log-sum-exp in double around the max for stability. */
    double sum = 0.0;
    for (int j = 0; j < classes; j++) sum += exp((double)z[j] - z[best]);
    double lse = z[best] + log(sum);
    double loss = lse - z[labels[i]];
    total += loss;
    if (losses) losses[i] = (float)loss;
    if (best == labels[i]) (*correct)++;
    if (dlogits) {
      float *d = dlogits + (size_t)i * classes;
      for (int j = 0; j < classes; j++) d[j] = (float)exp((double)z[j] - lse);
      d[labels[i]] -= 1.0f;
    }
  }
  return total;
}
