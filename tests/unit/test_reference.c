/* test_reference.c - dpt against PyTorch, the oracle (llm.c's test_gpt2 idea).
 *
 * tests/reference/lenet_fmnist.h5 (written by tests/reference/make_torch_reference.py,
 * committed, so no PyTorch is needed here) holds the seed's LeNet with fixed initial
 * weights in dpt's layout, 32 Fashion-MNIST images, and PyTorch's weights after each of 10
 * full-batch steps of SGDM, AdamW, LocalSGD (K = 2, H = 2, momentum kept) and SlowMo. The
 * same steps run here through the trainer: trainer_step for the centralized optimizers;
 * for LocalSGD each worker's step as the trainer's local loop takes it (pipeline, model,
 * mean, opt_step with the workers' hyper-parameters), then trainer_average. */
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

#define REF_PATH "tests/reference/lenet_fmnist.h5"
#define REF_IMAGES 32
#define REF_TENSORS 10
#define REF_STEPS 10

/* ---------------------------------------------------------------- the file */

typedef struct {
  int64_t steps, nparams, nsample;
  double mean, std;
  uint8_t images[REF_IMAGES * 28 * 28], labels[REF_IMAGES];
  float *input;              /* (32, 32, 32, 1): the normalised batch */
  int64_t offset[REF_TENSORS], size[REF_TENSORS];
  float *init;               /* (nparams) */
  int64_t *sample;           /* (nsample) flat indices checked at every step */
} ref_t;

/* PyTorch's run of one algorithm: its hyper-parameters and, per step (and worker),
 * the sampled weights, the L2 norms of each tensor's update w_t - w_0, and (centralized)
 * the loss before the step. */
typedef struct {
  double lr, momentum, weight_decay, beta1, beta2, eps, slowmo_lr, slowmo_momentum;
  int workers, local_steps;  /* 1, 1 for the centralized runs */
  float *params;             /* (steps, workers, nsample) */
  double *norm;              /* (steps, workers, REF_TENSORS) */
  double loss[REF_STEPS];
} ref_run_t;


static int ref_load(ref_t *r) {
  memset(r, 0, sizeof *r);
  hid_t f = h5_open_checked(REF_PATH, "dpt-torch-reference", 1), lay = -1;
  if (f < 0) return -1;
  hsize_t np;
  int rank;
  TRY(h5_read_attr_i64(f, "steps", &r->steps));
  TRY(h5_read_attr_f64(f, "mean", &r->mean));
  TRY(h5_read_attr_f64(f, "std", &r->std));
  TRY(ref_read_exact(f, "images", H5T_NATIVE_UINT8, sizeof r->images, r->images));
  TRY(ref_read_exact(f, "labels", H5T_NATIVE_UINT8, REF_IMAGES, r->labels));
  r->input = dpt_alloc(sizeof(float) * REF_IMAGES * 32 * 32);
  TRY(ref_read_exact(f, "input", H5T_NATIVE_FLOAT, REF_IMAGES * 32 * 32, r->input));
  if ((lay = H5Gopen2(f, "layout", H5P_DEFAULT)) < 0) TRY(dpt_fail("no group /layout"));
  TRY(h5_read_attr_i64(lay, "nparams", &r->nparams));
  TRY(ref_read_exact(lay, "offset", H5T_NATIVE_INT64, REF_TENSORS, r->offset));
  TRY(ref_read_exact(lay, "size", H5T_NATIVE_INT64, REF_TENSORS, r->size));
  r->init = dpt_alloc(sizeof(float) * r->nparams);
  TRY(ref_read_exact(f, "params_init", H5T_NATIVE_FLOAT, (hsize_t)r->nparams, r->init));
  TRY(h5_dataset_dims(f, "sample_index", &rank, &np));
  r->nsample = (int64_t)np;
  r->sample = dpt_alloc(sizeof(int64_t) * r->nsample);
  TRY(ref_read_exact(f, "sample_index", H5T_NATIVE_INT64, np, r->sample));
  for (int64_t i = 0; i < r->nsample; i++)
    if (r->sample[i] < 0 || r->sample[i] >= r->nparams)
      TRY(dpt_fail("sample_index[%lld] = %lld is outside the %lld parameters", (long long)i,
                   (long long)r->sample[i], (long long)r->nparams));
  if (r->steps != REF_STEPS)
    TRY(dpt_fail("steps = %lld, expected %d", (long long)r->steps, REF_STEPS));
  H5Gclose(lay);
  H5Fclose(f);
  return 0;
fail:
  if (lay >= 0) H5Gclose(lay);
  H5Fclose(f);
  return dpt_wrap("%s", REF_PATH);
}

