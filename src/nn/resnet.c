/* resnet.c - building and running the CIFAR ResNets (see resnet.h). */
#include "resnet.h"

#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "kernel.h"
#include "layers.h"

/* ---------------------------------------------------------------- building */

static size_t add(nn_model_t *m, const char *name, size_t size, int fan_in, int is_bias,
                  nn_init_t init) {
  nn_model_add_tensor(m, name, size, fan_in, is_bias, init);
  return m->tensors[m->ntensors - 1].offset;
}

/* "bn1" for the stem's batch norm, "layer2.0.bn1" for a block's (i = 1 + 2 block + j) */
static void bn_prefix(int i, int n, char *buf, size_t cap) {
  if (i == 0) {
    snprintf(buf, cap, "bn1");
    return;
  }
  int k = (i - 1) / 2;
  snprintf(buf, cap, "layer%d.%d.bn%d", k / n + 1, k % n, (i - 1) % 2 + 1);
}

static size_t conv_macs(const nn_conv3_t *s) {
  return (size_t)s->oh * s->ow * s->cout * 9 * s->cin;
}

/* The convolutions and fc in the decayed part; returns the widest activation. */
static size_t add_convs(nn_model_t *m, struct nn_resnet *r, int n, double *macs) {
  char name[48];
  int h = m->in_h, w = m->in_w, c = 16;
  nn_conv3_init(&r->stem, m->in_c, 16, 1, h, w);
  r->stem_w = add(m, "conv1.weight", (size_t)16 * 9 * m->in_c, 9 * m->in_c, 0, NN_INIT_UNIFORM);
  *macs = 2.0 * conv_macs(&r->stem); /* no input gradient */
  size_t widest = (size_t)h * w * 16;
  for (int k = 0; k < r->nblocks; k++) {
    nn_resnet_block_t *b = &r->blocks[k];
    int stage = k / n, planes = 16 << stage, stride = stage > 0 && k % n == 0 ? 2 : 1;
    nn_conv3_init(&b->conv1, c, planes, stride, h, w);
    nn_conv3_init(&b->conv2, planes, planes, 1, b->conv1.oh, b->conv1.ow);
    b->project = stride != 1 || c != planes;
    snprintf(name, sizeof name, "layer%d.%d.conv1.weight", stage + 1, k % n);
    b->w1 = add(m, name, (size_t)planes * 9 * c, 9 * c, 0, NN_INIT_UNIFORM);
    snprintf(name, sizeof name, "layer%d.%d.conv2.weight", stage + 1, k % n);
    b->w2 = add(m, name, (size_t)planes * 9 * planes, 9 * planes, 0, NN_INIT_UNIFORM);
    b->bn1 = 1 + 2 * k;
    b->bn2 = 2 + 2 * k;
    *macs += 3.0 * (conv_macs(&b->conv1) + conv_macs(&b->conv2));
    c = planes;
    h = b->conv1.oh;
    w = b->conv1.ow;
  }
  r->fc_in = c;
  r->fc_w = add(m, "fc.weight", (size_t)m->num_classes * c, c, 0, NN_INIT_UNIFORM);
  r->fc_b = add(m, "fc.bias", (size_t)m->num_classes, c, 1, NN_INIT_UNIFORM);
  *macs += 3.0 * c * m->num_classes;
  return widest;
}

static int bn_channels(const struct nn_resnet *r, int i) {
  return i == 0 ? 16 : r->blocks[(i - 1) / 2].conv1.cout;
}

/* The batch-norm weights and biases (trained, not decayed unless model.bn.weight_decay),
 * then their running statistics (state). */
