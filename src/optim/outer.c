/* outer.c - outer optimizers on the pseudo-gradient delta = x0 - xa (see outer.h).
 *   slowmo    u = beta*u + delta/gamma; x0 -= alpha*gamma*u        (Wang et al. 2019)
 *   nesterov  b = delta (first step), else mu*b + delta; d = delta + mu*b; x0 -= eta*d
 *             (PyTorch SGD(lr=eta, momentum=mu, nesterov=True), DiLoCo's outer step)
 * Element updates in float with the scalars rounded once, each operation rounded as
 * PyTorch's float32 kernels round it. */
#include "outer.h"

#include <string.h>

const char *const outer_names[] = {"none", "slowmo", "nesterov", NULL};
const char *const local_momentum_names[] = {"keep", "average", "reset", "reset_epoch", NULL};

int opt_outer_is_plain(const opt_outer_t *o) {
  return o->kind == OUTER_NONE || (o->lr == 1.0 && o->momentum == 0.0);
}

static void slowmo_step(const opt_outer_t *o, size_t n, float *x0, const float *xa,
                        float *u, double inner_lr) {
  const float beta = (float)o->momentum, inv_lr = (float)(1.0 / inner_lr);
  const float step = (float)(o->lr * inner_lr);
  for (size_t i = 0; i < n; i++) {
    u[i] = beta * u[i] + (x0[i] - xa[i]) * inv_lr;
    x0[i] -= step * u[i];
  }
}

static void nesterov_step(const opt_outer_t *o, size_t n, float *x0, const float *xa,
                          float *b, int first) {
  const float mu = (float)o->momentum, eta = (float)o->lr;
  for (size_t i = 0; i < n; i++) {
    float delta = x0[i] - xa[i];
    b[i] = first ? delta : mu * b[i] + delta;
    float d = delta + mu * b[i];
    x0[i] -= eta * d;
  }
}

void opt_outer_step(const opt_outer_t *o, size_t n, float *x0, const float *xa, float *buf,
                    int64_t *steps, double inner_lr) {
  if (opt_outer_is_plain(o))
    memcpy(x0, xa, sizeof(float) * n);
  else if (o->kind == OUTER_SLOWMO)
    slowmo_step(o, n, x0, xa, buf, inner_lr);
  else
    nesterov_step(o, n, x0, xa, buf, *steps == 0);
  ++*steps;
}
