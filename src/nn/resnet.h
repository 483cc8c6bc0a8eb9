/* resnet.h - the CIFAR ResNets of He et al. 2016, section 4.2 (model.name ResNet20, 32,
 * 44, 56: depth 6n + 2): a 3x3 convolution of 16 channels, three stages of n basic
 * blocks (two 3x3 convolutions with batch norm, ReLU after the first and after the
 * residual add) of 16, 32 and 64 channels, the first block of stages 2 and 3 with
 * stride 2 and the option-A shortcut (subsampled, zero-padded channels), global average
 * pooling and one linear layer. Convolutions have no bias, as in the paper's code.
 *
 * Tensors are named as in PyTorch's state_dict of the common CIFAR ResNet code
 * (conv1.weight, bn1.weight, layer1.0.conv1.weight, ..., fc.weight) and laid out in the
 * flat buffer as model.h describes: convolution and linear tensors, then the
 * batch-norm weights and biases, then the running statistics and num_batches_tracked. */
#ifndef DPT_RESNET_H
#define DPT_RESNET_H

#include "conv3.h"
#include "model.h"

#define NN_RESNET_MAX_BLOCKS 27 /* ResNet-56: 3 stages of 9 */
#define NN_RESNET_MAX_BN (2 * NN_RESNET_MAX_BLOCKS + 1)
#define NN_RESNET_MAX_CHANNELS 64 /* the last stage's */

typedef struct {
  int c;
  size_t gamma, beta, run_mean, run_var, count; /* offsets into the flat buffer */
  size_t stats;                                 /* its 2c doubles in bn_stats */
  float *mean, *rstd;                           /* (c) of the last forward */
} nn_resnet_bn_t;

typedef struct {
  nn_conv3_t conv1, conv2;
  size_t w1, w2;         /* weight offsets */
  int bn1, bn2;          /* indices into bn[] */
  int project;           /* the option-A shortcut (stride 2, more channels) */
  float *u, *w, *o;  /* (chunk, ...): conv1 out, conv2 out, block out (bn1 + ReLU is
                      * applied where conv2 reads u, never stored); o is stored padded
                      * (nn_padded_at), as the next block's conv1 reads it, but for
                      * the last block (the pool's input) */
} nn_resnet_block_t;

struct nn_resnet {
  int nblocks, nbn, chunk;
  nn_conv3_t stem;
  size_t stem_w;
  float *stem_c, *stem_a;   /* (chunk, 32, 32, 16): stem conv out, after bn + ReLU
                             * (stem_a padded, as block 0's conv1 reads it) */
  nn_resnet_block_t blocks[NN_RESNET_MAX_BLOCKS];
  nn_resnet_bn_t bn[NN_RESNET_MAX_BN]; /* bn[0] the stem's, then bn1, bn2 of each block */
  size_t fc_w, fc_b;
  int fc_in;
  float *pooled, *logits;   /* (chunk, 64), (chunk, classes) */
  float *g[3];              /* activation gradients, (chunk, widest) each */
  float *scratch;
};

int nn_resnet_init(nn_model_t *m, nn_model_kind_t kind, int in_c, int in_h, int in_w,
                   int num_classes, int max_batch);
void nn_resnet_free(nn_model_t *m);
double nn_resnet_forward(nn_model_t *m, const float *params, const float *input,
                         const uint8_t *labels, int n, int *correct, float *losses);
double nn_resnet_forward_backward(nn_model_t *m, const float *params, float *grads,
                                  const float *input, const uint8_t *labels, int n,
                                  int *correct);

#endif