static void add_bns(nn_model_t *m, struct nn_resnet *r, int n) {
  char prefix[16], name[48];
  for (int i = 0; i < r->nbn; i++) {
    nn_resnet_bn_t *l = &r->bn[i];
    l->c = bn_channels(r, i);
    bn_prefix(i, n, prefix, sizeof prefix);
    snprintf(name, sizeof name, "%s.weight", prefix);
    l->gamma = add(m, name, (size_t)l->c, l->c, 1, NN_INIT_ONE);
    snprintf(name, sizeof name, "%s.bias", prefix);
    l->beta = add(m, name, (size_t)l->c, l->c, 1, NN_INIT_ZERO);
  }
  m->ngrad = m->nparams;
  m->ngrad_tensors = m->ntensors;
  for (int i = 0; i < r->nbn; i++) {
    nn_resnet_bn_t *l = &r->bn[i];
    bn_prefix(i, n, prefix, sizeof prefix);
    snprintf(name, sizeof name, "%s.running_mean", prefix);
    l->run_mean = add(m, name, (size_t)l->c, l->c, 1, NN_INIT_ZERO);
    snprintf(name, sizeof name, "%s.running_var", prefix);
    l->run_var = add(m, name, (size_t)l->c, l->c, 1, NN_INIT_ONE);
    snprintf(name, sizeof name, "%s.num_batches_tracked", prefix);
    l->count = add(m, name, 1, 1, 1, NN_INIT_ZERO);
    l->stats = m->nbn_stats;
    m->nbn_stats += 2 * (size_t)l->c;
    l->mean = dpt_alloc(sizeof(float) * l->c);
    l->rstd = dpt_alloc(sizeof(float) * l->c);
  }
}

/* The blocks' inputs (stem_a, each block's o but the last's) are stored padded, as the
 * next conv reads them (nn_padded_at), and so is a shortcut's output (in g[0]), which
 * takes the place of a block's input as the next block's residual. */
static void alloc_workspace(nn_model_t *m, struct nn_resnet *r, size_t widest) {
  size_t chunk = (size_t)r->chunk, scratch = nn_linear_scratch(r->fc_in, m->num_classes);
  const nn_conv3_t *st = &r->stem;
  r->stem_c = dpt_alloc(sizeof(float) * st->oh * st->ow * 16 * chunk);
  r->stem_a = dpt_alloc(sizeof(float) * nn_padded_size(st->oh, st->ow, 16) * chunk);
  if (nn_conv3_scratch(&r->stem) > scratch) scratch = nn_conv3_scratch(&r->stem);
  for (int k = 0; k < r->nblocks; k++) {
    nn_resnet_block_t *b = &r->blocks[k];
    const nn_conv3_t *s = &b->conv1;
    size_t sz = (size_t)s->oh * s->ow * s->cout, padded = nn_padded_size(s->oh, s->ow, s->cout);
    b->u = dpt_alloc(sizeof(float) * sz * chunk);
    b->w = dpt_alloc(sizeof(float) * sz * chunk);
    b->o = dpt_alloc(sizeof(float) * padded * chunk);
    if (b->project && padded > widest) widest = padded;
    if (nn_conv3_scratch(&b->conv1) > scratch) scratch = nn_conv3_scratch(&b->conv1);
    if (nn_conv3_scratch(&b->conv2) > scratch) scratch = nn_conv3_scratch(&b->conv2);
  }
  if ((size_t)m->num_classes > widest) widest = m->num_classes;
  for (int i = 0; i < 3; i++) r->g[i] = dpt_alloc(sizeof(float) * widest * chunk);
  r->pooled = dpt_alloc(sizeof(float) * r->fc_in * chunk);
  r->logits = dpt_alloc(sizeof(float) * m->num_classes * chunk);
  r->scratch = dpt_alloc(sizeof(float) * scratch);
  m->bn_stats = dpt_alloc(sizeof(double) * m->nbn_stats);
}

