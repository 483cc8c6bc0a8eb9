/* test_blas_oracle.c - OpenBLAS as an independent oracle for dpt's linear kernels
 * (src/nn/fc.c): the forward and backward products agree with cblas_sgemm to float
 * rounding. dpt's own kernels fix their summation order; OpenBLAS does not, so the
 * comparison has a tolerance, while the bit-for-bit checks are in test_kernels.c. */
#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../src/core/err.h"
#include "../../src/nn/layers.h"
#include "test.h"

static void fill(float *x, int n, uint32_t seed) {
  for (int i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    x[i] = (float)((double)(seed >> 8) / (1 << 24) - 0.5);
  }
}

TEST(linear_kernels_agree_with_openblas_sgemm) {
  enum { N = 37, FIN = 120, FOUT = 84 };
  float *in = dpt_alloc(sizeof(float) * N * FIN), *w = dpt_alloc(sizeof(float) * FOUT * FIN);
  float *b = dpt_alloc(sizeof(float) * FOUT), *out = dpt_alloc(sizeof(float) * N * FOUT);
  float *ref = dpt_alloc(sizeof(float) * N * FOUT), *dout = dpt_alloc(sizeof(float) * N * FOUT);
  float *dw = dpt_alloc(sizeof(float) * FOUT * FIN), *db = dpt_alloc(sizeof(float) * FOUT);
  float *din = dpt_alloc(sizeof(float) * N * FIN), *dwref = dpt_alloc(sizeof(float) * FOUT * FIN);
  float *dinref = dpt_alloc(sizeof(float) * N * FIN);
  float *scratch = dpt_alloc(sizeof(float) * nn_linear_scratch(FIN, FOUT));
  fill(in, N * FIN, 1);
  fill(w, FOUT * FIN, 2);
  fill(b, FOUT, 3);
  fill(dout, N * FOUT, 4);
  openblas_set_num_threads(1);
  /* forward, no ReLU: out = in W^T + b */
  nn_linear_forward(N, FIN, FOUT, in, w, b, out, 0, scratch);
  for (int i = 0; i < N; i++)
    for (int o = 0; o < FOUT; o++) ref[i * FOUT + o] = b[o];
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, FOUT, FIN, 1.0f, in, FIN, w, FIN,
              1.0f, ref, FOUT);
  for (int i = 0; i < N * FOUT; i++) CHECK_NEAR(out[i], ref[i], 1e-5);
  /* backward, no ReLU: dW = dout^T in, din = dout W */
  nn_linear_backward(N, FIN, FOUT, in, w, out, dout, dw, db, din, 0, scratch);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, FOUT, FIN, N, 1.0f, dout, FOUT, in, FIN,
              0.0f, dwref, FIN);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, FIN, FOUT, 1.0f, dout, FOUT, w, FIN,
              0.0f, dinref, FIN);
  for (int i = 0; i < FOUT * FIN; i++) CHECK_NEAR(dw[i], dwref[i], 1e-5);
  for (int i = 0; i < N * FIN; i++) CHECK_NEAR(din[i], dinref[i], 1e-5);
  float *bufs[] = {in, w, b, out, ref, dout, dw, db, din, dwref, dinref, scratch};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) dpt_free(bufs[i]);
}
