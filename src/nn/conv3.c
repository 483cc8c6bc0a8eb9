/* conv3.c - the direct 3x3 convolution of the ResNets: forward, input gradient and
 * weight gradient, each with a scalar, an AVX2 and an AVX-512 path that sum in the same
 * order: the blocked sums of kernel.h (see conv3.h). Its correlation kernel, nn_corr,
 * runs LeNet's 5x5 forward too. The two vector paths run the same
 * kernels (conv3_simd.inc) with their own vectors and register blocks. */
#include "conv3.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../core/err.h"
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
 * padded gradient + the padded input + one image's output gradient (computed by
 * nn_conv3_backward_fused) + the offsets in the padded input of the output positions and
 * of the taps, and those of the positions in the output gradient (int32). */
size_t nn_conv3_scratch(const nn_conv3_t *s) {
  size_t pad = (size_t)(s->h + 2) * (s->w + 2), pos = (size_t)s->oh * s->ow;
  size_t wts = (size_t)9 * s->cin * s->cout;
  return 3 * wts + pad * max_sz(s->cin, s->cout) + pad * s->cin + pos * s->cout + 2 * pos +
         (size_t)9 * s->cin;
}

/* --- the correlation kernel (nn_corr, conv3.h): out (oh, ow, cout) = sum over taps
 * (ky, kx, ci) of xp[(oy*st + ky, ox*st + kx, ci)] * wt[(ky, kx, ci), co], a blocked sum,
 * taps in order, each row ky's k*cin taps (consecutive floats of xp) in blocks of
 * NN_SUM_BLOCK from its first. Both directions of the 3x3 conv run it on padded images,
 * LeNet's 5x5 forward on its unpadded input. */

static void corr_offsets(const nn_corr_t *c, int p0, int np, int32_t *off) {
  for (int i = 0; i < np; i++) {
    int p = p0 + i, oy = p / c->ow, ox = p % c->ow;
    off[i] = (oy * c->stride * c->wp + ox * c->stride) * c->cin;
  }
}

