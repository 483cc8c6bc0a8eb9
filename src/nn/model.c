/* model.c - building, initialising and running the LeNet family, and the calls every
 * model shares (see model.h; the ResNets are in resnet.c). */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "kernel.h"
#include "resnet.h"

const char *const nn_model_names[] = {"LeNet",    "LeNet5",   "ResNet20",
                                      "ResNet32", "ResNet44", "ResNet56", NULL};

const char *nn_model_name(nn_model_kind_t kind) { return nn_model_names[kind]; }

const char *const nn_init_names[] = {"pytorch", "kaiming_normal", NULL};

int nn_model_has_bn(nn_model_kind_t kind) { return kind >= NN_RESNET20; }

void nn_model_add_tensor(nn_model_t *m, const char *name, size_t size, int fan_in, int is_bias,
                         nn_init_t init) {
  DPT_ASSERT(m->ntensors < NN_MAX_TENSORS);
  nn_tensor_t *t = &m->tensors[m->ntensors++];
  t->offset = m->nparams;
  t->size = size;
  t->fan_in = fan_in;
  t->is_bias = is_bias;
  t->init = init;
  snprintf(t->name, sizeof t->name, "%s", name);
  /* Keep every tensor 64-byte aligned so kernels see aligned rows. */
  m->nparams += (size + 15) / 16 * 16;
}

static void add_tensor(nn_model_t *m, const char *name, size_t size, int fan_in,
                       int is_bias) {
  nn_model_add_tensor(m, name, size, fan_in, is_bias, NN_INIT_UNIFORM);
}

int nn_model_init_custom(nn_model_t *m, int nconv, const int *conv_channels, int kernel,
                         int nfc, const int *fc_units, int in_c, int in_h, int in_w,
                         int num_classes, int max_batch) {
  memset(m, 0, sizeof *m);
  if (nn_kernel_init() < 0) return -1;
  if (nconv < 1 || nconv > NN_MAX_CONV || nfc < 0 || nfc + 1 > NN_MAX_FC)
    return dpt_fail("model: unsupported number of layers");
  m->nconv = nconv;
  m->nfc = nfc + 1;
  m->in_c = in_c;
  m->in_h = in_h;
  m->in_w = in_w;
  m->num_classes = num_classes;
  m->max_batch = max_batch;
  int c = in_c, h = in_h, w = in_w;
  double macs = 0;
  size_t widest = 0, scratch = 0;
  char name[32];
  for (int i = 0; i < nconv; i++) {
    nn_conv_shape_t *s = &m->conv[i];
    if (h < kernel || w < kernel)
      return dpt_fail("model: input %dx%d too small for conv layer %d", h, w, i + 1);
    nn_conv_shape_init(s, c, conv_channels[i], kernel, h, w);
    int kd = kernel * kernel * c;
    snprintf(name, sizeof name, "conv%d.weight", i + 1);
    add_tensor(m, name, (size_t)s->cout * kd, kd, 0);
    snprintf(name, sizeof name, "conv%d.bias", i + 1);
    add_tensor(m, name, (size_t)s->cout, kd, 1);
    /* forward GEMM, weight-gradient GEMM, and input-gradient GEMM except for layer 1 */
    macs += (double)s->oh * s->ow * s->cout * kd * (i == 0 ? 2 : 3);
    size_t psize = (size_t)s->ph * s->pw * s->cout;
    if (psize > widest) widest = psize;
    size_t need = (size_t)s->oh * s->ow * ((kd > s->cout ? kd : s->cout) + 1);
    if (need > scratch) scratch = need;
    need = nn_conv_forward_scratch(s);
    if (need > scratch) scratch = need;
    c = s->cout;
    h = s->ph;
    w = s->pw;
  }
  int fin = c * h * w;
  for (int i = 0; i < m->nfc; i++) {
    int fout = i < nfc ? fc_units[i] : num_classes;
    m->fc_in[i] = fin;
    m->fc_out[i] = fout;
    snprintf(name, sizeof name, "fc%d.weight", i + 1);
    add_tensor(m, name, (size_t)fout * fin, fin, 0);
    snprintf(name, sizeof name, "fc%d.bias", i + 1);
    add_tensor(m, name, (size_t)fout, fin, 1);
    macs += 3.0 * fin * fout;
    if (nn_linear_scratch(fin, fout) > scratch) scratch = nn_linear_scratch(fin, fout);
    if ((size_t)fin > widest) widest = fin;
    if ((size_t)fout > widest) widest = fout;
    fin = fout;
  }
  m->flops_per_image = 2 * macs;
  m->ngrad = m->ndecay = m->nparams;
  m->ngrad_tensors = m->ntensors;
  for (int i = 0; i < nconv; i++) {
    size_t psize = (size_t)m->conv[i].ph * m->conv[i].pw * m->conv[i].cout;
    m->pooled[i] = dpt_alloc(sizeof(float) * psize * max_batch);
    m->argmax[i] = dpt_alloc(psize * max_batch);
  }
  for (int i = 0; i < m->nfc; i++)
    m->fc_act[i] = dpt_alloc(sizeof(float) * (size_t)m->fc_out[i] * max_batch);
  m->grad_a = dpt_alloc(sizeof(float) * widest * max_batch);
  m->grad_b = dpt_alloc(sizeof(float) * widest * max_batch);
  m->scratch = dpt_alloc(sizeof(float) * scratch);
  m->dconv = dpt_alloc(sizeof(float) * scratch);
  return 0;
}

