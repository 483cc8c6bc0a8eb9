/* method.h - inside src/train: the interface of a training method (central.c,
 * local.c), which the set-up (trainer.c), the epoch driver (run.c), the progress line
 * (report.c) and the checkpoint (checkpoint.c) call, and the pieces the methods share:
 * the leaf step (leaf.c) and the stop vote (vote.c). A new local method is a new outer
 * step (a row of optim/outer.c) or a new train_method_t. */
#ifndef DPT_TRAIN_METHOD_H
#define DPT_TRAIN_METHOD_H

#include <hdf5.h>

#include "../comm/compress.h"
#include "checkpoint.h"
#include "trainer.h"

/* Passes over a shard per epoch are counted below this, to key augmentation draws. */
#define PASS_STRIDE 1024

/* A training method: everything the shared code (trainer.c, run.c, report.c,
 * checkpoint.c) asks of it. trainer_init chooses the one a config describes (K = 0:
 * train_central, K >= 1: train_local) and no other place looks at K. A new epoch-level
 * method is a new train_method_t in a file of its own. */
struct train_method {
  const char *name;
  /* Set-up in trainer_init after the global model and its optimizer exist: whatever the
   * method's steps need, t->item_cap (items per epoch, at most) and t->tree_width (the
   * most leaves of one tree sum). Collective. */
  int (*init)(trainer_t *t);
  /* Frees what init allocated (also after a failed init). */
  void (*free)(trainer_t *t);
  /* Images of one model's optimizer step: the batch of the learning-rate scaling rule
   * (optim.lr_scaling) and of the tree's leaves. */
  int64_t (*batch)(const trainer_t *t);
  /* Runs (the rest of) epoch state.epoch from state.step, each step at train_lr's rate
   * and followed by train_step_done: TRAIN_FINISHED at its end, TRAIN_STOPPED when the
   * stop vote ended it after state.step, TRAIN_FAILED. *items: the epoch's count of
   * per-item results (state.item_loss); those of step s are the contiguous range
   * [s * W, (s + 1) * W), W = *items / steps (the interval means rely on it). */
  train_result_t (*epoch)(trainer_t *t, int64_t *items);
  /* Training images of a whole epoch (the train loss and accuracy divide by it). */
  int64_t (*images)(const trainer_t *t);
  /* Optimizer steps of an epoch (every epoch has as many), and the training images of
   * its step s, all participants together (they sum to images()). */
  int64_t (*steps)(const trainer_t *t);
  int64_t (*step_images)(const trainer_t *t, int64_t s);
  /* Communication rounds of the run so far, and whether step s of the current epoch
   * ends with one (centralized: every step's gradient reduction; local: an averaging,
   * or a synchronous step of post-local SGD). */
  int64_t (*rounds)(const trainer_t *t);
  int (*round_after)(const trainer_t *t, int64_t s);
  /* For the metrics of the epoch that just ran (state.epoch not yet advanced): its H
   * (0 centralized) and its averagings (centralized: its gradient reductions). */
  int (*h)(const trainer_t *t);
  int64_t (*averagings)(const trainer_t *t);
  /* After an epoch's validation: the next epoch's H (dynamic H). NULL: nothing. */
  void (*after_epoch)(trainer_t *t);
  /* The method's part of the progress line of the epoch just finished (metrics row i,
   * state.epoch advanced), "" for none. */
  void (*progress)(const trainer_t *t, int64_t i, char *buf, size_t cap);
  /* checkpoint.h5 beyond the global rows: writing (collective, through the checkpoint's
   * writer) and reading this rank's share back; NULL: nothing more. */
  int (*ckpt_put)(ckpt_writer_t *w, trainer_t *t);
  int (*ckpt_get)(trainer_t *t, hid_t file);
};

extern const train_method_t train_central, train_local;

/* After each step of an epoch (state.step counts it): the evaluation every
 * eval.every_rounds rounds (interval.c). Collective. */
void train_step_done(trainer_t *t);
/* At the epoch's end, with its items collected in order on every rank: the /intervals
 * rows of metrics.every_steps (interval.c). */
void train_intervals(trainer_t *t, const double *item_loss, const int64_t *item_correct,
                     int64_t items);

/* Agreed on every rank: stop after this step? (vote.c) */
int train_stop_now(trainer_t *t);
/* A vote still in flight completes before the ranks part. */
void train_vote_finish(trainer_t *t);

