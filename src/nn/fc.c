/* fc.c - the fully connected layers with one fixed summation order on every CPU.
 *
 * All three products of a linear layer (forward, weight gradient, input gradient) are
 * one operation, combine():
 *
 *   dst[a][l] = sum over r = 0 .. R-1, in that order, of coef[a][r] * src[r][l]
 *
 * computed for each element as a blocked sum (kernel.h): r in blocks of NN_SUM_BLOCK from
 * r = 0, each block one chain of fused multiply-adds from +0, the blocks added in order.
 * The vector paths spread l over the lanes and a over registers; neither changes any
 * element's sum, so the scalar, AVX2 and AVX-512 paths give the same bits (OpenBLAS's
 * sgemm does not: its blocking, and so its sums, depend on the CPU it detects).
 *
 *   forward  out^T (fout, 16) = W (fout, fin) . in^T (fin, 16), 16 images at a time
 *   din^T    (fin, 16)        = W^T (fin, fout) . dout^T (fout, 16), likewise
 *   dW       (fout, fin)      = dout^T (fout, n) . in (n, fin)
 *
 * Forward and din transpose a chunk of 16 activation rows so that the lanes run over
 * images: the weights are then read once per chunk where they lie, never transposed. */
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernel.h"
#include "layers.h"

typedef struct {
  int A, R, L;              /* rows of dst, terms per sum, lanes (columns of dst) */
  const float *coef;        /* coef[a][r] at coef[a * ca + r * cr] */
  size_t ca, cr;
  const float *src;         /* src[r][l] at src[r * ss + l] */
  size_t ss;
  float *dst;               /* dst[a][l] at dst[a * ds + l] */
  size_t ds;
} combine_t;

static int block_end(int r0, int R) { return R - r0 < NN_SUM_BLOCK ? R : r0 + NN_SUM_BLOCK; }

/* Lanes l0 .. L-1 of every row, one element at a time. */
NN_SCALAR_FMA
static void combine_scalar(const combine_t *c, int l0) {
  for (int a = 0; a < c->A; a++)
    for (int l = l0; l < c->L; l++) {
      float sum = 0.0f;
      for (int r0 = 0; r0 < c->R; r0 += NN_SUM_BLOCK) {
        float acc = 0.0f;
        for (int r = r0, r1 = block_end(r0, c->R); r < r1; r++)
          acc = fmaf(c->coef[a * c->ca + r * c->cr], c->src[r * c->ss + l], acc);
        sum = r0 ? sum + acc : acc;
      }
      c->dst[a * c->ds + l] = sum;
    }
}

#ifdef NN_HAVE_X86
/* The AVX2 and AVX-512 blocks below read alike line by line but are two kernels, one per
 * instruction set: other vector types and intrinsics, other register blocks (6x2 of 8
 * lanes, 12x2 of 16), each compiled for its own target (NN_TARGET_*). One body for both
 * would need macros over the intrinsics and hide which instructions each path runs. */

