/* trainer.c - the training run (see trainer.h). */
#include "trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "../core/rng.h"
#include "../io/h5util.h"

#define INPUT_SIZE 32

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

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

int trainer_init(trainer_t *t, const dpt_config_t *cfg, const dpt_dataset_t *ds,
                 const char *run_dir, MPI_Comm comm) {
  memset(t, 0, sizeof *t);
  t->cfg = cfg;
  t->ds = ds;
  t->comm = comm;
  MPI_Comm_rank(comm, &t->rank);
  MPI_Comm_size(comm, &t->nranks);
  snprintf(t->run_dir, sizeof t->run_dir, "%s", run_dir);
  snprintf(t->run_path, sizeof t->run_path, "%s/run.h5", run_dir);

  int max_batch = cfg->eval_batch > TRAIN_LEAF ? cfg->eval_batch : TRAIN_LEAF;
  if (nn_model_init(&t->model, cfg->model_name, ds->channels, INPUT_SIZE, INPUT_SIZE,
                    ds->num_classes, max_batch) < 0)
    return -1;
  int color = ds->channels == 3;
  int crop = cfg->crop_padding >= 0 ? cfg->crop_padding : (color ? 4 : 0);
  int flip = cfg->flip >= 0 ? cfg->flip : color;
  if (pipeline_init(&t->pipe, ds, INPUT_SIZE, INPUT_SIZE, crop, flip, cfg->seed) < 0)
    return dpt_wrap("%s", cfg->data_path);
  split_train_val(t);
  if (t->ntrain < 1) return dpt_fail("no training images left after the validation split");
  opt_hparams_from_config(&t->hp, cfg);

  size_t np = t->model.nparams;
  t->params = dpt_alloc(sizeof(float) * np);
  t->grads = dpt_alloc(sizeof(float) * np);
  t->best_params = dpt_alloc(sizeof(float) * np);
  nn_init_params(&t->model, t->params, cfg->seed);
  memcpy(t->best_params, t->params, sizeof(float) * np);
  opt_state_init(&t->opt, np, cfg->optimizer);
  tree_init(&t->tree, np, (cfg->batch_size + TRAIN_LEAF - 1) / TRAIN_LEAF);

  t->order = dpt_alloc(sizeof(int64_t) * t->ntrain);
  size_t in_size = (size_t)INPUT_SIZE * INPUT_SIZE * ds->channels;
  t->input = dpt_alloc(sizeof(float) * in_size * max_batch);
  t->labels = dpt_alloc(max_batch);
  t->losses = dpt_alloc(sizeof(float) * max_batch);

  run_info_init(&t->info, t->nranks);
  t->info.train_images = t->ntrain;
  t->info.val_images = t->nval;
  t->info.test_images = t->ntest;
  return 0;
}

void trainer_free(trainer_t *t) {
  nn_model_free(&t->model);
  tree_free(&t->tree);
  opt_state_free(&t->opt);
  run_metrics_free(&t->metrics);
  void *bufs[] = {t->train_idx, t->val_idx, t->test_idx, t->order, t->params, t->grads,
                  t->best_params, t->input, t->labels, t->losses};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) dpt_free(bufs[i]);
  memset(t, 0, sizeof *t);
}

/* tree leaf: the gradient sum of TRAIN_LEAF consecutive images of the current batch. */
static void batch_leaf(void *ctx, int64_t leaf, float *out) {
  trainer_t *t = ctx;
  int64_t first = leaf * TRAIN_LEAF;
  int n = (int)(t->leaf_batch_n - first < TRAIN_LEAF ? t->leaf_batch_n - first : TRAIN_LEAF);
  int correct = 0;
  memset(out, 0, sizeof(float) * t->model.nparams);
  pipeline_batch(&t->pipe, &t->ds->train, t->leaf_batch + first, n, 1,
                 (uint64_t)t->epoch, t->input, t->labels);
  t->leaf_loss += nn_forward_backward(&t->model, t->params, out, t->input, t->labels, n,
                                      &correct);
  t->leaf_correct += correct;
}

int trainer_evaluate(trainer_t *t, const float *params, const dpt_split_t *split,
                     const int64_t *idx, int64_t n, double *loss, double *acc) {
  double total = 0;
  int64_t correct = 0;
  for (int64_t first = 0; first < n; first += t->cfg->eval_batch) {
    int m = (int)(n - first < t->cfg->eval_batch ? n - first : t->cfg->eval_batch);
    int c = 0;
    pipeline_batch(&t->pipe, split, idx + first, m, 0, 0, t->input, t->labels);
    nn_forward(&t->model, params, t->input, t->labels, m, &c, t->losses);
    for (int i = 0; i < m; i++) total += t->losses[i];
    correct += c;
  }
  *loss = n ? total / (double)n : NAN;
  *acc = n ? (double)correct / (double)n : NAN;
  return 0;
}

