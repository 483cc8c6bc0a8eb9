/* model.h - the models: the LeNet family (conv blocks of conv 5x5 + ReLU + max-pool 2x2
 * followed by fully connected layers, ReLU on all but the last) and the CIFAR ResNets
 * (resnet.c, He et al. 2016 section 4.2, with batch normalisation); softmax
 * cross-entropy on top.
 *
 * The model holds the architecture and the activation workspace, never the parameters:
 * those live in one flat float buffer the caller owns (a worker's weights), with the
 * gradients, momenta and Adam moments in buffers of the same length and layout, so
 * averaging, reducing and checkpointing are loops over flat arrays. */
#ifndef DPT_MODEL_H
#define DPT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "layers.h"

#define NN_MAX_CONV 4
#define NN_MAX_FC 4
/* LeNet: 2 per layer; ResNet-56: 55 convolutions, 55 batch norms of 5 tensors, fc */
#define NN_MAX_TENSORS 336
/* The model's input side: the pipeline centres every dataset's images on a 32x32 canvas
 * (the trainer's model and the PyTorch export both use it). */
#define NN_INPUT_SIZE 32

/* model.name: the presets; nn_model_names[] spells them, in this order. */
typedef enum {
  NN_LENET, NN_LENET5, NN_RESNET20, NN_RESNET32, NN_RESNET44, NN_RESNET56
} nn_model_kind_t;
extern const char *const nn_model_names[];
const char *nn_model_name(nn_model_kind_t kind);
/* 1 for the models with batch normalisation (the ResNets). */
int nn_model_has_bn(nn_model_kind_t kind);

/* model.init: nn_init_names[] spells them, in this order. */
typedef enum { NN_INIT_PYTORCH, NN_INIT_KAIMING_NORMAL } nn_init_kind_t;
extern const char *const nn_init_names[];

/* How nn_init_params fills a tensor. */
typedef enum {
  NN_INIT_UNIFORM, /* PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
  NN_INIT_ONE,     /* batch-norm weight, running variance */
  NN_INIT_ZERO,    /* batch-norm bias, running mean, num_batches_tracked */
  NN_INIT_KAIMING  /* N(0, 2/fan_in): kaiming_normal_ (model.init: kaiming_normal) */
} nn_init_t;

typedef struct {
  size_t offset, size;  /* into the flat parameter buffer */
  int fan_in;           /* PyTorch's fan_in: C_in*k*k or in_features */
  int is_bias;          /* 1-D tensors (biases, batch-norm tensors) */
  nn_init_t init;
  char name[40];        /* "conv1.weight", "layer3.8.bn2.num_batches_tracked", ... */
} nn_tensor_t;

/* Optional per-layer timing (seconds, accumulated) for the benchmark: set
 * nn_model_t.prof to one of these; NULL (the default) costs nothing. */
typedef struct {
  double conv_fwd[NN_MAX_CONV], conv_bwd[NN_MAX_CONV];
  double fc_fwd[NN_MAX_FC], fc_bwd[NN_MAX_FC];
  double xent;
  /* ResNets: all 3x3 convolutions forward, backward (weight and input gradients), all
   * batch norms (with the residual add and ReLU) forward, backward */
  double conv3_fwd, conv3_bwd, bn_fwd, bn_bwd;
} nn_prof_t;

typedef struct {
  int nconv, nfc;
  nn_conv_shape_t conv[NN_MAX_CONV];
  int fc_in[NN_MAX_FC], fc_out[NN_MAX_FC];
  int in_c, in_h, in_w, num_classes;
  int ntensors;
  nn_tensor_t tensors[NN_MAX_TENSORS];
  size_t nparams;
  /* The flat buffer is [decayed | no_decay | state]: the first ngrad floats (tensors
   * [0, ngrad_tensors)) are trained; the rest is model state outside the gradient (the
   * batch-norm running statistics), which optimizers leave alone and gradients hold as
   * zeros. [ndecay, ngrad) are the batch-norm weights and biases, which
   * model.bn.weight_decay may exempt. LeNet: ndecay = ngrad = nparams. */
  size_t ngrad, ndecay;
  int ngrad_tensors;
  nn_model_kind_t kind;
  struct nn_resnet *resnet;     /* the ResNet's layers and workspace; NULL for LeNet */
  /* batch norm: the last training forward's statistics (per BN layer in order: c means
   * then c unbiased variances), nbn_stats doubles; 0 and NULL without batch norm */
  size_t nbn_stats;
  double *bn_stats;
  double flops_per_image;  /* forward + backward multiply-adds x 2 */

  /* Workspace for up to max_batch images. */
  int max_batch;
  float *pooled[NN_MAX_CONV];   /* (n, ph, pw, cout) */
  uint8_t *argmax[NN_MAX_CONV]; /* (n, ph, pw, cout) */
  float *fc_act[NN_MAX_FC];     /* (n, fc_out) after ReLU; the last holds logits */
  float *grad_a, *grad_b;       /* ping-pong activation gradients (n, widest) */
  float *scratch, *dconv;           /* per-image conv scratch; scratch also the linear layers' */
  nn_prof_t *prof;              /* NULL, or where forward/backward add their time */
} nn_model_t;