/* Rows a0 .. a0+na-1 (na <= 6) by nv (1 or 2) vectors of 8 lanes from lane l0. */
NN_TARGET_AVX2 __attribute__((always_inline)) static inline void block_avx2(
    const combine_t *c, int a0, int na, int l0, int nv) {
  const float *cf = c->coef + a0 * c->ca;
  for (int r0 = 0; r0 < c->R; r0 += NN_SUM_BLOCK) {
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int a = 0; a < 6; a++) acc[a][0] = acc[a][1] = _mm256_setzero_ps();
    for (int r = r0, r1 = block_end(r0, c->R); r < r1; r++) {
      const float *s = c->src + r * c->ss + l0;
      __m256 s0 = _mm256_loadu_ps(s), s1 = nv > 1 ? _mm256_loadu_ps(s + 8) : s0;
#pragma GCC unroll 6
      for (int a = 0; a < 6; a++) {
        if (a >= na) break;
        __m256 b = _mm256_set1_ps(cf[a * c->ca + r * c->cr]);
        acc[a][0] = _mm256_fmadd_ps(b, s0, acc[a][0]);
        if (nv > 1) acc[a][1] = _mm256_fmadd_ps(b, s1, acc[a][1]);
      }
    }
    /* the block's sum: the first is stored, the others added in order */
#pragma GCC unroll 6
    for (int a = 0; a < na; a++) {
      float *d = c->dst + (a0 + a) * c->ds + l0;
      if (r0) {
        acc[a][0] = _mm256_add_ps(_mm256_loadu_ps(d), acc[a][0]);
        if (nv > 1) acc[a][1] = _mm256_add_ps(_mm256_loadu_ps(d + 8), acc[a][1]);
      }
      _mm256_storeu_ps(d, acc[a][0]);
      if (nv > 1) _mm256_storeu_ps(d + 8, acc[a][1]);
    }
  }
}

/* Row blocks outside, lanes inside: the weight gradient (dst 1600 floats a row for fc1)
 * is then written in a few sequential streams while its 16 source rows stay in cache. */
NN_TARGET_AVX2 static void combine_avx2(const combine_t *c) {
  for (int a0 = 0; a0 < c->A; a0 += 6) {
    int na = c->A - a0 < 6 ? c->A - a0 : 6;
    for (int l0 = 0; l0 + 8 <= c->L; l0 += 16) {
      if (na == 6 && l0 + 16 <= c->L)
        block_avx2(c, a0, 6, l0, 2); /* the hot case, specialised */
      else
        block_avx2(c, a0, na, l0, l0 + 16 <= c->L ? 2 : 1);
    }
  }
  combine_scalar(c, c->L / 8 * 8);
}

/* Rows a0 .. a0+na-1 by nv vectors of 16 lanes from lane l0; na * nv <= 12. */
NN_TARGET_AVX512 __attribute__((always_inline)) static inline void block_avx512(
    const combine_t *c, int a0, int na, int l0, int nv) {
  const float *cf = c->coef + a0 * c->ca;
  for (int r0 = 0; r0 < c->R; r0 += NN_SUM_BLOCK) {
    __m512 acc[12][2];
#pragma GCC unroll 12
    for (int a = 0; a < 12; a++) acc[a][0] = acc[a][1] = _mm512_setzero_ps();
    for (int r = r0, r1 = block_end(r0, c->R); r < r1; r++) {
      const float *s = c->src + r * c->ss + l0;
      __m512 s0 = _mm512_loadu_ps(s), s1 = nv > 1 ? _mm512_loadu_ps(s + 16) : s0;
#pragma GCC unroll 12
      for (int a = 0; a < 12; a++) {
        if (a >= na) break;
        __m512 b = _mm512_set1_ps(cf[a * c->ca + r * c->cr]);
        acc[a][0] = _mm512_fmadd_ps(b, s0, acc[a][0]);
        if (nv > 1) acc[a][1] = _mm512_fmadd_ps(b, s1, acc[a][1]);
      }
    }
    /* the block's sum: the first is stored, the others added in order */
#pragma GCC unroll 12
    for (int a = 0; a < na; a++) {
      float *d = c->dst + (a0 + a) * c->ds + l0;
      if (r0) {
        acc[a][0] = _mm512_add_ps(_mm512_loadu_ps(d), acc[a][0]);
        if (nv > 1) acc[a][1] = _mm512_add_ps(_mm512_loadu_ps(d + 16), acc[a][1]);
      }
      _mm512_storeu_ps(d, acc[a][0]);
      if (nv > 1) _mm512_storeu_ps(d + 16, acc[a][1]);
    }
  }
}

/* 6 rows x 32 lanes where the rows are long, 12 rows x 16 lanes where they are not (the
 * forward pass): 12 independent chains either way, enough to hide the FMA latency. Row
 * blocks outside, lanes inside, as for AVX2. */
