/* bench.c - dpt-bench's run: a synthetic dataset, one trainer, every part in order (see
 * bench.h). */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../src/config/config.h"
#include "../src/core/err.h"
#include "../src/core/rng.h"
#include "../src/nn/kernel.h"

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The step and its phases are timed in this thread's CPU time: on a shared node another
 * process's time slices would otherwise count as dpt's (one thread, no I/O, so on an
 * idle machine both clocks agree). */
double bench_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Random uint8 images and labels of CIFAR-100's shape; the test split is the first 64
 * training images. */
static void synthetic(dpt_dataset_t *ds) {
  memset(ds, 0, sizeof *ds);
  snprintf(ds->name, sizeof ds->name, "synthetic");
  ds->num_classes = 100;
  ds->channels = 3;
  ds->height = ds->width = 32;
  for (int i = 0; i < 3; i++) {
    ds->mean[i] = 0.5;
    ds->std[i] = 0.25;
  }
  size_t isz = 3 * 32 * 32;
  ds->train.n = BENCH_TRAIN;
  ds->train.images = dpt_alloc(isz * BENCH_TRAIN);
  ds->train.labels = dpt_alloc(BENCH_TRAIN);
  for (size_t i = 0; i < isz * BENCH_TRAIN; i++)
    ds->train.images[i] = (uint8_t)(rng_at(rng_key(1, 0, 0, 0), i) >> 56);
  for (int i = 0; i < BENCH_TRAIN; i++)
    ds->train.labels[i] = (uint8_t)(rng_at(rng_key(2, 0, 0, 0), i) % 100);
  ds->test = ds->train;
  ds->test.n = 64;
}

int bench_run(const bench_opts_t *o) {
  /* --model is parsed as model.name is, by the config. */
  char set[64];
  snprintf(set, sizeof set, "model.name=%s", o->model);
  const char *sets[] = {set};
  dpt_config_t cfg;
  if (config_load_string(&cfg, "", "dpt-bench --model", sets, 1) < 0) return -1;
  dpt_dataset_t ds;
  synthetic(&ds);
  cfg.batch_size = o->batch;
  cfg.optimizer = OPT_SGDM;
  cfg.val_fraction = 0;
  char run_dir[] = "/tmp/dpt-bench-XXXXXX";
  trainer_t t;
  int rc = -1;
  if (!mkdtemp(run_dir)) {
    dpt_fail("mkdtemp: cannot make a scratch directory in /tmp");
    goto no_dir;
  }
  if (trainer_init(&t, &cfg, &ds, run_dir, MPI_COMM_WORLD) < 0) goto out;
  nn_model_t *m = &t.model;
  printf("dpt-bench %s: model %s, 3x32x32 inputs, 100 classes, batch %d, 1 thread, SGDM\n",
         DPT_VERSION, o->model, o->batch);
  printf("  %zu parameters, %.1f MFLOP per image (forward + backward%s)\n", m->nparams,
         m->flops_per_image * 1e-6,
         m->resnet ? "" : "; the backward counted as if dense, though it visits only the "
                          "max-pool winners, so GFLOP/s may pass the peak");
  printf("  kernels: %s (DPT_KERNEL=scalar|avx2|avx512 forces a path); times are this "
         "thread's CPU time\n", nn_kernel_name(nn_kernel()));
  const char *how;
  double peak = bench_fma_peak(&how);
  if (peak > 0) printf("  FMA peak of this core: %.1f GFLOP/s (%s)\n", peak, how);
  double ips, step_s = bench_step(&t, o, peak, &ips);
  if (o->sgemm_n > 0 && !o->step_only) bench_sgemm(m, cfg.model, o, ips);
  trainer_free(&t);
  if (!o->step_only) {
    bench_checkpoint(&ds, cfg.model, run_dir);
    bench_local_methods(&ds, cfg.model, run_dir, step_s, o->batch);
    bench_compress();
  }
  rc = 0;
out:
  rmdir(run_dir);
no_dir:
  dpt_free(ds.train.images);
  dpt_free(ds.train.labels);
  return rc;
}