static void ref_free(ref_t *r) {
  dpt_free(r->input);
  dpt_free(r->init);
  dpt_free(r->sample);
}

static int ref_run_load(const ref_t *r, const char *name, ref_run_t *run) {
  memset(run, 0, sizeof *run);
  run->workers = run->local_steps = 1;
  hid_t f = h5_open_checked(REF_PATH, "dpt-torch-reference", 1), g = -1;
  if (f < 0) return -1;
  int64_t k = 1, h = 1;
  if ((g = H5Gopen2(f, name, H5P_DEFAULT)) < 0) TRY(dpt_fail("no group /%s", name));
  TRY(h5_read_attr_f64(g, "lr", &run->lr));
  TRY(h5_read_attr_f64(g, "weight_decay", &run->weight_decay));
  /* each algorithm has its own keys: read those it has */
  if (H5Aexists(g, "momentum") > 0) TRY(h5_read_attr_f64(g, "momentum", &run->momentum));
  if (H5Aexists(g, "beta1") > 0) {
    TRY(h5_read_attr_f64(g, "beta1", &run->beta1));
    TRY(h5_read_attr_f64(g, "beta2", &run->beta2));
    TRY(h5_read_attr_f64(g, "eps", &run->eps));
  }
  if (H5Aexists(g, "workers") > 0) {
    TRY(h5_read_attr_i64(g, "workers", &k));
    TRY(h5_read_attr_i64(g, "local_steps", &h));
  }
  if (H5Aexists(g, "slowmo_lr") > 0) {
    TRY(h5_read_attr_f64(g, "slowmo_lr", &run->slowmo_lr));
    TRY(h5_read_attr_f64(g, "slowmo_momentum", &run->slowmo_momentum));
  }
  if (k < 1 || k > 2 || h < 1) TRY(dpt_fail("workers = %lld, local_steps = %lld: expected "
                                           "1 or 2 workers, H >= 1", (long long)k, (long long)h));
  run->workers = (int)k;
  run->local_steps = (int)h;
  hsize_t rows = (hsize_t)r->steps * k;
  run->params = dpt_alloc(sizeof(float) * rows * r->nsample);
  run->norm = dpt_alloc(sizeof(double) * rows * REF_TENSORS);
  TRY(ref_read_exact(g, "params", H5T_NATIVE_FLOAT, rows * r->nsample, run->params));
  TRY(ref_read_exact(g, "update_norm", H5T_NATIVE_DOUBLE, rows * REF_TENSORS, run->norm));
  if (k == 1) TRY(ref_read_exact(g, "loss", H5T_NATIVE_DOUBLE, (hsize_t)r->steps, run->loss));
  H5Gclose(g);
  H5Fclose(f);
  return 0;
fail:
  if (g >= 0) H5Gclose(g);
  H5Fclose(f);
  return dpt_wrap("%s: /%s", REF_PATH, name);
}

static void ref_run_free(ref_run_t *run) {
  dpt_free(run->params);
  dpt_free(run->norm);
}

/* ---------------------------------------------------------------- dpt's side */

/* The file's batch as a one-split dataset, with the file's normalisation constants. */
static void ref_dataset(ref_t *r, dpt_dataset_t *ds) {
  ref_fmnist_dataset(ds, REF_IMAGES, r->images, r->labels, r->mean, r->std);
}

/* A run config with the file's hyper-parameters: constant lr, no validation split, no
 * augmentation, one eval batch for the whole file. */