NN_TARGET_AVX512 static void combine_avx512(const combine_t *c) {
  int na = c->L >= 32 ? 6 : 12;
  for (int a0 = 0; a0 < c->A; a0 += na) {
    int m = c->A - a0 < na ? c->A - a0 : na;
    for (int l0 = 0; l0 + 16 <= c->L; l0 += 32) {
      int nv = l0 + 32 <= c->L ? 2 : 1;
      if (m == 6 && nv == 2)
        block_avx512(c, a0, 6, l0, 2); /* the hot cases, specialised */
      else if (m == 12 && nv == 1)
        block_avx512(c, a0, 12, l0, 1);
      else
        block_avx512(c, a0, m, l0, nv);
    }
  }
  combine_scalar(c, c->L / 16 * 16);
}
#endif

static void combine(const combine_t *c) {
  switch (nn_kernel()) {
#ifdef NN_HAVE_X86
    case NN_KERNEL_AVX512: combine_avx512(c); return;
    case NN_KERNEL_AVX2: combine_avx2(c); return;
#endif
    default: combine_scalar(c, 0); return;
  }
}

size_t nn_linear_scratch(int fin, int fout) {
  return (size_t)(fin + fout) * NN_LINEAR_CHUNK;
}

/* out (n, A) = x (n, R) . M^T, M[a][r] at m[a * ma + r * mr]: chunks of NN_LINEAR_CHUNK rows
 * of x are transposed so that the lanes run over them and M is read once per chunk. */
static void times_transposed(int n, int R, int A, const float *x, const float *m, size_t ma,
                             size_t mr, float *out, float *scratch) {
  float *xT = scratch, *outT = scratch + (size_t)R * NN_LINEAR_CHUNK;
  for (int i0 = 0; i0 < n; i0 += NN_LINEAR_CHUNK) {
    int ni = n - i0 < NN_LINEAR_CHUNK ? n - i0 : NN_LINEAR_CHUNK;
    for (int r = 0; r < R; r++)
      for (int i = 0; i < NN_LINEAR_CHUNK; i++)
        xT[(size_t)r * NN_LINEAR_CHUNK + i] = i < ni ? x[(size_t)(i0 + i) * R + r] : 0.0f;
    combine_t c = {A, R, NN_LINEAR_CHUNK, m, ma, mr, xT, NN_LINEAR_CHUNK, outT, NN_LINEAR_CHUNK};
    combine(&c);
    for (int i = 0; i < ni; i++)
      for (int a = 0; a < A; a++)
        out[(size_t)(i0 + i) * A + a] = outT[(size_t)a * NN_LINEAR_CHUNK + i];
  }
}

void nn_linear_forward(int n, int fin, int fout, const float *in, const float *weight,
                    const float *bias, float *out, int relu, float *scratch) {
  times_transposed(n, fin, fout, in, weight, (size_t)fin, 1, out, scratch);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < fout; j++) {
      float v = out[(size_t)i * fout + j] + bias[j];
      out[(size_t)i * fout + j] = relu && !(v > 0.0f) ? 0.0f : v;
    }
}

void nn_linear_backward(int n, int fin, int fout, const float *in, const float *weight,
                     const float *out, float *dout, float *dweight, float *dbias,
                     float *din, int relu, float *scratch) {
  if (relu)
    for (size_t i = 0; i < (size_t)n * fout; i++)
      if (out[i] <= 0.0f) dout[i] = 0.0f;
  memset(dbias, 0, sizeof(float) * fout);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < fout; j++) dbias[j] += dout[(size_t)i * fout + j];
  combine_t dw = {fout, n, fin, dout, 1, (size_t)fout, in, (size_t)fin, dweight, (size_t)fin};
  combine(&dw);
  if (din) times_transposed(n, fout, fin, dout, weight, 1, (size_t)fin, din, scratch);
}
