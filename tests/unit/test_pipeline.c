/* test_pipeline.c - the input pipeline against straightforward code written from the
 * spec (spec/algorithms.md "Data"): place the image on the 32x32 canvas (Fashion-MNIST
 * 28x28 centred, zeros around), zero-pad by p, crop 32x32 at a random offset, flip
 * horizontally, then normalise per channel. The random choices are not recomputed here:
 * each augmented output must equal exactly one of the (2p+1)^2 * 2 possible crops and
 * flips, and over many samples every offset and both flips must occur. (Flipping before
 * the crop gives the same outputs with dx negated: the same pipeline in distribution.) */
#include <stdlib.h>
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/core/rng.h"
#include "../../src/data/pipeline.h"
#include "test.h"

#define OUT 32
#define NIMG 300

static const double MEAN[3] = {0.5071, 0.4867, 0.4408}, STD[3] = {0.2675, 0.2565, 0.2761};

/* A dataset of NIMG random images (pixels 1..255, so image pixels never look like the
 * zero padding), c channels of h x w. */
static void make_ds(dpt_dataset_t *ds, int c, int h, int w) {
  memset(ds, 0, sizeof *ds);
  ds->num_classes = 10;
  ds->channels = c;
  ds->height = h;
  ds->width = w;
  for (int i = 0; i < c; i++) {
    ds->mean[i] = MEAN[i];
    ds->std[i] = STD[i];
  }
  size_t px = (size_t)NIMG * c * h * w;
  ds->train.n = NIMG;
  ds->train.images = malloc(px);
  ds->train.labels = malloc(NIMG);
  for (size_t i = 0; i < px; i++) ds->train.images[i] = (uint8_t)(1 + rng_at(42, i) % 255);
  for (int i = 0; i < NIMG; i++) ds->train.labels[i] = (uint8_t)(i % 10);
}

static void free_ds(dpt_dataset_t *ds) {
  free(ds->train.images);
  free(ds->train.labels);
}

/* The reference: image img (c, h, w) on a zero canvas of OUT + 2p, centred; crop at
 * (p + dy, p + dx); mirror the crop; normalise; out is (OUT, OUT, c). */