int nn_resnet_init(nn_model_t *m, nn_model_kind_t kind, int in_c, int in_h, int in_w,
                   int num_classes, int max_batch) {
  static const int blocks_per_stage[] = {[NN_RESNET20] = 3, [NN_RESNET32] = 5,
                                         [NN_RESNET44] = 7, [NN_RESNET56] = 9};
  memset(m, 0, sizeof *m);
  if (nn_kernel_init() < 0) return -1;
  if (!nn_model_has_bn(kind)) return dpt_fail("model: %d is not a ResNet", (int)kind);
  if (in_c < 1 || in_h < 4 || in_w < 4 || num_classes < 1 || max_batch < 1)
    return dpt_fail("model %s: unsupported input %dx%dx%d or batch %d", nn_model_name(kind),
                    in_c, in_h, in_w, max_batch);
  struct nn_resnet *r = dpt_alloc(sizeof *r);
  int n = blocks_per_stage[kind];
  m->resnet = r;
  m->kind = kind;
  m->in_c = in_c;
  m->in_h = in_h;
  m->in_w = in_w;
  m->num_classes = num_classes;
  m->max_batch = max_batch;
  r->chunk = max_batch;
  r->nblocks = 3 * n;
  r->nbn = 1 + 2 * r->nblocks;
  double macs;
  size_t widest = add_convs(m, r, n, &macs);
  m->ndecay = m->nparams;
  add_bns(m, r, n);
  m->flops_per_image = 2 * macs;
  alloc_workspace(m, r, widest);
  return 0;
}

void nn_resnet_free(nn_model_t *m) {
  struct nn_resnet *r = m->resnet;
  if (!r) return;
  for (int k = 0; k < r->nblocks; k++) {
    nn_resnet_block_t *b = &r->blocks[k];
    dpt_free(b->u), dpt_free(b->w), dpt_free(b->o);
  }
  for (int i = 0; i < r->nbn; i++) dpt_free(r->bn[i].mean), dpt_free(r->bn[i].rstd);
  for (int i = 0; i < 3; i++) dpt_free(r->g[i]);
  void *bufs[] = {r->stem_c, r->stem_a, r->pooled, r->logits, r->scratch, m->bn_stats};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) dpt_free(bufs[i]);
  dpt_free(r);
  m->resnet = NULL;
  m->bn_stats = NULL;
}

/* ---------------------------------------------------------------- running */

/* batch norm i over the parameters params */
static nn_bn_t bn_of(const nn_model_t *m, const float *params, int i) {
  const nn_resnet_bn_t *l = &m->resnet->bn[i];
  return (nn_bn_t){params + l->gamma, params + l->beta, params + l->run_mean,
                   params + l->run_var, l->mean, l->rstd};
}

/* Training: batch norm i's statistics in bn_stats, zeroed for the conv before it to add
 * its output's rows and their squares to; NULL when not training. */
static double *bn_sums(nn_model_t *m, int i, int train) {
  if (!train) return NULL;
  const nn_resnet_bn_t *l = &m->resnet->bn[i];
  double *sums = m->bn_stats + l->stats;
  memset(sums, 0, sizeof(double) * 2 * l->c);
  return sums;
}

/* Batch norm i's mean and rstd over rows pixels: training (train != 0) the rows' (and
 * its statistics, in bn_stats, from the sums the conv before it took as it wrote the
 * rows: bn_sums); else the running statistics' */
static void bn_fwd(nn_model_t *m, const float *params, int i, size_t rows, int train) {
  const nn_resnet_bn_t *l = &m->resnet->bn[i];
  nn_bn_t b = bn_of(m, params, i);
  double t0 = nn_prof_now(m);
  if (train)
    nn_bn_statistics_summed(&b, rows, l->c, m->bn_stats + l->stats);
  else
    nn_bn_statistics(&b, rows, l->c, NULL, NULL);
  NN_PROF_ADD(m, bn_fwd, t0);
}

/* Batch norm i's backward: its first pass (dout masked in place, the gradients of its
 * weight and bias); the second, its input gradient, runs inside the backward of the conv
 * before it (conv_bwd), an image at a time. bn_bwd runs the first pass on its own for the
 * last block's bn2 and before a projecting block; elsewhere it too runs inside a conv's
 * backward, an image at a time: bn1's in conv2's, the batch norm's before a block in the
 * block's conv1 (block_backward). */
