/* trainer.c - the training run (see trainer.h). */
#include "trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "../data/shard.h"
#include "checkpoint.h"
#include "../io/h5util.h"

#define INPUT_SIZE 32
/* Passes over a shard per epoch are counted below this, to key augmentation draws. */
#define PASS_STRIDE 1024

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* A random, seed-fixed validation split of the training images; both parts sorted so
 * that an epoch's shuffle alone decides the order. */
static void split_train_val(trainer_t *t) {
  int64_t n = t->ds->train.n;
  int64_t *perm = dpt_alloc(sizeof(int64_t) * n);
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  rng_shuffle(perm, n, rng_key(t->cfg->seed, RNG_SPLIT, 0, 0));
  t->nval = (int64_t)llround(t->cfg->val_fraction * (double)n);
  t->ntrain = n - t->nval;
  t->val_idx = dpt_alloc(sizeof(int64_t) * (t->nval + 1));
  t->train_idx = dpt_alloc(sizeof(int64_t) * (t->ntrain + 1));
  memcpy(t->val_idx, perm, sizeof(int64_t) * t->nval);
  memcpy(t->train_idx, perm + t->nval, sizeof(int64_t) * t->ntrain);
  qsort(t->val_idx, t->nval, sizeof(int64_t), cmp_i64);
  qsort(t->train_idx, t->ntrain, sizeof(int64_t), cmp_i64);
  dpt_free(perm);
  t->ntest = t->ds->test.n;
  t->test_idx = dpt_alloc(sizeof(int64_t) * (t->ntest + 1));
  for (int64_t i = 0; i < t->ntest; i++) t->test_idx[i] = i;
}

static int init_workers(trainer_t *t) {
  const dpt_config_t *cfg = t->cfg;
  int K = t->K, ncls = t->ds->num_classes;
  if (K % t->nranks != 0)
    return dpt_fail("model.num_workers = %d workers cannot be spread over %d MPI ranks: the "
                    "number of ranks must divide K", K, t->nranks);
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
    int64_t steps = ceil_div(t->shard_offsets[k + 1] - t->shard_offsets[k],
                             cfg->worker_batch_size);
    if (steps > T) T = steps;
  }
  int64_t lo, hi;
  dist_node(&t->dist, K, &lo, &hi);
  t->first_worker = (int)lo;
  t->nlocal = (int)(hi - lo);
  t->workers = dpt_alloc(sizeof(worker_t) * (t->nlocal + 1));
  for (int i = 0; i < t->nlocal; i++) {
    worker_t *w = &t->workers[i];
    w->id = t->first_worker + i;
    w->params = dpt_alloc(sizeof(float) * t->model.nparams);
    memcpy(w->params, t->params, sizeof(float) * t->model.nparams);
    opt_state_init(&w->opt, t->model.nparams, cfg->work_optimizer);
    if (cfg->local_from_epoch > 0) w->grad = dpt_alloc(sizeof(float) * t->model.nparams);
    w->shard = t->shard_idx + t->shard_offsets[w->id];
    w->nshard = t->shard_offsets[w->id + 1] - t->shard_offsets[w->id];
    w->order = dpt_alloc(sizeof(int64_t) * (w->nshard + 1));
  }
  t->outer_buf = dpt_alloc(sizeof(float) * t->model.nparams);
  t->outer = (opt_outer_t){cfg->outer_type, cfg->outer_lr, cfg->outer_momentum};
  t->item_cap = T * K * ceil_div(cfg->worker_batch_size, TRAIN_LEAF);
  t->T = (int)T;
  dynh_init(&t->dyn, cfg);
  t->H = t->dyn.h; /* local_steps: every strategy starts from it, as in the seed */
  t->local_hp = t->hp;
  t->local_hp.kind = cfg->work_optimizer;
  t->local_hp.exclude_1d = cfg->exclude_1d >= 0 ? cfg->exclude_1d
                                                : opt_exclude_1d_auto(cfg->work_optimizer,
                                                                      cfg->lars_variant,
                                                                      cfg->lamb_variant);
  return 0;
}

