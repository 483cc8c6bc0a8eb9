/* test_kernels.c - every vector path of the conv and linear kernels (scalar, AVX2,
 * AVX-512: each one this CPU runs) against a double-precision reference written from
 * the definitions, and the paths against each other bit for bit. The shapes reach the
 * production blocks: 64 output channels (the AVX-512 4-vector block, the AVX2 16-channel
 * blocks), 6-position blocks with a remainder, rows longer and shorter than 16 floats. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/core/rng.h"
#include "../../src/nn/kernel.h"
#include "../../src/nn/layers.h"
#include "kpaths.h"
#include "test.h"

static void fill(float *x, size_t n, uint64_t key) {
  for (size_t i = 0; i < n; i++) x[i] = (float)(2 * rng_unit(rng_at(key, i)) - 1);
}

/* A chain of n float32 fused multiply-adds errs by at most about n * 2^-24 of the sum of
 * the terms' magnitudes; twice that is the tolerance against the double reference. */
static int close_to(float got, double ref, double magnitude, int terms) {
  return fabs(got - ref) <= 2.0 * terms * ldexp(1.0, -24) * magnitude + 1e-30;
}

typedef struct {
  nn_conv_shape_t s;
  float *in, *w, *b, *pooled, *dpooled, *dw, *db, *din, *scratch, *scr;
  uint8_t *am;
  size_t isz, wsz, osz;
} conv_case_t;

static void conv_case_init(conv_case_t *c, int cin, int cout, int hw, uint64_t key) {
  nn_conv_shape_init(&c->s, cin, cout, 5, hw, hw);
  c->isz = (size_t)hw * hw * cin;
  c->wsz = (size_t)cout * 25 * cin;
  c->osz = (size_t)c->s.ph * c->s.pw * cout;
  size_t scratch = nn_conv_forward_scratch(&c->s);
  size_t bwd = (size_t)c->s.oh * c->s.ow * ((size_t)(25 * cin > cout ? 25 * cin : cout) + 1);
  if (bwd > scratch) scratch = bwd;
  c->in = dpt_alloc(sizeof(float) * c->isz);
  c->w = dpt_alloc(sizeof(float) * c->wsz);
  c->b = dpt_alloc(sizeof(float) * cout);
  c->pooled = dpt_alloc(sizeof(float) * c->osz);
  c->dpooled = dpt_alloc(sizeof(float) * c->osz);
  c->am = dpt_alloc(c->osz);
  c->dw = dpt_alloc(sizeof(float) * c->wsz);
  c->db = dpt_alloc(sizeof(float) * cout);
  c->din = dpt_alloc(sizeof(float) * c->isz);
  c->scratch = dpt_alloc(sizeof(float) * scratch);
  c->scr = dpt_alloc(sizeof(float) * scratch);
  fill(c->in, c->isz, key);
  fill(c->w, c->wsz, key + 1);
  fill(c->b, cout, key + 2);
  fill(c->dpooled, c->osz, key + 3);
}

static void conv_case_free(conv_case_t *c) {
  float *f[] = {c->in, c->w, c->b, c->pooled, c->dpooled, c->dw, c->db, c->din, c->scratch,
                c->scr};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) dpt_free(f[i]);
  dpt_free(c->am);
}

/* Forward and backward of one image on the current path. */
static void conv_case_run(conv_case_t *c) {
  nn_conv_pool_forward(&c->s, c->in, c->w, c->b, c->pooled, c->am, c->scratch, c->scr);
  memset(c->dw, 0, sizeof(float) * c->wsz);
  memset(c->db, 0, sizeof(float) * c->s.cout);
  nn_conv_pool_backward(&c->s, c->in, c->w, c->pooled, c->am, c->dpooled, c->dw, c->db, c->din,
                     c->scratch, c->scr);
}

/* The definitions in double: conv, bias, ReLU, 2x2 max-pool; and for the backward pass
 * the gradient of sum(dpooled * pooled) through the window's maximum where it is > 0. */