static int ref_config(const ref_run_t *run, const char *optimizer, dpt_config_t *cfg) {
  char yaml[2048], local[256] = "", slowmo[128] = "", optim[256];
  if (run->slowmo_lr > 0)
    snprintf(slowmo, sizeof slowmo, "  slowmo: {learning_rate: %.17g, momentum: %.17g}\n",
             run->slowmo_lr, run->slowmo_momentum);
  if (run->workers > 1)
    snprintf(local, sizeof local,
             "  num_workers: %d\n  work: {local_steps: %d, batch_size: %d, momentum: keep}\n",
             run->workers, run->local_steps, REF_IMAGES / run->workers);
  if (run->beta1 > 0)
    snprintf(optim, sizeof optim, "optim: {beta1: %.17g, beta2: %.17g, eps: %.17g}\n",
             run->beta1, run->beta2, run->eps);
  else
    snprintf(optim, sizeof optim, "optim: {momentum: %.17g}\n", run->momentum);
  snprintf(yaml, sizeof yaml,
           "model:\n  name: LeNet\n  epochs: 10\n  batch_size: %d\n  learning_rate: %.17g\n"
           "  optimizer: %s\n  scheduler: constant\n  weight_decay: %.17g\n%s%s%s"
           "data: {path: " REF_PATH ", val_fraction: 0, crop_padding: 0, flip: false}\n"
           "train: {eval_batch: %d}\n",
           REF_IMAGES, run->lr, optimizer, run->weight_decay, local, slowmo, optim,
           REF_IMAGES);
  return config_load_string(cfg, yaml, "test_reference", NULL, 0);
}

/* ---------------------------------------------------------------- comparing */

/* How far dpt may be from PyTorch after step s, per tensor, relative to how far the
 * tensor moved (see the tests below): over the sampled weights, the L2 norm of the
 * difference over the L2 norm of PyTorch's update w_s - w_0 (`l2`) and the largest
 * difference over the largest update (`max`); over every weight, the relative difference
 * of the update's L2 norm (`norm`). Each bound is `at1` after step 1 and grows linearly
 * to `at10` after step 10 (REF_STEPS). */
typedef struct {
  double l2, max, norm;
} ref_err_t;

typedef struct {
  ref_err_t at1, at10;
} ref_tol_t;

static double tol_at(double at1, double at10, int step) {
  return at1 + (at10 - at1) * (step - 1) / (REF_STEPS - 1);
}

/* Checks one step's weights w of one worker against PyTorch's (ref at the sampled
 * indices, ref_norm per tensor); DPT_REFERENCE_VERBOSE=1 prints the worst measures. */
static void compare(const ref_t *r, const nn_model_t *m, const float *w, const float *ref,
                    const double *ref_norm, const ref_tol_t *tol, const char *what, int step,
                    int worker) {
  ref_err_t worst = {0, 0, 0};
  const ref_err_t bound = {tol_at(tol->at1.l2, tol->at10.l2, step),
                           tol_at(tol->at1.max, tol->at10.max, step),
                           tol_at(tol->at1.norm, tol->at10.norm, step)};
  for (int t = 0; t < REF_TENSORS; t++) {
    const nn_tensor_t *ts = &m->tensors[t];
    double norm = 0, e2 = 0, u2 = 0, emax = 0, umax = 0;
    int64_t at = -1, n = 0;
    for (size_t i = ts->offset; i < ts->offset + ts->size; i++)
      norm += ((double)w[i] - r->init[i]) * ((double)w[i] - r->init[i]);
    for (int64_t j = 0; j < r->nsample; j++) {
      int64_t i = r->sample[j];
      if (i < (int64_t)ts->offset || i >= (int64_t)(ts->offset + ts->size)) continue;
      double e = fabs((double)w[i] - ref[j]), u = fabs((double)ref[j] - r->init[i]);
      n++;
      e2 += e * e;
      u2 += u * u;
      umax = fmax(umax, u);
      if (at < 0 || !(e <= emax)) {
        emax = e;
        at = j;
      }
    }
    if (n == 0) {
      test_failed(__FILE__, __LINE__, "%s: no sampled weights of %s", what, ts->name);
      continue;
    }
    ref_err_t err = {sqrt(e2 / u2), emax / umax, fabs(sqrt(norm) - ref_norm[t]) / ref_norm[t]};
    if (!(err.l2 <= bound.l2) || !(err.max <= bound.max))
      test_failed(__FILE__, __LINE__, "%s step %d worker %d: %s differs from PyTorch by %.3g "
                  "of its update in L2 (at most %.3g) and by up to %.3g of its largest update "
                  "(at most %.3g); worst [%lld] = %.9g, PyTorch %.9g, from %.9g", what, step,
                  worker, ts->name, err.l2, bound.l2, err.max, bound.max,
                  (long long)(r->sample[at] - (int64_t)ts->offset), w[r->sample[at]],
                  ref[at], r->init[r->sample[at]]);
    if (!(err.norm <= bound.norm))
      test_failed(__FILE__, __LINE__, "%s step %d worker %d: |%s - w0| = %.9g, PyTorch %.9g "
                  "(relative difference %.3g, at most %.3g)", what, step, worker, ts->name,
                  sqrt(norm), ref_norm[t], err.norm, bound.norm);
    worst = (ref_err_t){fmax(worst.l2, err.l2), fmax(worst.max, err.max),
                        fmax(worst.norm, err.norm)};
  }
  if (getenv("DPT_REFERENCE_VERBOSE"))
    printf("  %s step %2d worker %d: l2 %.3g max %.3g norm %.3g\n", what, step, worker,
           worst.l2, worst.max, worst.norm);
}