typedef struct {
  nn_bn_t b;
  float k[3 * NN_RESNET_MAX_CHANNELS];
  double sums[2 * NN_RESNET_MAX_CHANNELS];
  nn_bn_dgrad_t d;
} bn_grad_t;

/* g for batch norm i (its arrays in g) */
static void bn_grad_init(const nn_model_t *m, const float *params, int i, bn_grad_t *g) {
  int c = m->resnet->bn[i].c;
  DPT_ASSERT(c <= NN_RESNET_MAX_CHANNELS);
  g->b = bn_of(m, params, i);
  g->d = (nn_bn_dgrad_t){.k1 = g->k, .k2 = g->k + c, .g = g->k + 2 * c, .sdy = g->sums,
                         .sdyx = g->sums + c};
}

static void bn_bwd(nn_model_t *m, const float *params, float *grads, int i, size_t rows,
                   const float *in, const float *out, float *dout, bn_grad_t *g) {
  const nn_resnet_bn_t *l = &m->resnet->bn[i];
  bn_grad_init(m, params, i, g);
  double t0 = nn_prof_now(m);
  nn_bn_backward_sums(&g->b, rows, l->c, in, out, 1, dout, grads + l->gamma, grads + l->beta,
                      &g->d);
  NN_PROF_ADD(m, bn_bwd, t0);
}

/* the conv, fused as f says */
static void conv_fwd(nn_model_t *m, const nn_conv3_t *s, int n, const nn_conv3_fused_t *f,
                     const float *in, const float *weight, float *out) {
  double t0 = nn_prof_now(m);
  nn_conv3_forward_fused(s, n, f, in, weight, out, m->resnet->scratch);
  NN_PROF_ADD(m, conv3_fwd, t0);
}

/* its backward, fused as f says (its output gradient always that of a batch norm's
 * input, f->dout_bn) */
static void conv_bwd(nn_model_t *m, const nn_conv3_t *s, int n, const nn_conv3_fused_t *f,
                     const float *in, const float *weight, float *dweight, float *din) {
  double t0 = nn_prof_now(m);
  nn_conv3_backward_fused(s, n, f, in, weight, NULL, dweight, din, m->resnet->scratch);
  NN_PROF_ADD(m, conv3_bwd, t0);
}

static size_t pixels(const nn_conv3_t *s, int n) { return (size_t)n * s->oh * s->ow; }

/* Every batch norm's statistics come from its conv's output, summed (with its squares)
 * as the conv writes it (bn_sums, bn_fwd); its normalisation runs where the next conv
 * reads its input: bn1's in conv2 (its output never stored), the stem's and each bn2's
 * in the next block's conv1, which also stores it (the block's output, read again as a
 * residual and by the backward). The last block's runs on its own, for the pool. */