int trainer_init(trainer_t *t, const dpt_config_t *cfg, const dpt_dataset_t *ds,
                 const char *run_dir, MPI_Comm comm) {
  memset(t, 0, sizeof *t);
  t->cfg = cfg;
  t->ds = ds;
  t->K = cfg->num_workers;
  t->H = cfg->local_steps;
  t->best_val = -1;
  snprintf(t->run_dir, sizeof t->run_dir, "%s", run_dir);
  snprintf(t->run_path, sizeof t->run_path, "%s/run.h5", run_dir);
  if (ckpt_path_for(cfg, run_dir, t->ckpt_path, sizeof t->ckpt_path) < 0) return -1;

  int max_batch = cfg->eval_batch > TRAIN_LEAF ? cfg->eval_batch : TRAIN_LEAF;
  if (nn_model_init(&t->model, cfg->model_name, ds->channels, INPUT_SIZE, INPUT_SIZE,
                    ds->num_classes, max_batch) < 0)
    return -1;
  size_t np = t->model.nparams;
  dist_init(&t->dist, comm, cfg->reduction);
  t->rank = t->dist.rank;
  t->nranks = t->dist.nranks;
  int color = ds->channels == 3;
  int crop = cfg->crop_padding >= 0 ? cfg->crop_padding : (color ? 4 : 0);
  int flip = cfg->flip >= 0 ? cfg->flip : color;
  if (pipeline_init(&t->pipe, ds, INPUT_SIZE, INPUT_SIZE, crop, flip, cfg->seed) < 0)
    return dpt_wrap("%s", cfg->data_path);
  split_train_val(t);
  if (t->ntrain < 1) return dpt_fail("no training images left after the validation split");
  opt_hparams_from_config(&t->hp, cfg);
  t->lr0 = opt_base_lr(cfg, t->K ? cfg->worker_batch_size : cfg->batch_size);

  t->params = dpt_alloc(sizeof(float) * np);
  t->grads = dpt_alloc(sizeof(float) * np);
  t->best_params = dpt_alloc(sizeof(float) * np);
  nn_init_params(&t->model, t->params, cfg->seed);
  memcpy(t->best_params, t->params, sizeof(float) * np);
  opt_state_init(&t->opt, np, cfg->optimizer);

  int64_t batch = t->K ? cfg->worker_batch_size : cfg->batch_size;
  if (t->K) {
    if (init_workers(t) < 0) return -1;
  } else {
    if (cfg->batch_size % t->nranks != 0)
      return dpt_fail("model.batch_size = %d cannot be split evenly over %d MPI ranks: the "
                      "number of ranks must divide the batch", cfg->batch_size, t->nranks);
    t->item_cap = ceil_div(t->ntrain, batch) * ceil_div(batch, TRAIN_LEAF);
  }
  int64_t leaves = ceil_div(batch, TRAIN_LEAF);
  tree_init(&t->tree, np, leaves > t->K ? leaves : t->K);
  t->leaf_loss = dpt_alloc(sizeof(double) * leaves);
  t->leaf_correct = dpt_alloc(sizeof(int64_t) * leaves);
  t->item_loss = dpt_alloc(sizeof(double) * t->item_cap);
  t->item_correct = dpt_alloc(sizeof(int64_t) * t->item_cap);

  t->order = dpt_alloc(sizeof(int64_t) * t->ntrain);
  size_t in_size = (size_t)INPUT_SIZE * INPUT_SIZE * ds->channels;
  t->input = dpt_alloc(sizeof(float) * in_size * max_batch);
  t->labels = dpt_alloc(max_batch);
  int64_t neval = t->nval > t->ntest ? t->nval : t->ntest;
  t->losses = dpt_alloc(sizeof(float) * max_batch);
  t->eval_correct = dpt_alloc(sizeof(int64_t) * (neval + 1));

  run_info_init(&t->info, t->nranks);
  t->info.train_images = t->ntrain;
  t->info.val_images = t->nval;
  t->info.test_images = t->ntest;
  t->info.num_workers = t->K;
  t->info.num_classes = ds->num_classes;
  t->info.class_hist = t->class_hist;
  return 0;
}

