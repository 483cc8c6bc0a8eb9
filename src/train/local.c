/* local.c - the local methods: K workers take local steps on their shards and are
 * averaged every H steps along the fixed tree over K (LocalSGD), the average going
 * through an outer step (SlowMo, DiLoCo's Nesterov; optim/outer.h); post-local SGD runs
 * its first epochs synchronously; dynamic H changes H between epochs. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "../data/shard.h"
#include "method.h"

/* ---------------------------------------------------------------- set-up */

/* Shards and T, the steps of an epoch: the longest shard's batches. */
static int init_shards(trainer_t *t) {
  const dpt_config_t *cfg = t->cfg;
  int K = t->K, ncls = t->ds->num_classes;
  t->shard_offsets = dpt_alloc(sizeof(int64_t) * (K + 1));
  t->shard_idx = dpt_alloc(sizeof(int64_t) * t->ntrain);
  if (shard_build(&cfg->sharding, t->train_idx, t->ntrain, t->ds->train.labels, ncls, K,
                  cfg->seed, t->shard_offsets, t->shard_idx) < 0)
    return dpt_wrap("data.sharding");
  t->class_hist = dpt_alloc(sizeof(int64_t) * K * ncls);
  int64_t T = 0;
  for (int k = 0; k < K; k++) {
    for (int64_t j = t->shard_offsets[k]; j < t->shard_offsets[k + 1]; j++)
      t->class_hist[(int64_t)k * ncls + t->ds->train.labels[t->shard_idx[j]]]++;
    int64_t steps = train_ceil_div(t->shard_offsets[k + 1] - t->shard_offsets[k],
                                   cfg->worker_batch_size);
    if (steps > T) T = steps;
  }
  t->T = (int)T;
  return 0;
}

static int local_init(trainer_t *t) {
  const dpt_config_t *cfg = t->cfg;
  size_t np = t->model.nparams;
  if (t->K % t->nranks != 0)
    return dpt_fail("model.num_workers = %d workers cannot be spread over %d MPI ranks: the "
                    "number of ranks must divide K", t->K, t->nranks);
  if (init_shards(t) < 0) return -1;
  int64_t lo, hi;
  comm_node(&t->dist, t->K, &lo, &hi);
  t->first_worker = (int)lo;
  t->nlocal = (int)(hi - lo);
  t->workers = dpt_alloc(sizeof(worker_t) * (t->nlocal + 1));
  for (int i = 0; i < t->nlocal; i++) {
    worker_t *w = &t->workers[i];
    w->id = t->first_worker + i;
    w->params = dpt_alloc(sizeof(float) * np);
    memcpy(w->params, t->state.params, sizeof(float) * np);
    opt_state_init(&w->opt, np, cfg->work_optimizer);
    if (cfg->local_from_epoch > 0) w->grad = dpt_alloc(sizeof(float) * np);
    w->shard = t->shard_idx + t->shard_offsets[w->id];
    w->nshard = t->shard_offsets[w->id + 1] - t->shard_offsets[w->id];
    w->order = dpt_alloc(sizeof(int64_t) * (w->nshard + 1));
  }
  t->outer = (opt_outer_t){cfg->outer_type, cfg->outer_lr, cfg->outer_momentum};
  for (int i = 0; i < outer_def(t->outer.kind)->nstate; i++)
    t->state.outer_bufs[i] = dpt_alloc(sizeof(float) * np);
  /* one tree serves a worker batch's leaves and the K workers' averaging */
  int64_t leaves = train_ceil_div(cfg->worker_batch_size, t->leaf);
  t->tree_width = leaves > t->K ? leaves : t->K;
  t->item_cap = (int64_t)t->T * t->K * leaves;
  dynh_init(&t->dyn, &cfg->dynamic, cfg->local_steps);
  t->state.H = t->dyn.h; /* local_steps: every strategy starts from it, as in the seed */
  opt_hparams_for(&t->local_hp, &cfg->optim, cfg->work_optimizer);
  /* the K workers are the participants of both exchanges */
  if (cfg->local_from_epoch > 0 && train_exchange_init(t, TRAIN_X_GRAD, t->K) < 0) return -1;
  return train_exchange_init(t, TRAIN_X_OUTER, t->K);
}