static void conv_case_check(const conv_case_t *c, const char *path) {
  const nn_conv_shape_t *s = &c->s;
  int C = s->cout, cin = s->cin, kd = 25 * cin, bad = 0;
  double *dw = calloc(c->wsz, sizeof(double)), *din = calloc(c->isz, sizeof(double));
  double *dwmag = calloc(c->wsz, sizeof(double)), *dinmag = calloc(c->isz, sizeof(double));
  double *db = calloc(C, sizeof(double));
  for (int py = 0; py < s->ph; py++)
    for (int px = 0; px < s->pw; px++)
      for (int co = 0; co < C; co++) {
        double best = -INFINITY, bestmag = 0;
        int by = 0, bx = 0;
        for (int dy = 0; dy < 2; dy++)
          for (int dx = 0; dx < 2; dx++) {
            int oy = 2 * py + dy, ox = 2 * px + dx;
            double acc = 0, mag = 0;
            for (int ky = 0; ky < 5; ky++)
              for (int kx = 0; kx < 5; kx++)
                for (int ci = 0; ci < cin; ci++) {
                  double t = (double)c->in[((oy + ky) * s->w + ox + kx) * cin + ci] *
                             c->w[((co * 5 + ky) * 5 + kx) * cin + ci];
                  acc += t;
                  mag += fabs(t);
                }
            if (acc > best) {
              best = acc;
              bestmag = mag;
              by = oy;
              bx = ox;
            }
          }
        size_t o = ((size_t)py * s->pw + px) * C + co;
        double ref = best + c->b[co] > 0 ? best + c->b[co] : 0;
        if (!close_to(c->pooled[o], ref, bestmag + fabs(c->b[co]), kd + 1) && bad++ < 3)
          test_failed(__FILE__, __LINE__, "%s: conv %d->%d forward at (%d,%d,%d): %.9g, "
                      "reference %.9g", path, cin, C, py, px, co, c->pooled[o], ref);
        if (!(best + c->b[co] > 0)) continue;
        double g = c->dpooled[o];
        db[co] += g;
        for (int ky = 0; ky < 5; ky++)
          for (int kx = 0; kx < 5; kx++)
            for (int ci = 0; ci < cin; ci++) {
              size_t wi = ((size_t)(co * 5 + ky) * 5 + kx) * cin + ci;
              size_t ii = ((size_t)(by + ky) * s->w + bx + kx) * cin + ci;
              dw[wi] += g * c->in[ii];
              dwmag[wi] += fabs(g * c->in[ii]);
              din[ii] += g * c->w[wi];
              dinmag[ii] += fabs(g * c->w[wi]);
            }
      }
  int terms = s->ph * s->pw + 25 * C; /* at least the longest chain */
  for (size_t i = 0; i < c->wsz; i++)
    if (!close_to(c->dw[i], dw[i], dwmag[i], terms) && bad++ < 3)
      test_failed(__FILE__, __LINE__, "%s: conv %d->%d dweight[%zu] %.9g, reference %.9g",
                  path, cin, C, i, c->dw[i], dw[i]);
  for (size_t i = 0; i < c->isz; i++)
    if (!close_to(c->din[i], din[i], dinmag[i], terms) && bad++ < 3)
      test_failed(__FILE__, __LINE__, "%s: conv %d->%d din[%zu] %.9g, reference %.9g", path,
                  cin, C, i, c->din[i], din[i]);
  for (int co = 0; co < C; co++)
    if (!(fabs(c->db[co] - db[co]) <= 1e-5 * (1 + fabs(db[co]))) && bad++ < 3)
      test_failed(__FILE__, __LINE__, "%s: conv dbias[%d] %.9g, reference %.9g", path, co,
                  c->db[co], db[co]);
  free(dw);
  free(din);
  free(dwmag);
  free(dinmag);
  free(db);
}

static int same_bits(const float *a, const float *b, size_t n) {
  return memcmp(a, b, sizeof(float) * n) == 0;
}

/* conv1 of the seed LeNet (3 -> 64 channels), a conv2-like layer (16 -> 64, rows of 80
 * floats), and 20 channels (padded to 32: partial vector blocks). Then the backward's
 * sums of more than NN_SUM_BLOCK entries: 640 channels over one pool window (about 150
 * per conv output: din's sums) with rows of 5 floats (a 1-channel input, rows <= 8) and
 * 80; and a 28x28 input (144 windows per channel: dweight's sums) with rows of 15 and 25. */