static void forward(nn_model_t *m, const float *params, const float *input, int n, int train) {
  struct nn_resnet *r = m->resnet;
  DPT_ASSERT(n <= r->chunk);
  nn_conv3_fused_t f = {.out_sum = bn_sums(m, 0, train)};
  conv_fwd(m, &r->stem, n, &f, input, params + r->stem_w, r->stem_c);
  bn_fwd(m, params, 0, pixels(&r->stem, n), train);
  /* the batch norm before the block: its index, input, residual, and where it goes */
  int prev = 0;
  const float *prev_in = r->stem_c, *prev_res = NULL;
  float *a = r->stem_a;
  for (int k = 0; k < r->nblocks; k++) {
    nn_resnet_block_t *b = &r->blocks[k];
    const nn_conv3_t *s = &b->conv1;
    nn_bn_t bn_prev = bn_of(m, params, prev), bn1 = bn_of(m, params, b->bn1);
    f = (nn_conv3_fused_t){.in_bn = &bn_prev, .in_res = prev_res, .in_store = a,
                           .out_sum = bn_sums(m, b->bn1, train)}; /* a: padded */
    conv_fwd(m, s, n, &f, prev_in, params + b->w1, b->u);
    bn_fwd(m, params, b->bn1, pixels(s, n), train);
    f = (nn_conv3_fused_t){.in_bn = &bn1, .out_sum = bn_sums(m, b->bn2, train)};
    conv_fwd(m, &b->conv2, n, &f, b->u, params + b->w2, b->w);
    const float *res = a;
    if (b->project) {
      nn_shortcut_forward(n, s->h, s->w, s->cin, s->cout, s->stride, a, r->g[0], 1);
      res = r->g[0];
    }
    bn_fwd(m, params, b->bn2, pixels(s, n), train);
    prev = b->bn2;
    prev_in = b->w;
    prev_res = res;
    a = b->o;
  }
  nn_bn_t bn_last = bn_of(m, params, prev);
  const nn_conv3_t *last = &r->blocks[r->nblocks - 1].conv2;
  int h = last->oh, w = last->ow, c = r->fc_in;
  double t0 = nn_prof_now(m);
  for (int i = 0; i < n; i++) /* a row at a time: the residual is padded, a is not */
    for (int y = 0; y < h; y++) {
      size_t at = ((size_t)i * h + y) * w * c;
      nn_bn_normalise(&bn_last, (size_t)w, c, prev_in + at,
                      prev_res + nn_padded_at(h, w, c, i, y), 1, a + at);
    }
  NN_PROF_ADD(m, bn_fwd, t0);
  nn_avgpool_forward(n, last->oh * last->ow, r->fc_in, a, r->pooled);
  nn_linear_forward(n, r->fc_in, m->num_classes, r->pooled, params + r->fc_w,
                    params + r->fc_b, r->logits, 0, r->scratch);
}

double nn_resnet_forward(nn_model_t *m, const float *params, const float *input,
                         const uint8_t *labels, int n, int *correct, float *losses) {
  struct nn_resnet *r = m->resnet;
  size_t isz = (size_t)m->in_h * m->in_w * m->in_c;
  double loss = 0;
  for (int i = 0; i < n; i += r->chunk) {
    int k = n - i < r->chunk ? n - i : r->chunk;
    forward(m, params, input + i * isz, k, 0);
    loss += nn_xent_forward_backward(k, m->num_classes, r->logits, labels + i, NULL, correct,
                                     losses ? losses + i : NULL);
  }
  return loss;
}

/* the batch norm whose output is block k's input (the previous block's bn2, or the
 * stem's) and its input and output */
static int input_bn(const struct nn_resnet *r, int k, const float **in, const float **out) {
  if (k == 0) {
    *in = r->stem_c;
    *out = r->stem_a;
    return 0;
  }
  *in = r->blocks[k - 1].w;
  *out = r->blocks[k - 1].o;
  return r->blocks[k - 1].bn2;
}

/* Block k backward: ga holds the gradient of its output, masked and summed for its bn2
 * (g2, finished); the gradient of its input ends in gb, masked and summed for the batch
 * norm before the block (gin, finished here). gc is scratch. */
