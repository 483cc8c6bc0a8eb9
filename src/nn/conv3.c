/* conv3.c - the direct 3x3 convolution of the ResNets: forward, input gradient and
 * weight gradient, each with a scalar and an AVX2 path that sum in the same order: the
 * blocked sums of kernel.h (see conv3.h). */
#include "conv3.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernel.h"

void nn_conv3_init(nn_conv3_t *s, int cin, int cout, int stride, int h, int w) {
  s->cin = cin;
  s->cout = cout;
  s->stride = stride;
  s->h = h;
  s->w = w;
  s->oh = (h - 1) / stride + 1;
  s->ow = (w - 1) / stride + 1;
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

static int block_end(int t0, int n) { return n - t0 < NN_SUM_BLOCK ? n : t0 + NN_SUM_BLOCK; }

/* forward: weights (9 cin, cout) + padded input; backward: flipped weights (9 cout, cin)
 * + the weight gradient's sum (9 cin, cout) + one image's part of it + the upsampled,
 * padded gradient + the padded input. */
size_t nn_conv3_scratch(const nn_conv3_t *s) {
  size_t pad = (size_t)(s->h + 2) * (s->w + 2);
  size_t wts = (size_t)9 * s->cin * s->cout;
  return 3 * wts + pad * max_sz(s->cin, s->cout) + pad * s->cin;
}

/* --- the correlation kernel both directions share
 *
 * out (oh, ow, cout) = sum over taps (ky, kx, ci) of xp[(oy*st + ky, ox*st + kx, ci)] *
 * wt[(ky, kx, ci), co], xp being a padded (., wp, cin) image: a blocked sum, taps in
 * order, each row ky's 3*cin taps (consecutive floats of xp) in blocks of NN_SUM_BLOCK
 * from its first. The AVX2 path takes 6 positions x 16 channels per register block. */

typedef struct {
  const float *xp;
  int wp, cin, stride;
  int oh, ow, cout;
  const float *wt; /* (9 cin, cout) */
} corr_t;

#define CORR_NP 6

static void corr_offsets(const corr_t *c, int p0, int np, int32_t *off) {
  for (int i = 0; i < np; i++) {
    int p = p0 + i, oy = p / c->ow, ox = p % c->ow;
    off[i] = (oy * c->stride * c->wp + ox * c->stride) * c->cin;
  }
}

NN_SCALAR_FMA
static void corr_scalar(const corr_t *c, float *out) {
  int P = c->oh * c->ow, row = 3 * c->cin;
  int32_t off[1];
  for (int p = 0; p < P; p++) {
    corr_offsets(c, p, 1, off);
    for (int co = 0; co < c->cout; co++) {
      float sum = 0.0f;
      for (int ky = 0; ky < 3; ky++) {
        const float *ip = c->xp + off[0] + (size_t)ky * c->wp * c->cin;
        const float *wp = c->wt + (size_t)ky * row * c->cout + co;
        for (int j0 = 0; j0 < row; j0 += NN_SUM_BLOCK) {
          float a = 0.0f;
          for (int j = j0, j1 = block_end(j0, row); j < j1; j++)
            a = fmaf(ip[j], wp[(size_t)j * c->cout], a);
          sum = ky || j0 ? sum + a : a;
        }
      }
      out[(size_t)p * c->cout + co] = sum;
    }
  }
}

#ifdef NN_HAVE_X86
/* np positions (offsets off) x 16 channels from c0; inlined, so np = CORR_NP (the hot
 * case) compiles to straight-line code with every accumulator in a register */
NN_TARGET_AVX2 __attribute__((always_inline)) static inline void corr_block_avx2(
    const corr_t *c, const int32_t *off, const int np, int c0, float *out) {
  int row = 3 * c->cin, C = c->cout;
  for (int ky = 0; ky < 3; ky++) {
    const float *ip = c->xp + (size_t)ky * c->wp * c->cin;
    for (int j0 = 0; j0 < row; j0 += NN_SUM_BLOCK) {
      __m256 acc[CORR_NP][2];
#pragma GCC unroll 6
      for (int i = 0; i < CORR_NP; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
      const float *wp = c->wt + ((size_t)ky * row + j0) * C + c0;
      for (int j = j0, j1 = block_end(j0, row); j < j1; j++, wp += C) {
        __m256 w0 = _mm256_loadu_ps(wp), w1 = _mm256_loadu_ps(wp + 8);
#pragma GCC unroll 6
        for (int i = 0; i < CORR_NP; i++) {
          if (i >= np) break;
          __m256 b = _mm256_set1_ps(ip[off[i] + j]);
          acc[i][0] = _mm256_fmadd_ps(b, w0, acc[i][0]);
          acc[i][1] = _mm256_fmadd_ps(b, w1, acc[i][1]);
        }
      }
      /* the block's sum: the first is stored, the others added in order */
      for (int i = 0; i < np; i++) {
        float *o = out + (size_t)i * C + c0;
        if (ky || j0) {
          acc[i][0] = _mm256_add_ps(_mm256_loadu_ps(o), acc[i][0]);
          acc[i][1] = _mm256_add_ps(_mm256_loadu_ps(o + 8), acc[i][1]);
        }
        _mm256_storeu_ps(o, acc[i][0]);
        _mm256_storeu_ps(o + 8, acc[i][1]);
      }
    }
  }
}

NN_TARGET_AVX2 static void corr_avx2(const corr_t *c, float *out) {
  int P = c->oh * c->ow, C = c->cout;
  int32_t off[CORR_NP];
  for (int p0 = 0; p0 < P; p0 += CORR_NP) {
    int np = P - p0 < CORR_NP ? P - p0 : CORR_NP;
    corr_offsets(c, p0, np, off);
    for (int c0 = 0; c0 < C; c0 += 16) {
      if (np == CORR_NP)
        corr_block_avx2(c, off, CORR_NP, c0, out + (size_t)p0 * C);
      else
        corr_block_avx2(c, off, np, c0, out + (size_t)p0 * C);
    }
  }
}
#endif

/* The vector path needs whole 16-channel blocks; other widths take the scalar loop,
 * which sums in the same order. */
static void corr(const corr_t *c, float *out) {
#ifdef NN_HAVE_X86
  if (nn_kernel() != NN_KERNEL_SCALAR && c->cout % 16 == 0) {
    corr_avx2(c, out);
    return;
  }
#endif
  corr_scalar(c, out);
}

/* --- forward */

/* image (h, w, c) into the interior of a (h + 2, w + 2, c) buffer whose border the
 * caller zeroed once for all its images */
static void pad_image(int h, int w, int c, const float *in, float *xp) {
  size_t wp = (size_t)w + 2;
  for (int y = 0; y < h; y++)
    memcpy(xp + ((y + 1) * wp + 1) * c, in + (size_t)y * w * c, sizeof(float) * w * c);
}

static void zero_padded(int h, int w, int c, float *xp) {
  memset(xp, 0, sizeof(float) * (h + 2) * (w + 2) * c);
}

void nn_conv3_forward(const nn_conv3_t *s, int n, const float *in, const float *weight,
                      float *out, float *scratch) {
  int kd = 9 * s->cin;
  float *wt = scratch, *xp = scratch + (size_t)kd * s->cout;
  for (int j = 0; j < kd; j++)
    for (int co = 0; co < s->cout; co++) wt[(size_t)j * s->cout + co] = weight[(size_t)co * kd + j];
  size_t isz = (size_t)s->h * s->w * s->cin, osz = (size_t)s->oh * s->ow * s->cout;
  corr_t c = {xp, s->w + 2, s->cin, s->stride, s->oh, s->ow, s->cout, wt};
  zero_padded(s->h, s->w, s->cin, xp);
  for (int i = 0; i < n; i++) {
    pad_image(s->h, s->w, s->cin, in + i * isz, xp);
    corr(&c, out + i * osz);
  }
}

/* --- weight gradient
 *
 * One image's part of dwt[(ky, kx, ci), co]: the sum over the positions (oy, ox) in order
 * of xp[(oy*st + ky, ox*st + kx, ci)] * dout[(oy, ox), co], a blocked sum (positions in
 * blocks of NN_SUM_BLOCK, their sums added in order in gimg); the images' parts are added
 * in order to the first image's in dwt. AVX2: 6 taps x 16 channels per register block. */

/* the image's sum of one element into dwt: the first image's is stored */
static float image_fold(float sum, const float *dwt, int first) {
  return first ? sum : *dwt + sum;
}

NN_SCALAR_FMA
static void wgrad_scalar(const nn_conv3_t *s, const float *xp, const float *dout, float *dwt,
                         int first) {
  int kd = 9 * s->cin, P = s->oh * s->ow, wp = s->w + 2;
  for (int j = 0; j < kd; j++) {
    int tap = j / s->cin, ci = j % s->cin;
    int32_t toff = ((tap / 3) * wp + tap % 3) * s->cin + ci;
    for (int co = 0; co < s->cout; co++) {
      float sum = 0.0f;
      for (int p0 = 0; p0 < P; p0 += NN_SUM_BLOCK) {
        float a = 0.0f;
        for (int p = p0, p1 = block_end(p0, P); p < p1; p++) {
          int oy = p / s->ow, ox = p % s->ow;
          int32_t poff = (oy * s->stride * wp + ox * s->stride) * s->cin;
          a = fmaf(xp[poff + toff], dout[(size_t)p * s->cout + co], a);
        }
        sum = p0 ? sum + a : a;
      }
      float *d = dwt + (size_t)j * s->cout + co;
      *d = image_fold(sum, d, first);
    }
  }
}

#ifdef NN_HAVE_X86
#define WG_NJ 6
/* nj tap rows (offsets toff) x 16 channels from c0 over every position; inlined as
 * corr_block_avx2 is, for the nj = WG_NJ hot case. gimg holds the sum of the image's
 * blocks so far, dwt the sum of the earlier images. */
NN_TARGET_AVX2 __attribute__((always_inline)) static inline void wgrad_block_avx2(
    const nn_conv3_t *s, const float *xp, const float *dout, const int32_t *toff,
    const int nj, int c0, float *gimg, float *dwt, int first) {
  int wp = s->w + 2, C = s->cout, P = s->oh * s->ow, xstep = s->stride * s->cin;
  for (int p0 = 0; p0 < P; p0 += NN_SUM_BLOCK) {
    __m256 acc[WG_NJ][2];
#pragma GCC unroll 6
    for (int r = 0; r < WG_NJ; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    int p1 = block_end(p0, P);
    /* the block's positions, a run along each output row at a time */
    for (int p = p0; p < p1;) {
      int oy = p / s->ow, ox = p % s->ow, run = s->ow - ox < p1 - p ? s->ow - ox : p1 - p;
      const float *x = xp + (oy * s->stride * wp + ox * s->stride) * s->cin;
      const float *d = dout + (size_t)p * C + c0;
      for (int k = 0; k < run; k++, x += xstep, d += C) {
        __m256 d0 = _mm256_loadu_ps(d), d1 = _mm256_loadu_ps(d + 8);
#pragma GCC unroll 6
        for (int r = 0; r < WG_NJ; r++) {
          if (r >= nj) break;
          __m256 b = _mm256_set1_ps(x[toff[r]]);
          acc[r][0] = _mm256_fmadd_ps(b, d0, acc[r][0]);
          acc[r][1] = _mm256_fmadd_ps(b, d1, acc[r][1]);
        }
      }
      p += run;
    }
    /* the block's sum added to the image's; the image's, at its last block, to dwt */
    for (int r = 0; r < nj; r++) {
      float *g = gimg + (size_t)r * C + c0, *w = dwt + (size_t)r * C + c0;
      if (p0) {
        acc[r][0] = _mm256_add_ps(_mm256_loadu_ps(g), acc[r][0]);
        acc[r][1] = _mm256_add_ps(_mm256_loadu_ps(g + 8), acc[r][1]);
      }
      if (p1 < P) {
        _mm256_storeu_ps(g, acc[r][0]);
        _mm256_storeu_ps(g + 8, acc[r][1]);
        continue;
      }
      if (!first) {
        acc[r][0] = _mm256_add_ps(_mm256_loadu_ps(w), acc[r][0]);
        acc[r][1] = _mm256_add_ps(_mm256_loadu_ps(w + 8), acc[r][1]);
      }
      _mm256_storeu_ps(w, acc[r][0]);
      _mm256_storeu_ps(w + 8, acc[r][1]);
    }
  }
}

NN_TARGET_AVX2 static void wgrad_avx2(const nn_conv3_t *s, const float *xp, const float *dout,
                                      float *gimg, float *dwt, int first) {
  int kd = 9 * s->cin, wp = s->w + 2, C = s->cout;
  int32_t toff[WG_NJ];
  for (int j0 = 0; j0 < kd; j0 += WG_NJ) {
    int nj = kd - j0 < WG_NJ ? kd - j0 : WG_NJ;
    for (int r = 0; r < nj; r++) {
      int j = j0 + r, tap = j / s->cin, ci = j % s->cin;
      toff[r] = ((tap / 3) * wp + tap % 3) * s->cin + ci;
    }
    size_t o = (size_t)j0 * C;
    for (int c0 = 0; c0 < C; c0 += 16) {
      if (nj == WG_NJ)
        wgrad_block_avx2(s, xp, dout, toff, WG_NJ, c0, gimg + o, dwt + o, first);
      else
        wgrad_block_avx2(s, xp, dout, toff, nj, c0, gimg + o, dwt + o, first);
    }
  }
}
#endif

/* adds one image's part to dwt (the first image's is stored); gimg: scratch of dwt's size */
static void wgrad(const nn_conv3_t *s, const float *xp, const float *dout, float *gimg,
                  float *dwt, int first) {
#ifdef NN_HAVE_X86
  if (nn_kernel() != NN_KERNEL_SCALAR && s->cout % 16 == 0) {
    wgrad_avx2(s, xp, dout, gimg, dwt, first);
    return;
  }
#endif
  (void)gimg;
  wgrad_scalar(s, xp, dout, dwt, first);
}

/* --- input gradient: dout zero-upsampled by the stride into a padded (h + 2, w + 2,
 * cout) grid, correlated (stride 1) with the weights flipped in space, (9 cout, cin). */

/* into a grid whose other cells the caller zeroed once for all its images */
static void upsample_pad(const nn_conv3_t *s, const float *dout, float *up) {
  size_t wp = (size_t)s->w + 2, C = s->cout;
  if (s->stride == 1) {
    pad_image(s->oh, s->ow, s->cout, dout, up);
    return;
  }
  for (int oy = 0; oy < s->oh; oy++)
    for (int ox = 0; ox < s->ow; ox++)
      memcpy(up + ((1 + (size_t)s->stride * oy) * wp + 1 + (size_t)s->stride * ox) * C,
             dout + ((size_t)oy * s->ow + ox) * C, sizeof(float) * C);
}

static void flip_weights(const nn_conv3_t *s, const float *weight, float *wf) {
  int ci = s->cin, co = s->cout;
  for (int ky = 0; ky < 3; ky++)
    for (int kx = 0; kx < 3; kx++)
      for (int o = 0; o < co; o++)
        for (int i = 0; i < ci; i++)
          wf[((size_t)(ky * 3 + kx) * co + o) * ci + i] =
              weight[((size_t)o * 9 + (2 - ky) * 3 + (2 - kx)) * ci + i];
}

/* --- the input gradient of a stride-2 convolution without the upsampled zeros (AVX2)
 *
 * Three cells in four of the upsampled grid are zero, so din's cells split by the parity
 * (py, px) of their row and column, and each class reads dout through the taps that meet
 * a nonzero cell: ky = 1 alone for even rows (dout row a), ky = 0 and 2 for odd ones (dout
 * rows a and a + 1), and kx alike. A zero tap adds exactly nothing to a sum that starts at
 * +0, and a block of zero taps adds +0, so visiting only the others, in the same order and
 * blocks, gives corr's sums bit for bit (conv3_scalar_and_avx2_give_the_same_bits). dout
 * is read from dpad, (oh + 1, ow + 1, cout) with a zero last row and column. */

#ifdef NN_HAVE_X86
typedef struct {
  const nn_conv3_t *s;
  const float *dpad, *wf; /* wf: the flipped weights (9 cout, cin) */
  int py, px;
} dgrad2_t;

/* np positions (b0 ..) of row a of class (py, px) x 16 channels from c0 */
NN_TARGET_AVX2 __attribute__((always_inline)) static inline void dgrad2_block_avx2(
    const dgrad2_t *g, int a, int b0, const int np, int c0, float *din) {
  const nn_conv3_t *s = g->s;
  int C = s->cout, cin = s->cin, row = 3 * C, dw = s->ow + 1, first = 1;
  float *out = din + ((size_t)(2 * a + g->py) * s->w + 2 * b0 + g->px) * cin + c0;
  size_t ostep = (size_t)2 * cin;
  for (int ky = g->py ? 0 : 1; ky < 3; ky += 2) {
    const float *drow = g->dpad + (size_t)(a + (ky == 2)) * dw * C;
    for (int j0 = 0; j0 < row; j0 += NN_SUM_BLOCK) {
      int j1 = block_end(j0, row), any = 0;
      __m256 acc[CORR_NP][2];
#pragma GCC unroll 6
      for (int i = 0; i < CORR_NP; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
      for (int kx = g->px ? 0 : 1; kx < 3; kx += 2) {
        int lo = kx * C > j0 ? kx * C : j0, hi = (kx + 1) * C < j1 ? (kx + 1) * C : j1;
        if (lo >= hi) continue;
        any = 1;
        const float *ip = drow + ((size_t)b0 + (kx == 2)) * C - kx * C;
        const float *wp = g->wf + ((size_t)ky * row + lo) * cin + c0;
        for (int j = lo; j < hi; j++, wp += cin) {
          __m256 w0 = _mm256_loadu_ps(wp), w1 = _mm256_loadu_ps(wp + 8);
#pragma GCC unroll 6
          for (int i = 0; i < CORR_NP; i++) {
            if (i >= np) break;
            __m256 b = _mm256_set1_ps(ip[(size_t)i * C + j]);
            acc[i][0] = _mm256_fmadd_ps(b, w0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(b, w1, acc[i][1]);
          }
        }
      }
      if (!any) continue;
      for (int i = 0; i < np; i++) {
        float *o = out + i * ostep;
        if (!first) {
          acc[i][0] = _mm256_add_ps(_mm256_loadu_ps(o), acc[i][0]);
          acc[i][1] = _mm256_add_ps(_mm256_loadu_ps(o + 8), acc[i][1]);
        }
        _mm256_storeu_ps(o, acc[i][0]);
        _mm256_storeu_ps(o + 8, acc[i][1]);
      }
      first = 0;
    }
  }
}

NN_TARGET_AVX2 static void dgrad2_avx2(const nn_conv3_t *s, const float *dpad, const float *wf,
                                       float *din) {
  for (int py = 0; py < 2; py++)
    for (int px = 0; px < 2; px++) {
      dgrad2_t g = {s, dpad, wf, py, px};
      int na = (s->h - py + 1) / 2, nb = (s->w - px + 1) / 2;
      for (int a = 0; a < na; a++)
        for (int b0 = 0; b0 < nb; b0 += CORR_NP)
          for (int c0 = 0; c0 < s->cin; c0 += 16) {
            if (nb - b0 >= CORR_NP)
              dgrad2_block_avx2(&g, a, b0, CORR_NP, c0, din);
            else
              dgrad2_block_avx2(&g, a, b0, nb - b0, c0, din);
          }
    }
}
#endif

/* whether the input gradient takes dgrad2_avx2 (else upsample_pad and corr) */
static int dgrad2_path(const nn_conv3_t *s) {
#ifdef NN_HAVE_X86
  return s->stride == 2 && nn_kernel() != NN_KERNEL_SCALAR && s->cin % 16 == 0;
#else
  (void)s;
  return 0;
#endif
}

void nn_conv3_backward(const nn_conv3_t *s, int n, const float *in, const float *weight,
                       const float *dout, float *dweight, float *din, float *scratch) {
  int kd = 9 * s->cin;
  size_t wts = (size_t)kd * s->cout, pad = (size_t)(s->h + 2) * (s->w + 2);
  float *wf = scratch, *dwt = scratch + wts, *gimg = dwt + wts, *up = gimg + wts;
  float *xp = up + pad * max_sz(s->cin, s->cout);
  size_t isz = (size_t)s->h * s->w * s->cin, osz = (size_t)s->oh * s->ow * s->cout;
  if (din) flip_weights(s, weight, wf);
  corr_t c = {up, s->w + 2, s->cout, 1, s->h, s->w, s->cin, wf};
  zero_padded(s->h, s->w, s->cin, xp);
  int fast2 = din && dgrad2_path(s);
  if (fast2) /* dout with a zero last row and column, in up */
    memset(up, 0, sizeof(float) * (s->oh + 1) * (s->ow + 1) * s->cout);
  else if (din)
    zero_padded(s->h, s->w, s->cout, up);
  if (n < 1) memset(dwt, 0, sizeof(float) * wts);
  for (int i = 0; i < n; i++) {
    pad_image(s->h, s->w, s->cin, in + i * isz, xp);
    wgrad(s, xp, dout + i * osz, gimg, dwt, i == 0);
    if (fast2) {
#ifdef NN_HAVE_X86
      for (int y = 0; y < s->oh; y++)
        memcpy(up + (size_t)y * (s->ow + 1) * s->cout, dout + i * osz + (size_t)y * s->ow * s->cout,
               sizeof(float) * s->ow * s->cout);
      dgrad2_avx2(s, up, wf, din + i * isz);
#endif
    } else if (din) {
      upsample_pad(s, dout + i * osz, up);
      corr(&c, din + i * isz);
    }
  }
  for (int j = 0; j < kd; j++)
    for (int co = 0; co < s->cout; co++) dweight[(size_t)co * kd + j] = dwt[(size_t)j * s->cout + co];
}
