/* evaluate.c - loss and accuracy of a parameter vector on a split, the same on every P. */
#include <math.h>

#include "../core/err.h"
#include "method.h"

void trainer_evaluate(trainer_t *t, const float *params, const dpt_split_t *split,
                      const int64_t *idx, int64_t n, double *loss, double *acc) {
  train_scratch_t *x = &t->scratch;
  int64_t eb = t->cfg->eval_batch, chunks = train_ceil_div(n, eb);
  double *per_image = dpt_alloc(sizeof(double) * (n + 1));
  int64_t correct = 0;
  /* fixed chunks, dealt round-robin: an image's logits never depend on P */
  for (int64_t c = t->rank; c < chunks; c += t->nranks) {
    int64_t first = c * eb;
    int m = (int)(n - first < eb ? n - first : eb), right = 0;
    pipeline_batch(&t->pipe, split, idx + first, m, PIPE_EVAL, 0, x->input, x->labels);
    nn_forward(&t->model, params, x->input, x->labels, m, &right, x->losses);
    for (int i = 0; i < m; i++) per_image[first + i] = x->losses[i];
    correct += right;
  }
  comm_collect_f64(&t->dist, per_image, (size_t)n);
  comm_sum_i64(&t->dist, &correct, 1);
  double total = 0;
  for (int64_t i = 0; i < n; i++) total += per_image[i];
  dpt_free(per_image);
  *loss = n ? total / (double)n : NAN;
  *acc = n ? (double)correct / (double)n : NAN;
}
