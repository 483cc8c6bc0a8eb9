/* trainer.c - setting a training run up and tearing it down (see trainer.h). */
#include "trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/cmp.h"
#include "../core/err.h"
#include "../core/fsutil.h"
#include "../core/rng.h"
#include "checkpoint.h"
#include "method.h"

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
  qsort(t->val_idx, t->nval, sizeof(int64_t), dpt_cmp_i64);
  qsort(t->train_idx, t->ntrain, sizeof(int64_t), dpt_cmp_i64);
  dpt_free(perm);
  t->ntest = t->ds->test.n;
  t->test_idx = dpt_alloc(sizeof(int64_t) * (t->ntest + 1));
  for (int64_t i = 0; i < t->ntest; i++) t->test_idx[i] = i;
}

/* The global model and the centralized optimizer, from the seed. */
static void init_state(trainer_t *t) {
  train_state_t *s = &t->state;
  size_t np = t->model.nparams;
  s->params = dpt_alloc(sizeof(float) * np);
  s->best_params = dpt_alloc(sizeof(float) * np);
  nn_init_params_kaiming(&t->model, s->params, t->cfg->seed,
                         t->cfg->init == NN_INIT_KAIMING_NORMAL);
  memcpy(s->best_params, s->params, sizeof(float) * np);
  opt_state_init(&s->opt, np, t->cfg->optimizer);
  s->H = t->cfg->local_steps;
  s->best_val = -1;
}

static void init_scratch(trainer_t *t, int max_batch, int64_t leaves) {
  train_scratch_t *x = &t->scratch;
  x->grads = dpt_alloc(sizeof(float) * t->model.nparams);
  x->leaf_loss = dpt_alloc(sizeof(double) * leaves);
  x->leaf_correct = dpt_alloc(sizeof(int64_t) * leaves);
  x->leaf_bn = dpt_alloc(sizeof(double) * (t->model.nbn_stats * leaves + 1));
  x->order = dpt_alloc(sizeof(int64_t) * t->ntrain);
  size_t in_size = (size_t)NN_INPUT_SIZE * NN_INPUT_SIZE * t->ds->channels;
  x->input = dpt_alloc(sizeof(float) * in_size * max_batch);
  x->labels = dpt_alloc(max_batch);
  x->losses = dpt_alloc(sizeof(float) * max_batch);
}

static void init_info(trainer_t *t) {
  run_info_t *info = &t->state.info;
  run_info_init(info, t->nranks);
  info->train_images = t->ntrain;
  info->val_images = t->nval;
  info->test_images = t->ntest;
  info->train_images_crc32 = t->ds->train.images_crc32;
  info->train_labels_crc32 = t->ds->train.labels_crc32;
  info->test_images_crc32 = t->ds->test.images_crc32;
  info->test_labels_crc32 = t->ds->test.labels_crc32;
  info->num_workers = t->K;
  info->num_classes = t->ds->num_classes;
  info->class_hist = t->class_hist;
}

int trainer_check_paths(const dpt_config_t *cfg, const char *run_dir) {
  char ckpt[4096], tmp[4400];
  if (ckpt_path_for(cfg, run_dir, ckpt, sizeof ckpt) < 0 || dpt_tmp_name(tmp, sizeof tmp, ckpt) < 0)
    return -1;
  size_t n = strlen(tmp), over = n > TRAIN_MPI_NAME_MAX ? n - TRAIN_MPI_NAME_MAX : 0;
  if (over)
    return dpt_fail("%s: the checkpoint's temporary name (%s) is %zu characters; Open MPI's "
                    "MPI-IO aborts on names longer than %d: shorten the run directory (or "
                    "experiment.checkpoint_dir) by %zu characters", run_dir, tmp, n,
                    TRAIN_MPI_NAME_MAX, over);
  return 0;
}