void trainer_free(trainer_t *t) {
  nn_model_free(&t->model);
  tree_free(&t->tree);
  opt_state_free(&t->opt);
  dist_free(&t->dist);
  run_metrics_free(&t->metrics);
  for (int i = 0; i < t->nlocal; i++) {
    dpt_free(t->workers[i].params);
    dpt_free(t->workers[i].order);
    dpt_free(t->workers[i].grad);
    opt_state_free(&t->workers[i].opt);
  }
  void *bufs[] = {t->train_idx, t->val_idx, t->test_idx, t->order, t->params, t->grads,
                  t->best_params, t->input, t->labels, t->losses, t->eval_correct,
                  t->workers, t->shard_offsets, t->shard_idx, t->class_hist, t->outer_buf,
                  t->item_loss, t->item_correct, t->leaf_loss, t->leaf_correct};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) dpt_free(bufs[i]);
  memset(t, 0, sizeof *t);
}

/* ---------------------------------------------------------------- gradients */

/* tree leaf: the gradient sum of TRAIN_LEAF consecutive images of the current batch. */
static void batch_leaf(void *ctx, int64_t leaf, float *out) {
  trainer_t *t = ctx;
  int64_t first = leaf * TRAIN_LEAF;
  int n = (int)(t->leaf_batch_n - first < TRAIN_LEAF ? t->leaf_batch_n - first : TRAIN_LEAF);
  int correct = 0;
  pipeline_batch(&t->pipe, &t->ds->train, t->leaf_batch + first, n, PIPE_AUGMENT, t->leaf_round,
                 t->input, t->labels);
  t->leaf_loss[leaf] = nn_forward_backward(&t->model, t->leaf_params, out, t->input,
                                           t->labels, n, &correct);
  t->leaf_correct[leaf] = correct;
}

/* The batch the tree leaves (batch_leaf) read. */
static void set_leaf_batch(trainer_t *t, const float *params, const int64_t *batch,
                           int64_t nb) {
  t->leaf_params = params;
  t->leaf_batch = batch;
  t->leaf_batch_n = nb;
}

/* The mean of a sum over n images: one float multiply by the rounded reciprocal, the
 * same on every rank. */
static float mean_factor(int64_t n) { return (float)(1.0 / (double)n); }

static void scale(float *x, size_t n, float by) {
  for (size_t i = 0; i < n; i++) x[i] *= by;
}

/* A centralized step; item_base >= 0 records the leaves' losses for the epoch. */
static int central_step(trainer_t *t, const int64_t *batch, int64_t nb, double lr,
                        int64_t item_base) {
  int64_t leaves = ceil_div(nb, TRAIN_LEAF), lo, hi;
  dist_node(&t->dist, leaves, &lo, &hi);
  /* the gradient sum in tree order, each rank computing its block's leaves */
  set_leaf_batch(t, t->params, batch, nb);
  tree_reduce(&t->tree, &t->dist, leaves, batch_leaf, t, t->grads, mean_factor(nb));
  if (item_base >= 0)
    for (int64_t l = lo; l < hi; l++) {
      t->item_loss[item_base + l] = t->leaf_loss[l];
      t->item_correct[item_base + l] = t->leaf_correct[l];
    }
  return opt_step(&t->hp, &t->model, t->params, t->grads, &t->opt, lr);
}

int trainer_step(trainer_t *t, const int64_t *batch, int64_t nb, double lr) {
  return central_step(t, batch, nb, lr, -1);
}

/* Agreed on every rank: stop after this step? The vote on the signal flag runs in the
 * background for one step (MPI_Iallreduce), so it adds no synchronisation point to the
 * step; every rank reads the same vote after the same step. */
static int stop_now(trainer_t *t) {
  if (t->nranks == 1) return t->stop_flag && *t->stop_flag;
  int any = 0;
  if (t->vote_pending) {
    MPI_Wait(&t->vote_request, MPI_STATUS_IGNORE);
    t->vote_pending = 0;
    any = t->vote_any;
  }
  if (!any) {
    t->vote_mine = t->stop_flag && *t->stop_flag;
    MPI_Iallreduce(&t->vote_mine, &t->vote_any, 1, MPI_INT, MPI_MAX, t->dist.comm,
                   &t->vote_request);
    t->vote_pending = 1;
  }
  return any;
}

