/* config.h - the run configuration: the seed project's YAML layout (`model:` and
 * `experiment:`) extended with `optim:`, `data:`, `checkpoint:` and `train:` sections.
 *
 * One table of keys (config_keys.c) drives parsing, defaults, validation, the resolved YAML
 * that run.h5 stores, and the reference docs/config.md. Every error names the file, line,
 * key, the value found and the form expected. */
#ifndef DPT_CONFIG_H
#define DPT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "../data/shard.h"
#include "../comm/comm.h"
#include "../comm/compress.h"
#include "../nn/model.h"
#include "../optim/dynamic_h.h"
#include "../optim/optim.h"
#include "../optim/outer.h"

#define CFG_PATH_MAX 1024

/* The enums are the modules' own: each key is parsed once here into what the module
 * whose behaviour it chooses takes. */
typedef struct dpt_config {
  /* model: */
  nn_model_kind_t model;    /* model.name: LeNet (seed variant), LeNet5 (classic), ResNetN */
  nn_init_kind_t init;      /* model.init: pytorch | kaiming_normal */
  int ghost_batch;          /* model.bn.ghost_batch: images per batch-norm group */
  double bn_momentum;       /* model.bn.momentum: of the running statistics */
  int epochs;               /* model.epochs (>= 1) */
  int batch_size;           /* model.batch_size: global batch of centralized training */
  double learning_rate;     /* model.learning_rate (> 0) */
  char loss[16];            /* model.loss: "CSE" only */
  opt_kind_t optimizer;     /* model.optimizer: SGDM | AdamW | LARS | LAMB */
  sched_kind_t scheduler;   /* model.scheduler: CosineAnnealingLR | constant */
  int warmup;               /* model.warmup: warm-up length in optim.schedule_unit's unit
                               (epochs: 0 .. epochs-1; steps: below the run's steps) */
  int patience;             /* model.patience: <= 0 means off */
  char pretrained[CFG_PATH_MAX]; /* model.pretrained: "" = none */
  int num_workers;          /* model.num_workers: K; 0 = centralized */
  int slowmo_enabled;       /* 1 when a model.slowmo map is present */
  double slowmo_lr;         /* model.slowmo.learning_rate (alpha, default 1.0) */
  double slowmo_momentum;   /* model.slowmo.momentum (beta, default 0.0) */
  int slowmo_reset_each_epoch; /* model.slowmo.reset_each_epoch (seed behaviour; false) */
  outer_kind_t outer_type;  /* model.outer.type: none | slowmo | nesterov; a model.slowmo
                               map resolves to slowmo with its alpha and beta */
  double outer_lr;          /* model.outer.learning_rate: SlowMo alpha or Nesterov eta */
  double outer_momentum;    /* model.outer.momentum: SlowMo beta or Nesterov mu */
  int outer_fragments;      /* model.outer.fragments: F, Streaming DiLoCo's fragments (1) */
  int outer_delay;          /* model.outer.delay: tau, steps a fragment's round overlaps (0) */
  double outer_mix;         /* model.outer.mix: alpha, the local share kept when a
                               fragment's outer step lands (0) */
  int local_steps;          /* model.work.local_steps: H (>= 1) */
  int sync_steps;           /* model.work.sync_steps: informational only */
  int worker_batch_size;    /* model.work.batch_size: b */
  local_momentum_t local_momentum; /* model.work.momentum: keep | average | reset |
                               reset_epoch */
  opt_kind_t work_optimizer;/* model.work.optimizer: each local worker's optimizer */
  int local_from_epoch;     /* model.work.local_from_epoch: epochs of synchronous data
                               parallel training before local steps (post-local SGD) */
  comm_compress_opts_t outer_compress; /* model.outer.compress (kind, ratio, rank; none),
                               model.outer.keep, model.outer.powersgd.*: what the local
                               workers send at an averaging (their pseudo-gradients) */
  int outer_psgd_start;     /* model.outer.powersgd.start_iter (into outer_compress) */
  dynh_params_t dynamic;    /* model.work.dynamic: strategy ("" = fixed H), n_losses (3),
                               h_min (4), h_max (64), sigmoid_steepness (0.5),
                               sigmoid_midpoint (-1 = auto: epochs/2), deviation_lower
                               (double H below, 1e-5), deviation_upper (halve above, 1e-4) */

  /* optim: (optimizer hyper-parameters beyond the seed's) */
  opt_hparams_t optim;      /* model.weight_decay and the optim: keys (optim.X in
                               field X; lamb_clamp_lower/upper in clamp_lower/upper;
                               exclude_1d -1 = auto); its kind is unused: model.optimizer
                               and model.work.optimizer choose the optimizer */
  lr_scaling_t lr_scaling;  /* optim.lr_scaling: none | linear | sqrt */
  int lr_ref_batch;         /* optim.lr_ref_batch: B_ref of the scaling rule (64) */
  sched_unit_t schedule_unit; /* optim.schedule_unit: epoch (the seed's) | step */

  /* data: */
  char data_path[CFG_PATH_MAX]; /* data.path (default "data/cifar100.h5") */
  int limit;                /* data.limit: use only the first N train/test images; 0 = all */
  double val_fraction;      /* data.val_fraction (0.1; 0 <= f < 1) */
  int crop_padding;         /* data.crop_padding: random-crop zero padding; 0 = off; -1 auto */
  int flip;                 /* data.flip: 1 on, 0 off, -1 auto (on for 3-channel data) */
  shard_scheme_t sharding;  /* data.sharding: iid | random | classes:C | dirichlet:A */

  /* experiment: */
  char exp_name[128];       /* experiment.name */
  int resume;               /* experiment.resume */
  int test_only;            /* experiment.test_only */
  double version;           /* experiment.version */
  char output[CFG_PATH_MAX];/* experiment.output: CSV to append a row to; "" = none */
  char checkpoint_dir[CFG_PATH_MAX]; /* experiment.checkpoint_dir; "" = the run dir */
  uint64_t seed;            /* experiment.seed (default 0) */

  /* checkpoint: */
  int checkpoint_every;     /* checkpoint.every_epochs (1; 0 = signal and end only) */

  /* train: (execution choices that never change the mathematics) */
  comm_reduction_t reduction; /* train.reduction: ordered (bitwise) | fast */
  int measure_wait;         /* train.measure_wait: time the wait for the slowest rank apart */
  int eval_batch;           /* train.eval_batch (256) */

  /* metrics: and eval: (records between epochs; never change the training) */
  int metrics_every_steps;  /* metrics.every_steps: an /intervals row every N global
                               steps and at each epoch's end; 0 = off */
  int eval_every_rounds;    /* eval.every_rounds: validate every M communication rounds
                               (/evals); 0 = off */
  /* comm: (the synchronous gradient reduction's compression) */
  comm_compress_opts_t comm_compress; /* comm.compress (kind, ratio, rank; none),
                               comm.keep, comm.powersgd.*: centralized training's and
                               post-local SGD's synchronous gradient exchange */
  int comm_psgd_start;      /* comm.powersgd.start_iter (into comm_compress) */
  int replicas;             /* comm.replicas: R, the participants of a compressed
                               centralized reduction (4) */
} dpt_config_t;

