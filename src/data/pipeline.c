/* pipeline.c - see pipeline.h. */
#include "pipeline.h"

#include "../core/err.h"
#include "../core/rng.h"

int pipeline_init(pipeline_t *p, const dpt_dataset_t *ds, int out_h, int out_w,
                  int crop_padding, int flip, uint64_t seed) {
  if (ds->channels < 1 || ds->channels > 3)
    return dpt_fail("dataset has %d channels, expected 1 to 3", ds->channels);
  if (ds->height > out_h || ds->width > out_w)
    return dpt_fail("images of %dx%d do not fit the model's %dx%d input", ds->height,
                    ds->width, out_h, out_w);
  p->c = ds->channels;
  p->src_h = ds->height;
  p->src_w = ds->width;
  p->out_h = out_h;
  p->out_w = out_w;
  p->off_y = (out_h - ds->height) / 2;
  p->off_x = (out_w - ds->width) / 2;
  p->crop_padding = crop_padding;
  p->flip = flip;
  p->seed = seed;
  for (int c = 0; c < p->c; c++) {
    if (!(ds->std[c] > 0)) return dpt_fail("dataset channel %d has std %g", c, ds->std[c]);
    for (int v = 0; v < 256; v++)
      p->lut[c][v] = (float)((v / 255.0 - ds->mean[c]) / ds->std[c]);
  }
  return 0;
}

/* One image: output pixel (y, x) reads canvas pixel (y + dy, x' + dx), x' = x or the
 * mirrored column; the canvas holds the image at (off_y, off_x) and zeros elsewhere. */
static void transform(const pipeline_t *p, const uint8_t *img, int dy, int dx, int mirror,
                      float *out) {
  int C = p->c, plane = p->src_h * p->src_w;
  for (int y = 0; y < p->out_h; y++) {
    int sy = y + dy - p->off_y;
    for (int x = 0; x < p->out_w; x++) {
      int cx = mirror ? p->out_w - 1 - x : x;
      int sx = cx + dx - p->off_x;
      float *o = out + ((size_t)y * p->out_w + x) * C;
      int inside = sy >= 0 && sy < p->src_h && sx >= 0 && sx < p->src_w;
      for (int c = 0; c < C; c++)
        o[c] = p->lut[c][inside ? img[c * plane + sy * p->src_w + sx] : 0];
    }
  }
}

void pipeline_batch(const pipeline_t *p, const dpt_split_t *split, const int64_t *idx,
                    int n, pipe_mode_t mode, uint64_t round, float *out, uint8_t *labels) {
  size_t in_size = (size_t)p->c * p->src_h * p->src_w;
  size_t out_size = (size_t)p->out_h * p->out_w * p->c;
  for (int i = 0; i < n; i++) {
    int64_t s = idx[i];
    int dy = 0, dx = 0, mirror = 0;
    if (mode == PIPE_AUGMENT) {
      uint64_t key = rng_key(p->seed, RNG_AUGMENT, round, (uint64_t)s);
      if (p->crop_padding > 0) {
        uint64_t span = 2 * (uint64_t)p->crop_padding + 1;
        dy = (int)rng_below(rng_at(key, 0), span) - p->crop_padding;
        dx = (int)rng_below(rng_at(key, 1), span) - p->crop_padding;
      }
      if (p->flip) mirror = rng_at(key, 2) >> 63;
    }
    transform(p, split->images + (size_t)s * in_size, dy, dx, mirror,
              out + (size_t)i * out_size);
    labels[i] = split->labels[s];
  }
}