/* ---------------------------------------------------------------- the runs */

typedef struct {
  ref_t ref;
  ref_run_t run;
  dpt_dataset_t ds;
  dpt_config_t cfg;
  trainer_t trainer;
  int64_t batch[REF_IMAGES];
} ref_case_t;

/* A trainer for PyTorch's run `group`, started from the file's weights; NULL (and a test
 * failure) when anything disagrees with the file before the first step. */
static ref_case_t *case_open(const char *group, const char *optimizer) {
  ref_case_t *c = dpt_alloc(sizeof *c);
  trainer_t *t = &c->trainer;
  int ok = ref_load(&c->ref) == 0 && ref_run_load(&c->ref, group, &c->run) == 0;
  if (ok) {
    ref_dataset(&c->ref, &c->ds);
    ok = ref_config(&c->run, optimizer, &c->cfg) == 0 &&
         trainer_init(t, &c->cfg, &c->ds, "/nonexistent-run-dir", MPI_COMM_WORLD) == 0;
  }
  if (!ok) {
    test_failed(__FILE__, __LINE__, "%s: %s", group, dpt_errmsg());
    return NULL;
  }
  /* the layout the file was written in is dpt's */
  CHECK(t->model.nparams == (size_t)c->ref.nparams);
  CHECK(t->model.ntensors == REF_TENSORS);
  for (int i = 0; i < REF_TENSORS && i < t->model.ntensors; i++) {
    CHECK(t->model.tensors[i].offset == (size_t)c->ref.offset[i]);
    CHECK(t->model.tensors[i].size == (size_t)c->ref.size[i]);
  }
  CHECK(t->lr0 == c->run.lr);
  CHECK(t->K == (c->run.workers > 1 ? c->run.workers : 0));
  /* dpt's pipeline makes PyTorch's input bit for bit */
  for (int i = 0; i < REF_IMAGES; i++) c->batch[i] = i;
  pipeline_batch(&t->pipe, &c->ds.train, c->batch, REF_IMAGES, PIPE_EVAL, 0, t->scratch.input, t->scratch.labels);
  CHECK(memcmp(t->scratch.input, c->ref.input, sizeof(float) * REF_IMAGES * 32 * 32) == 0);
  if (t->model.nparams != (size_t)c->ref.nparams) return NULL;
  memcpy(t->state.params, c->ref.init, sizeof(float) * t->model.nparams);
  for (int i = 0; i < t->nlocal; i++)
    memcpy(t->workers[i].params, c->ref.init, sizeof(float) * t->model.nparams);
  return c;
}

static void case_close(ref_case_t *c) {
  if (!c) return;
  trainer_free(&c->trainer);
  ref_run_free(&c->run);
  ref_free(&c->ref);
  dpt_free(c);
}

/* Centralized: trainer_step on the whole batch, checked after each step; the loss before
 * each step through nn_forward. */
static void run_centralized(const char *group, const char *optimizer, const ref_tol_t *tol) {
  ref_case_t *c = case_open(group, optimizer);
  if (!c) return;
  trainer_t *t = &c->trainer;
  for (int s = 0; s < c->ref.steps; s++) {
    int correct = 0;
    double loss = nn_forward(&t->model, t->state.params, c->ref.input, c->ref.labels, REF_IMAGES,
                             &correct, NULL) / REF_IMAGES;
    CHECK_NEAR(loss, c->run.loss[s], 1e-5);
    CHECK_OK(trainer_step(t, c->batch, REF_IMAGES, t->lr0));
    compare(&c->ref, &t->model, t->state.params, c->run.params + (size_t)s * c->ref.nsample,
            c->run.norm + (size_t)s * REF_TENSORS, tol, group, s + 1, 0);
  }
  case_close(c);
}