TEST(conv_every_path_matches_double_reference_and_each_other) {
  static const int shapes[][3] = {{3, 64, 16}, {16, 64, 11}, {5, 20, 12}, {1, 640, 6},
                                  {16, 640, 6}, {3, 8, 28},   {5, 8, 28}};
  nn_kernel_t ks[NN_KERNEL_COUNT];
  int nk = test_kernel_paths(ks);
  nn_kernel_t saved = nn_kernel();
  for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
    conv_case_t ref, c;
    conv_case_init(&ref, shapes[sh][0], shapes[sh][1], shapes[sh][2], 10 * sh + 1);
    conv_case_init(&c, shapes[sh][0], shapes[sh][1], shapes[sh][2], 10 * sh + 1);
    for (int k = 0; k < nk; k++) {
      CHECK_OK(nn_kernel_set(ks[k]));
      conv_case_t *x = k == 0 ? &ref : &c;
      conv_case_run(x);
      conv_case_check(x, nn_kernel_name(ks[k]));
      if (k == 0) continue;
      CHECK(same_bits(c.pooled, ref.pooled, c.osz));
      CHECK(memcmp(c.am, ref.am, c.osz) == 0);
      CHECK(same_bits(c.dw, ref.dw, c.wsz));
      CHECK(same_bits(c.db, ref.db, c.s.cout));
      CHECK(same_bits(c.din, ref.din, c.isz));
    }
    conv_case_free(&ref);
    conv_case_free(&c);
  }
  CHECK_OK(nn_kernel_set(saved));
}

/* sum over t < n of g[t * gs] * x[t * xs] in double, and the sum of the magnitudes. */
static double dot_ref(int n, const double *g, size_t gs, const float *x, size_t xs,
                      double *mag) {
  double acc = 0;
  *mag = 0;
  for (int t = 0; t < n; t++) {
    acc += g[t * gs] * x[t * xs];
    *mag += fabs(g[t * gs] * x[t * xs]);
  }
  return acc;
}

/* Linear forward and backward (ReLU on) in double from the definitions. */
static void linear_check(int n, int fin, int fout, const float *in, const float *w,
                         const float *b, const float *dout0, const float *out,
                         const float *dw, const float *db, const float *din,
                         const char *path) {
  int bad = 0;
  double *g = calloc((size_t)n * fout, sizeof(double));
  for (int i = 0; i < n; i++)
    for (int j = 0; j < fout; j++) {
      double acc = 0, mag = 0;
      for (int k = 0; k < fin; k++) {
        double t = (double)in[(size_t)i * fin + k] * w[(size_t)j * fin + k];
        acc += t;
        mag += fabs(t);
      }
      acc += b[j];
      double ref = acc > 0 ? acc : 0;
      if (!close_to(out[(size_t)i * fout + j], ref, mag + fabs(b[j]), fin + 1) && bad++ < 3)
        test_failed(__FILE__, __LINE__, "%s: linear %dx%d->%d out[%d][%d] %.9g, reference %.9g",
                    path, n, fin, fout, i, j, out[(size_t)i * fout + j], ref);
      g[(size_t)i * fout + j] = acc > 0 ? dout0[(size_t)i * fout + j] : 0;
    }
  for (int j = 0; j < fout; j++) {
    double s = 0;
    for (int i = 0; i < n; i++) s += g[(size_t)i * fout + j];
    if (!(fabs(db[j] - s) <= 1e-5 * (1 + fabs(s))) && bad++ < 3)
      test_failed(__FILE__, __LINE__, "%s: dbias[%d] %.9g, reference %.9g", path, j, db[j], s);
    for (int k = 0; k < fin; k++) {
      double mag, acc = dot_ref(n, g + j, (size_t)fout, in + k, (size_t)fin, &mag);
      if (!close_to(dw[(size_t)j * fin + k], acc, mag, n) && bad++ < 3)
        test_failed(__FILE__, __LINE__, "%s: dweight[%d][%d] %.9g, reference %.9g", path, j,
                    k, dw[(size_t)j * fin + k], acc);
    }
  }
  for (int i = 0; i < n; i++)
    for (int k = 0; k < fin; k++) {
      double mag, acc = dot_ref(fout, g + (size_t)i * fout, 1, w + k, (size_t)fin, &mag);
      if (!close_to(din[(size_t)i * fin + k], acc, mag, fout) && bad++ < 3)
        test_failed(__FILE__, __LINE__, "%s: din[%d][%d] %.9g, reference %.9g", path, i, k,
                    din[(size_t)i * fin + k], acc);
    }
  free(g);
}

