/* central.c - centralized training: one model, the global batch's gradient summed over
 * leaves of t->leaf images along the fixed tree across ranks, one optimizer step; batch
 * norm's running statistics then follow the leaves in order. */
#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "method.h"

/* ---------------------------------------------------------------- replicas */

/* The leaves of replica j of R over a batch of L leaves: [j*L/R, (j+1)*L/R), whole
 * leaves (R divides a full batch's leaves; the epoch's last batch may split unevenly). */
static void replica_leaves(int64_t j, int64_t R, int64_t L, int64_t *lo, int64_t *hi) {
  *lo = j * L / R;
  *hi = (j + 1) * L / R;
}

/* The context of replica_input: the batch, its leaves and the replicas' scale. */
typedef struct {
  trainer_t *t;
  train_batch_t *b;
  int64_t leaves;
  float by;
} replicas_t;

/* train_input_fn: replica j's gradient over its leaves (tree order), times R / nb: its
 * mean when the replicas are equal, and in general the replicas' mean is the batch's */
static void replica_input(void *ctx, int64_t j, float *x) {
  const replicas_t *r = ctx;
  trainer_t *t = r->t;
  int64_t lo, hi;
  replica_leaves(j, t->cfg->replicas, r->leaves, &lo, &hi);
  if (hi == lo) {
    memset(x, 0, sizeof(float) * t->model.nparams);
    return;
  }
  tree_sum(&t->tree, lo, hi, train_batch_leaf, r->b, x);
  train_scale(x, t->model.nparams, r->by);
}

/* comm.compress: the R replicas' compressed gradients, their mean into grads; [*lo, *hi)
 * the leaves this rank computed (its replicas'). */
static int replica_reduce(trainer_t *t, train_batch_t *b, int64_t leaves,
                          const ledger_round_t *row, int64_t *lo, int64_t *hi) {
  train_exchange_t *x = &t->state.xch[TRAIN_X_GRAD];
  int64_t R = t->cfg->replicas, unused;
  replicas_t r = {t, b, leaves, (float)((double)R / (double)b->n)};
  replica_leaves(x->first, R, leaves, lo, &unused);
  replica_leaves(x->first + x->nlocal - 1, R, leaves, &unused, hi);
  return train_exchange_round(t, x, replica_input, &r, t->scratch.grads, row);
}

/* ---------------------------------------------------------------- the step */

/* A centralized step; item_base >= 0 records the leaves' losses for the epoch. */
static int central_step(trainer_t *t, const int64_t *batch, int64_t nb, double lr,
                        uint64_t round, int64_t item_base) {
  train_state_t *s = &t->state;
  int64_t leaves = train_ceil_div(nb, t->leaf), lo, hi;
  train_batch_t b = {t, s->params, batch, nb, round};
  int64_t per_epoch = train_ceil_div(t->ntrain, t->cfg->batch_size);
  int64_t floats = (int64_t)t->model.nparams;
  /* one reduction of the gradient: per replica of a deployment (participants 0) */
  ledger_round_t row = {.step = (int64_t)s->epoch * per_epoch + s->step + 1,
                        .epoch = s->epoch + 1, .kind = LEDGER_GRADIENT,
                        .collective = LEDGER_ALLREDUCE, .participants = 0,
                        .floats = floats, .bytes = train_payload_bytes(floats), .images = nb};
  if (s->xch[TRAIN_X_GRAD].on) {
    if (replica_reduce(t, &b, leaves, &row, &lo, &hi) < 0) return -1;
  } else {
    /* the gradient sum in tree order, each rank computing its block's leaves */
    comm_node(&t->dist, leaves, &lo, &hi);
    tree_reduce(&t->tree, &t->dist, leaves, train_batch_leaf, &b, t->scratch.grads,
                train_mean_factor(nb));
    train_round(t, &row);
  }
  if (item_base >= 0)
    for (int64_t l = lo; l < hi; l++) {
      s->item_loss[item_base + l] = t->scratch.leaf_loss[l];
      s->item_correct[item_base + l] = t->scratch.leaf_correct[l];
    }
  train_bn_collect(t, leaves);
  if (opt_step(&t->hp, &t->model, s->params, t->scratch.grads, &s->opt, lr) < 0) return -1;
  train_bn_apply(t, s->params, leaves);
  return 0;
}

int trainer_step(trainer_t *t, const int64_t *batch, int64_t nb, double lr) {
  return central_step(t, batch, nb, lr, 0, -1);
}