/* Returns 1 when stopped by a signal after step t->step, 0 at the epoch's end. */
static int central_epoch(trainer_t *t, double lr, int64_t *items) {
  const dpt_config_t *cfg = t->cfg;
  memcpy(t->order, t->train_idx, sizeof(int64_t) * t->ntrain);
  /* the key of LocalSGD worker 0's first pass: K = 1 LocalSGD sees this very order */
  rng_shuffle(t->order, t->ntrain,
              rng_key(cfg->seed, RNG_SHUFFLE, 1, (uint64_t)t->epoch * PASS_STRIDE));
  t->leaf_round = (uint64_t)t->epoch * PASS_STRIDE;
  int64_t stride = ceil_div(cfg->batch_size, TRAIN_LEAF), steps = ceil_div(t->ntrain, cfg->batch_size);
  *items = steps * stride;
  while (t->step < steps) {
    int64_t first = t->step * cfg->batch_size;
    int64_t nb = t->ntrain - first < cfg->batch_size ? t->ntrain - first : cfg->batch_size;
    if (central_step(t, t->order + first, nb, lr, t->step * stride) < 0) return -1;
    t->step++;
    if (t->step < steps && stop_now(t)) return 1;
  }
  return 0;
}

/* ---------------------------------------------------------------- LocalSGD */

static void start_pass(const trainer_t *t, worker_t *w) {
  memcpy(w->order, w->shard, sizeof(int64_t) * w->nshard);
  uint64_t round = (uint64_t)t->epoch * PASS_STRIDE + (uint64_t)w->pass;
  rng_shuffle(w->order, w->nshard, rng_key(t->cfg->seed, RNG_SHUFFLE, 1 + (uint64_t)w->id, round));
  w->pos = 0;
}

/* The whole optimizer state: momentum or both moments, and the step count. */
static void reset_momentum(trainer_t *t) {
  for (int i = 0; i < t->nlocal; i++) {
    opt_state_t *st = &t->workers[i].opt;
    memset(st->m, 0, sizeof(float) * t->model.nparams);
    if (st->v) memset(st->v, 0, sizeof(float) * t->model.nparams);
    st->t = 0;
  }
}

/* What a worker leaf of the averaging tree gives. */
typedef enum { PART_PARAMS, PART_M, PART_V, PART_GRAD } worker_part_t;

static float *worker_part(worker_t *w, worker_part_t what) {
  switch (what) {
    case PART_M: return w->opt.m;
    case PART_V: return w->opt.v;
    case PART_GRAD: return w->grad;
    case PART_PARAMS: break;
  }
  return w->params;
}

/* tree leaves over workers: a part of worker id */
static void worker_leaf(void *ctx, int64_t id, float *out) {
  trainer_t *t = ctx;
  worker_t *w = &t->workers[id - t->first_worker];
  memcpy(out, worker_part(w, (worker_part_t)t->leaf_what), sizeof(float) * t->model.nparams);
}

/* sum over all K workers, in tree order, divided by K, into out (every rank) */
static void worker_mean(trainer_t *t, worker_part_t what, float *out) {
  t->leaf_what = what;
  tree_reduce(&t->tree, &t->dist, t->K, worker_leaf, t, out, 1.0f);
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
    for (size_t j = 0; j < t->model.nparams; j++) d += ((double)x[j] - xa[j]) * ((double)x[j] - xa[j]);
    dev[t->workers[i].id] = d;
  }
  dist_collect_f64(&t->dist, dev, (size_t)t->K);
  for (size_t j = 0; j < t->model.nparams; j++) norm += (double)xa[j] * xa[j];
  double mean = 0;
  for (int k = 0; k < t->K; k++) mean += dev[k];
  dpt_free(dev);
  t->deviation_sum += norm > 0 ? mean / t->K / norm : 0;
  t->deviation_count++;
}

/* Every worker's state part `what` becomes the workers' mean. */
static void average_part(trainer_t *t, worker_part_t what) {
  float *mean = t->grads;
  worker_mean(t, what, mean);
  for (int i = 0; i < t->nlocal; i++)
    memcpy(worker_part(&t->workers[i], what), mean, sizeof(float) * t->model.nparams);
}

static void average(trainer_t *t, double lr) {
  const dpt_config_t *cfg = t->cfg;
  size_t np = t->model.nparams;
  float *xa = t->grads;
  worker_mean(t, PART_PARAMS, xa);
  if (t->dyn.kind == DYNH_DEVIATION) measure_deviation(t, xa);
  opt_outer_step(&t->outer, np, t->params, xa, t->outer_buf, &t->outer_steps, lr);
  for (int i = 0; i < t->nlocal; i++) memcpy(t->workers[i].params, t->params, sizeof(float) * np);
  if (cfg->local_momentum == LOCAL_MOMENTUM_AVERAGE) {
    average_part(t, PART_M);
    if (t->workers[0].opt.v) average_part(t, PART_V);
  } else if (cfg->local_momentum == LOCAL_MOMENTUM_RESET) {
    reset_momentum(t);
  }
  t->averagings_total++;
}

