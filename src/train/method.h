/* method.h - inside src/train: what the one epoch driver (run.c) asks of a training
 * method (central.c, local.c), and the pieces the methods share. A new local method
 * is a new outer step (optim/outer.h) or a new train_method_t. */
#ifndef DPT_TRAIN_METHOD_H
#define DPT_TRAIN_METHOD_H

#include "trainer.h"

/* Passes over a shard per epoch are counted below this, to key augmentation draws. */
#define PASS_STRIDE 1024

typedef struct {
  /* Runs (the rest of) epoch state.epoch from state.step: TRAIN_FINISHED at its end,
   * TRAIN_STOPPED when the stop vote ended it after state.step, TRAIN_FAILED. *items:
   * the epoch's count of per-item results (state.item_loss). */
  train_result_t (*epoch)(trainer_t *t, double lr, int64_t *items);
  /* Training images of a whole epoch (the train loss and accuracy divide by it). */
  int64_t (*images)(const trainer_t *t);
  /* For the metrics of the epoch that just ran (state.epoch not yet advanced): its H
   * (0 centralized) and its averagings (centralized: its gradient reductions). */
  int (*h)(const trainer_t *t);
  int64_t (*averagings)(const trainer_t *t);
  /* After an epoch's validation: the next epoch's H (dynamic H). NULL: nothing. */
  void (*after_epoch)(trainer_t *t);
} train_method_t;

extern const train_method_t train_central, train_local;

/* Local methods' set-up in trainer_init (shards, workers, outer step, dynamic H) and
 * teardown. */
int train_local_init(trainer_t *t);
void train_local_free(trainer_t *t);
/* Post-local SGD: the current epoch is synchronous (before model.work.local_from_epoch). */
int train_local_sync_epoch(const trainer_t *t);
/* The H a local epoch runs with state.H: at most T, the steps of an epoch. */
int train_local_h_ran(const trainer_t *t);

/* Agreed on every rank: stop after this step? (run.c) */
int train_stop_now(trainer_t *t);

/* A batch as tree leaves of TRAIN_LEAF images: the context of train_batch_leaf. */
typedef struct {
  trainer_t *t;
  const float *params;
  const int64_t *batch;       /* indices into ds->train */
  int64_t n;
  uint64_t round;             /* augmentation round of the batch's images */
} train_batch_t;

/* tree_leaf_fn: the gradient sum of leaf `leaf` of the batch into out; its loss and
 * correct count into scratch.leaf_loss/leaf_correct[leaf]. */
void train_batch_leaf(void *ctx, int64_t leaf, float *out);
/* The mean of a sum over n images: one float multiply by the rounded reciprocal, the
 * same on every rank. */
float train_mean_factor(int64_t n);
void train_scale(float *x, size_t n, float by);

static inline int64_t train_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

#endif
