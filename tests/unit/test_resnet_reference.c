/* test_resnet_reference.c - dpt's ResNet-20 against PyTorch, the oracle.
 *
 * tests/reference/resnet20_fmnist.h5 (written by tests/reference/make_resnet_reference.py,
 * committed, so no PyTorch is needed here) holds a ResNet-20 with fixed initial weights,
 * 32 Fashion-MNIST images, and every state_dict tensor (weights and batch-norm running
 * statistics) after each of 10 full-batch SGDM steps by PyTorch in float32, at sampled
 * indices in dpt's layout. The same steps run here through trainer_step with one ghost
 * batch of 32 (PyTorch's BatchNorm2d over the batch is the same computation).
 *
 * The bound: the file also holds how far PyTorch's float32 run is from its float64 run
 * after each step (the worst tensor's error relative to its update, L2 and max). dpt is
 * another float32 approximation of the same float64 trajectory, so |dpt - PyTorch32| <=
 * |dpt - exact| + |PyTorch32 - exact|, about twice that spread when dpt rounds as well as
 * PyTorch does; the test allows four times it (dpt's convolutions are single FMA chains,
 * up to 576 terms, where PyTorch blocks its sums) plus 1e-4 for tensors that barely move.
 * The spread grows with the steps (0.5% after step 1, ~40% after step 10) because
 * rounding flips a few ReLUs and batch norm spreads that to every unit: the early steps
 * are the sharp check, the late ones catch a drift of the whole trajectory.
 * num_batches_tracked must match exactly. DPT_REFERENCE_VERBOSE=1 prints the worst error
 * per step. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/config/config.h"
#include "../../src/core/err.h"
#include "../../src/h5/h5util.h"
#include "../../src/train/trainer.h"
#include "refdata.h"
#include "test.h"

#define RREF_PATH "tests/reference/resnet20_fmnist.h5"
#define RREF_N 32
#define RREF_STEPS 10

typedef struct {
  double lr, momentum, weight_decay, bn_momentum, mean, std;
  double spread_l2[RREF_STEPS], spread_max[RREF_STEPS];
  uint8_t images[RREF_N * 28 * 28], labels[RREF_N];
  float input[RREF_N * 32 * 32];
} rref_t;


static int rref_load(hid_t f, rref_t *r) {
  int64_t steps;
  TRY(h5_read_attr_i64(f, "steps", &steps));
  if (steps != RREF_STEPS) TRY(dpt_fail("steps = %lld, expected %d", (long long)steps, RREF_STEPS));
  const char *attrs[] = {"lr", "momentum", "weight_decay", "bn_momentum", "mean", "std"};
  double *vals[] = {&r->lr, &r->momentum, &r->weight_decay, &r->bn_momentum, &r->mean, &r->std};
  for (int i = 0; i < 6; i++) TRY(h5_read_attr_f64(f, attrs[i], vals[i]));
  TRY(ref_read_exact(f, "images", H5T_NATIVE_UINT8, sizeof r->images, r->images));
  TRY(ref_read_exact(f, "labels", H5T_NATIVE_UINT8, RREF_N, r->labels));
  TRY(ref_read_exact(f, "input", H5T_NATIVE_FLOAT, RREF_N * 32 * 32, r->input));
  TRY(ref_read_exact(f, "spread_l2", H5T_NATIVE_DOUBLE, RREF_STEPS, r->spread_l2));
  TRY(ref_read_exact(f, "spread_max", H5T_NATIVE_DOUBLE, RREF_STEPS, r->spread_max));
  return 0;
fail:
  return -1;
}

/* PyTorch's side of one tensor: its sampled indices and values per step */
typedef struct {
  hsize_t nsample;
  int64_t *index;
  float *steps; /* (RREF_STEPS, nsample) */
} rref_tensor_t;

static int tensor_load(hid_t f, const nn_tensor_t *ts, float *init, rref_tensor_t *rt) {
  char path[96];
  int rank;
  snprintf(path, sizeof path, "init/%s", ts->name);
  TRY(ref_read_exact(f, path, H5T_NATIVE_FLOAT, ts->size, init));
  snprintf(path, sizeof path, "index/%s", ts->name);
  TRY(h5_dataset_dims(f, path, &rank, &rt->nsample));
  rt->index = dpt_alloc(sizeof(int64_t) * rt->nsample);
  rt->steps = dpt_alloc(sizeof(float) * rt->nsample * RREF_STEPS);
  TRY(ref_read_exact(f, path, H5T_NATIVE_INT64, rt->nsample, rt->index));
  for (hsize_t j = 0; j < rt->nsample; j++)
    if (rt->index[j] < 0 || rt->index[j] >= (int64_t)ts->size)
      TRY(dpt_fail("%s: index %lld outside its %zu floats", path, (long long)rt->index[j],
                   ts->size));
  snprintf(path, sizeof path, "steps/%s", ts->name);
  TRY(ref_read_exact(f, path, H5T_NATIVE_FLOAT, rt->nsample * RREF_STEPS, rt->steps));
  return 0;
fail:
  return dpt_wrap("%s", ts->name);
}

