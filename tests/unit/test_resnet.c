/* test_resnet.c - the ResNet layers (3x3 conv with stride and padding, batch norm with
 * the residual add and ReLU, option-A shortcut, global average pool) against finite
 * differences and a direct double-precision reference, every kernel path this CPU runs
 * (scalar, AVX2, AVX-512) against the scalar one bit for bit, and the whole ResNet's
 * gradient. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/core/rng.h"
#include "../../src/nn/conv3.h"
#include "../../src/nn/kernel.h"
#include "../../src/nn/model.h"
#include "../../src/nn/resnet.h"
#include "../../src/optim/optim.h"
#include "kpaths.h"
#include "test.h"

static void fill(float *x, size_t n, uint64_t key, float scale) {
  for (size_t i = 0; i < n; i++) x[i] = (float)((2 * rng_unit(rng_at(key, i)) - 1) * scale);
}

static double dot(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

/* A layer under test: L(x) = sum(out * r) for a fixed random r, its analytic gradient
 * with respect to a buffer, and central differences on up to 40 entries of it; the
 * relative L2 error must stay below tol. */
typedef double (*loss_fn)(void *ctx);

static void fd_check(const char *what, float *x, size_t n, const float *grad, loss_fn f,
                     void *ctx, float h, double tol) {
  double diff2 = 0, norm2 = 0;
  size_t step = n > 40 ? n / 40 : 1;
  for (size_t i = 0; i < n; i += step) {
    float saved = x[i];
    x[i] = saved + h;
    double lp = f(ctx);
    x[i] = saved - h;
    double lm = f(ctx);
    x[i] = saved;
    double fd = (lp - lm) / (2.0 * h);
    diff2 += (fd - grad[i]) * (fd - grad[i]);
    norm2 += (double)grad[i] * grad[i];
  }
  double rel = norm2 > 0 ? sqrt(diff2 / norm2) : 1;
  if (!(rel < tol)) test_failed(__FILE__, __LINE__, "%s: relative gradient error %.3g", what, rel);
}

/* ---------------------------------------------------------------- conv 3x3 */

typedef struct {
  nn_conv3_t s;
  int n;
  float *in, *w, *out, *r, *dw, *din, *scratch;
  size_t isz, osz, wsz;
} conv_t;

static void conv_init(conv_t *c, int n, int cin, int cout, int stride, int h, uint64_t key) {
  nn_conv3_init(&c->s, cin, cout, stride, h, h);
  c->n = n;
  c->isz = (size_t)n * h * h * cin;
  c->osz = (size_t)n * c->s.oh * c->s.ow * cout;
  c->wsz = (size_t)cout * 9 * cin;
  c->in = dpt_alloc(sizeof(float) * c->isz);
  c->din = dpt_alloc(sizeof(float) * c->isz);
  c->w = dpt_alloc(sizeof(float) * c->wsz);
  c->dw = dpt_alloc(sizeof(float) * c->wsz);
  c->out = dpt_alloc(sizeof(float) * c->osz);
  c->r = dpt_alloc(sizeof(float) * c->osz);
  c->scratch = dpt_alloc(sizeof(float) * nn_conv3_scratch(&c->s));
  fill(c->in, c->isz, key, 1.0f);
  fill(c->w, c->wsz, key + 1, 0.3f);
  fill(c->r, c->osz, key + 2, 1.0f);
}

static void conv_free(conv_t *c) {
  void *b[] = {c->in, c->din, c->w, c->dw, c->out, c->r, c->scratch};
  for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) dpt_free(b[i]);
}

static double conv_loss(void *ctx) {
  conv_t *c = ctx;
  nn_conv3_forward(&c->s, c->n, c->in, c->w, c->out, c->scratch);
  return dot(c->out, c->r, c->osz);
}

/* out against a double-precision direct convolution written from the definition */
static void conv_reference_check(conv_t *c) {
  const nn_conv3_t *s = &c->s;
  nn_conv3_forward(s, c->n, c->in, c->w, c->out, c->scratch);
  double worst = 0;
  for (int i = 0; i < c->n; i++)
    for (int oy = 0; oy < s->oh; oy++)
      for (int ox = 0; ox < s->ow; ox++)
        for (int co = 0; co < s->cout; co++) {
          double a = 0;
          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
              int y = oy * s->stride + ky - 1, x = ox * s->stride + kx - 1;
              if (y < 0 || x < 0 || y >= s->h || x >= s->w) continue;
              for (int ci = 0; ci < s->cin; ci++)
                a += (double)c->in[(((size_t)i * s->h + y) * s->w + x) * s->cin + ci] *
                     c->w[(((size_t)co * 3 + ky) * 3 + kx) * s->cin + ci];
            }
          size_t o = (((size_t)i * s->oh + oy) * s->ow + ox) * s->cout + co;
          double e = fabs(c->out[o] - a);
          if (e > worst) worst = e;
        }
  if (!(worst < 1e-4)) test_failed(__FILE__, __LINE__, "conv3 forward off by %g", worst);
}

