/* optim.c - SGDM and AdamW exactly as PyTorch's SGD and AdamW, and the schedule. */
#include "optim.h"

#include <math.h>
#include <string.h>

#include "../core/err.h"

const char *const opt_lars_variant_names[] = {"paper", "larc", "seed", NULL};
const char *const opt_lamb_variant_names[] = {"paper", "apex", "seed", NULL};
const char *const opt_lr_scaling_names[] = {"none", "linear", "sqrt", NULL};
const char *const opt_sched_names[] = {"CosineAnnealingLR", "constant", NULL};
const char *const opt_sched_unit_names[] = {"epoch", "step", NULL};

/* The trained floats of the n-float buffers: [0, *decayed) with weight decay, then
 * [*decayed, *trained) without (the batch-norm tensors under model.bn.weight_decay:
 * false); the model state past *trained (batch-norm running statistics) is never
 * stepped. Without a model, all n are decayed. */
static void trained_ranges(const opt_hparams_t *hp, const nn_model_t *model, size_t n,
                           size_t *decayed, size_t *trained) {
  *decayed = *trained = n;
  if (!model) return;
  *trained = nn_trained_floats(model, n);
  *decayed = hp->bn_weight_decay || !model->ngrad ? *trained : model->ndecay;
}

static void sgdm_row_step(const opt_hparams_t *hp, const nn_model_t *model, float *w,
                          const float *g, opt_state_t *st, double lr) {
  size_t nd, nt;
  trained_ranges(hp, model, st->n, &nd, &nt);
  opt_sgdm_step(nd, w, g, st->m, st->t, lr, hp->momentum, hp->weight_decay);
  if (nt > nd)
    opt_sgdm_step(nt - nd, w + nd, g + nd, st->m + nd, st->t, lr, hp->momentum, 0.0);
}

static void adamw_row_step(const opt_hparams_t *hp, const nn_model_t *model, float *w,
                           const float *g, opt_state_t *st, double lr) {
  size_t nd, nt;
  trained_ranges(hp, model, st->n, &nd, &nt);
  opt_adamw_step(nd, w, g, st->m, st->v, st->t, lr, hp->beta1, hp->beta2, hp->eps,
                 hp->weight_decay);
  if (nt > nd)
    opt_adamw_step(nt - nd, w + nd, g + nd, st->m + nd, st->v + nd, st->t, lr, hp->beta1,
                   hp->beta2, hp->eps, 0.0);
}

/* LARS and LAMB: the trained tensors (the model state follows them) */
static void lars_row_step(const opt_hparams_t *hp, const nn_model_t *model, float *w,
                          const float *g, opt_state_t *st, double lr) {
  opt_lars_step(hp, model->tensors, nn_trained_tensors(model), w, g, st->m, st->t, lr);
}

static void lamb_row_step(const opt_hparams_t *hp, const nn_model_t *model, float *w,
                          const float *g, opt_state_t *st, double lr) {
  opt_lamb_step(hp, model->tensors, nn_trained_tensors(model), w, g, st->m, st->v, st->t, lr);
}

/* The first buffer is the momentum (or first moment), the second the second moment:
 * the checkpoint names are the ones checkpoint.h5 has always used. */
#define MOMENTUM {"global/opt_m", "workers/momentum"}
#define SECOND_MOMENT {"global/opt_v", "workers/second_moment"}
const opt_def_t opt_defs[] = {
    [OPT_SGDM] = {"SGDM", "SGDM", 1, {MOMENTUM}, 0, sgdm_row_step},
    [OPT_ADAMW] = {"AdamW", "AdamW", 2, {MOMENTUM, SECOND_MOMENT}, 0, adamw_row_step},
    [OPT_LARS] = {"LARS", "LARS", 1, {MOMENTUM}, 1, lars_row_step},
    [OPT_LAMB] = {"LAMB", "LAMB", 2, {MOMENTUM, SECOND_MOMENT}, 1, lamb_row_step},
};
const int opt_ndefs = (int)(sizeof opt_defs / sizeof opt_defs[0]);

const opt_def_t *opt_def(opt_kind_t kind) {
  DPT_ASSERT((int)kind >= 0 && (int)kind < opt_ndefs);
  return &opt_defs[kind];
}

const char *opt_spelling(int i) { return i >= 0 && i < opt_ndefs ? opt_defs[i].name : NULL; }

const char *opt_name(opt_kind_t kind) { return opt_def(kind)->label; }

void opt_hparams_for(opt_hparams_t *hp, const opt_hparams_t *base, opt_kind_t kind) {
  *hp = *base;
  hp->kind = kind;
  if (hp->exclude_1d < 0)
    hp->exclude_1d = opt_exclude_1d_auto(kind, hp->lars_variant, hp->lamb_variant);
}