static void local_free(trainer_t *t) {
  for (int i = 0; i < TRAIN_NX; i++) train_exchange_free(&t->state.xch[i]);
  for (int i = 0; i < t->nlocal; i++) {
    dpt_free(t->workers[i].params);
    dpt_free(t->workers[i].order);
    dpt_free(t->workers[i].grad);
    opt_state_free(&t->workers[i].opt);
  }
  dpt_free(t->workers);
  dpt_free(t->shard_offsets);
  dpt_free(t->shard_idx);
  dpt_free(t->class_hist);
}

/* ---------------------------------------------------------------- the ledger */

/* Images worker k trains on at step s of an epoch (worker_step's walk): its shard in
 * passes of ceil(n/b) batches from the epoch's start, the last batch of a pass short. */
static int64_t worker_images(const trainer_t *t, int k, int64_t s) {
  int64_t b = t->cfg->worker_batch_size, n = t->shard_offsets[k + 1] - t->shard_offsets[k];
  if (n == 0) return 0;
  int64_t left = n - s % train_ceil_div(n, b) * b;
  return left < b ? left : b;
}

/* The row of a round at step s of the epoch, the previous one after step `prev` (-1:
 * the epoch's start): the images of all K workers in between, computed from the shard
 * sizes, so every rank records the same row without communicating; a dense payload of
 * `floats` floats. */
static ledger_round_t round_row(const trainer_t *t, ledger_kind_t kind, int64_t floats,
                                int64_t prev, int64_t s) {
  int64_t images = 0;
  for (int64_t j = prev + 1; j <= s; j++)
    for (int k = 0; k < t->K; k++) images += worker_images(t, k, j);
  const train_state_t *st = &t->state;
  return (ledger_round_t){.step = (int64_t)st->epoch * t->T + s + 1, .epoch = st->epoch + 1,
                          .kind = kind, .collective = LEDGER_ALLREDUCE, .participants = t->K,
                          .floats = floats, .bytes = train_payload_bytes(floats),
                          .images = images};
}

/* ---------------------------------------------------------------- averaging */

static void start_pass(const trainer_t *t, worker_t *w) {
  memcpy(w->order, w->shard, sizeof(int64_t) * w->nshard);
  uint64_t round = (uint64_t)t->state.epoch * PASS_STRIDE + (uint64_t)w->pass;
  rng_shuffle(w->order, w->nshard, rng_key(t->cfg->seed, RNG_SHUFFLE, 1 + (uint64_t)w->id, round));
  w->pos = 0;
}

/* The whole optimizer state: every buffer its row declares, and the step count. */
static void reset_momentum(trainer_t *t) {
  for (int i = 0; i < t->nlocal; i++) opt_state_zero(&t->workers[i].opt);
}

/* What a worker leaf of the averaging tree gives: its parameters, its gradient, or
 * state buffer i of its optimizer (PART_STATE + i). */
typedef enum { PART_PARAMS, PART_GRAD, PART_STATE } worker_part_t;

static float *worker_part(worker_t *w, int what) {
  if (what >= PART_STATE) return w->opt.buf[what - PART_STATE];
  return what == PART_GRAD ? w->grad : w->params;
}

/* The context of worker_leaf: which part of the workers a tree over them sums. */
typedef struct {
  trainer_t *t;
  int what;                    /* a worker_part_t, PART_STATE + i for buffer i */
} worker_sum_t;

/* tree leaves over workers: a part of worker id */
static void worker_leaf(void *ctx, int64_t id, float *out) {
  const worker_sum_t *ws = ctx;
  worker_t *w = &ws->t->workers[id - ws->t->first_worker];
  memcpy(out, worker_part(w, ws->what), sizeof(float) * ws->t->model.nparams);
}