static void conv_case(int n, int cin, int cout, int stride, int h) {
  conv_t c;
  conv_init(&c, n, cin, cout, stride, h, 100 + cin + stride);
  conv_reference_check(&c);
  nn_conv3_backward(&c.s, n, c.in, c.w, c.r, c.dw, c.din, c.scratch);
  fd_check("conv3 weight", c.w, c.wsz, c.dw, conv_loss, &c, 1e-2f, 2e-3);
  fd_check("conv3 input", c.in, c.isz, c.din, conv_loss, &c, 1e-2f, 2e-3);
  conv_free(&c);
}

TEST(conv3_matches_reference_and_finite_differences) {
  conv_case(2, 3, 16, 1, 6);
  conv_case(2, 16, 32, 2, 8);
  conv_case(1, 5, 7, 1, 5); /* widths no vector block fits */
  conv_case(2, 16, 16, 2, 7); /* odd side with stride 2 */
}

/* whether a path's result (bytes of it) has the scalar path's bits; names what differs */
static int same_bits(const void *got, const void *scalar, size_t bytes, const char *what,
                     nn_kernel_t k) {
  if (!memcmp(got, scalar, bytes)) return 1;
  test_failed(__FILE__, __LINE__, "%s: the %s path's bits differ from the scalar path's", what,
              nn_kernel_name(k));
  return 0;
}

/* Every vector path gives the scalar path's bits: forward, weight and input gradients. */
static void conv_paths_case(int n, int cin, int cout, int stride, int h) {
  nn_kernel_t ks[NN_KERNEL_COUNT], before = nn_kernel();
  int nk = test_kernel_paths(ks);
  conv_t c[2];
  for (int k = 0; k < nk; k++) {
    conv_t *x = &c[k > 0];
    conv_init(x, n, cin, cout, stride, h, 7);
    CHECK_OK(nn_kernel_set(ks[k]));
    nn_conv3_forward(&x->s, n, x->in, x->w, x->out, x->scratch);
    nn_conv3_backward(&x->s, n, x->in, x->w, x->r, x->dw, x->din, x->scratch);
    if (k == 0) continue;
    same_bits(x->out, c[0].out, sizeof(float) * x->osz, "conv3 forward", ks[k]);
    same_bits(x->dw, c[0].dw, sizeof(float) * x->wsz, "conv3 weight gradient", ks[k]);
    same_bits(x->din, c[0].din, sizeof(float) * x->isz, "conv3 input gradient", ks[k]);
    conv_free(x);
  }
  CHECK_OK(nn_kernel_set(before));
  conv_free(&c[0]);
}

/* Register blocks (AVX2: 6 positions or taps, AVX-512: 12) whole and partial, sums of
 * more than NN_SUM_BLOCK terms (forward rows of 3 x 64 taps; wgrad over 81 and 169
 * positions), cin = 3 (the scalar input gradient), and the stride-2 input gradient with
 * classes of 12 and 13 positions a row (25 x 25: an odd side). */
TEST(conv3_every_path_gives_the_same_bits) {
  conv_paths_case(2, 3, 16, 1, 9);
  conv_paths_case(2, 16, 32, 2, 8);
  conv_paths_case(1, 32, 64, 1, 5);
  conv_paths_case(3, 64, 64, 2, 6);
  conv_paths_case(1, 16, 32, 2, 25);
}

/* A conv between two batch norms, relu(bn_out(conv(relu(bn_in(x) + xres)))), fused,
 * gives the bits of the layers run one after the other through memory. Fused: the conv
 * normalises its input an image at a time as it pads it, and stores it
 * (nn_conv3_forward_fused); its backward computes its output gradient, bn_out's input
 * gradient, an image at a time (nn_conv3_backward_fused), the ReLU mask recomputed from
 * bn_out's input. Compared: the conv's output, its input as stored, bn_out's statistics
 * (their first pass taken as the conv writes each image), the gradients of the conv's
 * weight and input (a residual's gradient added as each image is written, then, with
 * in_bn, masked and summed for bn_in's backward: bn_in's weight and bias gradients),
 * bn_out's weight and bias gradients, and the masked output gradient (which a residual
 * reads). in_bn 0: x is the conv's input as it is. */