void trainer_average(trainer_t *t, double lr) { average(t, lr); }

/* Epoch-start resets, skipped when resuming in the middle of an epoch. */
static void local_epoch_start(trainer_t *t) {
  const dpt_config_t *cfg = t->cfg;
  if (cfg->local_momentum == LOCAL_MOMENTUM_RESET_EPOCH) reset_momentum(t);
  if (cfg->slowmo_reset_each_epoch) {
    memset(t->outer_buf, 0, sizeof(float) * t->model.nparams);
    t->outer_steps = 0;
  }
  t->deviation_sum = 0;
  t->deviation_count = 0;
  t->epoch_averagings = 0;
  for (int i = 0; i < t->nlocal; i++) {
    t->workers[i].pass = 0;
    t->workers[i].pos = 0;
  }
}

/* Post-local SGD: epochs before model.work.local_from_epoch are synchronous. */
static int sync_epoch(const trainer_t *t) { return t->epoch < t->cfg->local_from_epoch; }

/* A synchronous step: the mean of the K workers' gradients in tree order, then the same
 * optimizer step on every worker (their parameters and states are equal), as PyTorch's
 * post_localSGD_hook does before the switch. One communication round. */
static int sync_step(trainer_t *t, double lr) {
  worker_mean(t, PART_GRAD, t->grads);
  for (int i = 0; i < t->nlocal; i++) {
    worker_t *w = &t->workers[i];
    if (opt_step(&t->local_hp, &t->model, w->params, t->grads, &w->opt, lr) < 0) return -1;
  }
  memcpy(t->params, t->workers[0].params, sizeof(float) * t->model.nparams);
  t->averagings_total++;
  t->epoch_averagings++;
  return 0;
}

/* Returns 1 when stopped by a signal after step t->step, 0 at the epoch's end. */
static int local_epoch(trainer_t *t, double lr, int64_t *items) {
  int64_t b = t->cfg->worker_batch_size, stride = ceil_div(b, TRAIN_LEAF), T = t->T;
  int sync = sync_epoch(t);
  if (t->step == 0) local_epoch_start(t);
  /* a pass's order is a function of (seed, worker, epoch, pass): rebuilt, not stored */
  for (int i = 0; i < t->nlocal; i++) {
    int64_t pos = t->workers[i].pos;
    start_pass(t, &t->workers[i]);
    t->workers[i].pos = pos;
  }
  *items = T * t->K * stride;
  while (t->step < T) {
    int64_t s = t->step;
    for (int i = 0; i < t->nlocal; i++) {
      worker_t *w = &t->workers[i];
      if (w->pos >= w->nshard) { /* out of data: the shard again, reshuffled */
        w->pass++;
        start_pass(t, w);
      }
      int64_t nb = w->nshard - w->pos < b ? w->nshard - w->pos : b;
      t->leaf_round = (uint64_t)t->epoch * PASS_STRIDE + (uint64_t)w->pass;
      set_leaf_batch(t, w->params, w->order + w->pos, nb);
      float *g = sync ? w->grad : t->grads;
      tree_sum(&t->tree, 0, ceil_div(nb, TRAIN_LEAF), batch_leaf, t, g);
      w->pos += nb;
      scale(g, t->model.nparams, mean_factor(nb));
      if (!sync && opt_step(&t->local_hp, &t->model, w->params, g, &w->opt, lr) < 0) return -1;
      /* per leaf, like the centralized mode, so K = 1 sums its loss the same way */
      int64_t base = (s * t->K + w->id) * stride;
      for (int64_t l = 0; l < ceil_div(nb, TRAIN_LEAF); l++) {
        t->item_loss[base + l] = t->leaf_loss[l];
        t->item_correct[base + l] = t->leaf_correct[l];
      }
    }
    if (sync) {
      if (sync_step(t, lr) < 0) return -1;
    } else if ((s + 1) % t->H == 0 || s == T - 1) {
      average(t, lr);
      t->epoch_averagings++;
    }
    t->step++;
    if (t->step < T && stop_now(t)) return 1;
  }
  return 0;
}