/* A batch as tree leaves of t->leaf images: the context of train_batch_leaf. */
typedef struct {
  trainer_t *t;
  const float *params;
  const int64_t *batch;       /* indices into ds->train */
  int64_t n;
  uint64_t round;             /* augmentation round of the batch's images */
} train_batch_t;

/* tree_leaf_fn (leaf.c): the gradient sum of leaf `leaf` of the batch into out; its loss
 * and correct count into scratch.leaf_loss/leaf_correct[leaf]. */
void train_batch_leaf(void *ctx, int64_t leaf, float *out);
/* Batch norm, after a step over `leaves` leaves: each leaf's statistics (scratch.leaf_bn)
 * move the running statistics in params, leaf after leaf. train_bn_collect first gathers
 * the leaves other ranks computed (centralized: collective). No-ops without batch norm. */
void train_bn_collect(trainer_t *t, int64_t leaves);
void train_bn_apply(trainer_t *t, float *params, int64_t leaves);
/* The mean of a sum over n images: one float multiply by the rounded reciprocal, the
 * same on every rank. */
float train_mean_factor(int64_t n);
void train_scale(float *x, size_t n, float by);

/* The ledger (rounds.c): train_round_mark starts the measured interval (an epoch's
 * start); train_round appends round r to state.ledger with the seconds since the
 * previous round (compute) and the comm layer's seconds in them (comm). */
void train_round_mark(trainer_t *t);
void train_round(trainer_t *t, const ledger_round_t *r);
/* Bytes of a dense float32 payload of n floats as it travels. */
int64_t train_payload_bytes(int64_t floats);

/* The compressed exchanges (exchange.c). train_exchange_init sets exchange `which`
 * (TRAIN_X_GRAD: comm.compress, TRAIN_X_OUTER: model.outer.compress) up for K
 * participants, dealt over the ranks as comm_node deals K items; nothing when its key
 * says none. Fails naming the key (a keep list that names no tensor). */
int train_exchange_init(trainer_t *t, int which, int K);
/* The same into x for the n floats of `tensors` (offsets into those n), random streams
 * keyed by `part` (0: the whole model's): a Streaming DiLoCo fragment's exchange. */
int train_exchange_init_part(trainer_t *t, train_exchange_t *x, int which, int K,
                             const nn_tensor_t *tensors, int ntensors, size_t n,
                             uint64_t part);
void train_exchange_free(train_exchange_t *x);
/* "comm_compress", "outer_compress": the config key's group in checkpoint.h5. */
const char *train_exchange_group(int which);
/* Participant k's vector (n floats) into x: a round's input. */
typedef void (*train_input_fn)(void *ctx, int64_t k, float *x);
/* One compressed round over the K participants, each rank encoding its own (input, encode
 * and decode of participant k on the rank that holds it, the decodes summed along the
 * fixed tree over K): the mean every receiver sees into out (n floats, every rank), and
 * one ledger row per part of each stage from the template row (step, epoch, kind; its
 * images on the first row). Collective; -1 on every rank when a participant's values
 * were refused (NaN, Inf, out of the format's range). */
int train_exchange_round(trainer_t *t, train_exchange_t *x, train_input_fn in, void *ctx,
                         float *out, const ledger_round_t *row);

/* Streaming DiLoCo (stream.c). train_stream_cut: the F + 1 cuts of the flat buffer into
 * lo, each fragment whole tensors, cut at the tensor start nearest f N / F (N the trained
 * floats; the lower on a tie; at least one tensor each), the model state in the last;
 * fails when F exceeds the trained tensors. Of step s (0-based) of an epoch of T steps
 * with H local steps: train_stream_lands, whether fragment f's outer step lands after it
 * (every H steps from floor((f + 1) H / F) steps, and at the epoch's last step);
 * train_stream_sends, the steps the round fragment f sends after it overlaps (tau, or 0
 * for the epoch's flush), -1 when it sends none; train_stream_prev, the last step before
 * s after which a fragment sends (-1: none this epoch). */
int train_stream_cut(const nn_model_t *m, int F, size_t *lo);
int train_stream_lands(const train_stream_t *st, int H, int T, int f, int64_t s);
int train_stream_sends(const train_stream_t *st, int H, int T, int f, int64_t s);
int64_t train_stream_prev(const train_stream_t *st, int H, int T, int64_t s);

static inline int64_t train_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

#endif
