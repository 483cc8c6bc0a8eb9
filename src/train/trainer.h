/* trainer.h - one training run: the state a checkpoint would hold, the epoch loop,
 * evaluation, and what the run reports (run.h5, progress lines, the seed's CSV row).
 *
 * Centralized mode (num_workers = 0): the global batch is cut into leaves of
 * TRAIN_LEAF images; each leaf's gradient sum is computed on its own and leaves are added
 * by the fixed tree of tree.h, so the result depends on the batch, never on how many
 * images one call or one rank handles. */
#ifndef DPT_TRAINER_H
#define DPT_TRAINER_H

#include <mpi.h>
#include <stdint.h>

#include "../config/config.h"
#include "../data/dataset.h"
#include "../data/pipeline.h"
#include "../io/runfile.h"
#include "../nn/model.h"
#include "../optim/optim.h"
#include "tree.h"

#define TRAIN_LEAF 16

typedef struct {
  const dpt_config_t *cfg;
  const dpt_dataset_t *ds;
  MPI_Comm comm;
  int rank, nranks;
  char run_dir[4096], run_path[4096];

  nn_model_t model;
  pipeline_t pipe;
  opt_hparams_t hp;
  tree_t tree;

  int64_t *train_idx, ntrain;  /* indices into ds->train used for training */
  int64_t *val_idx, nval;      /* held-out validation indices into ds->train */
  int64_t *test_idx, ntest;    /* 0 .. ds->test.n - 1 */
  int64_t *order;              /* this epoch's shuffled train_idx */

  /* state */
  float *params, *grads, *best_params;
  opt_state_t opt;
  int epoch;                   /* epochs finished */
  int since_best;
  run_metrics_t metrics;
  run_info_t info;

  /* scratch */
  float *input;                /* (max_batch, 32, 32, c) */
  uint8_t *labels;
  float *losses;
  const int64_t *leaf_batch;   /* the batch tree leaves read from */
  int64_t leaf_batch_n;
  double leaf_loss;
  int64_t leaf_correct;
} trainer_t;

/* Sets up model, data split, pipeline and state. run_dir must be set by the caller. */
int trainer_init(trainer_t *t, const dpt_config_t *cfg, const dpt_dataset_t *ds,
                 const char *run_dir, MPI_Comm comm);
/* Trains to the end (or early stop), evaluates the last and best models on the test
 * split, writes run.h5 after every epoch and at the end. */
int trainer_run(trainer_t *t);
void trainer_free(trainer_t *t);

/* One optimizer step on the nb training images batch[] (indices into ds->train) of the
 * current epoch: tree-summed gradient, divided by nb, optimizer update. */
int trainer_step(trainer_t *t, const int64_t *batch, int64_t nb, double lr);

/* Mean loss and accuracy of params over the given indices of a split. */
int trainer_evaluate(trainer_t *t, const float *params, const dpt_split_t *split,
                     const int64_t *idx, int64_t n, double *loss, double *acc);

#endif