/* LocalSGD: worker k takes images [16k, 16k + 16) at every step, as the trainer's local
 * loop steps a worker; after every H-th step, trainer_average. */
static void run_local(const char *group, const ref_tol_t *tol) {
  ref_case_t *c = case_open(group, "SGDM");
  if (!c) return;
  trainer_t *t = &c->trainer;
  const int nb = REF_IMAGES / t->K;
  for (int s = 0; s < c->ref.steps; s++) {
    for (int i = 0; i < t->nlocal; i++) {
      worker_t *w = &t->workers[i];
      int correct = 0;
      pipeline_batch(&t->pipe, &c->ds.train, c->batch + w->id * nb, nb, PIPE_AUGMENT, 0, t->scratch.input,
                     t->scratch.labels);
      nn_forward_backward(&t->model, w->params, t->scratch.grads, t->scratch.input, t->scratch.labels, nb, &correct);
      const float mean = (float)(1.0 / nb);
      for (size_t j = 0; j < t->model.nparams; j++) t->scratch.grads[j] *= mean;
      CHECK_OK(opt_step(&t->local_hp, &t->model, w->params, t->scratch.grads, &w->opt, t->lr0));
    }
    if ((s + 1) % t->state.H == 0) trainer_average(t, t->lr0);
    for (int i = 0; i < t->nlocal; i++) {
      size_t row = (size_t)s * t->K + t->workers[i].id;
      compare(&c->ref, &t->model, t->workers[i].params, c->run.params + row * c->ref.nsample,
              c->run.norm + row * REF_TENSORS, tol, group, s + 1, t->workers[i].id);
    }
  }
  case_close(c);
}

/* The bounds. dpt and PyTorch both compute in float32 but sum in other orders (direct
 * convolutions, 16-image tree leaves and OpenBLAS against PyTorch's kernels), so they part
 * by rounding: after step 1 about 2e-5 of the update (L2) in the SGD runs, which is what
 * PyTorch's own float32 run differs from its float64 run by (make_torch_reference.py run in
 * float64: 1e-4 to 2e-4 at step 1). Two things exceed rounding, and set the bounds:
 * - AdamW divides each gradient by sqrt(v) + eps: a weight whose gradient cancels to the
 *   size of eps moves by lr*d/eps for a rounding error d (~1e-9 here), a good part of lr.
 *   PyTorch float32 against float64 already differs by 0.045 of the largest update at
 *   step 1; dpt by 0.051. Hence `max` 0.25 for AdamW.
 * - A max-pool window whose two largest inputs are within rounding of each other can pick
 *   another winner on either side: a discrete jump (dpt's LocalSGD at step 4: 1e-5 to
 *   7e-4 of the update; PyTorch's own SGDM at step 8), which the steps after it amplify
 *   (LocalSGD: to 0.02 L2 and 0.077 max by step 10). Hence bounds that grow with the step.
 * Observed on this machine (worst over tensors, workers and steps, L2 / max / norm):
 *   sgdm 1.2e-4 / 6.4e-4 / 7.5e-6, adamw 1.8e-3 / 0.051 / 4.5e-5,
 *   localsgd 0.020 / 0.077 / 3.4e-3, slowmo 2.0e-3 / 7.3e-3 / 1.2e-4.
 * A wrong formula is off by much more, from the first step where it acts: SGDM's first
 * buffer mu*d instead of d 0.1 at step 1, AdamW without bias correction 0.9 (m) or 30 (v)
 * at step 1, SlowMo without /lr 0.98 at step 2, SlowMo without beta 0.17 at step 4,
 * LocalSGD momentum reset or averaged at an averaging 0.42 or 0.28 at step 3 (L2). */
static const ref_tol_t SGD_TOL = {{0.01, 0.02, 0.005}, {0.1, 0.25, 0.05}};
static const ref_tol_t ADAMW_TOL = {{0.02, 0.25, 0.005}, {0.1, 0.3, 0.05}};

TEST(reference_sgdm_matches_pytorch) {
  run_centralized("sgdm", "SGDM", &SGD_TOL);
}

TEST(reference_adamw_matches_pytorch) {
  run_centralized("adamw", "AdamW", &ADAMW_TOL);
}

TEST(reference_localsgd_matches_pytorch) {
  run_local("localsgd", &SGD_TOL);
}

TEST(reference_slowmo_matches_pytorch) {
  run_local("slowmo", &SGD_TOL);
}
