/* trainer.h - one training run: the state a checkpoint would hold, the epoch loop for
 * both modes, evaluation, and what the run reports (run.h5, progress lines, CSV row).
 *
 * Centralized (num_workers = 0): the global batch is cut into leaves of TRAIN_LEAF
 * images; each rank computes the leaves of its block (dist_node) and the ranks' node
 * sums are added in the order of the fixed tree over the leaves (tree_reduce), so the
 * gradient is bitwise the single-process one on every P. LocalSGD (num_workers = K):
 * rank r hosts workers [r*K/P, (r+1)*K/P) and steps them one after another; averaging
 * sums the workers along the fixed tree over K. K, never P, decides every number.
 * Epochs before model.work.local_from_epoch (post-local SGD) average the K workers'
 * gradients along the same tree at every step instead. */
#ifndef DPT_TRAINER_H
#define DPT_TRAINER_H

#include <mpi.h>
#include <signal.h>
#include <stdint.h>

#include "../config/config.h"
#include "../data/dataset.h"
#include "../data/pipeline.h"
#include "../dist/comm.h"
#include "../io/runfile.h"
#include "../nn/model.h"
#include "../optim/dynamic_h.h"
#include "../optim/optim.h"
#include "../optim/outer.h"
#include "tree.h"

#define TRAIN_LEAF 16

typedef struct {
  int id;                  /* 0 .. K-1 */
  float *params;
  float *grad;             /* post-local SGD's synchronous phase: its batch's gradient */
  opt_state_t opt;
  const int64_t *shard;    /* its training indices (ascending) */
  int64_t nshard;
  int64_t *order;          /* the current pass over its shard, shuffled */
  int64_t pos, pass;       /* next position in order; passes started this epoch */
} worker_t;

typedef struct {
  const dpt_config_t *cfg;
  const dpt_dataset_t *ds;
  dist_t dist;
  int rank, nranks;
  char run_dir[4096], run_path[4096], ckpt_path[4096];
  double ckpt_seconds;

  nn_model_t model;
  pipeline_t pipe;
  opt_hparams_t hp;        /* the run's optimizer (centralized) */
  opt_hparams_t local_hp;  /* LocalSGD workers: model.work.optimizer */
  opt_outer_t outer;       /* the outer step at an averaging (model.outer) */
  tree_t tree;

  int64_t *train_idx, ntrain;  /* indices into ds->train used for training */
  int64_t *val_idx, nval;      /* held-out validation indices into ds->train */
  int64_t *test_idx, ntest;    /* 0 .. ds->test.n - 1 */
  int64_t *order;              /* centralized: this epoch's shuffled train_idx */

  /* LocalSGD */
  int K, H, T;                 /* workers, local steps between averagings, steps/epoch */
  dynh_t dyn;                  /* dynamic-H strategy and its state */
  double deviation_sum;        /* this epoch's sum of mean_k |x_k - xa|^2 / |xa|^2 */
  int64_t deviation_count;
  double lr0;                  /* base learning rate after the large-batch scaling rule */
  int first_worker, nlocal;    /* workers [first_worker, first_worker + nlocal) live here */
  worker_t *workers;
  int64_t *shard_offsets, *shard_idx;
  int64_t *class_hist;         /* (K, num_classes) */
  float *outer_buf;            /* the outer optimizer's buffer: SlowMo u, Nesterov b */
  int64_t outer_steps;         /* outer steps since outer_buf was last zeroed */
  int64_t averagings_total;

  /* state */
  float *params, *grads, *best_params;  /* global model */
  opt_state_t opt;                      /* centralized optimizer */
  int epoch;                   /* epochs finished */
  int64_t step;                /* steps finished in the current epoch (resume point) */
  int64_t epoch_averagings;    /* LocalSGD averagings so far this epoch */
  volatile sig_atomic_t *stop_flag; /* set by a signal handler; NULL = never stop */
  MPI_Request vote_request;    /* the background vote on stop_flag (see stop_now) */
  int vote_pending, vote_mine, vote_any;
  int since_best;
  double best_val;
  run_metrics_t metrics;
  run_info_t info;

  /* per-epoch results of work items (leaves or worker steps), collected across ranks */
  double *item_loss;
  int64_t *item_correct;
  int64_t item_cap;

  /* scratch */
  float *input;                /* (max_batch, 32, 32, c) */
  uint8_t *labels;
  float *losses;
  int64_t *eval_correct;
  const float *leaf_params;    /* what tree leaves read */
  uint64_t leaf_round;         /* augmentation round of the batch's images */
  int leaf_what;               /* what worker leaves give (worker_part_t in trainer.c) */
  const int64_t *leaf_batch;
  int64_t leaf_batch_n;
  double *leaf_loss;           /* per leaf of the current batch */
  int64_t *leaf_correct;
} trainer_t;

/* Sets up model, data split, shards, workers and state. Collective over comm. */
int trainer_init(trainer_t *t, const dpt_config_t *cfg, const dpt_dataset_t *ds,
                 const char *run_dir, MPI_Comm comm);
/* Trains to the end (or early stop), evaluates the last and best models on the test
 * split, writes run.h5 after every epoch and at the end, checkpoint.h5 every
 * checkpoint.every_epochs and at the end. Collective. Returns 0 when complete, 1 when
 * *stop_flag stopped it (checkpoint written, run.h5 marked interrupted), -1 on error. */
int trainer_run(trainer_t *t);
void trainer_free(trainer_t *t);
/* Starting weights from a checkpoint's last parameters (model.pretrained). */
int trainer_load_weights(trainer_t *t, const char *path);
/* experiment.test_only: evaluates the current weights on the test split, writes run.h5. */
int trainer_test_only(trainer_t *t);

/* Centralized: one optimizer step on the nb images batch[] (indices into ds->train):
 * tree-summed gradient across ranks, divided by nb, optimizer update. */
int trainer_step(trainer_t *t, const int64_t *batch, int64_t nb, double lr);

/* LocalSGD: one averaging of the K workers (outer step, state per model.work.momentum),
 * as a round ends. Collective. */
void trainer_average(trainer_t *t, double lr);

/* Mean loss and accuracy of params over the given indices of a split, each rank taking
 * a share of fixed eval_batch chunks; identical on every P. Collective. */
void trainer_evaluate(trainer_t *t, const float *params, const dpt_split_t *split,
                      const int64_t *idx, int64_t n, double *loss, double *acc);

#endif