static void block_backward(nn_model_t *m, const float *params, float *grads, int k, int n,
                           float *ga, float *gb, float *gc, const bn_grad_t *g2,
                           bn_grad_t *gin) {
  struct nn_resnet *r = m->resnet;
  nn_resnet_block_t *b = &r->blocks[k];
  const nn_conv3_t *s = &b->conv1;
  const nn_resnet_bn_t *l1 = &r->bn[b->bn1];
  size_t rows = pixels(s, n);
  bn_grad_t g1;
  /* conv2 reads u through bn1 (its output was never stored); bn1's backward sums run on
   * each image of conv2's input gradient, gc, as conv2 writes it */
  bn_grad_init(m, params, b->bn1, &g1);
  nn_bn_dgrad_start(&g1.d, &g1.b, l1->c, b->u, NULL, 1, gc);
  nn_conv3_fused_t f2 = {.in_bn = &g1.b, .dout_bn = &g2->d, .din_bn = &g1.d};
  conv_bwd(m, &b->conv2, n, &f2, b->u, params + b->w2, grads + b->w2, gc);
  nn_bn_dgrad_finish(&g1.d, rows, grads + l1->gamma, grads + l1->beta);
  /* conv1: the identity shortcut's gradient added as it writes each image's, then the
   * sums of the batch norm before the block; a projecting shortcut's gradient after, and
   * the sums then too */
  const float *bin, *a; /* the block's input: that batch norm's output */
  int i = input_bn(r, k, &bin, &a);
  const nn_resnet_bn_t *li = &r->bn[i];
  size_t in_rows = (size_t)n * s->h * s->w;
  bn_grad_init(m, params, i, gin);
  nn_bn_dgrad_start(&gin->d, &gin->b, li->c, bin, a, 1, gb);
  gin->d.out_h = s->h; /* a is padded */
  gin->d.out_w = s->w;
  nn_conv3_fused_t f1 = {.in_padded = 1, .dout_bn = &g1.d, .din_add = b->project ? NULL : ga,
                         .din_bn = b->project ? NULL : &gin->d};
  conv_bwd(m, s, n, &f1, a, params + b->w1, grads + b->w1, gb);
  if (b->project) {
    nn_shortcut_backward(n, s->h, s->w, s->cin, s->cout, s->stride, ga, gb);
    double t0 = nn_prof_now(m);
    nn_bn_dgrad_rows(&gin->d, 0, in_rows, NULL);
    NN_PROF_ADD(m, bn_bwd, t0);
  }
  nn_bn_dgrad_finish(&gin->d, in_rows, grads + li->gamma, grads + li->beta);
}

double nn_resnet_forward_backward(nn_model_t *m, const float *params, float *grads,
                                  const float *input, const uint8_t *labels, int n,
                                  int *correct) {
  struct nn_resnet *r = m->resnet;
  forward(m, params, input, n, 1);
  memset(grads + m->ngrad, 0, sizeof(float) * (m->nparams - m->ngrad));
  float *ga = r->g[0], *gb = r->g[1], *gc = r->g[2];
  double loss = nn_xent_forward_backward(n, m->num_classes, r->logits, labels, ga, correct, NULL);
  nn_linear_backward(n, r->fc_in, m->num_classes, r->pooled, params + r->fc_w, r->logits, ga,
                     grads + r->fc_w, grads + r->fc_b, gb, 0, r->scratch);
  const nn_resnet_block_t *last = &r->blocks[r->nblocks - 1];
  nn_avgpool_backward(n, last->conv2.oh * last->conv2.ow, r->fc_in, gb, ga);
  /* g[cur]: the last block's bn2, then each block's input batch norm in turn */
  bn_grad_t g[2];
  int cur = 0;
  bn_bwd(m, params, grads, last->bn2, pixels(&last->conv1, n), last->w, last->o, ga, &g[0]);
  for (int k = r->nblocks - 1; k >= 0; k--) {
    block_backward(m, params, grads, k, n, ga, gb, gc, &g[cur], &g[!cur]);
    cur = !cur;
    float *t = ga;
    ga = gb;
    gb = t;
  }
  nn_conv3_fused_t f = {.dout_bn = &g[cur].d};
  conv_bwd(m, &r->stem, n, &f, input, params + r->stem_w, grads + r->stem_w, NULL);
  return loss;
}

void nn_bn_running_update(const nn_model_t *m, float *params, const double *stats,
                          double momentum) {
  const struct nn_resnet *r = m->resnet;
  if (!r) return;
  for (int i = 0; i < r->nbn; i++) {
    const nn_resnet_bn_t *l = &r->bn[i];
    nn_bn_update_running(params + l->run_mean, params + l->run_var, stats + l->stats, l->c,
                         momentum);
    params[l->count] += 1.0f;
  }
}
