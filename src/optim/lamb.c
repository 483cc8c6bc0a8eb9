/* lamb.c - LAMB, per tensor, in three variants (optim.lamb_variant):
 *   paper  m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; mh = m/(1-b1^t); vh = v/(1-b2^t);
 *          u = mh/(sqrt(vh) + eps) + wd*w; trust = phi(|w|)/|u|; w -= lr*trust*u
 *   apex   g scaled by 1/max(1, G) first (G the global gradient norm over every tensor),
 *          then as paper, with the trust ratio only where wd != 0
 *   seed   g scaled by min(1, 1/(G + 1e-6)) (clip_grad_norm_ to 1); no bias correction;
 *          trust ratio only where wd != 0
 * phi is the identity, or clamps |w| to [lower, upper] where those are > 0. A zero |w| or
 * |u| gives trust 1. With exclude_1d, 1-D tensors get trust 1 and no weight decay (and
 * then, having wd = 0, no trust ratio in apex and seed either). Norms in double; element
 * updates in float with the scalars rounded once. */
#include <math.h>

#include "optim.h"

#define SEED_CLIP_EPS 1e-6

/* The global L2 norm of the gradient over the tensors only (not the padding). */
static double global_norm(const nn_tensor_t *tensors, int ntensors, const float *g) {
  double s = 0;
  for (int k = 0; k < ntensors; k++) {
    const float *gk = g + tensors[k].offset;
    for (size_t i = 0; i < tensors[k].size; i++) s += (double)gk[i] * gk[i];
  }
  return sqrt(s);
}

/* The per-element update direction u, shared by the norm pass and the update pass so
 * that both see the same float values. */
typedef struct {
  float inv_bc1, inv_sqrt_bc2, eps, wd;
} lamb_dir_t;

static inline float lamb_u(const lamb_dir_t *d, float m, float v, float w) {
  return m * d->inv_bc1 / (sqrtf(v) * d->inv_sqrt_bc2 + d->eps) + d->wd * w;
}

static double phi(const opt_hparams_t *hp, double z) {
  if (hp->clamp_lower > 0 && z < hp->clamp_lower) z = hp->clamp_lower;
  if (hp->clamp_upper > 0 && z > hp->clamp_upper) z = hp->clamp_upper;
  return z;
}

void opt_lamb_step(const opt_hparams_t *hp, const nn_tensor_t *tensors, int ntensors,
                   float *w, const float *g, float *m, float *v, int64_t t, double lr) {
  double scale = 1.0;
  if (hp->lamb_variant == LAMB_APEX) {
    double G = global_norm(tensors, ntensors, g);
    scale = 1.0 / fmax(1.0, G / 1.0); /* max_grad_norm 1.0 */
  } else if (hp->lamb_variant == LAMB_SEED) {
    double G = global_norm(tensors, ntensors, g);
    scale = fmin(1.0, 1.0 / (G + SEED_CLIP_EPS));
  }
  /* Bias corrections in double (PyTorch's order: eps after them); none in seed. */
  double bc1 = 1.0, bc2 = 1.0;
  if (hp->lamb_variant != LAMB_SEED) {
    bc1 = 1.0 - pow(hp->beta1, (double)t);
    bc2 = 1.0 - pow(hp->beta2, (double)t);
  }
  const float sc = (float)scale, b1 = (float)hp->beta1, b2 = (float)hp->beta2;
  const float c1 = (float)(1.0 - hp->beta1), c2 = (float)(1.0 - hp->beta2);
  for (int k = 0; k < ntensors; k++) {
    const nn_tensor_t *ts = &tensors[k];
    float *wk = w + ts->offset, *mk = m + ts->offset, *vk = v + ts->offset;
    const float *gk = g + ts->offset;
    size_t n = ts->size;
    int plain = hp->exclude_1d && ts->is_bias;
    double wd = plain ? 0.0 : hp->weight_decay;
    lamb_dir_t dir = {(float)(1.0 / bc1), (float)(1.0 / sqrt(bc2)), (float)hp->lamb_eps,
                      (float)wd};
    /* Pass 1: moments, and the norms of w and u. */
    double ww = 0, uu = 0;
    for (size_t i = 0; i < n; i++) {
      float gi = scale == 1.0 ? gk[i] : sc * gk[i];
      mk[i] = b1 * mk[i] + c1 * gi;
      vk[i] = b2 * vk[i] + c2 * gi * gi;
      float u = lamb_u(&dir, mk[i], vk[i], wk[i]);
      ww += (double)wk[i] * wk[i];
      uu += (double)u * u;
    }
    double wn = sqrt(ww), un = sqrt(uu), trust = 1.0;
    int adapt = !plain && (hp->lamb_variant == LAMB_PAPER || wd != 0);
    if (adapt && wn > 0 && un > 0) trust = phi(hp, wn) / un;
    /* Pass 2: w -= lr*trust*u. */
    const float step = (float)(lr * trust);
    for (size_t i = 0; i < n; i++) wk[i] -= step * lamb_u(&dir, mk[i], vk[i], wk[i]);
  }
}
