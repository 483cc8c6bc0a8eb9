/* pipeline.h - from uint8 NCHW images to the float NHWC batch the model eats: centre on
 * the model's input canvas (Fashion-MNIST 28x28 -> 32x32 with zeros), random crop from
 * the canvas zero-padded by `crop_padding`, horizontal flip, per-channel normalisation.
 * Every random choice is a function of (seed, round, sample index) alone, so a sample is
 * transformed the same way whichever worker, rank or batch position it lands in. */
#ifndef DPT_PIPELINE_H
#define DPT_PIPELINE_H

#include <stdint.h>

#include "dataset.h"

typedef struct {
  int c, src_h, src_w;      /* stored image size */
  int out_h, out_w;         /* model input size */
  int off_y, off_x;         /* where the stored image sits on the canvas */
  int crop_padding;         /* 0 = no random crop */
  int flip;                 /* 1 = random horizontal flip */
  uint64_t seed;
  float lut[3][256];        /* normalised value of each pixel value, per channel */
} pipeline_t;

/* PIPE_EVAL: centre and normalise only; PIPE_AUGMENT: also the random crop and flip. */
typedef enum { PIPE_EVAL, PIPE_AUGMENT } pipe_mode_t;

int pipeline_init(pipeline_t *p, const dpt_dataset_t *ds, int out_h, int out_w,
                  int crop_padding, int flip, uint64_t seed);
/* n images split->images[idx[i]] into out (n, out_h, out_w, c) and their labels;
 * `round` keys the random draws (the epoch, or a finer counter when a sample can be
 * drawn twice in an epoch). */
void pipeline_batch(const pipeline_t *p, const dpt_split_t *split, const int64_t *idx,
                    int n, pipe_mode_t mode, uint64_t round, float *out, uint8_t *labels);

#endif