typedef struct {
  float *gamma, *beta, *mean, *rstd;
  double *stats;
  nn_bn_t b;
} bn_params_t;

static void bn_params_init(bn_params_t *p, int c, uint64_t key) {
  p->gamma = dpt_alloc(4 * c), p->beta = dpt_alloc(4 * c);
  p->mean = dpt_alloc(4 * c), p->rstd = dpt_alloc(4 * c);
  p->stats = dpt_alloc(sizeof(double) * 2 * c);
  fill(p->gamma, c, key, 1.0f);
  fill(p->beta, c, key + 1, 0.5f);
  p->b = (nn_bn_t){p->gamma, p->beta, NULL, NULL, p->mean, p->rstd};
}

static void bn_params_free(bn_params_t *p) {
  dpt_free(p->gamma), dpt_free(p->beta), dpt_free(p->mean), dpt_free(p->rstd);
  dpt_free(p->stats);
}

/* images (n, h, w, c) to or from their padded layout (nn_padded_at; to: zero borders) */
static void padded_copy(int n, int h, int w, int c, const float *src, float *dst, int to) {
  if (to) memset(dst, 0, sizeof(float) * n * nn_padded_size(h, w, c));
  for (int i = 0; i < n; i++)
    for (int y = 0; y < h; y++) {
      size_t at = ((size_t)i * h + y) * w * c, p = nn_padded_at(h, w, c, i, y);
      memcpy(to ? dst + p : dst + at, to ? src + at : src + p, sizeof(float) * w * c);
    }
}