/* sum over all K workers, in tree order, divided by K, into out (every rank) */
static void worker_mean(trainer_t *t, int what, float *out) {
  worker_sum_t ws = {t, what};
  tree_reduce(&t->tree, &t->dist, t->K, worker_leaf, &ws, out, 1.0f);
  const float k = (float)t->K;
  for (size_t i = 0; i < t->model.nparams; i++) out[i] /= k;
}

/* Deviation strategy: mean_k |x_k - xa|^2 / |xa|^2 at this averaging, summed per worker
 * in double and collected in worker order, so it is the same on every P. */
static void measure_deviation(trainer_t *t, const float *xa) {
  double *dev = dpt_alloc(sizeof(double) * t->K), norm = 0;
  for (int i = 0; i < t->nlocal; i++) {
    const float *x = t->workers[i].params;
    double d = 0;
    for (size_t j = 0; j < t->model.ngrad; j++) d += ((double)x[j] - xa[j]) * ((double)x[j] - xa[j]);
    dev[t->workers[i].id] = d;
  }
  comm_collect_f64(&t->dist, dev, (size_t)t->K);
  for (size_t j = 0; j < t->model.ngrad; j++) norm += (double)xa[j] * xa[j];
  double mean = 0;
  for (int k = 0; k < t->K; k++) mean += dev[k];
  dpt_free(dev);
  t->state.deviation_sum += norm > 0 ? mean / t->K / norm : 0;
  t->state.deviation_count++;
}

/* Every worker's state part `what` becomes the workers' mean. */
static void average_part(trainer_t *t, int what) {
  float *mean = t->scratch.grads;
  worker_mean(t, what, mean);
  for (int i = 0; i < t->nlocal; i++)
    memcpy(worker_part(&t->workers[i], what), mean, sizeof(float) * t->model.nparams);
}

/* Batch norm's running statistics (the model state past ngrad) become the workers' mean
 * (the averaging of post-local SGD's synchronous steps: the gradient mean leaves them). */
static void average_model_state(trainer_t *t) {
  size_t ng = t->model.ngrad, np = t->model.nparams;
  if (ng == np) return;
  float *mean = t->scratch.grads;
  worker_mean(t, PART_PARAMS, mean);
  for (int i = 0; i < t->nlocal; i++)
    memcpy(t->workers[i].params + ng, mean + ng, sizeof(float) * (np - ng));
}

/* train_input_fn of model.outer.compress: worker k's pseudo-gradient x0 - x_k */
static void delta_input(void *ctx, int64_t k, float *x) {
  const trainer_t *t = ctx;
  const float *x0 = t->state.params, *xk = t->workers[k - t->first_worker].params;
  for (size_t i = 0; i < t->model.nparams; i++) x[i] = x0[i] - xk[i];
}

/* The workers' mean into xa: dense (model.outer.compress: none, today's average, its
 * ledger row left to the caller), or x0 minus the compressed mean pseudo-gradient, its
 * rows recorded from `row`. */
static int average_params(trainer_t *t, float *xa, ledger_round_t *row) {
  train_exchange_t *x = &t->state.xch[TRAIN_X_OUTER];
  if (!x->on) {
    worker_mean(t, PART_PARAMS, xa);
    return 0;
  }
  if (train_exchange_round(t, x, delta_input, t, xa, row) < 0) return -1;
  const float *x0 = t->state.params;
  for (size_t i = 0; i < t->model.nparams; i++) xa[i] = x0[i] - xa[i];
  row->images = 0; /* the momentum's row, if any, follows the parameters' */
  return 0;
}

/* The outer step moves the trained parameters; the model state (batch norm's running
 * statistics) takes the plain average, whatever the outer step. */
