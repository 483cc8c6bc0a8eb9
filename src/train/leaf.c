/* leaf.c - the step every method shares (method.h): a batch's gradient as tree leaves of
 * TRAIN_LEAF images, and the mean over a batch. */
#include "method.h"

void train_batch_leaf(void *ctx, int64_t leaf, float *out) {
  const train_batch_t *b = ctx;
  trainer_t *t = b->t;
  train_scratch_t *x = &t->scratch;
  int64_t first = leaf * TRAIN_LEAF;
  int n = (int)(b->n - first < TRAIN_LEAF ? b->n - first : TRAIN_LEAF);
  int correct = 0;
  pipeline_batch(&t->pipe, &t->ds->train, b->batch + first, n, PIPE_AUGMENT, b->round,
                 x->input, x->labels);
  x->leaf_loss[leaf] = nn_forward_backward(&t->model, b->params, out, x->input, x->labels,
                                           n, &correct);
  x->leaf_correct[leaf] = correct;
}

float train_mean_factor(int64_t n) { return (float)(1.0 / (double)n); }

void train_scale(float *x, size_t n, float by) {
  for (size_t i = 0; i < n; i++) x[i] *= by;
}