static void conv_bn_fused_case(int n, int cin, int cout, int stride, int h, int in_bn,
                               int with_din) {
  conv_t c;
  conv_init(&c, n, cin, cout, stride, h, 31 + cin);
  size_t osz = c.osz, rows = osz / cout;
  bn_params_t pin, pout;
  bn_params_init(&pin, cin, 41);
  bn_params_init(&pout, cout, 43);
  /* one after the other: v = relu(bn_in(x)) written, the conv of v, bn_out, backward */
  float *v = dpt_alloc(4 * c.isz), *out2 = dpt_alloc(4 * osz), *bout = dpt_alloc(4 * osz),
        *dbn = dpt_alloc(4 * osz);
  size_t psz = n * nn_padded_size(h, h, cin); /* the residual and the store, padded */
  float *xres = dpt_alloc(4 * c.isz), *vstore = dpt_alloc(4 * psz), *xres_p = dpt_alloc(4 * psz);
  float *vback = dpt_alloc(4 * c.isz);
  fill(xres, c.isz, 47, 1.0f); /* bn_in's residual */
  padded_copy(n, h, h, cin, xres, xres_p, 1);
  if (in_bn) nn_bn_forward(&pin.b, c.isz / cin, cin, c.in, xres, 1, v, pin.stats);
  else memcpy(v, c.in, 4 * c.isz);
  nn_conv3_forward(&c.s, n, v, c.w, c.out, c.scratch);
  nn_bn_forward(&pout.b, rows, cout, c.out, NULL, 1, bout, pout.stats);
  float *dy[3], *dw[3], *din[3], dg[3][64], db[3][64], k[3 * 64];
  for (int i = 0; i < 3; i++) {
    dy[i] = dpt_alloc(4 * osz);
    memcpy(dy[i], c.r, 4 * osz);
    dw[i] = dpt_alloc(4 * c.wsz);
    din[i] = with_din ? dpt_alloc(4 * c.isz) : NULL;
  }
  nn_bn_backward(&pout.b, rows, cout, c.out, bout, 1, dy[0], dg[0], db[0], dbn);
  nn_conv3_backward(&c.s, n, v, c.w, dbn, dw[0], din[0], c.scratch);
  float *radd = dpt_alloc(4 * c.isz); /* a residual's gradient, added to din */
  fill(radd, c.isz, 45, 1.0f);
  for (size_t j = 0; with_din && j < c.isz; j++) din[0][j] += radd[j];
  /* bn_in's backward sums over din (masked in place) */
  int in_sums = in_bn && with_din;
  float kin[3 * 64], dgin[3][64], dbin[3][64];
  double sin[2 * 64];
  nn_bn_dgrad_t din_bn = {.k1 = kin, .k2 = kin + cin, .g = kin + 2 * cin, .sdy = sin,
                          .sdyx = sin + 64};
  if (in_sums)
    nn_bn_backward_sums(&pin.b, c.isz / cin, cin, c.in, v, 1, din[0], dgin[0], dbin[0], &din_bn);
  /* fused: the conv reads x through bn_in; bn_out's output is not read */
  double osum[2 * 64] = {0}; /* bn_out's statistics, their sums taken as the conv writes */
  nn_conv3_fused_t f = {.in_bn = in_bn ? &pin.b : NULL, .in_res = xres_p,
                        .in_store = in_bn ? vstore : NULL, .out_sum = osum};
  nn_conv3_forward_fused(&c.s, n, &f, c.in, c.w, out2, c.scratch);
  padded_copy(n, h, h, cin, vstore, vback, 0);
  if (in_bn && memcmp(vback, v, 4 * c.isz))
    test_failed(__FILE__, __LINE__, "the conv's input as stored differs");
  f.in_store = NULL;
  float omean[64], orstd[64];
  nn_bn_t ob = {pout.gamma, pout.beta, NULL, NULL, omean, orstd};
  nn_bn_statistics_summed(&ob, rows, cout, osum);
  if (memcmp(osum, pout.stats, sizeof(double) * 2 * cout) || memcmp(omean, pout.mean, 4 * cout) ||
      memcmp(orstd, pout.rstd, 4 * cout))
    test_failed(__FILE__, __LINE__, "output batch norm's statistics differ");
  double sums[2 * 64];
  nn_bn_dgrad_t d = {.k1 = k, .k2 = k + cout, .g = k + 2 * cout, .sdy = sums, .sdyx = sums + 64};
  nn_bn_backward_sums(&pout.b, rows, cout, c.out, NULL, 1, dy[1], dg[1], db[1], &d);
  f.dout_bn = &d;
  f.din_add = radd;
  if (memcmp(c.out, out2, 4 * osz)) test_failed(__FILE__, __LINE__, "conv output differs");
  if (memcmp(dg[0], dg[1], 4 * cout) || memcmp(db[0], db[1], 4 * cout))
    test_failed(__FILE__, __LINE__, "batch norm weight or bias gradient differs");
  if (memcmp(dy[0], dy[1], 4 * osz)) test_failed(__FILE__, __LINE__, "masked gradient differs");
  /* the backward reads x through bn_in (1), or the stored padded input in place (2, as a
   * block's first conv does), the input batch norm's mask then from the padded store */
  for (int run = 1; run <= (in_bn ? 2 : 1); run++) {
    if (run == 2) f = (nn_conv3_fused_t){.in_padded = 1, .dout_bn = &d, .din_add = radd};
    if (in_sums) {
      nn_bn_dgrad_start(&din_bn, &pin.b, cin, c.in, vstore, 1, din[run]);
      din_bn.out_h = din_bn.out_w = h;
      f.din_bn = &din_bn;
    }
    nn_conv3_backward_fused(&c.s, n, &f, run == 2 ? vstore : c.in, c.w, NULL, dw[run], din[run],
                            c.scratch);
    if (in_sums) {
      nn_bn_dgrad_finish(&din_bn, c.isz / cin, dgin[run], dbin[run]);
      if (memcmp(dgin[0], dgin[run], 4 * cin) || memcmp(dbin[0], dbin[run], 4 * cin))
        test_failed(__FILE__, __LINE__, "input batch norm's weight or bias gradient differs (%d)", run);
    }
    if (memcmp(dw[0], dw[run], 4 * c.wsz))
      test_failed(__FILE__, __LINE__, "conv weight gradient differs (%d)", run);
    if (with_din && memcmp(din[0], din[run], 4 * c.isz))
      test_failed(__FILE__, __LINE__, "conv input gradient differs (%d)", run);
  }
  for (int i = 0; i < 3; i++) dpt_free(dy[i]), dpt_free(dw[i]), dpt_free(din[i]);
  dpt_free(v), dpt_free(out2), dpt_free(bout), dpt_free(dbn), dpt_free(radd);
  dpt_free(xres), dpt_free(vstore), dpt_free(xres_p), dpt_free(vback);
  bn_params_free(&pin);
  bn_params_free(&pout);
  conv_free(&c);
}

TEST(conv3_fused_with_batch_norms_gives_the_same_bits) {
  conv_bn_fused_case(2, 16, 16, 1, 6, 1, 1); /* vector batch norms, input gradient by corr */
  conv_bn_fused_case(2, 16, 32, 2, 8, 0, 1); /* stride 2 (dgrad2 on the vector paths) */
  conv_bn_fused_case(3, 3, 16, 1, 5, 0, 0);  /* the stem: no input gradient */
  conv_bn_fused_case(2, 5, 7, 1, 5, 1, 1);   /* scalar batch norms and conv */
}