/* ---------------------------------------------------------------- evaluation */

void trainer_evaluate(trainer_t *t, const float *params, const dpt_split_t *split,
                      const int64_t *idx, int64_t n, double *loss, double *acc) {
  int64_t eb = t->cfg->eval_batch, chunks = ceil_div(n, eb);
  double *per_image = dpt_alloc(sizeof(double) * (n + 1));
  int64_t correct = 0;
  /* fixed chunks, dealt round-robin: an image's logits never depend on P */
  for (int64_t c = t->rank; c < chunks; c += t->nranks) {
    int64_t first = c * eb;
    int m = (int)(n - first < eb ? n - first : eb), right = 0;
    pipeline_batch(&t->pipe, split, idx + first, m, PIPE_EVAL, 0, t->input, t->labels);
    nn_forward(&t->model, params, t->input, t->labels, m, &right, t->losses);
    for (int i = 0; i < m; i++) per_image[first + i] = t->losses[i];
    correct += right;
  }
  dist_collect_f64(&t->dist, per_image, (size_t)n);
  dist_sum_i64(&t->dist, &correct, 1);
  double total = 0;
  for (int64_t i = 0; i < n; i++) total += per_image[i];
  dpt_free(per_image);
  *loss = n ? total / (double)n : NAN;
  *acc = n ? (double)correct / (double)n : NAN;
}

/* ---------------------------------------------------------------- the run */

static void format_duration(char *buf, size_t cap, double s) {
  long v = (long)(s + 0.5);
  if (v >= 3600)
    snprintf(buf, cap, "%ld:%02ld:%02ld", v / 3600, v / 60 % 60, v % 60);
  else
    snprintf(buf, cap, "%ld:%02ld", v / 60, v % 60);
}

static void print_progress(const trainer_t *t, double elapsed) {
  const run_metrics_t *m = &t->metrics;
  int64_t i = m->n - 1;
  char el[32], eta[32], local[96] = "";
  format_duration(el, sizeof el, elapsed);
  format_duration(eta, sizeof eta, elapsed / (double)t->epoch * (t->cfg->epochs - t->epoch));
  double share = m->comm_time[i] / (m->comm_time[i] + m->compute_time[i]);
  if (t->K)
    snprintf(local, sizeof local, "  H %lld avg %lld (total %lld)%s", (long long)m->h[i],
             (long long)m->averagings[i], (long long)t->averagings_total,
             t->H != m->h[i] && !sync_epoch(t) ? "  next H changes" : "");
  /* Without a validation split there are no validation figures: "-", not "nan". */
  char val[64] = "val loss - acc -";
  if (!isnan(m->val_loss[i]))
    snprintf(val, sizeof val, "val loss %.4f acc %.4f", m->val_loss[i], m->val_acc[i]);
  printf("epoch %*d/%d  lr %.4g  train loss %.4f acc %.4f  %s%s  "
         "comm %.0f%%  %.0f img/s  elapsed %s  ETA %s\n",
         (int)snprintf(NULL, 0, "%d", t->cfg->epochs), t->epoch, t->cfg->epochs, m->lr[i],
         m->train_loss[i], m->train_acc[i], val, local, 100 * share, m->images_per_s[i], el,
         eta);
  fflush(stdout);
}

static int write_run(trainer_t *t) {
  if (t->rank != 0) return 0;
  h5_iso_time(t->info.end_time, sizeof t->info.end_time);
  return runfile_write(t->run_path, t->cfg, &t->info, &t->metrics);
}

/* Every rank learns whether any failed, so none waits in a collective for a rank that
 * already gave up; the failing rank's message names it. */
static int agree(trainer_t *t, int rc) {
  int ok = rc == 0, all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, t->dist.comm);
  if (!all && rc == 0) return dpt_fail("another rank failed (see its message)");
  return all ? 0 : -1;
}

/* Images all LocalSGD workers train on in an epoch of T steps: a worker that runs out
 * of data starts its shard again, so this can exceed the training split. */
