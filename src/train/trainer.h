/* trainer.h - one training run: its set-up, the state a checkpoint holds, the scratch
 * space its steps use, and the calls that drive it.
 *
 * Centralized (num_workers = 0, central.c): the global batch is cut into leaves of
 * t->leaf images (TRAIN_LEAF, or a batch-norm model's ghost batch); each rank computes the leaves of its block (comm_node) and the
 * ranks' node sums are added in the order of the fixed tree over the leaves
 * (tree_reduce), so the gradient is bitwise the single-process one on every P.
 * Local methods (num_workers = K, local.c: LocalSGD, SlowMo, DiLoCo, post-local SGD):
 * rank r hosts workers [r*K/P, (r+1)*K/P) and steps them one after another; averaging
 * sums the workers along the fixed tree over K. K, never P, decides every number.
 * Epochs before model.work.local_from_epoch (post-local SGD) average the K workers'
 * gradients along the same tree at every step instead. trainer_init chooses the method
 * (method.h) once; both run under one epoch driver (run.c): per epoch, validation, best
 * model, early stop, run.h5, checkpoints and the stop vote. */
#ifndef DPT_TRAINER_H
#define DPT_TRAINER_H

#include <mpi.h>
#include <signal.h>
#include <stdint.h>

#include "../config/config.h"
#include "../data/dataset.h"
#include "../data/pipeline.h"
#include "../comm/comm.h"
#include "../comm/compress.h"
#include "../io/runfile.h"
#include "../nn/model.h"
#include "../optim/dynamic_h.h"
#include "../optim/optim.h"
#include "../optim/outer.h"
#include "../comm/tree.h"

/* Images per tree leaf of a model without batch norm; a batch-norm model's leaf is one
 * ghost batch (model.bn.ghost_batch), its normalisation group. */
#define TRAIN_LEAF 16

/* How a run ended: trained to the end (or an early stop), stopped by a signal with its
 * checkpoint written (requeue it), or failed (the message says why). */
typedef enum { TRAIN_FAILED = -1, TRAIN_FINISHED = 0, TRAIN_STOPPED = 1 } train_result_t;

/* The training method (method.h), chosen once by trainer_init. */
typedef struct train_method train_method_t;

typedef struct {
  int id;                  /* 0 .. K-1 */
  const int64_t *shard;    /* its training indices (ascending) */
  int64_t nshard;
  /* state (a checkpoint's /workers rows) */
  float *params;
  opt_state_t opt;
  int64_t pos, pass;       /* next position in order; passes started this epoch */
  /* scratch */
  float *grad;             /* post-local SGD's synchronous phase: its batch's gradient */
  int64_t *order;          /* the current pass over its shard, shuffled: a function of
                              (seed, worker, epoch, pass), rebuilt on resume */
} worker_t;

/* A compressed exchange (exchange.c): the compressor a config key chooses (comm/
 * compress.h), its shared state and the state of the participants this rank holds
 * (the block [first, first + nlocal) of the K, as comm_node deals them). on = 0: the key
 * says none and the method runs its dense reduction. */
typedef struct {
  int on;
  const char *key;              /* the config key that chose it, for messages */
  int K;                        /* participants: replicas or workers */
  int first, nlocal;
  comm_ctx_t ctx;               /* shared: PowerSGD's Q, the rounds, q_ready */
  comm_peer_t *peers;           /* nlocal: each participant's residual */
  /* scratch of a round */
  tree_t tree[COMM_MAX_STAGES]; /* over the K participants, one per stage's sum length */
  float *input;                 /* a participant's vector, n floats */
  uint8_t *payload;
  size_t payload_cap;
} train_exchange_t;

/* The exchanges of a run: comm.compress (synchronous gradients) and model.outer.compress
 * (the workers' pseudo-gradients at an averaging). */
enum { TRAIN_X_GRAD, TRAIN_X_OUTER, TRAIN_NX };

