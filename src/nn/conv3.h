/* conv3.h - the layers of the CIFAR ResNets (resnet.c) as plain functions over explicit
 * buffers and sizes: the 3x3 convolution with stride 1 or 2 and padding 1 (no bias),
 * batch normalisation (fused with an optional residual add and ReLU), the option-A
 * shortcut and the global average pool. Activations are NHWC: (n, h, w, c), a pixel's
 * channels contiguous. Convolution weights are (cout, 3, 3, cin), as LeNet's.
 *
 * Every output of the convolutions is a blocked sum (kernel.h) in a fixed order that no
 * vector path changes: the scalar, AVX2 and AVX-512 paths give the same bits. Batch-norm
 * sums run in double, per channel, over the rows in order. */
#ifndef DPT_CONV3_H
#define DPT_CONV3_H

#include <stddef.h>

typedef struct {
  int cin, cout, stride; /* 3x3 kernel, padding 1 */
  int h, w;              /* input */
  int oh, ow;            /* output: (h - 1) / stride + 1 */
} nn_conv3_t;

void nn_conv3_init(nn_conv3_t *s, int cin, int cout, int stride, int h, int w);
/* Floats of scratch nn_conv3_forward / _backward need. */
size_t nn_conv3_scratch(const nn_conv3_t *s);

/* out (n, oh, ow, cout) = conv(in (n, h, w, cin), weight). Each output is a blocked sum
 * in tap order (ky, kx, ci), each row ky's taps in blocks from its first. */
void nn_conv3_forward(const nn_conv3_t *s, int n, const float *in, const float *weight,
                      float *out, float *scratch);
/* Given dout (n, oh, ow, cout): dweight (cout, 3, 3, cin) is WRITTEN: each image's
 * blocked sum over its output positions, the images' sums added in order; din (n, h, w,
 * cin), when not NULL, is written: the correlation of dout (zero-upsampled by the stride
 * and padded) with the flipped weights, blocked as the forward, in tap order (ky, kx, co). */
void nn_conv3_backward(const nn_conv3_t *s, int n, const float *in, const float *weight,
                       const float *dout, float *dweight, float *din, float *scratch);
/* The same fused with the layers around the conv: each image's part of their results is
 * computed where the conv reads it (into scratch) and never written to memory, with the
 * bits of the layers run one after the other. NULL fields are not fused:
 *   in_bn    the conv's input is relu(in_bn(in) + in_res), batch norm of in (n, h, w,
 *            cin) with its mean and rstd set (nn_bn_statistics) and the residual in_res
 *            (padded images, nn_padded_at; NULL: none), normalised an image at a time
 *            as the conv pads it (nn_bn_normalise), into in_store's padded images where
 *            given (the forward's business: a backward stores it again; the conv reads
 *            its input from there, and the borders must be zero), else into scratch;
 *   in_padded  (without in_bn) in is padded images, read in place, instead of (n, h, w,
 *            cin) images the conv pads into scratch;
 *   out_sum  (forward) 2 cout doubles: each image's output rows, and their squares,
 *            added to them in order as the conv writes the image (nn_bn_sum_rows, the
 *            statistics of a batch norm of the output); the caller zeroes them;
 *   dout_bn  (backward) dout, not read, is the input gradient of the batch norm that
 *            follows the conv (its rows the conv's output positions), an image at a time
 *            (nn_bn_input_grad);
 *   din_add  (backward) (n, h, w, cin), added to din (the gradient of a residual that
 *            skips the conv) an image at a time, while din's image is in cache;
 *   din_bn   (backward) din is the output gradient of the batch norm whose output is
 *            the conv's input (in_bn, where the conv reads through it; else one whose
 *            output was stored): each image's rows of din are masked and summed
 *            (nn_bn_dgrad_rows) after the conv writes them (and adds din_add); the caller
 *            starts din_bn (nn_bn_dgrad_start on din) and finishes it. */