/* ---------------------------------------------------------------- batch norm */

typedef struct {
  size_t rows;
  int c, relu;
  float *in, *res, *gamma, *beta, *rm, *rv, *out, *r, *mean, *rstd;
  double *stats;
} bn_case_t;

static double bn_loss(void *ctx) {
  bn_case_t *b = ctx;
  nn_bn_t p = {b->gamma, b->beta, b->rm, b->rv, b->mean, b->rstd};
  nn_bn_forward(&p, b->rows, b->c, b->in, b->res, b->relu, b->out, b->stats);
  return dot(b->out, b->r, b->rows * b->c);
}

static void bn_grad_case(int relu, int with_res) {
  bn_case_t b = {.rows = 24, .c = 5, .relu = relu};
  size_t sz = b.rows * b.c;
  float *bufs[] = {b.in = dpt_alloc(4 * sz), b.res = dpt_alloc(4 * sz),
                   b.out = dpt_alloc(4 * sz), b.r = dpt_alloc(4 * sz)};
  float *par[] = {b.gamma = dpt_alloc(4 * 5), b.beta = dpt_alloc(4 * 5), b.rm = dpt_alloc(20),
                  b.rv = dpt_alloc(20), b.mean = dpt_alloc(20), b.rstd = dpt_alloc(20)};
  b.stats = dpt_alloc(sizeof(double) * 10);
  fill(b.in, sz, 1, 2.0f);
  fill(b.res, sz, 2, 1.0f);
  fill(b.r, sz, 3, 1.0f);
  fill(b.gamma, 5, 4, 1.0f);
  fill(b.beta, 5, 5, 0.5f);
  if (!with_res) b.res = NULL;
  bn_loss(&b);
  float *dout = dpt_alloc(4 * sz), *din = dpt_alloc(4 * sz), dg[5], db[5];
  memcpy(dout, b.r, 4 * sz);
  nn_bn_t p = {b.gamma, b.beta, b.rm, b.rv, b.mean, b.rstd};
  nn_bn_backward(&p, b.rows, b.c, b.in, b.out, relu, dout, dg, db, din);
  fd_check("bn input", b.in, sz, din, bn_loss, &b, 1e-3f, 1e-2);
  fd_check("bn weight", b.gamma, 5, dg, bn_loss, &b, 1e-3f, 1e-2);
  fd_check("bn bias", b.beta, 5, db, bn_loss, &b, 1e-3f, 1e-2);
  if (with_res) fd_check("residual", bufs[1], sz, dout, bn_loss, &b, 1e-3f, 1e-2);
  /* the statistics: the mean and the unbiased variance of each channel */
  for (int k = 0; k < 5; k++) {
    double s = 0, s2 = 0;
    for (size_t r = 0; r < b.rows; r++) s += b.in[r * 5 + k];
    for (size_t r = 0; r < b.rows; r++) s2 += pow(b.in[r * 5 + k] - s / b.rows, 2);
    CHECK_NEAR(b.stats[k], s / b.rows, 1e-12);
    CHECK_NEAR(b.stats[5 + k], s2 / (b.rows - 1), 1e-12);
  }
  for (size_t i = 0; i < 4; i++) dpt_free(bufs[i]);
  for (size_t i = 0; i < 6; i++) dpt_free(par[i]);
  dpt_free(b.stats), dpt_free(dout), dpt_free(din);
}

TEST(batch_norm_matches_finite_differences) {
  bn_grad_case(0, 0);
  bn_grad_case(1, 0);
  bn_grad_case(1, 1);
}

/* The one-pass variance (sums of x and x^2 in double) against a two-pass one in long
 * double, over a ghost batch of 16-channel 32x32 images whose channels sit at means of 0
 * to 300 standard deviations: within 1e-9 relative (float's half ulp is 6e-8), on every
 * path, each path with the scalar's bits. */
