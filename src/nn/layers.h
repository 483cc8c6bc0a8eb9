/* layers.h - the layer kernels of the LeNet family, as plain functions over explicit
 * buffers and sizes (llm.c style). Activations are NHWC per image: a pixel's channels
 * are contiguous. The convolutions are direct (layers.c), the linear layers dpt's own
 * (fc.c); both sum in one fixed order on every vector path (kernel.h). ReLU is fused
 * into conv and linear; max-pool 2x2 follows conv and keeps the argmax, which is all
 * the backward pass needs of the conv output. */
#ifndef DPT_LAYERS_H
#define DPT_LAYERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  int cin, cout, k;     /* channels in/out, square kernel size */
  int h, w;             /* input height/width */
  int oh, ow;           /* conv output: h-k+1, w-k+1 */
  int ph, pw;           /* pooled output: oh/2, ow/2 */
} nn_conv_shape_t;

void nn_conv_shape_init(nn_conv_shape_t *s, int cin, int cout, int k, int h, int w);

/* One image: in (h, w, cin) -> pooled (ph, pw, cout), argmax (ph, pw, cout) in 0..3.
 * weight (cout, k, k, cin), bias (cout). Scratch of nn_conv_forward_scratch(s) floats each:
 * scratch receives the weights transposed to (k, k, cin, cout rounded up to 16), convout the
 * conv output. A direct convolution (no im2col, no GEMM). */
void nn_conv_pool_forward(const nn_conv_shape_t *s, const float *in, const float *weight,
                       const float *bias, float *pooled, uint8_t *argmax, float *scratch,
                       float *convout);
/* The same over n consecutive images (weights are rearranged once per call). */
void nn_conv_pool_forward_batch(const nn_conv_shape_t *s, int n, const float *in,
                             const float *weight, const float *bias, float *pooled,
                             uint8_t *argmax, float *scratch, float *convout);
/* Scratch floats nn_conv_pool_forward needs in scratch and in convout:
 * max(oh*ow, k*k*cin) * (cout rounded up to 16). */
size_t nn_conv_forward_scratch(const nn_conv_shape_t *s);

/* One image, given dpooled (ph, pw, cout): accumulates dweight (+=) and dbias (+=), and
 * when din != NULL writes din (h, w, cin). Scratch: scratch and dconv oh*ow*(max(cout,
 * k*k*cin) + 1) floats each. Only the nonzero gradients (argmax, ReLU open) are
 * visited: the work is sparse, with no im2col. */
void nn_conv_pool_backward(const nn_conv_shape_t *s, const float *in, const float *weight,
                        const float *pooled, const uint8_t *argmax, const float *dpooled,
                        float *dweight, float *dbias, float *din, float *scratch, float *dconv);

/* Batch: out (n, fout) = in (n, fin) W^T + b, W (fout, fin); ReLU when relu != 0.
 * scratch holds nn_linear_scratch(fin, fout) floats. Each output is a blocked sum
 * (kernel.h) over the inputs in order, plus the bias: the same bits on every CPU. */
#define NN_LINEAR_CHUNK 16 /* images per forward pass over the weights */
size_t nn_linear_scratch(int fin, int fout);
void nn_linear_forward(int n, int fin, int fout, const float *in, const float *weight,
                    const float *bias, float *out, int relu, float *scratch);
/* Batch: dout (n, fout) is masked by out > 0 in place when relu != 0; dW = dout^T in,
 * db = sum(dout) (written, not added); din = dout W when din != NULL. Every element of
 * dW and din is a blocked sum in image or output order. scratch as
 * for nn_linear_forward. */
void nn_linear_backward(int n, int fin, int fout, const float *in, const float *weight,
                     const float *out, float *dout, float *dweight, float *dbias,
                     float *din, int relu, float *scratch);

/* Softmax cross-entropy of logits (n, classes): returns the SUM of the losses, counts
 * correct argmax predictions into *correct, writes each loss to losses (if not NULL),
 * and when dlogits != NULL the gradient of the summed loss (softmax - onehot). */
double nn_xent_forward_backward(int n, int classes, const float *logits,
                             const uint8_t *labels, float *dlogits, int *correct,
                             float *losses);

#endif
