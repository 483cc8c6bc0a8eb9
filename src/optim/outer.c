/* outer.c - the outer steps on the pseudo-gradient delta = x0 - xa (see outer.h):
 *   none      x0 = xa                                              (LocalSGD)
 *   slowmo    u = beta*u + delta/gamma; x0 -= alpha*gamma*u        (Wang et al. 2019)
 *   nesterov  b = delta (first step), else mu*b + delta; d = delta + mu*b; x0 -= eta*d
 *             (PyTorch SGD(lr=eta, momentum=mu, nesterov=True), DiLoCo's outer step)
 * Element updates in float with the scalars rounded once, each operation rounded as
 * PyTorch's float32 kernels round it. */
#include "outer.h"

#include <string.h>

#include "../core/err.h"

const char *const local_momentum_names[] = {"keep", "average", "reset", "reset_epoch", NULL};

static void plain_step(const opt_outer_t *o, size_t n, float *x0, const float *xa,
                       float *const *buf, int64_t steps, double inner_lr) {
  (void)o, (void)buf, (void)steps, (void)inner_lr;
  memcpy(x0, xa, sizeof(float) * n);
}

static void slowmo_step(const opt_outer_t *o, size_t n, float *x0, const float *xa,
                        float *const *buf, int64_t steps, double inner_lr) {
  (void)steps;
  float *u = buf[0];
  const float beta = (float)o->momentum, inv_lr = (float)(1.0 / inner_lr);
  const float step = (float)(o->lr * inner_lr);
  for (size_t i = 0; i < n; i++) {
    u[i] = beta * u[i] + (x0[i] - xa[i]) * inv_lr;
    x0[i] -= step * u[i];
  }
}

static void nesterov_step(const opt_outer_t *o, size_t n, float *x0, const float *xa,
                          float *const *buf, int64_t steps, double inner_lr) {
  (void)inner_lr;
  float *b = buf[0];
  const float mu = (float)o->momentum, eta = (float)o->lr;
  const int first = steps == 0;
  for (size_t i = 0; i < n; i++) {
    float delta = x0[i] - xa[i];
    b[i] = first ? delta : mu * b[i] + delta;
    float d = delta + mu * b[i];
    x0[i] -= eta * d;
  }
}

/* Both buffers keep the dataset name of the first outer optimizer, SlowMo. */
const outer_def_t outer_defs[] = {
    [OUTER_NONE] = {"none", "LocalSGD", 0, {NULL}, plain_step},
    [OUTER_SLOWMO] = {"slowmo", "SlowMo", 1, {"global/slow_u"}, slowmo_step},
    [OUTER_NESTEROV] = {"nesterov", "LocalSGD+Nesterov", 1, {"global/slow_u"}, nesterov_step},
};
const int outer_ndefs = (int)(sizeof outer_defs / sizeof outer_defs[0]);

const outer_def_t *outer_def(outer_kind_t kind) {
  DPT_ASSERT((int)kind >= 0 && (int)kind < outer_ndefs);
  return &outer_defs[kind];
}

const char *outer_spelling(int i) {
  return i >= 0 && i < outer_ndefs ? outer_defs[i].name : NULL;
}

int opt_outer_is_plain(const opt_outer_t *o) {
  return o->kind == OUTER_NONE || (o->lr == 1.0 && o->momentum == 0.0);
}

void opt_outer_step_bufs(const opt_outer_t *o, size_t n, float *x0, const float *xa,
                         float *const *bufs, int64_t *steps, double inner_lr) {
  const outer_def_t *d = opt_outer_is_plain(o) ? outer_def(OUTER_NONE) : outer_def(o->kind);
  d->step(o, n, x0, xa, bufs, *steps, inner_lr);
  ++*steps;
}

void opt_outer_step(const opt_outer_t *o, size_t n, float *x0, const float *xa, float *buf,
                    int64_t *steps, double inner_lr) {
  DPT_ASSERT(outer_def(o->kind)->nstate <= 1);
  float *bufs[OUTER_MAX_STATE] = {buf};
  opt_outer_step_bufs(o, n, x0, xa, bufs, steps, inner_lr);
}