int trainer_step(trainer_t *t, const int64_t *batch, int64_t nb, double lr) {
  t->leaf_batch = batch;
  t->leaf_batch_n = nb;
  tree_sum(&t->tree, 0, (nb + TRAIN_LEAF - 1) / TRAIN_LEAF, batch_leaf, t, t->grads);
  /* gradient of the mean loss: the sum divided by the batch, as one float scale */
  float inv = (float)(1.0 / (double)nb);
  for (size_t i = 0; i < t->model.nparams; i++) t->grads[i] *= inv;
  return opt_step(&t->hp, &t->model, t->params, t->grads, &t->opt, lr);
}

static int train_epoch(trainer_t *t, double lr, double *loss, double *acc) {
  const dpt_config_t *cfg = t->cfg;
  memcpy(t->order, t->train_idx, sizeof(int64_t) * t->ntrain);
  rng_shuffle(t->order, t->ntrain, rng_key(cfg->seed, RNG_SHUFFLE, 0, (uint64_t)t->epoch));
  t->leaf_loss = 0;
  t->leaf_correct = 0;
  for (int64_t first = 0; first < t->ntrain; first += cfg->batch_size) {
    int64_t nb = t->ntrain - first < cfg->batch_size ? t->ntrain - first : cfg->batch_size;
    if (trainer_step(t, t->order + first, nb, lr) < 0) return -1;
  }
  *loss = t->leaf_loss / (double)t->ntrain;
  *acc = (double)t->leaf_correct / (double)t->ntrain;
  return 0;
}

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
  char el[32], eta[32];
  format_duration(el, sizeof el, elapsed);
  format_duration(eta, sizeof eta, elapsed / (double)t->epoch * (t->cfg->epochs - t->epoch));
  printf("epoch %*d/%d  lr %.4g  train loss %.4f acc %.4f  val loss %.4f acc %.4f  "
         "%.0f img/s  elapsed %s  ETA %s\n",
         (int)snprintf(NULL, 0, "%d", t->cfg->epochs), t->epoch, t->cfg->epochs, m->lr[i],
         m->train_loss[i], m->train_acc[i], m->val_loss[i], m->val_acc[i],
         m->images_per_s[i], el, eta);
  fflush(stdout);
}

static int write_run(trainer_t *t) {
  if (t->rank != 0) return 0;
  h5_iso_time(t->info.end_time, sizeof t->info.end_time);
  return runfile_write(t->run_path, t->cfg, &t->info, &t->metrics);
}

int trainer_run(trainer_t *t) {
  const dpt_config_t *cfg = t->cfg;
  double start = now_seconds();
  double best_val = -1;
  TRY(write_run(t));
  while (t->epoch < cfg->epochs) {
    double lr = sched_lr(cfg->learning_rate, t->epoch, cfg->epochs, cfg->warmup,
                         strcmp(cfg->scheduler, "constant") != 0);
    double t0 = now_seconds(), train_loss, train_acc, val_loss = NAN, val_acc = NAN;
    TRY(train_epoch(t, lr, &train_loss, &train_acc));
    double train_seconds = now_seconds() - t0;
    if (t->nval) trainer_evaluate(t, t->params, &t->ds->train, t->val_idx, t->nval,
                                  &val_loss, &val_acc);
    t->epoch++;
    t->info.epochs_run = t->epoch;
    run_metrics_push(&t->metrics, t->epoch, lr, train_loss, train_acc, val_loss, val_acc,
                     now_seconds() - t0, (double)t->ntrain / train_seconds);
    /* The best model is the one with the best validation accuracy; without a
     * validation split it is the last one. */
    if (!t->nval || val_acc > best_val) {
      best_val = t->nval ? val_acc : NAN;
      memcpy(t->best_params, t->params, sizeof(float) * t->model.nparams);
      t->info.best_epoch = t->epoch;
      t->info.best_val_acc = best_val;
      t->since_best = 0;
    } else {
      t->since_best++;
    }
    t->info.wall_time = now_seconds() - start;
    if (t->rank == 0) print_progress(t, t->info.wall_time);
    TRY(write_run(t));
    if (cfg->patience > 0 && t->nval && t->since_best >= cfg->patience) {
      t->info.stopped_early = 1;
      if (t->rank == 0)
        printf("early stop: no better validation accuracy in %d epochs\n", cfg->patience);
      break;
    }
  }
  trainer_evaluate(t, t->params, &t->ds->test, t->test_idx, t->ntest,
                   &t->info.test_loss_last, &t->info.test_acc_last);
  trainer_evaluate(t, t->best_params, &t->ds->test, t->test_idx, t->ntest,
                   &t->info.test_loss_best, &t->info.test_acc_best);
  t->info.has_test = 1;
  t->info.wall_time = now_seconds() - start;
  snprintf(t->info.status, sizeof t->info.status, "complete");
  TRY(write_run(t));
  if (t->rank == 0) {
    printf("test: last model loss %.4f acc %.4f; best model (epoch %lld) loss %.4f acc %.4f\n",
           t->info.test_loss_last, t->info.test_acc_last, (long long)t->info.best_epoch,
           t->info.test_loss_best, t->info.test_acc_best);
    printf("run file: %s\n", t->run_path);
  }
  return 0;
fail:
  return -1;
}
