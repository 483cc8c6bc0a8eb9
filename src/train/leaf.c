/* leaf.c - the step every method shares (method.h): a batch's gradient as tree leaves of
 * t->leaf images, the batch-norm statistics of each leaf, and the mean over a batch. */
#include <string.h>

#include "method.h"

void train_batch_leaf(void *ctx, int64_t leaf, float *out) {
  const train_batch_t *b = ctx;
  trainer_t *t = b->t;
  train_scratch_t *x = &t->scratch;
  int64_t first = leaf * t->leaf;
  int n = (int)(b->n - first < t->leaf ? b->n - first : t->leaf);
  int correct = 0;
  pipeline_batch(&t->pipe, &t->ds->train, b->batch + first, n, PIPE_AUGMENT, b->round,
                 x->input, x->labels);
  x->leaf_loss[leaf] = nn_forward_backward(&t->model, b->params, out, x->input, x->labels,
                                           n, &correct);
  x->leaf_correct[leaf] = correct;
  size_t ns = t->model.nbn_stats;
  if (ns) memcpy(x->leaf_bn + leaf * ns, t->model.bn_stats, sizeof(double) * ns);
}

/* Each leaf's statistics are on the rank that computed it: zeros elsewhere, so the
 * element-wise sum across ranks is exact. */
void train_bn_collect(trainer_t *t, int64_t leaves) {
  size_t ns = t->model.nbn_stats;
  if (!ns) return;
  int64_t lo, hi;
  comm_node(&t->dist, leaves, &lo, &hi);
  double *s = t->scratch.leaf_bn;
  memset(s, 0, sizeof(double) * ns * lo);
  memset(s + ns * hi, 0, sizeof(double) * ns * (leaves - hi));
  comm_collect_f64(&t->dist, s, ns * leaves);
}

void train_bn_apply(trainer_t *t, float *params, int64_t leaves) {
  size_t ns = t->model.nbn_stats;
  for (int64_t l = 0; ns && l < leaves; l++)
    nn_bn_running_update(&t->model, params, t->scratch.leaf_bn + l * ns, t->cfg->bn_momentum);
}

float train_mean_factor(int64_t n) { return (float)(1.0 / (double)n); }

void train_scale(float *x, size_t n, float by) {
  for (size_t i = 0; i < n; i++) x[i] *= by;
}
