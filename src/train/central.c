/* central.c - centralized training: one model, the global batch's gradient summed over
 * TRAIN_LEAF-image leaves along the fixed tree across ranks, one optimizer step. */
#include <string.h>

#include "../core/rng.h"
#include "method.h"

void train_batch_leaf(void *ctx, int64_t leaf, float *out) {
  const train_batch_t *b = ctx;
  trainer_t *t = b->t;
  train_scratch_t *x = &t->scratch;
  int64_t first = leaf * TRAIN_LEAF;
  int n = (int)(b->n - first < TRAIN_LEAF ? b->n - first : TRAIN_LEAF);
  int correct = 0;
  pipeline_batch(&t->pipe, &t->ds->train, b->batch + first, n, PIPE_AUGMENT, b->round,
                 x->input, x->labels);
  x->leaf_loss[leaf] = nn_forward_backward(&t->model, b->params, out, x->input, x->labels,
                                           n, &correct);
  x->leaf_correct[leaf] = correct;
}

float train_mean_factor(int64_t n) { return (float)(1.0 / (double)n); }

void train_scale(float *x, size_t n, float by) {
  for (size_t i = 0; i < n; i++) x[i] *= by;
}

/* A centralized step; item_base >= 0 records the leaves' losses for the epoch. */
static int central_step(trainer_t *t, const int64_t *batch, int64_t nb, double lr,
                        uint64_t round, int64_t item_base) {
  train_state_t *s = &t->state;
  int64_t leaves = train_ceil_div(nb, TRAIN_LEAF), lo, hi;
  dist_node(&t->dist, leaves, &lo, &hi);
  /* the gradient sum in tree order, each rank computing its block's leaves */
  train_batch_t b = {t, s->params, batch, nb, round};
  tree_reduce(&t->tree, &t->dist, leaves, train_batch_leaf, &b, t->scratch.grads,
              train_mean_factor(nb));
  if (item_base >= 0)
    for (int64_t l = lo; l < hi; l++) {
      s->item_loss[item_base + l] = t->scratch.leaf_loss[l];
      s->item_correct[item_base + l] = t->scratch.leaf_correct[l];
    }
  return opt_step(&t->hp, &t->model, s->params, t->scratch.grads, &s->opt, lr);
}

int trainer_step(trainer_t *t, const int64_t *batch, int64_t nb, double lr) {
  return central_step(t, batch, nb, lr, 0, -1);
}

static train_result_t central_epoch(trainer_t *t, double lr, int64_t *items) {
  const dpt_config_t *cfg = t->cfg;
  train_state_t *s = &t->state;
  int64_t *order = t->scratch.order;
  memcpy(order, t->train_idx, sizeof(int64_t) * t->ntrain);
  /* the key of LocalSGD worker 0's first pass: K = 1 LocalSGD sees this very order */
  uint64_t round = (uint64_t)s->epoch * PASS_STRIDE;
  rng_shuffle(order, t->ntrain, rng_key(cfg->seed, RNG_SHUFFLE, 1, round));
  int64_t stride = train_ceil_div(cfg->batch_size, TRAIN_LEAF);
  int64_t steps = train_ceil_div(t->ntrain, cfg->batch_size);
  *items = steps * stride;
  while (s->step < steps) {
    int64_t first = s->step * cfg->batch_size;
    int64_t nb = t->ntrain - first < cfg->batch_size ? t->ntrain - first : cfg->batch_size;
    if (central_step(t, order + first, nb, lr, round, s->step * stride) < 0)
      return TRAIN_FAILED;
    s->step++;
    if (s->step < steps && train_stop_now(t)) return TRAIN_STOPPED;
  }
  return TRAIN_FINISHED;
}

static int64_t central_images(const trainer_t *t) { return t->ntrain; }
static int central_h(const trainer_t *t) { (void)t; return 0; }
static int64_t central_reductions(const trainer_t *t) {
  return train_ceil_div(t->ntrain, t->cfg->batch_size);
}

const train_method_t train_central = {central_epoch, central_images, central_h,
                                      central_reductions, NULL};