/* This thread's CPU time when m->prof is set (so a busy node does not count), else 0;
 * NN_PROF_ADD adds the time since t0 to one of its fields. */
double nn_prof_now(const nn_model_t *m);
#define NN_PROF_ADD(m, field, t0)                                  \
  do {                                                             \
    if ((m)->prof) (m)->prof->field += nn_prof_now(m) - (t0);      \
  } while (0)

/* The trained tensors and floats; a model built by hand (tests) that sets only its
 * tensor list (ngrad = 0) has all of them trained. */
static inline int nn_trained_tensors(const nn_model_t *m) {
  return m->ngrad ? m->ngrad_tensors : m->ntensors;
}
static inline size_t nn_trained_floats(const nn_model_t *m, size_t n) {
  return m->ngrad ? m->ngrad : n;
}

/* Builds a preset: NN_LENET (the seed's variant: 64-64 filters, 384-192 units) or
 * NN_LENET5 (classic: 6-16 filters, 120-84 units), for in_c x in_h x in_w inputs, or a
 * ResNet (resnet.c). LeNet: forwards of up to max_batch images. ResNet: max_batch is the
 * largest batch-norm group (the ghost batch) of a training forward; nn_forward takes any
 * n, max_batch images at a time. */
int nn_model_init(nn_model_t *m, nn_model_kind_t kind, int in_c, int in_h, int in_w,
                  int num_classes, int max_batch);
/* A custom member of the family (for tests): conv channels and fc units. */
int nn_model_init_custom(nn_model_t *m, int nconv, const int *conv_channels, int kernel,
                         int nfc, const int *fc_units, int in_c, int in_h, int in_w,
                         int num_classes, int max_batch);
void nn_model_free(nn_model_t *m);

/* PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases,
 * ones and zeros for batch norm (nn_tensor_t.init), drawn from the counter-based stream
 * keyed by seed (so independent of everything). kaiming != 0: conv and linear weights
 * from N(0, 2/fan_in) instead (the ResNet paper's code). */
void nn_init_params(const nn_model_t *m, float *params, uint64_t seed);
void nn_init_params_kaiming(const nn_model_t *m, float *params, uint64_t seed, int kaiming);
/* Appends a tensor to the flat buffer (model builders). */
void nn_model_add_tensor(nn_model_t *m, const char *name, size_t size, int fan_in, int is_bias,
                         nn_init_t init);
/* Batch norm: the running statistics in params move towards the statistics `stats`
 * (nbn_stats doubles, as bn_stats) of one ghost batch, r = (1 - momentum) r + momentum s,
 * and num_batches_tracked counts it. No-op without batch norm. */
void nn_bn_running_update(const nn_model_t *m, float *params, const double *stats,
                          double momentum);

/* Forward only (evaluation: batch norm uses the running statistics) over n <= max_batch
 * images (NHWC floats; a ResNet takes any n): returns the summed loss, adds
 * correct predictions to *correct, writes per-image losses when losses != NULL. */
double nn_forward(nn_model_t *m, const float *params, const float *input,
                  const uint8_t *labels, int n, int *correct, float *losses);
/* Forward and backward: grads = gradient of the SUMMED loss over the n images (every
 * tensor written, the state tensors as zeros; the padding between tensors is left
 * alone). The summation order is fixed by n alone. Batch norm normalises over the n
 * images (one ghost batch) and leaves their statistics in bn_stats. Returns the summed
 * loss. */
double nn_forward_backward(nn_model_t *m, const float *params, float *grads,
                           const float *input, const uint8_t *labels, int n, int *correct);

#endif