int trainer_average(trainer_t *t, double lr) {
  train_state_t *s = &t->state;
  size_t np = t->model.nparams, ng = t->model.ngrad;
  float *xa = t->scratch.grads;
  int64_t floats = s->xch[TRAIN_X_OUTER].on ? 0 : (int64_t)np;
  /* this round at step s->step; H steps make a round, the epoch's last step ends one */
  ledger_round_t row = round_row(t, opt_outer_is_plain(&t->outer) ? LEDGER_AVERAGE : LEDGER_OUTER,
                                 0, s->step / s->H * s->H - 1, s->step);
  if (average_params(t, xa, &row) < 0) return -1;
  if (dynh_def(t->dyn.p.kind)->needs_deviation) measure_deviation(t, xa);
  opt_outer_step_bufs(&t->outer, ng, s->params, xa, s->outer_bufs, &s->outer_steps, lr);
  memcpy(s->params + ng, xa + ng, sizeof(float) * (np - ng));
  for (int i = 0; i < t->nlocal; i++) memcpy(t->workers[i].params, s->params, sizeof(float) * np);
  if (t->cfg->local_momentum == LOCAL_MOMENTUM_AVERAGE) {
    for (int b = 0; b < opt_def(t->local_hp.kind)->nstate; b++) average_part(t, PART_STATE + b);
    floats += (int64_t)np * opt_def(t->local_hp.kind)->nstate;
  } else if (t->cfg->local_momentum == LOCAL_MOMENTUM_RESET) {
    reset_momentum(t);
  }
  s->averagings_total++;
  if (floats) { /* the dense part: the parameters (uncompressed) and averaged state */
    row.floats = floats;
    row.bytes = train_payload_bytes(floats);
    train_round(t, &row);
  }
  return 0;
}

/* ---------------------------------------------------------------- the epoch */

/* Epoch-start resets, skipped when resuming in the middle of an epoch. */
static void local_epoch_start(trainer_t *t) {
  train_state_t *s = &t->state;
  /* the seed re-created its local optimizers at every epoch start, and with them SlowMo's
   * slow buffer: model.slowmo.reset_each_epoch is that whole reset */
  if (t->cfg->local_momentum == LOCAL_MOMENTUM_RESET_EPOCH || t->cfg->slowmo_reset_each_epoch)
    reset_momentum(t);
  if (t->cfg->slowmo_reset_each_epoch) {
    for (int b = 0; b < outer_def(t->outer.kind)->nstate; b++)
      memset(s->outer_bufs[b], 0, sizeof(float) * t->model.nparams);
    s->outer_steps = 0;
  }
  s->deviation_sum = 0;
  s->deviation_count = 0;
  s->epoch_averagings = 0;
  for (int i = 0; i < t->nlocal; i++) {
    t->workers[i].pass = 0;
    t->workers[i].pos = 0;
  }
}

/* Post-local SGD: the current epoch is synchronous (before model.work.local_from_epoch). */
static int sync_epoch(const trainer_t *t) {
  return t->state.epoch < t->cfg->local_from_epoch;
}

/* train_input_fn of comm.compress in post-local SGD: worker k's batch gradient */
static void worker_grad(void *ctx, int64_t k, float *x) {
  const trainer_t *t = ctx;
  memcpy(x, t->workers[k - t->first_worker].grad, sizeof(float) * t->model.nparams);
}

/* A synchronous step: the mean of the K workers' gradients in tree order (compressed by
 * comm.compress, the K workers its participants), then the same optimizer step on every
 * worker (their parameters and states are equal), as PyTorch's post_localSGD_hook does
 * before the switch. One communication round. */
