/* bn.c - batch normalisation (fused with the residual add and ReLU), the option-A
 * shortcut and the global average pool of the ResNets (see conv3.h). Every loop runs
 * channels innermost, so each channel's sum is taken over the rows in order whatever
 * the compiler vectorises. */
#include <math.h>
#include <string.h>

#include "conv3.h"

/* Per channel, in double over the rows in order: the mean, then the biased variance. */
static void bn_batch_stats(size_t rows, int c, const float *in, double *mean, double *var) {
  for (int k = 0; k < c; k++) mean[k] = var[k] = 0;
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < c; k++) mean[k] += in[r * c + k];
  for (int k = 0; k < c; k++) mean[k] /= (double)rows;
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < c; k++) {
      double d = in[r * c + k] - mean[k];
      var[k] += d * d;
    }
  for (int k = 0; k < c; k++) var[k] /= (double)rows;
}

void nn_bn_forward(const nn_bn_t *b, size_t rows, int c, const float *in, const float *res,
                   int relu, float *out, double *stats) {
  if (stats) {
    double *mean = stats, *var = stats + c;
    bn_batch_stats(rows, c, in, mean, var);
    for (int k = 0; k < c; k++) {
      b->mean[k] = (float)mean[k];
      b->rstd[k] = (float)(1.0 / sqrt(var[k] + NN_BN_EPS));
      if (rows > 1) var[k] = var[k] * (double)rows / (double)(rows - 1);
    }
  } else {
    for (int k = 0; k < c; k++) {
      b->mean[k] = b->run_mean[k];
      b->rstd[k] = (float)(1.0 / sqrt((double)b->run_var[k] + NN_BN_EPS));
    }
  }
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < c; k++) {
      float xhat = (in[r * c + k] - b->mean[k]) * b->rstd[k];
      float y = b->gamma[k] * xhat + b->beta[k];
      if (res) y += res[r * c + k];
      out[r * c + k] = relu && !(y > 0.0f) ? 0.0f : y;
    }
}

void nn_bn_backward(const nn_bn_t *b, size_t rows, int c, const float *in, const float *out,
                    int relu, float *dout, float *dgamma, float *dbeta, float *din) {
  double sdy[c], sdyx[c];
  for (int k = 0; k < c; k++) sdy[k] = sdyx[k] = 0;
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < c; k++) {
      float dy = dout[r * c + k];
      if (relu && !(out[r * c + k] > 0.0f)) dout[r * c + k] = dy = 0.0f;
      float xhat = (in[r * c + k] - b->mean[k]) * b->rstd[k];
      sdy[k] += dy;
      sdyx[k] += (double)dy * xhat;
    }
  float k1[c], k2[c], g[c];
  for (int k = 0; k < c; k++) {
    dgamma[k] = (float)sdyx[k];
    dbeta[k] = (float)sdy[k];
    k1[k] = (float)(sdy[k] / (double)rows);
    k2[k] = (float)(sdyx[k] / (double)rows);
    g[k] = b->gamma[k] * b->rstd[k];
  }
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < c; k++) {
      float xhat = (in[r * c + k] - b->mean[k]) * b->rstd[k];
      din[r * c + k] = g[k] * (dout[r * c + k] - k1[k] - xhat * k2[k]);
    }
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
                         float *out) {
  int oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1, lo = (cout - cin) / 2;
  memset(out, 0, sizeof(float) * n * oh * ow * cout);
  for (int i = 0; i < n; i++)
    for (int y = 0; y < oh; y++)
      for (int xx = 0; xx < ow; xx++)
        memcpy(out + (((size_t)i * oh + y) * ow + xx) * cout + lo,
               x + (((size_t)i * h + y * stride) * w + xx * stride) * cin, sizeof(float) * cin);
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