int nn_model_init(nn_model_t *m, nn_model_kind_t kind, int in_c, int in_h, int in_w,
                  int num_classes, int max_batch) {
  static const int seed_conv[] = {64, 64}, seed_fc[] = {384, 192};
  static const int classic_conv[] = {6, 16}, classic_fc[] = {120, 84};
  if (nn_model_has_bn(kind))
    return nn_resnet_init(m, kind, in_c, in_h, in_w, num_classes, max_batch);
  int seed = kind == NN_LENET;
  int rc = nn_model_init_custom(m, 2, seed ? seed_conv : classic_conv, 5, 2,
                                seed ? seed_fc : classic_fc, in_c, in_h, in_w, num_classes,
                                max_batch);
  m->kind = kind;
  return rc;
}

void nn_model_free(nn_model_t *m) {
  nn_resnet_free(m);
  for (int i = 0; i < m->nconv; i++) {
    dpt_free(m->pooled[i]);
    dpt_free(m->argmax[i]);
  }
  for (int i = 0; i < m->nfc; i++) dpt_free(m->fc_act[i]);
  dpt_free(m->grad_a);
  dpt_free(m->grad_b);
  dpt_free(m->scratch);
  dpt_free(m->dconv);
  memset(m, 0, sizeof *m);
}

/* N(0, 1) by Box-Muller from two draws of the stream */
static double std_normal(uint64_t key, size_t i) {
  double u1 = rng_unit(rng_at(key, 2 * i)), u2 = rng_unit(rng_at(key, 2 * i + 1));
  return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

void nn_init_params_kaiming(const nn_model_t *m, float *params, uint64_t seed, int kaiming) {
  memset(params, 0, sizeof(float) * m->nparams);
  for (int t = 0; t < m->ntensors; t++) {
    const nn_tensor_t *ts = &m->tensors[t];
    uint64_t key = rng_key(seed, RNG_INIT, (uint64_t)t, 0);
    double bound = 1.0 / sqrt((double)ts->fan_in);
    float *p = params + ts->offset;
    nn_init_t how = kaiming && ts->init == NN_INIT_UNIFORM && !ts->is_bias ? NN_INIT_KAIMING
                                                                          : ts->init;
    for (size_t i = 0; i < ts->size; i++) {
      switch (how) {
        case NN_INIT_ONE: p[i] = 1.0f; break;
        case NN_INIT_ZERO: p[i] = 0.0f; break;
        case NN_INIT_KAIMING: p[i] = (float)(std_normal(key, i) * sqrt(2.0) * bound); break;
        case NN_INIT_UNIFORM:
          p[i] = (float)((2.0 * rng_unit(rng_at(key, i)) - 1.0) * bound);
          break;
      }
    }
  }
}

void nn_init_params(const nn_model_t *m, float *params, uint64_t seed) {
  nn_init_params_kaiming(m, params, seed, 0);
}

static size_t conv_in_size(const nn_model_t *m, int i) {
  return (size_t)m->conv[i].h * m->conv[i].w * m->conv[i].cin;
}
static size_t conv_out_size(const nn_model_t *m, int i) {
  return (size_t)m->conv[i].ph * m->conv[i].pw * m->conv[i].cout;
}

double nn_prof_now(const nn_model_t *m) {
  if (!m->prof) return 0;
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* this thread's work, on a busy node too */
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void forward(nn_model_t *m, const float *params, const float *input, int n) {
  DPT_ASSERT(n <= m->max_batch);
  for (int i = 0; i < m->nconv; i++) {
    const float *w = params + m->tensors[2 * i].offset;
    const float *b = params + m->tensors[2 * i + 1].offset;
    const float *in = i == 0 ? input : m->pooled[i - 1];
    double t0 = nn_prof_now(m);
    nn_conv_pool_forward_batch(&m->conv[i], n, in, w, b, m->pooled[i], m->argmax[i], m->scratch,
                            m->dconv);
    NN_PROF_ADD(m, conv_fwd[i], t0);
  }
  const float *in = m->pooled[m->nconv - 1];
  for (int i = 0; i < m->nfc; i++) {
    const nn_tensor_t *t = &m->tensors[2 * (m->nconv + i)];
    double t0 = nn_prof_now(m);
    nn_linear_forward(n, m->fc_in[i], m->fc_out[i], in, params + t[0].offset,
                   params + t[1].offset, m->fc_act[i], i < m->nfc - 1, m->scratch);
    NN_PROF_ADD(m, fc_fwd[i], t0);
    in = m->fc_act[i];
  }
}

double nn_forward(nn_model_t *m, const float *params, const float *input,
                  const uint8_t *labels, int n, int *correct, float *losses) {
  if (m->resnet) return nn_resnet_forward(m, params, input, labels, n, correct, losses);
  forward(m, params, input, n);
  return nn_xent_forward_backward(n, m->num_classes, m->fc_act[m->nfc - 1], labels, NULL,
                               correct, losses);
}

double nn_forward_backward(nn_model_t *m, const float *params, float *grads,
                           const float *input, const uint8_t *labels, int n, int *correct) {
  if (m->resnet) return nn_resnet_forward_backward(m, params, grads, input, labels, n, correct);
  forward(m, params, input, n);
  float *dout = m->grad_a, *din = m->grad_b;
  double t0 = nn_prof_now(m);
  double loss = nn_xent_forward_backward(n, m->num_classes, m->fc_act[m->nfc - 1], labels,
                                      dout, correct, NULL);
  NN_PROF_ADD(m, xent, t0);
  for (int i = m->nfc - 1; i >= 0; i--) {
    const nn_tensor_t *t = &m->tensors[2 * (m->nconv + i)];
    const float *in = i > 0 ? m->fc_act[i - 1] : m->pooled[m->nconv - 1];
    t0 = nn_prof_now(m);
    nn_linear_backward(n, m->fc_in[i], m->fc_out[i], in, params + t[0].offset, m->fc_act[i],
                    dout, grads + t[0].offset, grads + t[1].offset, din, i < m->nfc - 1,
                    m->scratch);
    NN_PROF_ADD(m, fc_bwd[i], t0);
    float *tmp = dout;
    dout = din;
    din = tmp;
  }
  for (int i = m->nconv - 1; i >= 0; i--) {
    const nn_tensor_t *t = &m->tensors[2 * i];
    const float *in = i > 0 ? m->pooled[i - 1] : input;
    size_t isz = conv_in_size(m, i), osz = conv_out_size(m, i);
    t0 = nn_prof_now(m);
    /* conv gradients accumulate image by image, from zero */
    memset(grads + t[0].offset, 0, sizeof(float) * t[0].size);
    memset(grads + t[1].offset, 0, sizeof(float) * t[1].size);
    for (int j = 0; j < n; j++)
      nn_conv_pool_backward(&m->conv[i], in + j * isz, params + t[0].offset,
                         m->pooled[i] + j * osz, m->argmax[i] + j * osz, dout + j * osz,
                         grads + t[0].offset, grads + t[1].offset,
                         i > 0 ? din + j * isz : NULL, m->scratch, m->dconv);
    NN_PROF_ADD(m, conv_bwd[i], t0);
    float *tmp = dout;
    dout = din;
    din = tmp;
  }
  return loss;
}