typedef struct nn_bn_dgrad nn_bn_dgrad_t;
typedef struct nn_bn nn_bn_t;
typedef struct {
  const nn_bn_t *in_bn;
  const float *in_res;
  float *in_store;
  int in_padded;
  double *out_sum;
  const nn_bn_dgrad_t *dout_bn;
  const float *din_add;
  nn_bn_dgrad_t *din_bn;
} nn_conv3_fused_t;
/* Images (n, h, w, c) stored padded, as a conv reads them: (n, h + 2, w + 2, c) with zero
 * borders. nn_padded_size: the floats of one image; nn_padded_at: where image i's row y
 * starts (its first interior cell). */
static inline size_t nn_padded_size(int h, int w, int c) { return (size_t)(h + 2) * (w + 2) * c; }
static inline size_t nn_padded_at(int h, int w, int c, int i, int y) {
  return i * nn_padded_size(h, w, c) + ((size_t)(y + 1) * (w + 2) + 1) * c;
}
void nn_conv3_forward_fused(const nn_conv3_t *s, int n, const nn_conv3_fused_t *f,
                            const float *in, const float *weight, float *out, float *scratch);
void nn_conv3_backward_fused(const nn_conv3_t *s, int n, const nn_conv3_fused_t *f,
                             const float *in, const float *weight, const float *dout,
                             float *dweight, float *din, float *scratch);

/* The direct correlation both conv layers run (conv3.c): out (oh, ow, cout) = sum over
 * taps (ky, kx, ci) of xp[(oy*stride + ky, ox*stride + kx, ci)] * wt[(ky, kx, ci), co],
 * xp an image of width wp (padded by the caller where the conv pads), wt (k*k*cin, cout).
 * Each output is a blocked sum in tap order, each row ky's k*cin taps in blocks from its
 * first, on every path; whole 16-channel blocks (cout % 16 == 0) take the vector paths.
 * The 3x3 conv's forward and input gradient run it with k = 3, LeNet's 5x5 forward
 * (layers.c) with k = 5. */
typedef struct {
  const float *xp;
  int wp, cin, k, stride;
  int oh, ow, cout;
  const float *wt; /* (k*k*cin, cout) */
} nn_corr_t;
void nn_corr(const nn_corr_t *c, float *out);

/* Batch normalisation over rows = n*h*w pixels of c channels, eps 1e-5.
 * Training (stats != NULL): normalises with the rows' own mean and biased variance,
 * writes mean and 1/sqrt(var + eps) to mean/rstd (c floats each) and the mean and the
 * UNBIASED variance to stats (2c doubles: means, then variances) for the running
 * statistics. Evaluation (stats == NULL): normalises with run_mean/run_var.
 * out = relu?(gamma * xhat + beta + (res ? res : 0)). */
struct nn_bn {
  const float *gamma, *beta, *run_mean, *run_var;
  float *mean, *rstd; /* (c): the normalisation used, kept for the backward pass */
};
#define NN_BN_EPS 1e-5
void nn_bn_forward(const nn_bn_t *b, size_t rows, int c, const float *in, const float *res,
                   int relu, float *out, double *stats);
/* nn_bn_forward in its two parts: the mean and rstd (and stats), then out from them,
 * each element on its own (so a range of rows at a time may go anywhere). The training
 * statistics take one pass over the rows: nn_bn_sum_rows adds the rows, in order, to c
 * running sums and their squares to c more, in double (sums, 2c), a range at a time
 * where the rows are at hand (nn_conv3_forward_fused); then nn_bn_statistics_summed
 * turns the sums in stats into the statistics: var = sum(x^2)/n - mean^2, whose
 * cancellation costs about (mean/std)^2 double roundings, far below float's while a
 * channel's mean is within 10^3 of its std (test_bn_variance_one_pass). */
void nn_bn_statistics(const nn_bn_t *b, size_t rows, int c, const float *in, double *stats);
void nn_bn_sum_rows(size_t rows, int c, const float *in, double *sums);
void nn_bn_statistics_summed(const nn_bn_t *b, size_t rows, int c, double *stats);
void nn_bn_normalise(const nn_bn_t *b, size_t rows, int c, const float *in, const float *res,
                     int relu, float *out);