TEST(batch_norm_variance_one_pass_is_accurate) {
  enum { C = 16 };
  size_t rows = 32 * 32 * 32;
  float *x = dpt_alloc(sizeof(float) * rows * C), mean[C], rstd[C];
  fill(x, rows * C, 11, 1.0f);
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < C; k++) x[r * C + k] = x[r * C + k] * (0.5f + k) + 20.0f * k * (0.5f + k);
  nn_kernel_t ks[NN_KERNEL_COUNT], before = nn_kernel();
  int nk = test_kernel_paths(ks);
  double stats[NN_KERNEL_COUNT][2 * C];
  for (int p = 0; p < nk; p++) {
    CHECK_OK(nn_kernel_set(ks[p]));
    nn_bn_t b = {NULL, NULL, NULL, NULL, mean, rstd};
    nn_bn_statistics(&b, rows, C, x, stats[p]);
    if (p) same_bits(stats[p], stats[0], sizeof stats[0], "batch norm statistics", ks[p]);
  }
  CHECK_OK(nn_kernel_set(before));
  for (int k = 0; k < C; k++) {
    long double s = 0, s2 = 0;
    for (size_t r = 0; r < rows; r++) s += x[r * C + k];
    long double m = s / rows;
    for (size_t r = 0; r < rows; r++) s2 += (x[r * C + k] - m) * (x[r * C + k] - m);
    double var = (double)(s2 / (rows - 1));
    CHECK_NEAR(stats[0][k], (double)m, 1e-12 * fabs((double)m) + 1e-15);
    CHECK_NEAR(stats[0][C + k], var, 1e-9 * var);
  }
  dpt_free(x);
}

/* Evaluation normalises with the running statistics; the running update is PyTorch's. */
TEST(batch_norm_evaluation_uses_running_statistics) {
  float in[4] = {1, 2, 3, 5}, out[4], g[2] = {2, 1}, b[2] = {1, 0}, rm[2] = {1, 2},
        rv[2] = {4, 9}, mean[2], rstd[2];
  nn_bn_t p = {g, b, rm, rv, mean, rstd};
  nn_bn_forward(&p, 2, 2, in, NULL, 0, out, NULL);
  CHECK_NEAR(out[0], 2 * (1 - 1) / sqrt(4 + 1e-5) + 1, 1e-6);
  CHECK_NEAR(out[3], 1 * (5 - 2) / sqrt(9 + 1e-5), 1e-6);
  double stats[4] = {10, 20, 30, 40};
  nn_bn_update_running(rm, rv, stats, 2, 0.1);
  CHECK_NEAR(rm[0], 0.9 * 1 + 1, 1e-6);
  CHECK_NEAR(rv[1], 0.9 * 9 + 4, 1e-6);
}

/* ---------------------------------------------------------------- shortcut, pool */

typedef struct {
  int n, h, cin, cout, stride;
  float *x, *out, *r;
} sc_case_t;

static double sc_loss(void *ctx) {
  sc_case_t *s = ctx;
  nn_shortcut_forward(s->n, s->h, s->h, s->cin, s->cout, s->stride, s->x, s->out, 0);
  int oh = (s->h - 1) / s->stride + 1;
  return dot(s->out, s->r, (size_t)s->n * oh * oh * s->cout);
}

TEST(shortcut_and_pool_match_finite_differences) {
  sc_case_t s = {2, 6, 4, 8, 2, NULL, NULL, NULL};
  size_t isz = 2 * 36 * 4, osz = 2 * 9 * 8;
  s.x = dpt_alloc(4 * isz), s.out = dpt_alloc(4 * osz), s.r = dpt_alloc(4 * osz);
  float *dx = dpt_alloc(4 * isz);
  fill(s.x, isz, 1, 1), fill(s.r, osz, 2, 1);
  sc_loss(&s);
  /* the input's channels land at [2, 6) of the 8 */
  CHECK(s.out[0] == 0 && s.out[1] == 0 && s.out[2] == s.x[0] && s.out[5] == s.x[3] &&
        s.out[6] == 0 && s.out[8 + 2] == s.x[2 * 4]);
  nn_shortcut_backward(2, 6, 6, 4, 8, 2, s.r, dx);
  fd_check("shortcut", s.x, isz, dx, sc_loss, &s, 1e-2f, 1e-3);
  float in[2 * 4 * 3], pooled[6], din[24], dp[6] = {1, 2, 3, 4, 5, 6};
  fill(in, 24, 3, 1);
  nn_avgpool_forward(2, 4, 3, in, pooled);
  CHECK_NEAR(pooled[4], (in[13] + in[16] + in[19] + in[22]) / 4, 1e-6);
  nn_avgpool_backward(2, 4, 3, dp, din);
  CHECK(din[0] == 0.25f && din[3 * 3 + 2] == 0.75f && din[12 + 1] == 1.25f);
  dpt_free(s.x), dpt_free(s.out), dpt_free(s.r), dpt_free(dx);
}

/* ---------------------------------------------------------------- the model */