NN_SCALAR_FMA
static void corr_scalar(const nn_corr_t *c, float *out) {
  int P = c->oh * c->ow, row = c->k * c->cin;
  int32_t off[1];
  for (int p = 0; p < P; p++) {
    corr_offsets(c, p, 1, off);
    for (int co = 0; co < c->cout; co++) {
      float sum = 0.0f;
      for (int ky = 0; ky < c->k; ky++) {
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

/* --- padded images */

/* image (h, w, c) into the interior of a (h + 2, w + 2, c) buffer whose border the
 * caller zeroed once for all its images */
static void pad_image(int h, int w, int c, const float *in, float *xp) {
  size_t wp = (size_t)w + 2;
  for (int y = 0; y < h; y++)
    memcpy(xp + ((y + 1) * wp + 1) * c, in + (size_t)y * w * c, sizeof(float) * w * c);
}

/* image i of the conv's input as f gives it, padded: in's (in place where f->in_padded,
 * else copied into xp), or relu(in_bn(in) + in_res) normalised into in_store's padded
 * image (or xp where f has no in_store); returns where it is */
static const float *pad_input(const nn_conv3_t *s, const nn_conv3_fused_t *f, int i,
                              const float *in, float *xp) {
  int c = s->cin, h = s->h, w = s->w;
  size_t isz = (size_t)h * w * c;
  if (!f->in_bn) {
    if (f->in_padded) return in + i * nn_padded_size(h, w, c);
    pad_image(h, w, c, in + i * isz, xp);
    return xp;
  }
  float *img = f->in_store ? f->in_store + i * nn_padded_size(h, w, c) : xp;
  for (int y = 0; y < h; y++)
    nn_bn_normalise(f->in_bn, (size_t)w, c, in + i * isz + (size_t)y * w * c,
                    f->in_res ? f->in_res + nn_padded_at(h, w, c, i, y) : NULL, 1,
                    img + nn_padded_at(h, w, c, 0, y));
  return img;
}

static void zero_padded(int h, int w, int c, float *xp) {
  memset(xp, 0, sizeof(float) * (h + 2) * (w + 2) * c);
}

/* whether pad_input pads the conv's input into scratch (else it lies padded elsewhere) */
static int pads_into_scratch(const nn_conv3_fused_t *f) {
  return f->in_bn ? !f->in_store : !f->in_padded;
}

/* --- weight gradient
 *
 * One image's part of dwt[(ky, kx, ci), co]: the sum over the positions (oy, ox) in order
 * of xp[(oy*st + ky, ox*st + kx, ci)] * dout[doff[p] + co] (position p = (oy, ox) of dout,
 * wherever its rows lie: dout_offsets), a blocked sum (positions in
 * blocks of NN_SUM_BLOCK, their sums added in order in gimg); the images' parts are added
 * in order to the first image's in dwt. */

/* the image's sum of one element into dwt: the first image's is stored */
static float image_fold(float sum, const float *dwt, int first) {
  return first ? sum : *dwt + sum;
}

/* Offsets in the padded image xp, computed once per call: the input of tap j (ky, kx,
 * ci) at output position p is xp[poff[p] + toff[j]]. */
static void wgrad_offsets(const nn_conv3_t *s, int32_t *poff, int32_t *toff) {
  int wp = s->w + 2;
  for (int p = 0; p < s->oh * s->ow; p++) {
    int oy = p / s->ow, ox = p % s->ow;
    poff[p] = (oy * s->stride * wp + ox * s->stride) * s->cin;
  }
  for (int j = 0; j < 9 * s->cin; j++) {
    int tap = j / s->cin, ci = j % s->cin;
    toff[j] = ((tap / 3) * wp + tap % 3) * s->cin + ci;
  }
}

NN_SCALAR_FMA
static void wgrad_scalar(const nn_conv3_t *s, const float *xp, const int32_t *poff,
                         const int32_t *toff, const float *dout, const int32_t *doff,
                         float *dwt, int first) {
  int kd = 9 * s->cin, P = s->oh * s->ow;
  for (int j = 0; j < kd; j++) {
    const float *xr = xp + toff[j];
    for (int co = 0; co < s->cout; co++) {
      float sum = 0.0f;
      for (int p0 = 0; p0 < P; p0 += NN_SUM_BLOCK) {
        float a = 0.0f;
        for (int p = p0, p1 = block_end(p0, P); p < p1; p++)
          a = fmaf(xr[poff[p]], dout[doff[p] + co], a);
        sum = p0 ? sum + a : a;
      }
      float *d = dwt + (size_t)j * s->cout + co;
      *d = image_fold(sum, d, first);
    }
  }
}

/* Where the backward keeps an image's output gradient, which its weight gradient reads
 * (dout_offsets) and its input gradient too: flat (oh, ow, cout); or written straight
 * into the grid the input gradient reads, where a batch norm's input gradient computes
 * it (nn_conv3_backward_fused): the interior of the padded (h + 2, w + 2, cout) grid
 * (stride 1), or dgrad2's (oh + 1, ow + 1, cout) one. */
typedef enum { DOUT_FLAT, DOUT_PADDED, DOUT_DGRAD2 } dout_layout_t;

/* where row y of the output gradient starts */
static size_t dout_row(const nn_conv3_t *s, dout_layout_t l, int y) {
  size_t C = s->cout;
  switch (l) {
    case DOUT_PADDED: return ((size_t)(y + 1) * (s->w + 2) + 1) * C;
    case DOUT_DGRAD2: return (size_t)y * (s->ow + 1) * C;
    default: return (size_t)y * s->ow * C;
  }
}

static void dout_offsets(const nn_conv3_t *s, dout_layout_t l, int32_t *doff) {
  for (int p = 0; p < s->oh * s->ow; p++)
    doff[p] = (int32_t)(dout_row(s, l, p / s->ow) + (size_t)(p % s->ow) * s->cout);
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
        memcpy(wf + ((size_t)(ky * 3 + kx) * co + o) * ci,
               weight + ((size_t)o * 9 + (2 - ky) * 3 + (2 - kx)) * ci, sizeof(float) * ci);
}

/* --- the input gradient of a stride-2 convolution without the upsampled zeros (dgrad2,
 * the vector paths only)
 *
 * Three cells in four of the upsampled grid are zero, so din's cells split by the parity
 * (py, px) of their row and column, and each class reads dout through the taps that meet
 * a nonzero cell: ky = 1 alone for even rows (dout row a), ky = 0 and 2 for odd ones (dout
 * rows a and a + 1), and kx alike. A zero tap adds exactly nothing to a sum that starts at
 * +0, and a block of zero taps adds +0, so visiting only the others, in the same order and
 * blocks, gives corr's sums bit for bit (conv3_every_path_gives_the_same_bits). dout
 * is read from dpad, (oh + 1, ow + 1, cout) with a zero last row and column. */

typedef struct {
  const nn_conv3_t *s;
  const float *dpad, *wf; /* wf: the flipped weights (9 cout, cin) */
  int py, px;
} dgrad2_t;

/* --- the vector paths
 *
 * Both run the kernels of conv3_simd.inc on 16 channels at a time (two 8-float vectors,
 * or one of 16) in register blocks of SIMD_NB positions (corr, dgrad2) or taps (wgrad) x
 * 16 channels, 12 accumulators either way. Each step of a block loads 16 weights (wgrad:
 * 16 floats of dout) and broadcasts SIMD_NB inputs:
 *   AVX2     6 x 16: 2 vector loads and 6 broadcasts per 12 FMAs;
 *   AVX-512 12 x 16: 1 vector load and 12 broadcasts per 12 FMAs, the broadcasts folded
 *            into the FMAs as memory operands. A weight read serves twice the positions,
 *            so at twice the FMA width the weights (36-147 KB for the 32- and 64-channel
 *            layers, read from L2) stream at AVX2's bytes per FMA instruction.
 * With 32 vector registers, AVX-512 has wider blocks (24 accumulators) where the
 * channels allow, all measured on a Zen 4 against 12 x 16 (docs/performance.md):
 *   corr        6 positions x 64 channels, 12 x 32 where 64 or 32 channels are left (a
 *               broadcast serves 4 or 2 FMAs): the 32- and 64-channel layers' forward 6%
 *               and 10-12% faster; LeNet's 5x5 forward as fast as its own 6 x 64 kernel
 *               did. Where a 3x3 kernel row is one sum block (16 input channels, the
 *               stem), 6 positions x 3 kernel rows (corr_block3: one pass over a row's
 *               taps, one store): 16-channel layers 81-88 -> 98-106 GFLOP/s.
 *   wgrad       with 16 input channels in the lanes (wgradt, cin % 16 == 0): a kernel
 *               row's 3 taps x 8 output channels, each broadcast of dout serving 3
 *               FMAs, into a transposed dwt: 0.80 of 12 x 16's time.
 * The vector paths need whole 16-channel blocks; other widths take the scalar loops. */

#ifdef NN_HAVE_X86
#define SIMD_INLINE __attribute__((always_inline)) static inline
#define CORR_L1_WEIGHTS (40 * 1024) /* bytes of a channel block's weights kept for all positions */

/* The positions of the next register block of nb (corr, dgrad2), with left to go: where
 * more than one and fewer than two whole blocks are left, a block of 2 nb / 3 first
 * instead of a whole one and a small rest, whose few accumulators would keep the loads
 * busier than the FMAs. The kernels compile both sizes for their count (any other count
 * takes a block compiled for a count known only at run time, which measured slower: 8 + 8
 * that way lost 15-27% against 12 + 4): a row of 16 positions is 8 + 8 instead of 12 + 4,
 * so the 32-channel layers' forward went from 102-104 to 105-107 GFLOP/s and the input
 * gradient of the stride-2 16 -> 32 layer from 79-83 to 86-89. A block's shape never
 * changes a sum. */
static int position_block(int left, int nb) {
  return left >= 2 * nb || left == nb ? nb : left > nb ? 2 * nb / 3 : left;
}

/* AVX2: 16 floats as two 8-float vectors */
typedef struct {
  __m256 lo, hi;
} f16_avx2;
NN_TARGET_AVX2 SIMD_INLINE f16_avx2 zero16_avx2(void) {
  return (f16_avx2){_mm256_setzero_ps(), _mm256_setzero_ps()};
}
NN_TARGET_AVX2 SIMD_INLINE f16_avx2 load16_avx2(const float *p) {
  return (f16_avx2){_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)};
}
NN_TARGET_AVX2 SIMD_INLINE void store16_avx2(float *p, f16_avx2 a) {
  _mm256_storeu_ps(p, a.lo);
  _mm256_storeu_ps(p + 8, a.hi);
}
NN_TARGET_AVX2 SIMD_INLINE f16_avx2 add16_avx2(f16_avx2 a, f16_avx2 b) {
  return (f16_avx2){_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)};
}
NN_TARGET_AVX2 SIMD_INLINE f16_avx2 fma16_avx2(float x, f16_avx2 w, f16_avx2 acc) {
  __m256 b = _mm256_set1_ps(x);
  return (f16_avx2){_mm256_fmadd_ps(b, w.lo, acc.lo), _mm256_fmadd_ps(b, w.hi, acc.hi)};
}

#define SIMD(name) name##_avx2
#define SIMD_TARGET NN_TARGET_AVX2
#define SIMD_NB 6
#define SIMD_NV 1
#include "conv3_simd.inc"

/* AVX-512: 16 floats as one vector */
typedef __m512 f16_avx512;
NN_TARGET_AVX512 SIMD_INLINE __m512 zero16_avx512(void) { return _mm512_setzero_ps(); }
NN_TARGET_AVX512 SIMD_INLINE __m512 load16_avx512(const float *p) { return _mm512_loadu_ps(p); }
NN_TARGET_AVX512 SIMD_INLINE void store16_avx512(float *p, __m512 a) { _mm512_storeu_ps(p, a); }
NN_TARGET_AVX512 SIMD_INLINE __m512 add16_avx512(__m512 a, __m512 b) {
  return _mm512_add_ps(a, b);
}
NN_TARGET_AVX512 SIMD_INLINE __m512 fma16_avx512(float x, __m512 w, __m512 acc) {
  return _mm512_fmadd_ps(_mm512_set1_ps(x), w, acc);
}

#define SIMD(name) name##_avx512
#define SIMD_TARGET NN_TARGET_AVX512
#define SIMD_NB 12
#define SIMD_NV 4
#include "conv3_simd.inc"

static void dgrad2(const nn_conv3_t *s, const float *dpad, const float *wf, float *din) {
  if (nn_kernel() == NN_KERNEL_AVX512)
    dgrad2_avx512(s, dpad, wf, din);
  else
    dgrad2_avx2(s, dpad, wf, din);
}
#endif

/* --- the path each kernel takes */

/* the vector path for an output of C channels, or scalar */
static nn_kernel_t path(int C) { return C % 16 ? NN_KERNEL_SCALAR : nn_kernel(); }

void nn_corr(const nn_corr_t *c, float *out) {
  switch (path(c->cout)) {
#ifdef NN_HAVE_X86
    case NN_KERNEL_AVX512: corr_avx512(c, out); return;
    case NN_KERNEL_AVX2: corr_avx2(c, out); return;
#endif
    default: corr_scalar(c, out); return;
  }
}

/* whether wgrad accumulates dwt transposed, [(ky, kx, co), ci] (wgradt) */
static int wgrad_transposed(const nn_conv3_t *s) {
  return path(s->cout) == NN_KERNEL_AVX512 && s->cin % 16 == 0 && s->cout % 8 == 0;
}

/* adds one image's part to dwt (the first image's is stored); gimg: scratch of dwt's size;
 * both [(ky, kx, ci), co], or [(ky, kx, co), ci] where wgrad_transposed */
static void wgrad(const nn_conv3_t *s, const float *xp, const int32_t *poff,
                  const int32_t *toff, const float *dout, const int32_t *doff, float *gimg,
                  float *dwt, int first) {
#ifdef NN_HAVE_X86
  if (wgrad_transposed(s)) {
    wgradt_avx512(s, xp, poff, dout, doff, gimg, dwt, first);
    return;
  }
#endif
  switch (path(s->cout)) {
#ifdef NN_HAVE_X86
    case NN_KERNEL_AVX512: wgrad_avx512(s, xp, poff, toff, dout, doff, gimg, dwt, first); return;
    case NN_KERNEL_AVX2: wgrad_avx2(s, xp, poff, toff, dout, doff, gimg, dwt, first); return;
#endif
    default:
      (void)gimg; /* the scalar loop keeps each sum in a register */
      wgrad_scalar(s, xp, poff, toff, dout, doff, dwt, first);
      return;
  }
}

/* whether the input gradient takes dgrad2 (else upsample_pad and corr) */
static int dgrad2_path(const nn_conv3_t *s) {
  return s->stride == 2 && path(s->cin) != NN_KERNEL_SCALAR;
}

/* --- forward and backward */

void nn_conv3_forward_fused(const nn_conv3_t *s, int n, const nn_conv3_fused_t *f,
                            const float *in, const float *weight, float *out, float *scratch) {
  int kd = 9 * s->cin;
  float *wt = scratch, *xp = scratch + (size_t)kd * s->cout;
  for (int j = 0; j < kd; j++)
    for (int co = 0; co < s->cout; co++) wt[(size_t)j * s->cout + co] = weight[(size_t)co * kd + j];
  size_t osz = (size_t)s->oh * s->ow * s->cout;
  nn_corr_t c = {xp, s->w + 2, s->cin, 3, s->stride, s->oh, s->ow, s->cout, wt};
  if (pads_into_scratch(f)) zero_padded(s->h, s->w, s->cin, xp);
  for (int i = 0; i < n; i++) {
    c.xp = pad_input(s, f, i, in, xp);
    nn_corr(&c, out + i * osz);
    if (f->out_sum) nn_bn_sum_rows((size_t)s->oh * s->ow, s->cout, out + i * osz, f->out_sum);
  }
}

void nn_conv3_forward(const nn_conv3_t *s, int n, const float *in, const float *weight,
                      float *out, float *scratch) {
  nn_conv3_fused_t none = {0};
  nn_conv3_forward_fused(s, n, &none, in, weight, out, scratch);
}

/* d += a, n floats (blocks of 8 the compiler vectorises) */
static void add_into(float *restrict d, const float *restrict a, size_t n) {
  size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; k++) d[j + k] += a[j + k];
  for (; j < n; j++) d[j] += a[j];
}

void nn_conv3_backward_fused(const nn_conv3_t *s, int n, const nn_conv3_fused_t *f,
                             const float *in, const float *weight, const float *dout,
                             float *dweight, float *din, float *scratch) {
  DPT_ASSERT(!f->dout_bn || f->dout_bn->c == s->cout);
  DPT_ASSERT(!f->din_bn || (f->din_bn->c == s->cin && f->din_bn->dout == din));
  DPT_ASSERT(!f->din_bn || f->din_bn->out || !f->in_res); /* a mask recomputed without res */
  int kd = 9 * s->cin, P = s->oh * s->ow;
  size_t wts = (size_t)kd * s->cout, pad = (size_t)(s->h + 2) * (s->w + 2);
  float *wf = scratch, *dwt = scratch + wts, *gimg = dwt + wts, *up = gimg + wts;
  float *xp = up + pad * max_sz(s->cin, s->cout), *dimg = xp + pad * s->cin;
  int32_t *poff = (int32_t *)(dimg + (size_t)P * s->cout), *doff = poff + P, *toff = doff + P;
  size_t isz = (size_t)s->h * s->w * s->cin, osz = (size_t)P * s->cout;
  if (din) flip_weights(s, weight, wf);
  nn_corr_t c = {up, s->w + 2, s->cout, 3, 1, s->h, s->w, s->cin, wf};
  if (pads_into_scratch(f)) zero_padded(s->h, s->w, s->cin, xp);
  int fast2 = din && dgrad2_path(s);
  if (fast2) /* dout with a zero last row and column, in up */
    memset(up, 0, sizeof(float) * (s->oh + 1) * (s->ow + 1) * s->cout);
  else if (din)
    zero_padded(s->h, s->w, s->cout, up);
  if (n < 1) memset(dwt, 0, sizeof(float) * wts);
  wgrad_offsets(s, poff, toff);
  /* a batch norm's input gradient goes straight where the input gradient reads it */
  dout_layout_t layout = !f->dout_bn || !din ? DOUT_FLAT
                         : fast2             ? DOUT_DGRAD2
                         : s->stride == 1    ? DOUT_PADDED
                                             : DOUT_FLAT;
  dout_offsets(s, layout, doff);
  for (int i = 0; i < n; i++) {
    const float *di = dout + i * osz;
    if (f->dout_bn && layout == DOUT_FLAT) {
      nn_bn_input_grad(f->dout_bn, (size_t)i * P, P, dimg);
      di = dimg;
    } else if (f->dout_bn) {
      for (int y = 0; y < s->oh; y++)
        nn_bn_input_grad(f->dout_bn, (size_t)i * P + (size_t)y * s->ow, s->ow,
                         up + dout_row(s, layout, y));
      di = up;
    }
    wgrad(s, pad_input(s, f, i, in, xp), poff, toff, di, doff, gimg, dwt, i == 0);
    if (fast2) {
#ifdef NN_HAVE_X86
      for (int y = 0; layout == DOUT_FLAT && y < s->oh; y++)
        memcpy(up + dout_row(s, DOUT_DGRAD2, y), di + dout_row(s, DOUT_FLAT, y),
               sizeof(float) * s->ow * s->cout);
      dgrad2(s, up, wf, din + i * isz);
#endif
    } else if (din) {
      if (layout == DOUT_FLAT) upsample_pad(s, di, up);
      nn_corr(&c, din + i * isz);
    }
    /* the residual's gradient added, in the batch norm's pass where there is one */
    if (din && f->din_bn)
      nn_bn_dgrad_rows(f->din_bn, (size_t)i * s->h * s->w, (size_t)s->h * s->w, f->din_add);
    else if (din && f->din_add)
      add_into(din + i * isz, f->din_add + i * isz, isz);
  }
  if (wgrad_transposed(s)) /* dwt [(tap, co), ci] */
    for (int tap = 0; tap < 9; tap++)
      for (int co = 0; co < s->cout; co++)
        memcpy(dweight + ((size_t)co * 9 + tap) * s->cin,
               dwt + ((size_t)tap * s->cout + co) * s->cin, sizeof(float) * s->cin);
  else
    for (int j = 0; j < kd; j++)
      for (int co = 0; co < s->cout; co++)
        dweight[(size_t)co * kd + j] = dwt[(size_t)j * s->cout + co];
}

void nn_conv3_backward(const nn_conv3_t *s, int n, const float *in, const float *weight,
                       const float *dout, float *dweight, float *din, float *scratch) {
  nn_conv3_fused_t none = {0};
  nn_conv3_backward_fused(s, n, &none, in, weight, dout, dweight, din, scratch);
}