/* dout (rows, c) is masked in place by out > 0 when relu != 0 (it is then the gradient of
 * the residual input too; out NULL: by gamma xhat + beta > 0, recomputed from in, for a
 * batch norm without a residual whose out was never written); writes dgamma, dbeta (c) and din (rows, c), which may be
 * the same buffer as dout only when relu == 0 and no residual reads dout afterwards. */
void nn_bn_backward(const nn_bn_t *b, size_t rows, int c, const float *in, const float *out,
                    int relu, float *dout, float *dgamma, float *dbeta, float *din);
/* The same in two passes, so that each can run a range of rows at a time where the rows
 * are at hand (nn_conv3_backward_fused) instead of over all rows through memory. The
 * first: nn_bn_dgrad_start (d's arrays k1, k2, g, sdy and sdyx, c each, the caller
 * provides), then nn_bn_dgrad_rows over the rows in order in any ranges (first adds add,
 * where not NULL, to dout: add (rows, c) as dout is, the rows' part of it; masks dout as
 * above, adds the rows' terms to the running sums sdy and sdyx), then nn_bn_dgrad_finish
 * (dgamma, dbeta, and d's k1, k2, g); nn_bn_backward_sums runs the three over all rows.
 * The second: nn_bn_input_grad writes rows [r0, r0 + rows) of din, each element on its
 * own: din = g (dout - k1 - xhat k2). */
struct nn_bn_dgrad {
  const nn_bn_t *b;
  int c, relu;
  const float *in, *out;  /* (rows, c): the batch norm's input and output (or NULL) */
  int out_h, out_w;       /* nonzero: out is padded images of (out_h, out_w) pixels
                           * (nn_padded_at), the rows theirs in order; set after start */
  float *dout;            /* (rows, c): its output gradient, masked in place */
  float *k1, *k2, *g;     /* (c) each */
  double *sdy, *sdyx;     /* (c) each: the running sums */
};
void nn_bn_dgrad_start(nn_bn_dgrad_t *d, const nn_bn_t *b, int c, const float *in,
                       const float *out, int relu, float *dout);
void nn_bn_dgrad_rows(nn_bn_dgrad_t *d, size_t r0, size_t rows, const float *add);
void nn_bn_dgrad_finish(nn_bn_dgrad_t *d, size_t rows, float *dgamma, float *dbeta);
void nn_bn_backward_sums(const nn_bn_t *b, size_t rows, int c, const float *in,
                         const float *out, int relu, float *dout, float *dgamma, float *dbeta,
                         nn_bn_dgrad_t *d);
void nn_bn_input_grad(const nn_bn_dgrad_t *d, size_t r0, size_t rows, float *din);
/* Running statistics: r = (1 - m) r + m * stat, in double, for one BN of c channels. */
void nn_bn_update_running(float *run_mean, float *run_var, const double *stats, int c,
                          double momentum);

/* Option A shortcut of He et al. (as the common PyTorch CIFAR code pads it):
 * x (n, h, w, cin) subsampled by the stride, its channels placed at [(cout - cin) / 2,
 * (cout - cin) / 2 + cin) of out (n, oh, ow, cout), the others zero; padded != 0: x and
 * out are padded images (nn_padded_at), out's borders zero too. The backward ADDS the
 * matching part of dout into din. */
void nn_shortcut_forward(int n, int h, int w, int cin, int cout, int stride, const float *x,
                         float *out, int padded);
void nn_shortcut_backward(int n, int h, int w, int cin, int cout, int stride,
                          const float *dout, float *din);

/* Global average pool: in (n, hw, c) -> out (n, c), sums in pixel order then one
 * multiply by 1/hw; the backward writes din = dout / hw broadcast. */
void nn_avgpool_forward(int n, int hw, int c, const float *in, float *out);
void nn_avgpool_backward(int n, int hw, int c, const float *dout, float *din);

#endif