TEST(resnet_presets_have_the_papers_sizes_and_names) {
  static const struct { nn_model_kind_t kind; size_t params; } expect[] = {
      {NN_RESNET20, 269722}, {NN_RESNET32, 464154}, {NN_RESNET44, 658586},
      {NN_RESNET56, 853018}};
  for (size_t e = 0; e < sizeof expect / sizeof expect[0]; e++) {
    nn_model_t m;
    CHECK_OK(nn_model_init(&m, expect[e].kind, 3, 32, 32, 10, 2));
    size_t trained = 0;
    for (int t = 0; t < m.ngrad_tensors; t++) trained += m.tensors[t].size;
    CHECK(trained == expect[e].params);
    CHECK(m.tensors[m.ngrad_tensors - 1].offset < m.ngrad && m.ngrad < m.nparams);
    nn_model_free(&m);
  }
  nn_model_t m;
  CHECK_OK(nn_model_init(&m, NN_RESNET20, 1, 32, 32, 10, 2));
  const char *names[] = {"conv1.weight", "layer1.0.conv1.weight", "layer3.2.conv2.weight",
                         "fc.weight", "fc.bias", "bn1.weight", "layer2.0.bn2.bias",
                         "layer3.2.bn2.running_var", "layer1.1.bn1.num_batches_tracked"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    int found = 0;
    for (int t = 0; t < m.ntensors; t++) found += !strcmp(m.tensors[t].name, names[i]);
    if (found != 1) test_failed(__FILE__, __LINE__, "%s found %d times", names[i], found);
  }
  /* about 41 M multiply-adds forward per 32x32 image (He et al.), x3 for training */
  CHECK(m.flops_per_image > 2.3e8 && m.flops_per_image < 2.5e8);
  nn_model_free(&m);
}

typedef struct {
  nn_model_t *m;
  float *params, *grads;
  const float *input;
  const uint8_t *labels;
  int n;
} model_case_t;

static double model_loss(void *ctx) {
  model_case_t *c = ctx;
  int correct = 0;
  return nn_forward_backward(c->m, c->params, c->grads, c->input, c->labels, c->n, &correct);
}

/* Whole-model gradients of a ResNet-20 on 8x8 inputs (the training forward: batch norm
 * with the batch's statistics), tensor by tensor. Batch norm couples every unit to every
 * parameter, so any +-h step crosses a few of the ~35,000 ReLU kinks (measured: even at
 * h = 3e-4 most steps do), and the error falls only linearly with h (0.21, 0.11, 0.07 at
 * h = 1e-2, 3e-3, 1e-3 for conv1.weight) until float noise takes over: the bound is loose
 * (0.15 at h = 2e-3), enough to catch a wrong or missing path (an error of order 1);
 * each layer's exact check is above and the PyTorch oracle checks the whole step. */
TEST(resnet_gradients_match_finite_differences) {
  nn_model_t m;
  int n = 3;
  CHECK_OK(nn_model_init(&m, NN_RESNET20, 2, 8, 8, 4, n));
  float *params = dpt_alloc(sizeof(float) * m.nparams);
  float *grads = dpt_alloc(sizeof(float) * m.nparams);
  float *scratch = dpt_alloc(sizeof(float) * m.nparams);
  float input[3 * 8 * 8 * 2];
  uint8_t labels[3] = {0, 3, 1};
  nn_init_params(&m, params, 5);
  fill(input, sizeof input / sizeof input[0], 9, 1.0f);
  model_case_t c = {&m, params, scratch, input, labels, n};
  int correct = 0;
  nn_forward_backward(&m, params, grads, input, labels, n, &correct);
  for (int t = 0; t < m.ngrad_tensors; t++) {
    const nn_tensor_t *ts = &m.tensors[t];
    fd_check(ts->name, params + ts->offset, ts->size, grads + ts->offset, model_loss, &c,
             2e-3f, 0.15);
  }
  for (size_t i = m.ngrad; i < m.nparams; i++) CHECK(grads[i] == 0.0f);
  dpt_free(params), dpt_free(grads), dpt_free(scratch);
  nn_model_free(&m);
}

/* A training step of the whole ResNet-20 on every path: the scalar path's loss, gradient
 * and batch statistics, bit for bit. */