static int rref_config(const rref_t *r, dpt_config_t *cfg) {
  char yaml[1024];
  snprintf(yaml, sizeof yaml,
           "model:\n  name: ResNet20\n  epochs: 10\n  batch_size: %d\n  learning_rate: %.17g\n"
           "  optimizer: SGDM\n  scheduler: constant\n  weight_decay: %.17g\n"
           "  bn: {ghost_batch: %d, momentum: %.17g}\n"
           "optim: {momentum: %.17g}\n"
           "data: {path: " RREF_PATH ", val_fraction: 0, crop_padding: 0, flip: false}\n"
           "train: {eval_batch: %d}\n",
           RREF_N, r->lr, r->weight_decay, RREF_N, r->bn_momentum, r->momentum, RREF_N);
  return config_load_string(cfg, yaml, "test_resnet_reference", NULL, 0);
}


/* One tensor after step s (0-based): the sampled error relative to PyTorch's update. */
static void compare(const nn_tensor_t *ts, const float *w, const float *w0,
                    const rref_tensor_t *rt, int s, const rref_t *r, double *worst) {
  const float *ref = rt->steps + (size_t)s * rt->nsample;
  double e2 = 0, u2 = 0, emax = 0, umax = 0;
  for (hsize_t j = 0; j < rt->nsample; j++) {
    int64_t i = rt->index[j];
    double e = fabs((double)w[i] - ref[j]), u = fabs((double)ref[j] - w0[i]);
    e2 += e * e, u2 += u * u;
    emax = fmax(emax, e), umax = fmax(umax, u);
  }
  if (strstr(ts->name, "num_batches_tracked")) {
    if (!(e2 == 0)) test_failed(__FILE__, __LINE__, "%s after step %d: %g, PyTorch %g",
                                ts->name, s + 1, w[0], ref[0]);
    return;
  }
  double l2 = sqrt(e2) / (sqrt(u2) + 1e-30), mx = emax / (umax + 1e-30);
  double bl2 = 4 * r->spread_l2[s] + 1e-4, bmax = 4 * r->spread_max[s] + 1e-4;
  if (umax < 1e-6) l2 = mx = emax; /* a tensor PyTorch did not move: absolute */
  if (!(l2 <= bl2) || !(mx <= bmax))
    test_failed(__FILE__, __LINE__, "%s after step %d differs from PyTorch by %.3g of its "
                "update in L2 (at most %.3g) and up to %.3g of its largest (at most %.3g)",
                ts->name, s + 1, l2, bl2, mx, bmax);
  worst[0] = fmax(worst[0], l2 / (r->spread_l2[s] + 1e-30));
  worst[1] = fmax(worst[1], l2);
}

TEST(resnet20_sgdm_steps_match_pytorch) {
  rref_t *r = dpt_alloc(sizeof *r);
  dpt_dataset_t ds;
  dpt_config_t cfg;
  trainer_t t;
  hid_t f = h5_open_checked(RREF_PATH, "dpt-torch-reference", 1);
  if (f < 0 || rref_load(f, r) < 0) {
    test_failed(__FILE__, __LINE__, "%s: %s", RREF_PATH, dpt_errmsg());
    if (f >= 0) H5Fclose(f);
    dpt_free(r);
    return;
  }
  ref_fmnist_dataset(&ds, RREF_N, r->images, r->labels, r->mean, r->std);
  CHECK_OK(rref_config(r, &cfg));
  CHECK_OK(trainer_init(&t, &cfg, &ds, "/nonexistent-run-dir", MPI_COMM_WORLD));
  nn_model_t *m = &t.model;
  rref_tensor_t *rt = dpt_alloc(sizeof *rt * m->ntensors);
  float *w0 = dpt_alloc(sizeof(float) * m->nparams);
  int ok = 1;
  for (int i = 0; ok && i < m->ntensors; i++)
    if (tensor_load(f, &m->tensors[i], w0 + m->tensors[i].offset, &rt[i]) < 0) {
      test_failed(__FILE__, __LINE__, "%s: %s", RREF_PATH, dpt_errmsg());
      ok = 0;
    }
  int rank;
  hsize_t nnames = 0;
  CHECK(h5_dataset_dims(f, "names", &rank, &nnames) == 0 && nnames == (hsize_t)m->ntensors);
  H5Fclose(f);
  int64_t batch[RREF_N];
  for (int i = 0; i < RREF_N; i++) batch[i] = i;
  pipeline_batch(&t.pipe, &ds.train, batch, RREF_N, PIPE_EVAL, 0, t.scratch.input,
                 t.scratch.labels);
  CHECK(memcmp(t.scratch.input, r->input, sizeof r->input) == 0);
  memcpy(t.state.params, w0, sizeof(float) * m->nparams);
  for (int s = 0; ok && s < RREF_STEPS; s++) {
    CHECK_OK(trainer_step(&t, batch, RREF_N, r->lr));
    double worst[2] = {0, 0};
    for (int i = 0; i < m->ntensors; i++)
      compare(&m->tensors[i], t.state.params + m->tensors[i].offset,
              w0 + m->tensors[i].offset, &rt[i], s, r, worst);
    if (getenv("DPT_REFERENCE_VERBOSE"))
      printf("  step %2d: worst L2 error %.3g of the update, %.2f x PyTorch's float32 spread\n",
             s + 1, worst[1], worst[0]);
  }
  for (int i = 0; i < m->ntensors; i++) dpt_free(rt[i].index), dpt_free(rt[i].steps);
  dpt_free(rt);
  dpt_free(w0);
  trainer_free(&t);
  dpt_free(r);
}