static train_result_t central_epoch(trainer_t *t, int64_t *items) {
  const dpt_config_t *cfg = t->cfg;
  train_state_t *s = &t->state;
  int64_t *order = t->scratch.order;
  train_round_mark(t);
  memcpy(order, t->train_idx, sizeof(int64_t) * t->ntrain);
  /* the key of LocalSGD worker 0's first pass: K = 1 LocalSGD sees this very order */
  uint64_t round = (uint64_t)s->epoch * PASS_STRIDE;
  rng_shuffle(order, t->ntrain, rng_key(cfg->seed, RNG_SHUFFLE, 1, round));
  int64_t stride = train_ceil_div(cfg->batch_size, t->leaf);
  int64_t steps = train_ceil_div(t->ntrain, cfg->batch_size);
  *items = steps * stride;
  while (s->step < steps) {
    int64_t first = s->step * cfg->batch_size;
    int64_t nb = t->ntrain - first < cfg->batch_size ? t->ntrain - first : cfg->batch_size;
    if (central_step(t, order + first, nb, train_lr(t, s->epoch, s->step), round,
                     s->step * stride) < 0)
      return TRAIN_FAILED;
    s->step++;
    train_step_done(t);
    if (s->step < steps && train_stop_now(t)) return TRAIN_STOPPED;
  }
  return TRAIN_FINISHED;
}

static int64_t central_images(const trainer_t *t) { return t->ntrain; }
static int central_h(const trainer_t *t) { (void)t; return 0; }
/* The steps of an epoch, each one gradient reduction (the epoch's averagings). */
static int64_t central_steps(const trainer_t *t) {
  return train_ceil_div(t->ntrain, t->cfg->batch_size);
}
static int64_t central_step_images(const trainer_t *t, int64_t s) {
  int64_t left = t->ntrain - s * t->cfg->batch_size;
  return left < t->cfg->batch_size ? left : t->cfg->batch_size;
}
static int64_t central_rounds(const trainer_t *t) {
  return t->state.epoch * central_steps(t) + t->state.step;
}
static int central_round_after(const trainer_t *t, int64_t s) { (void)t, (void)s; return 1; }

static int64_t central_batch(const trainer_t *t) { return t->cfg->batch_size; }

/* comm.compress: R replicas, dealt over the ranks (P divides R), each a whole number of
 * the batch's leaves (R divides them). */
static int init_replicas(trainer_t *t) {
  const dpt_config_t *cfg = t->cfg;
  int64_t leaves = train_ceil_div(cfg->batch_size, t->leaf);
  if (cfg->comm_compress.kind == COMP_NONE) return 0;
  if (cfg->replicas % t->nranks != 0)
    return dpt_fail("comm.replicas = %d replicas cannot be spread over %d MPI ranks: the "
                    "number of ranks must divide comm.replicas", cfg->replicas, t->nranks);
  if (leaves % cfg->replicas != 0)
    return dpt_fail("comm.replicas = %d must divide the global batch's %lld leaves of %d "
                    "images (model.batch_size = %d)", cfg->replicas, (long long)leaves,
                    t->leaf, cfg->batch_size);
  return train_exchange_init(t, TRAIN_X_GRAD, cfg->replicas);
}

static int central_init(trainer_t *t) {
  const dpt_config_t *cfg = t->cfg;
  if (cfg->batch_size % t->nranks != 0)
    return dpt_fail("model.batch_size = %d cannot be split evenly over %d MPI ranks: the "
                    "number of ranks must divide the batch", cfg->batch_size, t->nranks);
  t->tree_width = train_ceil_div(cfg->batch_size, t->leaf);
  t->item_cap = train_ceil_div(t->ntrain, cfg->batch_size) * t->tree_width;
  return init_replicas(t);
}

static void central_free(trainer_t *t) { train_exchange_free(&t->state.xch[TRAIN_X_GRAD]); }

static void central_progress(const trainer_t *t, int64_t i, char *buf, size_t cap) {
  (void)t, (void)i;
  snprintf(buf, cap, "%s", "");
}

const train_method_t train_central = {
    .name = "centralized",
    .init = central_init,
    .free = central_free,
    .batch = central_batch,
    .epoch = central_epoch,
    .images = central_images,
    .h = central_h,
    .averagings = central_steps,
    .steps = central_steps,
    .step_images = central_step_images,
    .rounds = central_rounds,
    .round_after = central_round_after,
    .progress = central_progress,
};