/* The papers' algorithms and the seed's optim.py adapt and decay every tensor. timm's
 * lars.py and lamb.py adapt only tensors with weight decay, and timm's optimizer factory
 * (like NVIDIA's BERT recipe for apex FusedLAMB) gives 1-D tensors none; apex LARC on
 * its own would adapt them, which exclude_1d: false gives. */
int opt_exclude_1d_auto(opt_kind_t kind, lars_variant_t lars, lamb_variant_t lamb) {
  if (kind == OPT_LARS) return lars == LARS_LARC;
  if (kind == OPT_LAMB) return lamb == LAMB_APEX;
  return 0;
}

void opt_state_init(opt_state_t *st, size_t n, opt_kind_t kind) {
  memset(st, 0, sizeof *st);
  st->n = n;
  for (int i = 0; i < opt_def(kind)->nstate; i++) st->buf[i] = dpt_alloc(sizeof(float) * n);
}

void opt_state_free(opt_state_t *st) {
  for (int i = 0; i < OPT_MAX_STATE; i++) dpt_free(st->buf[i]);
  memset(st, 0, sizeof *st);
}

void opt_state_zero(opt_state_t *st) {
  for (int i = 0; i < OPT_MAX_STATE; i++)
    if (st->buf[i]) memset(st->buf[i], 0, sizeof(float) * st->n);
  st->t = 0;
}

/* Scalars are rounded to float once, as PyTorch passes them to float32 kernels. */
void opt_sgdm_step(size_t n, float *w, const float *g, float *buf, int64_t t, double lr,
                   double mu, double wd) {
  const float lr_f = (float)lr, mu_f = (float)mu, wd_f = (float)wd;
  if (t == 1) {
    for (size_t i = 0; i < n; i++) {
      float d = g[i] + wd_f * w[i];
      buf[i] = d;
      w[i] -= lr_f * d;
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      float d = g[i] + wd_f * w[i];
      buf[i] = mu_f * buf[i] + d;
      w[i] -= lr_f * buf[i];
    }
  }
}

void opt_adamw_step(size_t n, float *w, const float *g, float *m, float *v, int64_t t,
                    double lr, double b1, double b2, double eps, double wd) {
  /* Bias corrections in double, eps after them: PyTorch's order. */
  double bc1 = 1.0 - pow(b1, (double)t), bc2 = 1.0 - pow(b2, (double)t);
  const float decay = (float)(1.0 - lr * wd), step = (float)(lr / bc1);
  const float bc2_sqrt = (float)sqrt(bc2), eps_f = (float)eps;
  const float b1_f = (float)b1, b2_f = (float)b2, c1 = (float)(1.0 - b1),
              c2 = (float)(1.0 - b2);
  for (size_t i = 0; i < n; i++) {
    float gi = g[i];
    w[i] *= decay;
    m[i] = b1_f * m[i] + c1 * gi;
    v[i] = b2_f * v[i] + c2 * gi * gi;
    float denom = sqrtf(v[i]) / bc2_sqrt + eps_f;
    w[i] -= step * m[i] / denom;
  }
}

/* The tensors must lie inside the n-float buffers: a broken model is a bug, not an error. */
static int check_tensors(const nn_model_t *model, size_t n, opt_kind_t kind) {
  if (!model || model->ntensors < 1)
    return dpt_fail("%s needs the model's tensor list", opt_name(kind));
  for (int i = 0; i < model->ntensors; i++)
    DPT_ASSERT(model->tensors[i].offset + model->tensors[i].size <= n);
  return 0;
}

int opt_step(const opt_hparams_t *hp, const nn_model_t *model, float *w, const float *g,
             opt_state_t *st, double lr) {
  if ((int)hp->kind < 0 || (int)hp->kind >= opt_ndefs)
    return dpt_fail("unknown optimizer %d", (int)hp->kind);
  const opt_def_t *d = opt_def(hp->kind);
  if (d->per_tensor && check_tensors(model, st->n, hp->kind) < 0) return -1;
  for (int i = 0; i < d->nstate; i++)
    if (!st->buf[i])
      return dpt_fail("%s state lacks its buffer %s", d->label, d->state[i].global_name);
  st->t++;
  d->step(hp, model, w, g, st, lr);
  return 0;
}

double opt_base_lr(double lr, lr_scaling_t rule, int ref_batch, int batch) {
  double ratio = (double)batch / (double)ref_batch;
  switch (rule) {
    case LR_SCALE_LINEAR: return lr * ratio;
    case LR_SCALE_SQRT: return lr * sqrt(ratio);
    case LR_SCALE_NONE: break;
  }
  return lr;
}

double sched_lr(double lr0, int64_t e, int64_t n, int64_t warmup, sched_kind_t kind) {
  if (e < warmup) return lr0 * (0.1 + 0.9 * (double)e / (double)warmup);
  if (kind == SCHED_CONSTANT) return lr0;
  int64_t span = n - warmup;
  return lr0 * (1.0 + cos(M_PI * (double)(e - warmup) / span)) / 2.0;
}