static int64_t local_images(const trainer_t *t) {
  int64_t b = t->cfg->worker_batch_size, total = 0;
  for (int k = 0; k < t->K; k++) {
    int64_t n = t->shard_offsets[k + 1] - t->shard_offsets[k], per_pass = ceil_div(n, b);
    total += t->T / per_pass * n + t->T % per_pass * b;
  }
  return total;
}

/* Runs (the rest of) epoch t->epoch. Returns 1 when a signal stopped it mid-way. */
static int run_epoch(trainer_t *t, double lr) {
  double t0 = MPI_Wtime(), comm0 = t->dist.seconds;
  int64_t bytes0 = t->dist.bytes_sent, items = 0;
  if (t->step == 0) {
    memset(t->item_loss, 0, sizeof(double) * t->item_cap);
    memset(t->item_correct, 0, sizeof(int64_t) * t->item_cap);
  }
  int rc = t->K ? local_epoch(t, lr, &items) : central_epoch(t, lr, &items);
  if (agree(t, rc < 0 ? -1 : 0) < 0) return -1;
  if (rc == 1) return 1;
  /* all items of the epoch, collected in one fixed order: the sums never depend on P */
  double *loss_items = dpt_alloc(sizeof(double) * items);
  int64_t *correct_items = dpt_alloc(sizeof(int64_t) * items);
  memcpy(loss_items, t->item_loss, sizeof(double) * items);
  memcpy(correct_items, t->item_correct, sizeof(int64_t) * items);
  dist_collect_f64(&t->dist, loss_items, (size_t)items);
  dist_sum_i64(&t->dist, correct_items, (size_t)items);
  double train_seconds = MPI_Wtime() - t0, loss = 0;
  int64_t correct = 0, seen = t->K ? local_images(t) : t->ntrain;
  for (int64_t i = 0; i < items; i++) {
    loss += loss_items[i];
    correct += correct_items[i];
  }
  dpt_free(loss_items);
  dpt_free(correct_items);
  double val_loss = NAN, val_acc = NAN;
  if (t->nval)
    trainer_evaluate(t, t->params, &t->ds->train, t->val_idx, t->nval, &val_loss, &val_acc);
  double comm = t->dist.seconds - comm0;
  int h = t->K ? (sync_epoch(t) ? 1 : t->H) : 0; /* a synchronous epoch averages every step */
  t->epoch++;
  t->step = 0;
  t->info.epochs_run = t->epoch;
  run_metrics_push(&t->metrics, t->epoch, lr, loss / (double)seen,
                   (double)correct / (double)seen, val_loss, val_acc, MPI_Wtime() - t0,
                   (double)seen / train_seconds);
  run_metrics_comm(&t->metrics, h,
                   t->K ? t->epoch_averagings : ceil_div(t->ntrain, t->cfg->batch_size),
                   t->dist.bytes_sent - bytes0, comm, train_seconds - comm);
  return 0;
}

/* H changes once per epoch, after validation, for the next epoch. */
static void next_h(trainer_t *t) {
  const run_metrics_t *m = &t->metrics;
  double dev = t->deviation_count ? t->deviation_sum / (double)t->deviation_count : NAN;
  t->H = dynh_next(&t->dyn, t->epoch - 1, t->cfg->epochs, t->T, m->val_loss, m->val_acc,
                   (int)m->n, dev);
}

int trainer_load_weights(trainer_t *t, const char *path) {
  size_t np = t->model.nparams;
  if (ckpt_read_params(path, "params", t->params, np) < 0) return -1;
  memcpy(t->best_params, t->params, sizeof(float) * np);
  for (int i = 0; i < t->nlocal; i++) memcpy(t->workers[i].params, t->params, sizeof(float) * np);
  return 0;
}

int trainer_test_only(trainer_t *t) {
  trainer_evaluate(t, t->params, &t->ds->test, t->test_idx, t->ntest,
                   &t->info.test_loss_last, &t->info.test_acc_last);
  t->info.test_loss_best = t->info.test_loss_last;
  t->info.test_acc_best = t->info.test_acc_last;
  t->info.has_test = 1;
  t->info.weights_crc32 = crc32(0L, (const Bytef *)t->params, (uInt)(sizeof(float) * t->model.nparams));
  snprintf(t->info.status, sizeof t->info.status, "complete");
  if (agree(t, write_run(t)) < 0) return -1;
  if (t->rank == 0)
    printf("test only (%s): loss %.4f acc %.4f\nrun file: %s\n", t->cfg->pretrained,
           t->info.test_loss_last, t->info.test_acc_last, t->run_path);
  return 0;
}

