/* layers.c - conv+ReLU+maxpool, linear(+ReLU) and softmax cross-entropy (see layers.h). */
#include "layers.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void conv_shape_init(conv_shape_t *s, int cin, int cout, int k, int h, int w) {
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

/* col[p][(ky*k+kx)*cin + c] = in[(oy+ky)*w + ox+kx][c]: for fixed ky the k*cin values
 * are contiguous in NHWC, so each row is k copies. */
static void im2col(const conv_shape_t *s, const float *in, float *col) {
  int row = s->k * s->cin, kd = s->k * row;
  for (int oy = 0; oy < s->oh; oy++)
    for (int ox = 0; ox < s->ow; ox++) {
      float *dst = col + (size_t)(oy * s->ow + ox) * kd;
      for (int ky = 0; ky < s->k; ky++)
        memcpy(dst + ky * row, in + ((size_t)(oy + ky) * s->w + ox) * s->cin,
               sizeof(float) * row);
    }
}

static void col2im(const conv_shape_t *s, const float *dcol, float *din) {
  int row = s->k * s->cin, kd = s->k * row;
  memset(din, 0, sizeof(float) * s->h * s->w * s->cin);
  for (int oy = 0; oy < s->oh; oy++)
    for (int ox = 0; ox < s->ow; ox++) {
      const float *src = dcol + (size_t)(oy * s->ow + ox) * kd;
      for (int ky = 0; ky < s->k; ky++) {
        float *dst = din + ((size_t)(oy + ky) * s->w + ox) * s->cin;
        for (int i = 0; i < row; i++) dst[i] += src[ky * row + i];
      }
    }
}

void conv_pool_forward(const conv_shape_t *s, const float *in, const float *weight,
                       const float *bias, float *pooled, uint8_t *argmax, float *col,
                       float *convout) {
  int P = s->oh * s->ow, kd = s->k * s->k * s->cin, C = s->cout;
  im2col(s, in, col);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, C, kd, 1.0f, col, kd, weight,
              kd, 0.0f, convout, C);
  /* Bias, ReLU and 2x2 max-pool in one pass; ties go to the first (PyTorch's rule). */
  for (int py = 0; py < s->ph; py++)
    for (int px = 0; px < s->pw; px++) {
      const float *r0 = convout + ((size_t)(2 * py) * s->ow + 2 * px) * C;
      const float *r1 = r0 + (size_t)s->ow * C;
      float *out = pooled + ((size_t)py * s->pw + px) * C;
      uint8_t *am = argmax + ((size_t)py * s->pw + px) * C;
      for (int c = 0; c < C; c++) {
        float v0 = r0[c], v1 = r0[C + c], v2 = r1[c], v3 = r1[C + c];
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

void conv_pool_backward(const conv_shape_t *s, const float *in, const float *weight,
                        const float *pooled, const uint8_t *argmax, const float *dpooled,
                        float *dweight, float *dbias, float *din, float *col, float *dconv) {
  int P = s->oh * s->ow, kd = s->k * s->k * s->cin, C = s->cout;
  /* The gradient reaches the conv output only at each window's argmax, and only where
   * the ReLU was open (pooled > 0). Rows and columns past the last full window get 0. */
  memset(dconv, 0, sizeof(float) * (size_t)P * C);
  for (int py = 0; py < s->ph; py++)
    for (int px = 0; px < s->pw; px++) {
      size_t o = ((size_t)py * s->pw + px) * C;
      for (int c = 0; c < C; c++) {
        if (pooled[o + c] <= 0.0f) continue;
        int a = argmax[o + c];
        int y = 2 * py + (a >> 1), x = 2 * px + (a & 1);
        float g = dpooled[o + c];
        dconv[((size_t)y * s->ow + x) * C + c] = g;
        dbias[c] += g;
      }
    }
  im2col(s, in, col);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, kd, P, 1.0f, dconv, C, col, kd,
              1.0f, dweight, kd);
  if (din) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P, kd, C, 1.0f, dconv, C,
                weight, kd, 0.0f, col, kd);
    col2im(s, col, din);
  }
}

void linear_forward(int n, int fin, int fout, const float *in, const float *weight,
                    const float *bias, float *out, int relu) {
  for (int i = 0; i < n; i++) memcpy(out + (size_t)i * fout, bias, sizeof(float) * fout);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, fout, fin, 1.0f, in, fin,
              weight, fin, 1.0f, out, fout);
  if (relu)
    for (size_t i = 0; i < (size_t)n * fout; i++) out[i] = out[i] > 0.0f ? out[i] : 0.0f;
}

void linear_backward(int n, int fin, int fout, const float *in, const float *weight,
                     const float *out, float *dout, float *dweight, float *dbias,
                     float *din, int relu) {
  if (relu)
    for (size_t i = 0; i < (size_t)n * fout; i++)
      if (out[i] <= 0.0f) dout[i] = 0.0f;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < fout; j++) dbias[j] += dout[(size_t)i * fout + j];
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, fout, fin, n, 1.0f, dout, fout, in,
              fin, 1.0f, dweight, fin);
  if (din)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, fin, fout, 1.0f, dout, fout,
                weight, fin, 0.0f, din, fin);
}

double xent_forward_backward(int n, int classes, const float *logits,
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
