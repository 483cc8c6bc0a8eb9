/* test_sums.c - how far the kernels' float32 sums are from the same sums in float64, for
 * the long ones: fc1's 1,600 inputs, LeNet conv2's 1,600 taps, a 64-channel 3x3 conv's
 * 576 taps and a ResNet weight gradient over 32 images of 32x32 positions, on every path.
 * Inputs are post-ReLU-like activations U(0, 1) and weights U(+-1/sqrt(fan_in))
 * (PyTorch's init). Error: the rms of float32 - float64 over the rms of float64.
 *
 *                     one FMA chain   blocked (kernel.h)   PyTorch 1.13 (same data)
 *   fc1 forward          7.5e-7           1.7e-7               2.4e-7
 *   LeNet conv2          7.2e-7           1.8e-7               7.0e-7
 *   3x3 conv, 64 ch      4.0e-7           1.5e-7               4.0e-7
 *   3x3 weight grad      3.6e-6           2.3e-7               3.1e-6
 *
 * (2026-12-07, an AMD EPYC with AVX2; PyTorch's figures from the same distributions,
 * its oneDNN convolutions and its BLAS, float32 against float64.) The bound is PyTorch's
 * smallest figure, fc1's: every blocked sum is within it, every single chain outside it
 * (a build with -DNN_SUM_BLOCK=1000000 sums in one chain and fails here). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/core/rng.h"
#include "../../src/nn/conv3.h"
#include "../../src/nn/kernel.h"
#include "../../src/nn/layers.h"
#include "test.h"

#define SUMS_BOUND 2.4e-7

static void fill_unit(float *x, size_t n, uint64_t key, double lo, double hi) {
  for (size_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * rng_unit(rng_at(key, i)));
}

/* rms of got - ref over rms of ref */
static double rel_rms(const float *got, const double *ref, size_t n) {
  double e = 0, r = 0;
  for (size_t i = 0; i < n; i++) {
    e += (got[i] - ref[i]) * (got[i] - ref[i]);
    r += ref[i] * ref[i];
  }
  return sqrt(e / r);
}

static void check_rel(const char *what, double err) {
  if (!(err <= SUMS_BOUND))
    test_failed(__FILE__, __LINE__, "%s: %.3g rms relative to float64 on the %s path, bound %g",
                what, err, nn_kernel_name(nn_kernel()), SUMS_BOUND);
}

/* fc1 of the seed's LeNet: 16 images x 1,600 inputs -> 384 */
static double fc1_error(void) {
  int n = 16, fin = 1600, fout = 384;
  float *in = malloc(sizeof(float) * n * fin), *w = malloc(sizeof(float) * fout * fin);
  float *b = calloc(fout, sizeof(float)), *out = malloc(sizeof(float) * n * fout);
  float *scr = malloc(sizeof(float) * nn_linear_scratch(fin, fout));
  double *ref = malloc(sizeof(double) * n * fout), a = 1 / sqrt(fin);
  fill_unit(in, (size_t)n * fin, 11, 0, 1);
  fill_unit(w, (size_t)fout * fin, 12, -a, a);
  nn_linear_forward(n, fin, fout, in, w, b, out, 0, scr);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < fout; j++) {
      double s = 0;
      for (int k = 0; k < fin; k++) s += (double)in[(size_t)i * fin + k] * w[(size_t)j * fin + k];
      ref[(size_t)i * fout + j] = s;
    }
  double err = rel_rms(out, ref, (size_t)n * fout);
  free(in), free(w), free(b), free(out), free(scr), free(ref);
  return err;
}

/* LeNet conv2: 64 channels of 14x14 -> 64 of 10x10, 5x5 taps (the raw conv outputs) */
static double conv5_error(void) {
  nn_conv_shape_t s;
  nn_conv_shape_init(&s, 64, 64, 5, 14, 14);
  size_t isz = 14 * 14 * 64, wsz = 64 * 25 * 64, scr = nn_conv_forward_scratch(&s);
  float *in = malloc(sizeof(float) * isz), *w = malloc(sizeof(float) * wsz);
  float *b = calloc(64, sizeof(float)), *pooled = malloc(sizeof(float) * 5 * 5 * 64);
  float *wt = malloc(sizeof(float) * scr), *conv = malloc(sizeof(float) * scr);
  uint8_t *am = malloc(5 * 5 * 64);
  double *ref = malloc(sizeof(double) * 100 * 64), a = 1 / sqrt(25 * 64);
  fill_unit(in, isz, 21, 0, 1);
  fill_unit(w, wsz, 22, -a, a);
  nn_conv_pool_forward(&s, in, w, b, pooled, am, wt, conv);
  for (int p = 0; p < 100; p++)
    for (int co = 0; co < 64; co++) {
      double t = 0;
      for (int ky = 0; ky < 5; ky++)
        for (int kx = 0; kx < 5; kx++)
          for (int ci = 0; ci < 64; ci++)
            t += (double)in[((p / 10 + ky) * 14 + p % 10 + kx) * 64 + ci] *
                 w[((size_t)co * 25 + ky * 5 + kx) * 64 + ci];
      ref[p * 64 + co] = t;
    }
  double err = rel_rms(conv, ref, 100 * 64); /* cout = 64: no padded columns */
  free(in), free(w), free(b), free(pooled), free(wt), free(conv), free(am), free(ref);
  return err;
}