static int save(trainer_t *t) {
  double t0 = MPI_Wtime();
  if (ckpt_write(t, t->ckpt_path) < 0) return -1;
  t->ckpt_seconds += MPI_Wtime() - t0;
  return 0;
}

/* A signal stopped the run: checkpoint, mark run.h5 interrupted. */
static int interrupt(trainer_t *t) {
  if (save(t) < 0) return -1;
  snprintf(t->info.status, sizeof t->info.status, "interrupted");
  if (agree(t, write_run(t)) < 0) return -1;
  if (t->rank == 0)
    printf("interrupted at epoch %d, step %lld: checkpoint written to %s\n", t->epoch + 1,
           (long long)t->step, t->ckpt_path);
  return 1;
}

static int run_all(trainer_t *t);

/* A vote still in flight must complete before the ranks part. */
static void finish_vote(trainer_t *t) {
  if (t->vote_pending) MPI_Wait(&t->vote_request, MPI_STATUS_IGNORE);
  t->vote_pending = 0;
}

int trainer_run(trainer_t *t) {
  int rc = run_all(t);
  finish_vote(t);
  return rc;
}

static int run_all(trainer_t *t) {
  const dpt_config_t *cfg = t->cfg;
  double start = MPI_Wtime();
  if (agree(t, write_run(t)) < 0) return -1;
  while (t->epoch < cfg->epochs && !t->info.stopped_early) {
    double lr = sched_lr(t->lr0, t->epoch, cfg->epochs, cfg->warmup, cfg->scheduler);
    int rc = run_epoch(t, lr);
    if (rc < 0) return -1;
    if (rc == 1) return interrupt(t);
    double val_acc = t->metrics.val_acc[t->metrics.n - 1];
    /* The best model has the best validation accuracy; without a validation split it
     * is the last one. */
    if (!t->nval || val_acc > t->best_val) {
      t->best_val = t->nval ? val_acc : NAN;
      memcpy(t->best_params, t->params, sizeof(float) * t->model.nparams);
      t->info.best_epoch = t->epoch;
      t->info.best_val_acc = t->best_val;
      t->since_best = 0;
    } else {
      t->since_best++;
    }
    if (t->K) next_h(t);
    t->info.wall_time += MPI_Wtime() - start;
    start = MPI_Wtime();
    if (t->rank == 0) print_progress(t, t->info.wall_time);
    if (cfg->patience > 0 && t->nval && t->since_best >= cfg->patience) {
      t->info.stopped_early = 1;
      if (t->rank == 0)
        printf("early stop: no better validation accuracy in %d epochs\n", cfg->patience);
    }
    if (agree(t, write_run(t)) < 0) return -1;
    int last = t->epoch == cfg->epochs || t->info.stopped_early;
    if (!last && cfg->checkpoint_every > 0 && t->epoch % cfg->checkpoint_every == 0 &&
        save(t) < 0)
      return -1;
    if (!last && stop_now(t)) return interrupt(t);
  }
  trainer_evaluate(t, t->params, &t->ds->test, t->test_idx, t->ntest,
                   &t->info.test_loss_last, &t->info.test_acc_last);
  trainer_evaluate(t, t->best_params, &t->ds->test, t->test_idx, t->ntest,
                   &t->info.test_loss_best, &t->info.test_acc_best);
  t->info.has_test = 1;
  t->info.averagings_total = t->averagings_total;
  t->info.weights_crc32 = crc32(0L, (const Bytef *)t->params, (uInt)(sizeof(float) * t->model.nparams));
  t->info.wall_time += MPI_Wtime() - start;
  snprintf(t->info.status, sizeof t->info.status, "complete");
  if (save(t) < 0 || agree(t, write_run(t)) < 0) return -1;
  if (t->rank == 0) {
    printf("test: last model loss %.4f acc %.4f; best model (epoch %lld) loss %.4f acc %.4f\n",
           t->info.test_loss_last, t->info.test_acc_last, (long long)t->info.best_epoch,
           t->info.test_loss_best, t->info.test_acc_best);
    printf("run file: %s (checkpoints took %.2f s)\n", t->run_path, t->ckpt_seconds);
  }
  return 0;
}