static void reference(const dpt_dataset_t *ds, const uint8_t *img, int p, int dy, int dx,
                      int mirror, float *out) {
  int c = ds->channels, h = ds->height, w = ds->width;
  static uint8_t canvas[3][OUT + 16][OUT + 16], crop[3][OUT][OUT];
  memset(canvas, 0, sizeof canvas);
  for (int k = 0; k < c; k++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        canvas[k][p + (OUT - h) / 2 + y][p + (OUT - w) / 2 + x] = img[(k * h + y) * w + x];
  for (int k = 0; k < c; k++)
    for (int y = 0; y < OUT; y++)
      for (int x = 0; x < OUT; x++) crop[k][y][x] = canvas[k][p + dy + y][p + dx + x];
  for (int k = 0; k < c; k++)
    for (int y = 0; y < OUT; y++)
      for (int x = 0; x < OUT; x++) {
        uint8_t v = crop[k][y][mirror ? OUT - 1 - x : x];
        out[(y * OUT + x) * c + k] = (float)((v / 255.0 - ds->mean[k]) / ds->std[k]);
      }
}

static int near(const float *a, const float *b, int n) {
  for (int i = 0; i < n; i++)
    if (fabsf(a[i] - b[i]) > 1e-5f) return 0;
  return 1;
}

/* Runs samples 0..NIMG-1 through the pipeline with augmentation and matches each to the
 * reference candidates; every offset in [-p, p] and both flip states must occur (and
 * only the no-flip state when flips are off). */
static void check_augmented(int c, int h, int w, int p, int flip) {
  dpt_dataset_t ds;
  make_ds(&ds, c, h, w);
  pipeline_t pipe;
  CHECK_OK(pipeline_init(&pipe, &ds, OUT, OUT, p, flip, 5));
  int n = OUT * OUT * c;
  float *got = malloc(sizeof(float) * n), *want = malloc(sizeof(float) * n);
  int seen_dy[17] = {0}, seen_dx[17] = {0}, seen_mirror[2] = {0};
  for (int64_t s = 0; s < NIMG; s++) {
    uint8_t label;
    pipeline_batch(&pipe, &ds.train, &s, 1, PIPE_AUGMENT, 3, got, &label);
    CHECK(label == ds.train.labels[s]);
    const uint8_t *img = ds.train.images + (size_t)s * c * h * w;
    int matches = 0;
    for (int dy = -p; dy <= p; dy++)
      for (int dx = -p; dx <= p; dx++)
        for (int m = 0; m < 2; m++) {
          reference(&ds, img, p, dy, dx, m, want);
          if (near(got, want, n)) {
            matches++;
            seen_dy[dy + p]++;
            seen_dx[dx + p]++;
            seen_mirror[m]++;
          }
        }
    if (matches != 1)
      test_failed(__FILE__, __LINE__, "sample %lld matches %d of the possible crops/flips",
                  (long long)s, matches);
  }
  for (int i = 0; i <= 2 * p; i++) CHECK(seen_dy[i] > 0 && seen_dx[i] > 0);
  if (flip)
    CHECK(seen_mirror[0] > NIMG / 3 && seen_mirror[1] > NIMG / 3);
  else
    CHECK(seen_mirror[1] == 0);
  free(got);
  free(want);
  free_ds(&ds);
}

TEST(pipeline_cifar_crop_then_flip_then_normalise) { check_augmented(3, 32, 32, 4, 1); }

TEST(pipeline_fmnist_padded_to_32_then_cropped) { check_augmented(1, 28, 28, 2, 0); }

/* Evaluation: canvas and normalisation only; the 28x28 image sits at rows/columns 2..29
 * and the border is the normalised 0 pixel. */
TEST(pipeline_eval_is_centred_and_normalised_only) {
  dpt_dataset_t ds;
  make_ds(&ds, 1, 28, 28);
  pipeline_t pipe;
  CHECK_OK(pipeline_init(&pipe, &ds, OUT, OUT, 4, 1, 5));
  float got[OUT * OUT], want[OUT * OUT];
  int64_t s = 7;
  uint8_t label;
  pipeline_batch(&pipe, &ds.train, &s, 1, PIPE_EVAL, 3, got, &label);
  reference(&ds, ds.train.images + 7 * 28 * 28, 0, 0, 0, 0, want);
  CHECK(near(got, want, OUT * OUT));
  CHECK_NEAR(got[0], -MEAN[0] / STD[0], 1e-6);
  CHECK_NEAR(got[2 * OUT + 2], (ds.train.images[7 * 28 * 28] / 255.0 - MEAN[0]) / STD[0], 1e-6);
  free_ds(&ds);
}

/* A sample's draws depend on (seed, round, sample) only: its batch position does not
 * matter, another round changes them. */
TEST(pipeline_draws_follow_the_sample_not_the_batch_slot) {
  dpt_dataset_t ds;
  make_ds(&ds, 3, 32, 32);
  pipeline_t pipe;
  CHECK_OK(pipeline_init(&pipe, &ds, OUT, OUT, 4, 1, 5));
  enum { B = 8, N = OUT * OUT * 3 };
  static float fwd[B * N], rev[B * N], other[B * N];
  int64_t idx[B], ridx[B];
  uint8_t labels[B];
  for (int i = 0; i < B; i++) {
    idx[i] = 10 + i;
    ridx[i] = 10 + B - 1 - i;
  }
  pipeline_batch(&pipe, &ds.train, idx, B, PIPE_AUGMENT, 3, fwd, labels);
  pipeline_batch(&pipe, &ds.train, ridx, B, PIPE_AUGMENT, 3, rev, labels);
  for (int i = 0; i < B; i++)
    CHECK(memcmp(fwd + i * N, rev + (B - 1 - i) * N, sizeof(float) * N) == 0);
  pipeline_batch(&pipe, &ds.train, idx, B, PIPE_AUGMENT, 4, other, labels);
  CHECK(memcmp(fwd, other, sizeof fwd) != 0);
  free_ds(&ds);
}
