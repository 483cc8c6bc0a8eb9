/* sgemm.c - (c) single-thread cblas_sgemm on a large square matrix and on the seed
 * LeNet's per-image shapes: the fraction of peak (dpt's own kernels do that work now;
 * sgemm stays as the yardstick). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/core/rng.h"
#include "bench.h"

static void fill_random(float *x, size_t n, uint64_t key) {
  for (size_t i = 0; i < n; i++) x[i] = (float)(2 * rng_unit(rng_at(key, i)) - 1);
}

/* GFLOP/s of C(m,n) = A(m,k) B(k,n) (row-major; ta/tb transpose), best of a few
 * timed runs of at least `secs` seconds in total. */
static double sgemm_gflops(int ta, int tb, int m, int n, int k, double beta, double secs) {
  float *a = dpt_alloc(sizeof(float) * (size_t)m * k);
  float *b = dpt_alloc(sizeof(float) * (size_t)k * n);
  float *c = dpt_alloc(sizeof(float) * (size_t)m * n);
  fill_random(a, (size_t)m * k, 1);
  fill_random(b, (size_t)k * n, 2);
  int lda = ta ? m : k, ldb = tb ? k : n;
  double best = 0, t_end = bench_cpu_now() + secs;
  int reps = 1;
  do {
    double t0 = bench_cpu_now();
    for (int r = 0; r < reps; r++)
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                  m, n, k, 1.0f, a, lda, b, ldb, (float)beta, c, n);
    double dt = bench_cpu_now() - t0;
    double g = 2.0 * m * n * k * reps / dt * 1e-9;
    if (g > best) best = g;
    if (dt < 0.02) reps *= 2;
  } while (bench_cpu_now() < t_end);
  dpt_free(a);
  dpt_free(b);
  dpt_free(c);
  return best;
}

void bench_sgemm(const nn_model_t *m, nn_model_kind_t kind, const bench_opts_t *o,
                 double ips) {
  printf("\n(c) single-thread cblas_sgemm (OpenBLAS, OPENBLAS_CORETYPE=%s)\n",
         getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(auto)");
  double peak = sgemm_gflops(0, 0, o->sgemm_n, o->sgemm_n, o->sgemm_n, 0, 2.0);
  printf("  %-40s %7.1f GFLOP/s\n", "square", peak);
  printf("  square n = %d; the step above runs at %.0f%% of it\n", o->sgemm_n,
         100 * ips * m->flops_per_image * 1e-9 / peak);
  if (m->nconv != 2 || kind != NN_LENET) return;
  static const struct { const char *what; int ta, tb, m, n, k; double beta; } sh[] = {
      {"conv1 fwd   784x64x75   (NT)", 0, 1, 784, 64, 75, 0},
      {"conv2 fwd   100x64x1600 (NT)", 0, 1, 100, 64, 1600, 0},
      {"conv1 dW    64x75x784   (TN)", 1, 0, 64, 75, 784, 1},
      {"conv2 dW    64x1600x100 (TN)", 1, 0, 64, 1600, 100, 1},
      {"conv2 dX    100x1600x64 (NN)", 0, 0, 100, 1600, 64, 0},
      {"fc1 fwd     16x384x1600 (NT)", 0, 1, 16, 384, 1600, 1},
  };
  for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++)
    printf("  %-40s %7.1f GFLOP/s\n", sh[i].what,
           sgemm_gflops(sh[i].ta, sh[i].tb, sh[i].m, sh[i].n, sh[i].k, sh[i].beta, 0.3));
}