int trainer_init(trainer_t *t, const dpt_config_t *cfg, const dpt_dataset_t *ds,
                 const char *run_dir, MPI_Comm comm) {
  memset(t, 0, sizeof *t);
  t->cfg = cfg;
  t->ds = ds;
  t->K = cfg->num_workers;
  snprintf(t->run_dir, sizeof t->run_dir, "%s", run_dir);
  snprintf(t->run_path, sizeof t->run_path, "%s/run.h5", run_dir);
  if (ckpt_path_for(cfg, run_dir, t->ckpt_path, sizeof t->ckpt_path) < 0) return -1;

  /* a batch-norm model's leaf is one ghost batch, the largest forward it runs at once
   * (it evaluates larger chunks a leaf at a time) */
  int bn = nn_model_has_bn(cfg->model);
  t->leaf = bn ? cfg->ghost_batch : TRAIN_LEAF;
  int max_batch = cfg->eval_batch > t->leaf ? cfg->eval_batch : t->leaf;
  if (nn_model_init(&t->model, cfg->model, ds->channels, NN_INPUT_SIZE, NN_INPUT_SIZE,
                    ds->num_classes, bn ? t->leaf : max_batch) < 0)
    return -1;
  comm_init(&t->dist, comm, cfg->reduction);
  t->dist.measure_wait = cfg->measure_wait;
  t->rank = t->dist.rank;
  t->nranks = t->dist.nranks;
  int color = ds->channels == 3;
  int crop = cfg->crop_padding >= 0 ? cfg->crop_padding : (color ? 4 : 0);
  int flip = cfg->flip >= 0 ? cfg->flip : color;
  if (pipeline_init(&t->pipe, ds, NN_INPUT_SIZE, NN_INPUT_SIZE, crop, flip, cfg->seed) < 0)
    return dpt_wrap("%s", cfg->data_path);
  split_train_val(t);
  if (t->ntrain < 1) return dpt_fail("no training images left after the validation split");
  opt_hparams_for(&t->hp, &cfg->optim, cfg->optimizer);
  init_state(t);
  /* the one place that looks at K: the method does the rest */
  t->method = t->K ? &train_local : &train_central;
  if (t->method->init(t) < 0 || train_check_schedule(t) < 0) return -1;
  if (cfg->eval_every_rounds > 0 && t->nval == 0)
    return dpt_fail("eval.every_rounds = %d needs validation images, but data.val_fraction "
                    "%g of %lld training images holds out none", cfg->eval_every_rounds,
                    cfg->val_fraction, (long long)ds->train.n);
  int64_t batch = t->method->batch(t);
  t->lr0 = opt_base_lr(cfg->learning_rate, cfg->lr_scaling, cfg->lr_ref_batch, (int)batch);
  int64_t leaves = train_ceil_div(batch, t->leaf);
  tree_init(&t->tree, t->model.nparams, t->tree_width);
  t->state.item_loss = dpt_alloc(sizeof(double) * t->item_cap);
  t->state.item_correct = dpt_alloc(sizeof(int64_t) * t->item_cap);
  init_scratch(t, max_batch, leaves);
  init_info(t);
  train_round_mark(t);
  return 0;
}

void trainer_free(trainer_t *t) {
  train_state_t *s = &t->state;
  train_scratch_t *x = &t->scratch;
  nn_model_free(&t->model);
  tree_free(&t->tree);
  opt_state_free(&s->opt);
  comm_free(&t->dist);
  run_metrics_free(&s->metrics);
  ledger_free(&s->ledger);
  run_curves_free(&s->curves);
  if (t->method) t->method->free(t);
  for (int i = 0; i < OUTER_MAX_STATE; i++) dpt_free(s->outer_bufs[i]);
  void *bufs[] = {t->train_idx, t->val_idx, t->test_idx, s->params, s->best_params,
                  s->item_loss, s->item_correct, x->grads, x->input,
                  x->labels, x->losses, x->order, x->leaf_loss, x->leaf_correct,
                  x->leaf_bn};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) dpt_free(bufs[i]);
  memset(t, 0, sizeof *t);
}

int trainer_load_weights(trainer_t *t, const char *path) {
  size_t np = t->model.nparams;
  if (ckpt_read_params(path, "params", t->state.params, np) < 0) return -1;
  memcpy(t->state.best_params, t->state.params, sizeof(float) * np);
  for (int i = 0; i < t->nlocal; i++)
    memcpy(t->workers[i].params, t->state.params, sizeof(float) * np);
  return 0;
}