/* Fills cfg with every default. */
void config_defaults(dpt_config_t *cfg);
/* Loads a YAML file, applies `sets` overrides ("dotted.key=value", YAML scalar syntax),
 * validates and resolves. Unknown keys, wrong types and impossible values fail with a
 * message naming file:line, the key, the value and the expected form. Warnings (keys the
 * seed ignored, such as model.test) go to stderr. Starts from config_defaults(); after a
 * failure cfg holds a partial load. */
int config_load(dpt_config_t *cfg, const char *path, const char *const *sets, int nsets);
/* Same from a string (name stands in for the file name in messages). */
int config_load_string(dpt_config_t *cfg, const char *yaml, const char *name,
                       const char *const *sets, int nsets);
/* The resolved configuration as YAML with every key (sections model, optim, data,
 * experiment, train); the caller frees it with dpt_free(). Loading this text gives the
 * same config. */
char *config_to_yaml(const dpt_config_t *cfg);
/* Each key as "dotted.key" -> value text, for run.h5's structured /config group and the
 * CSV row: the YAML scalar without quotes. Calls fn once per key in table order. */
void config_each(const dpt_config_t *cfg,
                 void (*fn)(void *ctx, const char *key, const char *value), void *ctx);
/* The training method, named once by the trainer and recorded in run.h5 (/provenance
 * method), which the banner, the summaries and tables show: "centralized", "LocalSGD", "SlowMo",
 * "DiLoCo" (AdamW workers, outer Nesterov), "LocalSGD+Nesterov", with "post-local " in
 * front when model.work.local_from_epoch > 0, "Streaming " before the outer step's name
 * with model.outer.fragments > 1 or model.outer.delay > 0 ("Streaming DiLoCo"), and the
 * workers' optimizer in brackets when it is not the method's own ("LocalSGD (LAMB)"). */
void config_method_name(const dpt_config_t *cfg, char *buf, size_t cap);
/* The method named `name` (config_method_name's) with the optimizer it steps when the
 * name leaves it out, for the start-up line: "centralized AdamW", "DiLoCo". */
void config_method_label(const dpt_config_t *cfg, const char *name, char *buf, size_t cap);
/* Markdown table of every key: key, type, default, meaning (docs/config.md, make docs). */
void config_print_reference(void);

#endif