static int sync_step(trainer_t *t, double lr) {
  float *g = t->scratch.grads;
  train_exchange_t *x = &t->state.xch[TRAIN_X_GRAD];
  ledger_round_t row = round_row(t, LEDGER_GRADIENT, (int64_t)t->model.nparams,
                                 t->state.step - 1, t->state.step);
  if (!x->on) {
    worker_mean(t, PART_GRAD, g);
    train_round(t, &row);
  } else if (train_exchange_round(t, x, worker_grad, t, g, &row) < 0) {
    return -1;
  }
  for (int i = 0; i < t->nlocal; i++) {
    worker_t *w = &t->workers[i];
    if (opt_step(&t->local_hp, &t->model, w->params, g, &w->opt, lr) < 0) return -1;
  }
  average_model_state(t);
  memcpy(t->state.params, t->workers[0].params, sizeof(float) * t->model.nparams);
  t->state.averagings_total++;
  t->state.epoch_averagings++;
  return 0;
}

/* Worker w's batch of step s: its gradient (into w->grad when synchronous, else a
 * local optimizer step), its leaves' losses into the epoch's items. */
static int worker_step(trainer_t *t, worker_t *w, int64_t s, double lr, int sync) {
  train_state_t *st = &t->state;
  int64_t b = t->cfg->worker_batch_size, stride = train_ceil_div(b, t->leaf);
  if (w->pos >= w->nshard) { /* out of data: the shard again, reshuffled */
    w->pass++;
    start_pass(t, w);
  }
  int64_t nb = w->nshard - w->pos < b ? w->nshard - w->pos : b;
  train_batch_t batch = {t, w->params, w->order + w->pos, nb,
                         (uint64_t)st->epoch * PASS_STRIDE + (uint64_t)w->pass};
  float *g = sync ? w->grad : t->scratch.grads;
  tree_sum(&t->tree, 0, train_ceil_div(nb, t->leaf), train_batch_leaf, &batch, g);
  w->pos += nb;
  train_scale(g, t->model.nparams, train_mean_factor(nb));
  if (!sync && opt_step(&t->local_hp, &t->model, w->params, g, &w->opt, lr) < 0) return -1;
  train_bn_apply(t, w->params, train_ceil_div(nb, t->leaf));
  /* per leaf, like the centralized mode, so K = 1 sums its loss the same way */
  int64_t base = (s * t->K + w->id) * stride;
  for (int64_t l = 0; l < train_ceil_div(nb, t->leaf); l++) {
    st->item_loss[base + l] = t->scratch.leaf_loss[l];
    st->item_correct[base + l] = t->scratch.leaf_correct[l];
  }
  return 0;
}

/* Whether step s of the current epoch ends with a communication round: every step of a
 * synchronous epoch, else an averaging after every H steps and at the epoch's end. */
static int local_round_after(const trainer_t *t, int64_t s) {
  return sync_epoch(t) || (s + 1) % t->state.H == 0 || s == t->T - 1;
}

static train_result_t local_epoch(trainer_t *t, int64_t *items) {
  train_state_t *s = &t->state;
  int64_t T = t->T;
  int sync = sync_epoch(t);
  if (s->step == 0) local_epoch_start(t);
  train_round_mark(t);
  /* a pass's order is a function of (seed, worker, epoch, pass): rebuilt, not stored */
  for (int i = 0; i < t->nlocal; i++) {
    int64_t pos = t->workers[i].pos;
    start_pass(t, &t->workers[i]);
    t->workers[i].pos = pos;
  }
  *items = T * t->K * train_ceil_div(t->cfg->worker_batch_size, t->leaf);
  while (s->step < T) {
    int64_t step = s->step;
    double lr = train_lr(t, s->epoch, step);
    for (int i = 0; i < t->nlocal; i++)
      if (worker_step(t, &t->workers[i], step, lr, sync) < 0) return TRAIN_FAILED;
    if (sync) {
      if (sync_step(t, lr) < 0) return TRAIN_FAILED;
    } else if (local_round_after(t, step)) {
      if (trainer_average(t, lr) < 0) return TRAIN_FAILED;
      s->epoch_averagings++;
    }
    s->step++;
    train_step_done(t);
    if (s->step < T && train_stop_now(t)) return TRAIN_STOPPED;
  }
  return TRAIN_FINISHED;
}

