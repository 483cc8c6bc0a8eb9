/* model.h - the LeNet family: conv blocks (conv 5x5 + ReLU + max-pool 2x2) followed by
 * fully connected layers (ReLU on all but the last), softmax cross-entropy on top.
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
#define NN_MAX_TENSORS (2 * (NN_MAX_CONV + NN_MAX_FC))
/* The model's input side: the pipeline centres every dataset's images on a 32x32 canvas
 * (the trainer's model and the PyTorch export both use it). */
#define NN_INPUT_SIZE 32

/* model.name: the presets; nn_model_names[] spells them, in this order. */
typedef enum { NN_LENET, NN_LENET5 } nn_model_kind_t;
extern const char *const nn_model_names[];
const char *nn_model_name(nn_model_kind_t kind);

typedef struct {
  size_t offset, size;  /* into the flat parameter buffer */
  int fan_in;           /* PyTorch's fan_in: C_in*k*k or in_features */
  int is_bias;          /* 1-D tensors (biases) */
  char name[32];        /* "conv1.weight", "fc2.bias", ... */
} nn_tensor_t;

/* Optional per-layer timing (seconds, accumulated) for the benchmark: set
 * nn_model_t.prof to one of these; NULL (the default) costs nothing. */
typedef struct {
  double conv_fwd[NN_MAX_CONV], conv_bwd[NN_MAX_CONV];
  double fc_fwd[NN_MAX_FC], fc_bwd[NN_MAX_FC];
  double xent;
} nn_prof_t;

typedef struct {
  int nconv, nfc;
  nn_conv_shape_t conv[NN_MAX_CONV];
  int fc_in[NN_MAX_FC], fc_out[NN_MAX_FC];
  int in_c, in_h, in_w, num_classes;
  int ntensors;
  nn_tensor_t tensors[NN_MAX_TENSORS];
  size_t nparams;
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

/* Builds a preset: NN_LENET (the seed's variant: 64-64 filters, 384-192 units) or
 * NN_LENET5 (classic: 6-16 filters, 120-84 units), for in_c x in_h x in_w inputs. */
int nn_model_init(nn_model_t *m, nn_model_kind_t kind, int in_c, int in_h, int in_w,
                  int num_classes, int max_batch);
/* A custom member of the family (for tests): conv channels and fc units. */
int nn_model_init_custom(nn_model_t *m, int nconv, const int *conv_channels, int kernel,
                         int nfc, const int *fc_units, int in_c, int in_h, int in_w,
                         int num_classes, int max_batch);
void nn_model_free(nn_model_t *m);

/* PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases,
 * drawn from the counter-based stream keyed by seed (so independent of everything). */
void nn_init_params(const nn_model_t *m, float *params, uint64_t seed);

/* Forward only over n <= max_batch images (NHWC floats): returns the summed loss, adds
 * correct predictions to *correct, writes per-image losses when losses != NULL. */
double nn_forward(nn_model_t *m, const float *params, const float *input,
                  const uint8_t *labels, int n, int *correct, float *losses);
/* Forward and backward: grads = gradient of the SUMMED loss over the n images (every
 * tensor written; the padding between tensors is left alone). The summation order is
 * fixed by n alone. Returns the summed loss. */
double nn_forward_backward(nn_model_t *m, const float *params, float *grads,
                           const float *input, const uint8_t *labels, int n, int *correct);

#endif