/* Streaming DiLoCo's fragments (local.c, docs/compression.md), fixed for the run: F
 * contiguous ranges of the flat buffer, whole tensors each, the last one with the model
 * state; fragment f is [lo[f], lo[f + 1]). With F = 1 and tau = 0 it is DiLoCo. */
typedef struct {
  int F, tau;                   /* model.outer.fragments, model.outer.delay */
  double alpha;                 /* model.outer.mix */
  size_t *lo;                   /* F + 1 cuts */
  tree_t *tree;                 /* F: the K workers' sum over each fragment */
} train_stream_t;

/* What a checkpoint holds besides the workers: with the config, the whole run. */
typedef struct {
  float *params, *best_params;  /* global model */
  opt_state_t opt;              /* centralized optimizer */
  union {                       /* the outer step's buffers, as its row declares them */
    float *outer_buf;           /* the first: SlowMo u, Nesterov b */
    float *outer_bufs[OUTER_MAX_STATE];
  };
  int64_t outer_steps;          /* outer steps since outer_bufs were last zeroed */
  int epoch;                    /* epochs finished */
  int64_t step;                 /* steps finished in the current epoch (resume point) */
  int H;                        /* local steps between averagings this epoch */
  int64_t averagings_total;
  int64_t epoch_averagings;     /* averagings so far this epoch */
  int since_best;
  double best_val;
  double deviation_sum;         /* this epoch's sum of mean_k |x_k - xa|^2 / |xa|^2 */
  int64_t deviation_count;
  /* this epoch's per-item results (leaves or worker steps) so far, each on the rank
   * that computed it; collected across ranks at the epoch's end */
  double *item_loss;
  int64_t *item_correct;
  run_metrics_t metrics;
  ledger_t ledger;              /* every communication round so far (comm/ledger.h) */
  run_curves_t curves;          /* the records between epochs: /intervals, added at each
                                   epoch's end, and /evals, as they happen (interval.c) */
  train_exchange_t xch[TRAIN_NX]; /* the compressed exchanges, state and all */
  /* Streaming DiLoCo: the workers' averaged parameters of each fragment sent and not yet
   * stepped (nparams, read over the fragments in flight); fragments 1 .. F-1's outer steps
   * (fragment 0's are outer_steps) and compressed exchanges (fragment 0's is
   * xch[TRAIN_X_OUTER]) */
  float *pending;
  int64_t *frag_steps;
  train_exchange_t *frag_xch;
  run_info_t info;
} train_state_t;

/* Buffers the steps overwrite; nothing in them outlives a step. */
typedef struct {
  float *grads;                /* a gradient, or the workers' mean at an averaging */
  float *input;                /* (max_batch, 32, 32, c) */
  uint8_t *labels;
  float *losses;               /* per image of an evaluation chunk */
  int64_t *order;              /* centralized: this epoch's shuffled train_idx */
  double *leaf_loss;           /* per leaf of the current batch */
  int64_t *leaf_correct;
  double *leaf_bn;             /* batch norm: per leaf, the model's nbn_stats statistics */
} train_scratch_t;

