/* lars.c - LARS, per tensor, in three variants (optim.lars_variant):
 *   paper  trust = eta*|w| / (|g| + wd*|w| + eps); buf = mu*buf + lr*trust*(g + wd*w);
 *          w -= buf (buf starts at 0)
 *   larc   the same trust, optionally clipped to min(trust/lr, 1); d = trust*(g + wd*w)
 *          through PyTorch's SGD momentum (buf = d on the first step); w -= lr*buf
 *   seed   trust = 0.3*|w| / (|g + wd*w| + 1e-6); then as paper
 * A zero norm gives trust 1. With exclude_1d, 1-D tensors (biases) get trust 1 and no
 * weight decay. Norms are summed in double; the element updates run in float with the
 * per-tensor scalars rounded once, as PyTorch's float32 kernels do. */
#include <math.h>

#include "optim.h"

#define SEED_TRUST 0.3
#define SEED_EPS 1e-6

static double norm(const float *x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
  return sqrt(s);
}

/* |g + wd*w|, each element formed in float as the update forms it. */
static double decayed_norm(const float *w, const float *g, size_t n, float wd) {
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    float d = g[i] + wd * w[i];
    s += (double)d * d;
  }
  return sqrt(s);
}

/* The trust ratio of one tensor with weight decay wd. */
static double trust_ratio(const opt_hparams_t *hp, const float *w, const float *g, size_t n,
                          double wd, double lr) {
  double wn = norm(w, n);
  if (hp->lars_variant == LARS_SEED) {
    double dn = decayed_norm(w, g, n, (float)wd);
    return wn > 0 && dn > 0 ? SEED_TRUST * wn / (dn + SEED_EPS) : 1.0;
  }
  double gn = norm(g, n);
  if (!(wn > 0 && gn > 0)) return 1.0;
  double trust = hp->trust_coefficient * wn / (gn + wd * wn + hp->lars_eps);
  /* apex LARC clips only a computed ratio; a zero norm keeps trust 1. */
  if (hp->lars_variant == LARS_LARC && hp->larc_clip) trust = fmin(trust / lr, 1.0);
  return trust;
}

void opt_lars_step(const opt_hparams_t *hp, const nn_tensor_t *tensors, int ntensors,
                   float *w, const float *g, float *buf, int64_t t, double lr) {
  const float mu = (float)hp->momentum;
  for (int k = 0; k < ntensors; k++) {
    const nn_tensor_t *ts = &tensors[k];
    float *wk = w + ts->offset, *bk = buf + ts->offset;
    const float *gk = g + ts->offset;
    size_t n = ts->size;
    int plain = hp->exclude_1d && ts->is_bias;
    double wd = plain ? 0.0 : hp->weight_decay;
    double trust = plain ? 1.0 : trust_ratio(hp, wk, gk, n, wd, lr);
    const float wd_f = (float)wd;
    if (hp->lars_variant == LARS_LARC) {
      /* d = trust*(g + wd*w) into PyTorch's SGD: buf = d first, then mu*buf + d. */
      const float tr = (float)trust, lr_f = (float)lr;
      for (size_t i = 0; i < n; i++) {
        float d = tr * (gk[i] + wd_f * wk[i]);
        bk[i] = t == 1 ? d : mu * bk[i] + d;
        wk[i] -= lr_f * bk[i];
      }
    } else {
      /* paper and seed: the local lr goes into the buffer, which starts at 0. */
      const float step = (float)(lr * trust);
      for (size_t i = 0; i < n; i++) {
        float d = gk[i] + wd_f * wk[i];
        bk[i] = (t == 1 ? 0.0f : mu * bk[i]) + step * d;
        wk[i] -= bk[i];
      }
    }
  }
}