/* n = 16 (one chunk) and 37 (three, the last partial); widths with and without 8- and
 * 16-float remainders; 100 outputs (blocks of 6 and 12 with a remainder). */
TEST(linear_every_path_matches_double_reference_and_each_other) {
  static const int shapes[][3] = {{16, 160, 100}, {37, 84, 13}, {5, 40, 24}};
  nn_kernel_t ks[NN_KERNEL_COUNT];
  int nk = test_kernel_paths(ks);
  nn_kernel_t saved = nn_kernel();
  for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
    int n = shapes[sh][0], fin = shapes[sh][1], fout = shapes[sh][2];
    size_t ni = (size_t)n * fin, no = (size_t)n * fout, nw = (size_t)fin * fout;
    float *in = dpt_alloc(sizeof(float) * ni), *w = dpt_alloc(sizeof(float) * nw);
    float *b = dpt_alloc(sizeof(float) * fout), *dout0 = dpt_alloc(sizeof(float) * no);
    float *scratch = dpt_alloc(sizeof(float) * nn_linear_scratch(fin, fout));
    float *out[2], *dout[2], *dw[2], *db[2], *din[2];
    for (int r = 0; r < 2; r++) {
      out[r] = dpt_alloc(sizeof(float) * no);
      dout[r] = dpt_alloc(sizeof(float) * no);
      dw[r] = dpt_alloc(sizeof(float) * nw);
      db[r] = dpt_alloc(sizeof(float) * fout);
      din[r] = dpt_alloc(sizeof(float) * ni);
    }
    fill(in, ni, 100 + sh);
    fill(w, nw, 200 + sh);
    fill(b, fout, 300 + sh);
    fill(dout0, no, 400 + sh);
    for (int k = 0; k < nk; k++) {
      int r = k > 0;
      CHECK_OK(nn_kernel_set(ks[k]));
      nn_linear_forward(n, fin, fout, in, w, b, out[r], 1, scratch);
      memcpy(dout[r], dout0, sizeof(float) * no);
      nn_linear_backward(n, fin, fout, in, w, out[r], dout[r], dw[r], db[r], din[r], 1, scratch);
      linear_check(n, fin, fout, in, w, b, dout0, out[r], dw[r], db[r], din[r],
                   nn_kernel_name(ks[k]));
      if (k == 0) continue;
      CHECK(same_bits(out[0], out[1], no));
      CHECK(same_bits(dw[0], dw[1], nw));
      CHECK(same_bits(db[0], db[1], fout));
      CHECK(same_bits(din[0], din[1], ni));
    }
    for (int r = 0; r < 2; r++) {
      dpt_free(out[r]);
      dpt_free(dout[r]);
      dpt_free(dw[r]);
      dpt_free(db[r]);
      dpt_free(din[r]);
    }
    dpt_free(in);
    dpt_free(w);
    dpt_free(b);
    dpt_free(dout0);
    dpt_free(scratch);
  }
  CHECK_OK(nn_kernel_set(saved));
}

TEST(kernel_path_unavailable_is_refused) {
  CHECK(nn_kernel_supported(NN_KERNEL_SCALAR));
  nn_kernel_t saved = nn_kernel();
  for (int k = 0; k < NN_KERNEL_COUNT; k++)
    if (!nn_kernel_supported((nn_kernel_t)k)) {
      CHECK_FAILS(nn_kernel_set((nn_kernel_t)k));
      CHECK(strstr(dpt_errmsg(), nn_kernel_name((nn_kernel_t)k)) != NULL);
      CHECK(nn_kernel() == saved);
    }
}