typedef struct {
  /* set-up, fixed for the run */
  const train_method_t *method;
  const dpt_config_t *cfg;
  const dpt_dataset_t *ds;
  comm_t dist;
  int rank, nranks;
  char run_dir[4096], run_path[4096], ckpt_path[4096];
  nn_model_t model;
  pipeline_t pipe;
  opt_hparams_t hp;            /* the run's optimizer (centralized) */
  opt_hparams_t local_hp;      /* local workers: model.work.optimizer */
  opt_outer_t outer;           /* the outer step at an averaging (model.outer) */
  tree_t tree;
  train_stream_t stream;       /* local methods: model.outer.fragments, .delay, .mix */
  double lr0;                  /* base learning rate after the large-batch scaling rule */
  int64_t *train_idx, ntrain;  /* indices into ds->train used for training */
  int64_t *val_idx, nval;      /* held-out validation indices into ds->train */
  int64_t *test_idx, ntest;    /* 0 .. ds->test.n - 1 */
  int64_t item_cap;            /* items (leaves or worker steps) per epoch, at most */
  int64_t tree_width;          /* the most leaves one tree sum has (the method's init) */
  int leaf;                    /* images per tree leaf: TRAIN_LEAF or the ghost batch */
  /* local methods */
  int K, T;                    /* workers, steps per epoch */
  dynh_t dyn;                  /* dynamic-H strategy and its state */
  int first_worker, nlocal;    /* workers [first_worker, first_worker + nlocal) live here */
  worker_t *workers;
  int64_t *shard_offsets, *shard_idx;
  int64_t *class_hist;         /* (K, num_classes) */

  train_state_t state;
  train_scratch_t scratch;

  /* stopping */
  volatile sig_atomic_t *stop_flag; /* set by a signal handler; NULL = never stop */
  MPI_Request vote_request;    /* the background vote on stop_flag (run.c) */
  int vote_pending, vote_mine, vote_any;
  double ckpt_seconds;
  /* the ledger's measured seconds (rounds.c): the end of the previous round, and the
   * comm layer's seconds then */
  double round_mark, round_comm, round_wait;
} trainer_t;

/* The longest file name Open MPI 4.1's MPI-IO takes: its sharedfp/lockedfile component
 * aborts ("buffer overflow detected") at the first checkpoint when MPI_File_open gets a
 * longer one, on any number of ranks (measured with dpt-train: 244 bytes work, 245 abort;
 * the name as given, relative or absolute). */
#define TRAIN_MPI_NAME_MAX 244
/* Fails, naming the limit, when the checkpoint's temporary name (after
 * dpt_set_tmp_writer) is longer than TRAIN_MPI_NAME_MAX: checked at start-up. */
int trainer_check_paths(const dpt_config_t *cfg, const char *run_dir);
/* Sets up model, data split, shards, workers and state. Collective over comm. */
int trainer_init(trainer_t *t, const dpt_config_t *cfg, const dpt_dataset_t *ds,
                 const char *run_dir, MPI_Comm comm);
/* Trains to the end (or early stop), evaluates the last and best models on the test
 * split, writes run.h5 after every epoch and at the end, checkpoint.h5 every
 * checkpoint.every_epochs and at the end. Collective. TRAIN_STOPPED when *stop_flag
 * stopped it (checkpoint written, run.h5 marked interrupted). */
train_result_t trainer_run(trainer_t *t);
void trainer_free(trainer_t *t);
/* Starting weights from a checkpoint's last parameters (model.pretrained). */
int trainer_load_weights(trainer_t *t, const char *path);
/* experiment.test_only: evaluates the current weights on the test split, writes run.h5. */
int trainer_test_only(trainer_t *t);

/* Centralized: one optimizer step on the nb images batch[] (indices into ds->train):
 * tree-summed gradient across ranks, divided by nb, optimizer update. */
int trainer_step(trainer_t *t, const int64_t *batch, int64_t nb, double lr);

/* The learning rate of step `step` (0-based) of epoch `epoch` (0-based): model.scheduler
 * over epochs, or with optim.schedule_unit: step over the run's optimizer steps
 * (interval.c). The methods ask it for every step. */
double train_lr(const trainer_t *t, int64_t epoch, int64_t step);
/* Fails naming model.warmup when a warm-up in steps is not shorter than the run. */
int train_check_schedule(const trainer_t *t);

/* Local methods: one averaging of the K workers (every fragment at once, none in
 * flight: with model.outer.fragments 1 DiLoCo's averaging; outer step, state per
 * model.work.momentum), as a round ends at state.step. Collective; -1 (on every rank)
 * when model.outer.compress refused a worker's values. */
int trainer_average(trainer_t *t, double lr);

/* Mean loss and accuracy of params over the given indices of a split, each rank taking
 * a share of fixed eval_batch chunks; identical on every P. Collective. */
void trainer_evaluate(trainer_t *t, const float *params, const dpt_split_t *split,
                      const int64_t *idx, int64_t n, double *loss, double *acc);

#endif