/* A ResNet stage-3 conv (64 -> 64 channels, 8x8, padding 1) over 4 images: the forward
 * outputs; and a stage-1 conv (16 -> 16, 32x32) over a ghost batch of 32 images: the
 * weight gradient, 32,768 terms per element. */
static void conv3_errors(double *fwd, double *wgrad) {
  nn_conv3_t s;
  nn_conv3_init(&s, 64, 64, 1, 8, 8);
  int n = 4;
  size_t isz = (size_t)n * 64 * 64, wsz = 9 * 64 * 64;
  float *in = malloc(sizeof(float) * isz), *w = malloc(sizeof(float) * wsz);
  float *out = malloc(sizeof(float) * isz), *scr = malloc(sizeof(float) * nn_conv3_scratch(&s));
  double *ref = malloc(sizeof(double) * isz), a = 1 / sqrt(9 * 64);
  fill_unit(in, isz, 31, 0, 1);
  fill_unit(w, wsz, 32, -a, a);
  nn_conv3_forward(&s, n, in, w, out, scr);
  for (int i = 0; i < n; i++)
    for (int y = 0; y < 8; y++)
      for (int x = 0; x < 8; x++)
        for (int co = 0; co < 64; co++) {
          double t = 0;
          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
              int iy = y + ky - 1, ix = x + kx - 1;
              if (iy < 0 || iy >= 8 || ix < 0 || ix >= 8) continue;
              for (int ci = 0; ci < 64; ci++)
                t += (double)in[(((size_t)i * 8 + iy) * 8 + ix) * 64 + ci] *
                     w[((size_t)co * 9 + ky * 3 + kx) * 64 + ci];
            }
          ref[(((size_t)i * 8 + y) * 8 + x) * 64 + co] = t;
        }
  *fwd = rel_rms(out, ref, isz);
  free(in), free(w), free(out), free(scr), free(ref);

  nn_conv3_init(&s, 16, 16, 1, 32, 32);
  n = 32;
  isz = (size_t)n * 32 * 32 * 16, wsz = 9 * 16 * 16;
  in = malloc(sizeof(float) * isz), w = malloc(sizeof(float) * wsz);
  float *dout = malloc(sizeof(float) * isz), *dw = malloc(sizeof(float) * wsz);
  scr = malloc(sizeof(float) * nn_conv3_scratch(&s));
  ref = calloc(wsz, sizeof(double));
  fill_unit(in, isz, 41, 0, 1);
  fill_unit(w, wsz, 42, -1, 1);
  fill_unit(dout, isz, 43, -1, 1);
  nn_conv3_backward(&s, n, in, w, dout, dw, NULL, scr);
  for (int co = 0; co < 16; co++)
    for (int ky = 0; ky < 3; ky++)
      for (int kx = 0; kx < 3; kx++)
        for (int ci = 0; ci < 16; ci++) {
          double t = 0;
          for (int i = 0; i < n; i++)
            for (int y = 0; y < 32; y++)
              for (int x = 0; x < 32; x++) {
                int iy = y + ky - 1, ix = x + kx - 1;
                if (iy < 0 || iy >= 32 || ix < 0 || ix >= 32) continue;
                t += (double)in[(((size_t)i * 32 + iy) * 32 + ix) * 16 + ci] *
                     dout[(((size_t)i * 32 + y) * 32 + x) * 16 + co];
              }
          ref[((size_t)co * 9 + ky * 3 + kx) * 16 + ci] = t;
        }
  *wgrad = rel_rms(dw, ref, wsz);
  free(in), free(w), free(dout), free(dw), free(scr), free(ref);
}

TEST(long_sums_are_as_accurate_as_pytorchs_on_every_path) {
  nn_kernel_t was = nn_kernel();
  for (int k = 0; k < NN_KERNEL_COUNT; k++) {
    if (!nn_kernel_supported((nn_kernel_t)k)) continue;
    CHECK_OK(nn_kernel_set((nn_kernel_t)k));
    double f3, w3;
    check_rel("fc1 forward (1,600 inputs)", fc1_error());
    check_rel("LeNet conv2 forward (1,600 taps)", conv5_error());
    conv3_errors(&f3, &w3);
    check_rel("3x3 conv forward (576 taps)", f3);
    check_rel("3x3 conv weight gradient (32,768 terms)", w3);
    if (getenv("DPT_SUMS_VERBOSE"))
      fprintf(stderr, "%s: fc1 %.3g conv5 %.3g conv3 %.3g wgrad %.3g\n",
              nn_kernel_name((nn_kernel_t)k), fc1_error(), conv5_error(), f3, w3);
  }
  CHECK_OK(nn_kernel_set(was));
}