TEST(resnet_step_every_path_gives_the_same_bits) {
  nn_model_t m;
  int n = 2;
  CHECK_OK(nn_model_init(&m, NN_RESNET20, 3, 16, 16, 10, n));
  float *params = dpt_alloc(sizeof(float) * m.nparams);
  float *g[2] = {dpt_alloc(sizeof(float) * m.nparams), dpt_alloc(sizeof(float) * m.nparams)};
  double *stats[2] = {dpt_alloc(sizeof(double) * m.nbn_stats),
                      dpt_alloc(sizeof(double) * m.nbn_stats)};
  float input[2 * 16 * 16 * 3];
  uint8_t labels[2] = {4, 7};
  nn_init_params(&m, params, 3);
  fill(input, sizeof input / sizeof input[0], 4, 1.0f);
  nn_kernel_t ks[NN_KERNEL_COUNT], before = nn_kernel();
  int nk = test_kernel_paths(ks);
  double loss[2];
  for (int k = 0; k < nk; k++) {
    int correct = 0, r = k > 0;
    CHECK_OK(nn_kernel_set(ks[k]));
    loss[r] = nn_forward_backward(&m, params, g[r], input, labels, n, &correct);
    memcpy(stats[r], m.bn_stats, sizeof(double) * m.nbn_stats);
    if (k == 0) continue;
    same_bits(&loss[1], &loss[0], sizeof(double), "loss", ks[k]);
    same_bits(g[1], g[0], sizeof(float) * m.nparams, "gradient", ks[k]);
    same_bits(stats[1], stats[0], sizeof(double) * m.nbn_stats, "batch statistics", ks[k]);
  }
  CHECK_OK(nn_kernel_set(before));
  dpt_free(params), dpt_free(g[0]), dpt_free(g[1]), dpt_free(stats[0]), dpt_free(stats[1]);
  nn_model_free(&m);
}

/* ---------------------------------------------------------------- init, optimizer */

/* model.init: kaiming_normal draws conv and linear weights from N(0, 2/fan_in) (mean and
 * variance within 5 standard errors), leaves biases uniform and batch norm at 1 and 0. */
TEST(resnet_kaiming_normal_init) {
  nn_model_t m;
  CHECK_OK(nn_model_init(&m, NN_RESNET20, 3, 32, 32, 10, 1));
  float *p = dpt_alloc(sizeof(float) * m.nparams);
  nn_init_params_kaiming(&m, p, 11, 1);
  for (int t = 0; t < m.ntensors; t++) {
    const nn_tensor_t *ts = &m.tensors[t];
    const float *w = p + ts->offset;
    if (ts->init == NN_INIT_UNIFORM && !ts->is_bias) {
      double s = 0, s2 = 0, n = (double)ts->size, var = 2.0 / ts->fan_in;
      for (size_t i = 0; i < ts->size; i++) s += w[i], s2 += (double)w[i] * w[i];
      if (!(fabs(s / n) < 5 * sqrt(var / n)) || !(fabs(s2 / n - var) < 5 * var * sqrt(2 / n)))
        test_failed(__FILE__, __LINE__, "%s: mean %g, variance %g, expected 0, %g", ts->name,
                    s / n, s2 / n, var);
    } else if (ts->is_bias && ts->init == NN_INIT_UNIFORM) {
      for (size_t i = 0; i < ts->size; i++) CHECK(fabsf(w[i]) <= 1.0 / sqrt(ts->fan_in));
    } else {
      float want = ts->init == NN_INIT_ONE ? 1.0f : 0.0f;
      for (size_t i = 0; i < ts->size; i++) CHECK(w[i] == want);
    }
  }
  dpt_free(p);
  nn_model_free(&m);
}

/* The optimizer steps the trained part only; model.bn.weight_decay: false exempts the
 * batch-norm weights and biases from decay, true (the default) decays them too. */
TEST(optimizer_leaves_running_statistics_and_bn_decay_is_an_option) {
  nn_model_t m;
  CHECK_OK(nn_model_init(&m, NN_RESNET20, 1, 32, 32, 10, 1));
  float *w = dpt_alloc(sizeof(float) * m.nparams), *g = dpt_alloc(sizeof(float) * m.nparams);
  for (int decay_bn = 0; decay_bn < 2; decay_bn++) {
    opt_hparams_t hp;
    memset(&hp, 0, sizeof hp);
    hp.kind = OPT_SGDM;
    hp.weight_decay = 0.5;
    hp.bn_weight_decay = decay_bn;
    opt_state_t st;
    opt_state_init(&st, m.nparams, OPT_SGDM);
    for (size_t i = 0; i < m.nparams; i++) w[i] = 1.0f; /* running stats too */
    CHECK_OK(opt_step(&hp, &m, w, g, &st, 0.1));
    CHECK(w[0] == 0.95f);                             /* conv1.weight: decayed */
    CHECK(w[m.ndecay] == (decay_bn ? 0.95f : 1.0f));  /* bn1.weight */
    for (size_t i = m.ngrad; i < m.nparams; i++) CHECK(w[i] == 1.0f);
    opt_state_free(&st);
  }
  dpt_free(w), dpt_free(g);
  nn_model_free(&m);
}