/* Images all workers train on in an epoch of T steps: a worker that runs out of data
 * starts its shard again, so this can exceed the training split. */
static int64_t local_images(const trainer_t *t) {
  int64_t b = t->cfg->worker_batch_size, total = 0;
  for (int k = 0; k < t->K; k++) {
    int64_t n = t->shard_offsets[k + 1] - t->shard_offsets[k], per_pass = train_ceil_div(n, b);
    total += t->T / per_pass * n + t->T % per_pass * b;
  }
  return total;
}

static int64_t local_steps(const trainer_t *t) { return t->T; }

/* Step s of an epoch: each worker's batch is the next b images of its pass, the last
 * batch of a pass what is left (a pass of n images takes ceil(n / b) steps). */
static int64_t local_step_images(const trainer_t *t, int64_t s) {
  int64_t b = t->cfg->worker_batch_size, total = 0;
  for (int k = 0; k < t->K; k++) {
    int64_t n = t->shard_offsets[k + 1] - t->shard_offsets[k], per_pass = train_ceil_div(n, b);
    if (n == 0) continue;
    int64_t j = s % per_pass;
    total += j == per_pass - 1 ? n - j * b : b;
  }
  return total;
}

static int64_t local_rounds(const trainer_t *t) { return t->state.averagings_total; }

/* The H a local epoch runs with state.H: at most T, the steps of an epoch. */
static int h_ran(const trainer_t *t) { return t->state.H < t->T ? t->state.H : t->T; }

/* A synchronous epoch averages every step; an H beyond the epoch's T steps ran as T (one
 * averaging, at the end). */
static int local_h(const trainer_t *t) {
  return sync_epoch(t) ? 1 : h_ran(t);
}
static int64_t local_averagings(const trainer_t *t) { return t->state.epoch_averagings; }

/* H changes once per epoch, after validation, for the next epoch. A feedback strategy
 * starts with the local steps: through post-local SGD's synchronous epochs H stays
 * model.work.local_steps, which the first local epoch runs. */
static void next_h(trainer_t *t) {
  train_state_t *s = &t->state;
  const run_metrics_t *m = &s->metrics;
  if (!dynh_is_schedule(t->dyn.p.kind) && s->epoch - 1 < t->cfg->local_from_epoch) return;
  double dev = s->deviation_count ? s->deviation_sum / (double)s->deviation_count : NAN;
  s->H = dynh_next(&t->dyn, s->epoch - 1, t->cfg->epochs, t->T, m->val_loss, m->val_acc,
                   (int)m->n, dev);
}

/* H, averagings; a capped H and an H about to change are said. m->h is the H that ran;
 * state.H the next epoch's, which runs as at most T steps. */
static void local_progress(const trainer_t *t, int64_t i, char *buf, size_t cap) {
  const train_state_t *s = &t->state;
  const run_metrics_t *m = &s->metrics;
  char capped[64] = "";
  if (m->h[i] == t->T && s->H > t->T)
    snprintf(capped, sizeof capped, " (H %d > the epoch's %d steps)", s->H, t->T);
  snprintf(buf, cap, "  H %lld%s avg %lld (total %lld)%s", (long long)m->h[i], capped,
           (long long)m->averagings[i], (long long)s->averagings_total,
           h_ran(t) != m->h[i] && !sync_epoch(t) ? "  next H changes" : "");
}

static int64_t local_batch(const trainer_t *t) { return t->cfg->worker_batch_size; }

const train_method_t train_local = {
    .name = "local",
    .init = local_init,
    .free = local_free,
    .batch = local_batch,
    .epoch = local_epoch,
    .images = local_images,
    .h = local_h,
    .averagings = local_averagings,
    .steps = local_steps,
    .step_images = local_step_images,
    .rounds = local_rounds,
    .round_after = local_round_after,
    .after_epoch = next_h,
    .progress = local_progress,
    .ckpt_put = ckpt_put_workers,
    .ckpt_get = ckpt_get_workers,
};
