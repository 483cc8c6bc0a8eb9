/* state.c - the run state's costs: (e) writing and reading the checkpoint of LocalSGD
 * with K = 8 workers next to a plain copy of its bytes, and (f) one averaging of K = 8
 * workers per outer optimizer against an epoch of steps, with each inner optimizer's
 * memory per worker. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/config/config.h"
#include "../src/core/err.h"
#include "../src/nn/model.h"
#include "../src/optim/optim.h"
#include "../src/train/checkpoint.h"
#include "bench.h"

/* cp's work for the same bytes: read, write, fsync (the checkpoint is fsynced too). */
static double copy_seconds(const char *from, const char *to) {
  double t0 = bench_now();
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  static char buf[1 << 20];
  size_t n;
  while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  if (out) {
    fflush(out);
    fsync(fileno(out));
    fclose(out);
  }
  if (in) fclose(in);
  return bench_now() - t0;
}

/* (e) checkpoint write and read of LocalSGD with K = 8 workers, next to a plain copy. */
void bench_checkpoint(const dpt_dataset_t *ds, nn_model_kind_t model, const char *dir) {
  dpt_config_t cfg;
  config_defaults(&cfg);
  cfg.model = model;
  cfg.num_workers = 8;
  cfg.work_optimizer = OPT_ADAMW;
  cfg.val_fraction = 0;
  trainer_t t;
  if (trainer_init(&t, &cfg, ds, dir, MPI_COMM_WORLD) < 0) {
    fprintf(stderr, "dpt-bench: %s\n", dpt_errmsg());
    return;
  }
  char copy[4200];
  snprintf(copy, sizeof copy, "%s/copy.h5", dir);
  double best_w = 1e30, best_r = 1e30, best_c = 1e30;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = bench_now(), w0 = 0;
    if (ckpt_write(&t, t.ckpt_path) < 0 || (w0 = bench_now() - t0, t0 = bench_now(), 0) ||
        ckpt_load(&t, t.ckpt_path) < 0) {
      fprintf(stderr, "dpt-bench: checkpoint: %s\n", dpt_errmsg());
      break;
    }
    double w = w0;
    double r = bench_now() - t0, c = copy_seconds(t.ckpt_path, copy);
    if (w < best_w) best_w = w;
    if (r < best_r) best_r = r;
    if (c < best_c) best_c = c;
  }
  struct stat st;
  double mb = stat(t.ckpt_path, &st) == 0 ? st.st_size / 1e6 : 0;
  printf("\n(e) checkpoint.h5, LocalSGD K = 8, %s, 1 rank (best of 3)\n",
         nn_model_name(model));
  printf("  size %.1f MB   write %.3f s (%.0f MB/s, fsync + rename)   read %.3f s   "
         "cp %.3f s   write/cp %.2fx\n", mb, best_w, mb / best_w, best_r, best_c,
         best_w / best_c);
  unlink(t.ckpt_path);
  unlink(copy);
  trainer_free(&t);
}

/* (f) one averaging of K = 8 workers (trainer_average: the tree sum over the workers,
 * the outer step, the state averaging of model.work.momentum: average) for each outer
 * optimizer, against an epoch of 8 workers' steps with H = 8; and each inner
 * optimizer's memory per worker (parameters and optimizer state). */
void bench_local_methods(const dpt_dataset_t *ds, nn_model_kind_t model, const char *dir,
                                double step_s, int batch) {
  static const struct { outer_kind_t kind; double lr, mu; } outers[] = {
      {OUTER_NONE, 1.0, 0.0}, {OUTER_SLOWMO, 1.0, 0.6}, {OUTER_NESTEROV, 0.7, 0.9}};
  /* CIFAR-100's 50,000 training images over 8 workers of `batch` images */
  const double local_steps = 50000.0 / 8 / batch, averagings = local_steps / 8;
  const double epoch_s = local_steps * 8 * step_s;
  printf("\n(f) local methods: one averaging of K = 8 workers (AdamW workers, moments "
         "averaged), 1 rank, CPU time\n");
  printf("  an epoch of 50,000 images, b = %d, H = 8: %.0f averagings, %.1f s of steps\n",
         batch, averagings, epoch_s);
  for (int o = 0; o < 3; o++) {
    dpt_config_t cfg;
    config_defaults(&cfg);
    cfg.model = model;
    cfg.num_workers = 8;
    cfg.work_optimizer = OPT_ADAMW;
    cfg.local_momentum = LOCAL_MOMENTUM_AVERAGE;
    cfg.outer_type = outers[o].kind;
    cfg.outer_lr = outers[o].lr;
    cfg.outer_momentum = outers[o].mu;
    cfg.val_fraction = 0;
    trainer_t t;
    if (trainer_init(&t, &cfg, ds, dir, MPI_COMM_WORLD) < 0) {
      fprintf(stderr, "dpt-bench: %s\n", dpt_errmsg());
      return;
    }
    int reps = 0;
    double t0 = bench_cpu_now();
    while (reps < 5 || bench_cpu_now() - t0 < 0.5) {
      trainer_average(&t, 0.01);
      reps++;
    }
    double per = (bench_cpu_now() - t0) / reps;
    printf("  outer %-9s %8.2f ms/averaging   %.2f%% of the epoch\n",
           outer_def(outers[o].kind)->name, per * 1e3, 100 * per * averagings / epoch_s);
    trainer_free(&t);
  }
  printf("  memory per worker (parameters + optimizer state):\n");
  for (opt_kind_t k = 0; (int)k < opt_ndefs; k++) {
    nn_model_t m;
    if (nn_model_init(&m, model, ds->channels, 32, 32, ds->num_classes, 1) < 0) return;
    opt_state_t st;
    opt_state_init(&st, m.nparams, k);
    int vectors = 1 + opt_def(k)->nstate;
    printf("    %-6s %d vectors of %zu floats = %.1f MB\n", opt_name(k), vectors,
           m.nparams, vectors * sizeof(float) * (double)m.nparams / 1e6);
    opt_state_free(&st);
    nn_model_free(&m);
  }
}
