/* optim.h - optimizers over the flat parameter buffer, with PyTorch's semantics
 * (SGD, AdamW; LARS and LAMB in lars.c and lamb.c), and the learning-rate schedule.
 *
 * State buffers have the parameter buffer's length and layout; the step count t starts
 * at 1 on the first step. Per-tensor rules (LARS, LAMB) get the tensor list. */
#ifndef DPT_OPTIM_H
#define DPT_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "../nn/model.h"


/* model.optimizer and model.work.optimizer: an index into opt_defs[], the table of
 * optimizers (optim.c), in its order. */
typedef enum { OPT_SGDM, OPT_ADAMW, OPT_LARS, OPT_LAMB } opt_kind_t;
/* The named variants of LARS and LAMB (optim.lars_variant, optim.lamb_variant). */
typedef enum { LARS_PAPER, LARS_LARC, LARS_SEED } lars_variant_t;
typedef enum { LAMB_PAPER, LAMB_APEX, LAMB_SEED } lamb_variant_t;
/* optim.lr_scaling: base learning rate from the reference batch's. */
typedef enum { LR_SCALE_NONE, LR_SCALE_LINEAR, LR_SCALE_SQRT } lr_scaling_t;
/* model.scheduler: the per-epoch schedule after the warm-up. */
typedef enum { SCHED_COSINE, SCHED_CONSTANT } sched_kind_t;
/* optim.schedule_unit: what the schedule counts, epochs (the seed's) or optimizer steps. */
typedef enum { SCHED_UNIT_EPOCH, SCHED_UNIT_STEP } sched_unit_t;

/* The config's spellings of the variants, indexed by the enums above, NULL-terminated. */
extern const char *const opt_lars_variant_names[];
extern const char *const opt_lamb_variant_names[];
extern const char *const opt_lr_scaling_names[];
extern const char *const opt_sched_names[];
extern const char *const opt_sched_unit_names[];

typedef struct {
  opt_kind_t kind;
  double momentum;      /* SGDM and LARS mu */
  double beta1, beta2;  /* AdamW and LAMB */
  double eps;           /* AdamW */
  double weight_decay;
  /* LARS and LAMB (lars.c, lamb.c) */
  lars_variant_t lars_variant;
  lamb_variant_t lamb_variant;
  double trust_coefficient; /* LARS eta (paper, larc) */
  double lars_eps;          /* LARS epsilon (paper, larc) */
  int larc_clip;            /* larc: trust = min(trust/lr, 1) */
  int exclude_1d;           /* 1-D tensors: trust 1 and no weight decay (resolved) */
  int bn_weight_decay;      /* SGDM, AdamW: decay the model's batch-norm tensors too */
  double lamb_eps;
  double clamp_lower, clamp_upper; /* LAMB phi; 0 = no bound */
} opt_hparams_t;

/* The most state buffers (each n floats) an optimizer row declares. */
#define OPT_MAX_STATE 2

typedef struct {
  size_t n;
  union {
    struct {
      float *m; /* SGDM momentum buffer, or Adam's first moment */
      float *v; /* Adam's second moment (NULL for SGDM) */
    };
    float *buf[OPT_MAX_STATE]; /* buf[i]: the row's state[i]; NULL past its nstate */
  };
  int64_t t;    /* steps taken */
} opt_state_t;

/* One state buffer a row declares: its checkpoint dataset names (checkpoint.h5's
 * /global/NAME for the centralized optimizer, /workers/NAME for the local workers'; both
 * in hdf5-schema/checkpoint.yaml). Averaging (model.work.momentum: average) and reset
 * apply to every declared buffer. */
typedef struct {
  const char *global_name, *worker_name;
} opt_buffer_t;

/* A row of the optimizer table: one optimizer. */
typedef struct {
  const char *name;     /* the config's spelling (model.optimizer, model.work.optimizer) */
  const char *label;    /* for tables and the start-up banner */
  int nstate;           /* state buffers of the parameters' length, at most OPT_MAX_STATE */
  opt_buffer_t state[OPT_MAX_STATE];
  int per_tensor;       /* 1: the step needs the model's tensor list */
  /* One step (st->t already counts it) on the st->n floats of w with gradient g. */
  void (*step)(const opt_hparams_t *hp, const nn_model_t *model, float *w, const float *g,
               opt_state_t *st, double lr);
} opt_def_t;

/* The table, indexed by opt_kind_t; opt_ndefs rows. */
extern const opt_def_t opt_defs[];
extern const int opt_ndefs;
const opt_def_t *opt_def(opt_kind_t kind);
/* The spelling of row i, NULL past the last (the config key table's enum values). */
const char *opt_spelling(int i);

/* The hyper-parameters (the config's optim section) for an optimizer of `kind`
 * (model.optimizer or model.work.optimizer); exclude_1d auto (-1) becomes
 * opt_exclude_1d_auto's answer. */
void opt_hparams_for(opt_hparams_t *hp, const opt_hparams_t *base, opt_kind_t kind);
/* What the source of the optimizer's variant does with biases and other 1-D tensors:
 * 1 = they skip the trust ratio and weight decay (LARS larc, LAMB apex), 0 = every
 * tensor is adapted and decayed (LARS paper and seed, LAMB paper and seed; SGDM and
 * AdamW decay every tensor). */
int opt_exclude_1d_auto(opt_kind_t kind, lars_variant_t lars, lamb_variant_t lamb);
void opt_state_init(opt_state_t *st, size_t n, opt_kind_t kind);
const char *opt_name(opt_kind_t kind);
void opt_state_free(opt_state_t *st);
/* Every state buffer zeroed and the step count 0: a fresh optimizer. */
void opt_state_zero(opt_state_t *st);
/* One step on w (n floats) with gradient g of the MEAN loss. LARS and LAMB work per
 * tensor of model's tensor list (and fail without one); SGDM and AdamW need no model. */
int opt_step(const opt_hparams_t *hp, const nn_model_t *model, float *w, const float *g,
             opt_state_t *st, double lr);

void opt_sgdm_step(size_t n, float *w, const float *g, float *buf, int64_t t, double lr,
                   double mu, double wd);
void opt_adamw_step(size_t n, float *w, const float *g, float *m, float *v, int64_t t,
                    double lr, double b1, double b2, double eps, double wd);

/* LARS over the tensors of the flat buffers (values between tensors are not touched);
 * buf is the momentum buffer, t >= 1 the step. Norms in double. */
void opt_lars_step(const opt_hparams_t *hp, const nn_tensor_t *tensors, int ntensors,
                   float *w, const float *g, float *buf, int64_t t, double lr);
/* LAMB likewise, with first and second moments m and v. The apex and seed variants scale
 * the gradient by its global norm over all the tensors first. */
void opt_lamb_step(const opt_hparams_t *hp, const nn_tensor_t *tensors, int ntensors,
                   float *w, const float *g, float *m, float *v, int64_t t, double lr);

/* The base learning rate lr0 for global batch `batch`: lr (model.learning_rate) as tuned
 * for batch ref_batch (optim.lr_ref_batch), scaled by `rule` (none, linear B/B_ref, sqrt). */
double opt_base_lr(double lr, lr_scaling_t rule, int ref_batch, int batch);

/* Learning rate of unit e (0-based) of a run of n units: linear warm-up from 0.1*lr0 over
 * `warmup` units, then cosine annealing to 0 over the remaining units, or constant. The
 * units are epochs, or optimizer steps with optim.schedule_unit: step (train_lr). */
double sched_lr(double lr0, int64_t e, int64_t n, int64_t warmup, sched_kind_t kind);

#endif
