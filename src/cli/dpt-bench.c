/* dpt-bench - how fast one training step runs, and where its time goes.
 *
 * Prints numbers, never asserts: (a) the throughput of trainer_step (the real trainer
 * path: pipeline, leaves, tree sum, optimizer) for the seed LeNet on 3x32x32 inputs with
 * 100 classes, batch 64, one thread, SGDM; (b) the step split by phase; (c) single-thread
 * sgemm on a large square matrix and on LeNet's per-image shapes, for the fraction of
 * peak (dpt's own kernels do that work now; sgemm stays as the yardstick). Data is
 * synthetic (random uint8 images in memory); nothing is written. */
#include <cblas.h>
#include <getopt.h>
#include <sys/stat.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../config/config.h"
#include "../core/err.h"
#include "../core/rng.h"
#include "../data/dataset.h"
#include "../data/pipeline.h"
#include "../nn/kernel.h"
#include "../nn/model.h"
#include "../optim/optim.h"
#include "../train/checkpoint.h"
#include "../train/trainer.h"
#include "../train/tree.h"

#define BENCH_TRAIN 4096

static void usage(FILE *out) {
  fprintf(out,
"usage: dpt-bench [options]\n"
"\n"
"Measures the training step of the seed LeNet (3x32x32 inputs, 100 classes, SGDM) on\n"
"one thread through trainer_step, splits it into phases, and measures single-thread\n"
"sgemm for comparison. Prints numbers only; never fails on a slow result. Times are\n"
"this thread's CPU time; DPT_KERNEL=scalar|avx2|avx512 picks the kernel path.\n"
"\n"
"options:\n"
"  -b, --batch N       batch size (default 64)\n"
"  -s, --seconds S     seconds to time the step for (default 4)\n"
"  -m, --model NAME    LeNet (default) or LeNet5\n"
"  --sgemm N           size of the square sgemm (default 2048; 0 skips all sgemm)\n"
"  -h, --help          this help\n");
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The step and its phases are timed in this thread's CPU time: on a shared node another
 * process's time slices would otherwise count as dpt's (one thread, no I/O, so on an
 * idle machine both clocks agree). */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fill_random(float *x, size_t n, uint64_t key) {
  for (size_t i = 0; i < n; i++) x[i] = (float)(2 * rng_unit(rng_at(key, i)) - 1);
}

/* GFLOP/s of C(m,n) = A(m,k) B(k,n) (row-major; ta/tb transpose), best of a few
 * timed runs of at least `secs` seconds in total. */
static double sgemm_gflops(int ta, int tb, int m, int n, int k, double beta, double secs) {
  float *a = dpt_alloc(sizeof(float) * (size_t)m * k);
  float *b = dpt_alloc(sizeof(float) * (size_t)k * n);
  float *c = dpt_alloc(sizeof(float) * (size_t)m * n);
  fill_random(a, (size_t)m * k, 1);
  fill_random(b, (size_t)k * n, 2);
  int lda = ta ? m : k, ldb = tb ? k : n;
  double best = 0, t_end = cpu_now() + secs;
  int reps = 1;
  do {
    double t0 = cpu_now();
    for (int r = 0; r < reps; r++)
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                  m, n, k, 1.0f, a, lda, b, ldb, (float)beta, c, n);
    double dt = cpu_now() - t0;
    double g = 2.0 * m * n * k * reps / dt * 1e-9;
    if (g > best) best = g;
    if (dt < 0.02) reps *= 2;
  } while (cpu_now() < t_end);
  dpt_free(a);
  dpt_free(b);
  dpt_free(c);
  return best;
}

/* A leaf that leaves its buffer as it is: what remains is the tree's own adds (the model
 * writes every gradient itself, so train_batch_leaf adds nothing around it). */
static void idle_leaf(void *ctx, int64_t leaf, float *out) {
  (void)ctx;
  (void)leaf;
  (void)out;
}

/* cp's work for the same bytes: read, write, fsync (the checkpoint is fsynced too). */
static double copy_seconds(const char *from, const char *to) {
  double t0 = now();
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
  return now() - t0;
}

/* (e) checkpoint write and read of LocalSGD with K = 8 workers, next to a plain copy. */
static void bench_checkpoint(const dpt_dataset_t *ds, const char *model, const char *dir) {
  dpt_config_t cfg;
  config_defaults(&cfg);
  snprintf(cfg.model_name, sizeof cfg.model_name, "%s", model);
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
    double t0 = now(), w0 = 0;
    if (ckpt_write(&t, t.ckpt_path) < 0 || (w0 = now() - t0, t0 = now(), 0) ||
        ckpt_load(&t, t.ckpt_path) < 0) {
      fprintf(stderr, "dpt-bench: checkpoint: %s\n", dpt_errmsg());
      break;
    }
    double w = w0;
    double r = now() - t0, c = copy_seconds(t.ckpt_path, copy);
    if (w < best_w) best_w = w;
    if (r < best_r) best_r = r;
    if (c < best_c) best_c = c;
  }
  struct stat st;
  double mb = stat(t.ckpt_path, &st) == 0 ? st.st_size / 1e6 : 0;
  printf("\n(e) checkpoint.h5, LocalSGD K = 8, %s, 1 rank (best of 3)\n", model);
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
static void bench_local_methods(const dpt_dataset_t *ds, const char *model, const char *dir,
                                double step_s, int batch) {
  static const struct { outer_kind_t kind; double lr, mu; } outers[] = {
      {OUTER_NONE, 1.0, 0.0}, {OUTER_SLOWMO, 1.0, 0.6}, {OUTER_NESTEROV, 0.7, 0.9}};
  static const char *const outer_names[] = {"none", "slowmo", "nesterov"};
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
    snprintf(cfg.model_name, sizeof cfg.model_name, "%s", model);
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
    double t0 = cpu_now();
    while (reps < 5 || cpu_now() - t0 < 0.5) {
      trainer_average(&t, 0.01);
      reps++;
    }
    double per = (cpu_now() - t0) / reps;
    printf("  outer %-9s %8.2f ms/averaging   %.2f%% of the epoch\n", outer_names[o],
           per * 1e3, 100 * per * averagings / epoch_s);
    trainer_free(&t);
  }
  printf("  memory per worker (parameters + optimizer state):\n");
  for (opt_kind_t k = OPT_SGDM; k <= OPT_LAMB; k++) {
    nn_model_t m;
    if (nn_model_init(&m, model, ds->channels, 32, 32, ds->num_classes, 1) < 0) return;
    opt_state_t st;
    opt_state_init(&st, m.nparams, k);
    int vectors = 1 + (st.m != NULL) + (st.v != NULL);
    printf("    %-6s %d vectors of %zu floats = %.1f MB\n", opt_name(k), vectors,
           m.nparams, vectors * sizeof(float) * (double)m.nparams / 1e6);
    opt_state_free(&st);
    nn_model_free(&m);
  }
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  openblas_set_num_threads(1);
  int batch = 64, sgemm_n = 2048;
  double seconds = 4;
  const char *model = "LeNet";
  enum { OPT_SGEMM = 256 };
  static const struct option longopts[] = {
      {"batch", required_argument, 0, 'b'}, {"seconds", required_argument, 0, 's'},
      {"model", required_argument, 0, 'm'}, {"sgemm", required_argument, 0, OPT_SGEMM},
      {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "b:s:m:h", longopts, NULL)) != -1) {
    switch (c) {
      case 'b': batch = atoi(optarg); break;
      case 's': seconds = atof(optarg); break;
      case 'm': model = optarg; break;
      case OPT_SGEMM: sgemm_n = atoi(optarg); break;
      case 'h': usage(stdout); MPI_Finalize(); return 0;
      default: usage(stderr); MPI_Finalize(); return 2;
    }
  }
  if (optind < argc || batch < 1 || batch > BENCH_TRAIN / 2 || !(seconds > 0) ||
      sgemm_n < 0) {
    usage(stderr);
    MPI_Finalize();
    return 2;
  }

  /* --- a synthetic CIFAR-100-shaped dataset in memory */
  dpt_dataset_t ds;
  memset(&ds, 0, sizeof ds);
  snprintf(ds.name, sizeof ds.name, "synthetic");
  ds.num_classes = 100;
  ds.channels = 3;
  ds.height = ds.width = 32;
  for (int i = 0; i < 3; i++) {
    ds.mean[i] = 0.5;
    ds.std[i] = 0.25;
  }
  size_t isz = 3 * 32 * 32;
  ds.train.n = BENCH_TRAIN;
  ds.train.images = dpt_alloc(isz * BENCH_TRAIN);
  ds.train.labels = dpt_alloc(BENCH_TRAIN);
  for (size_t i = 0; i < isz * BENCH_TRAIN; i++)
    ds.train.images[i] = (uint8_t)(rng_at(rng_key(1, 0, 0, 0), i) >> 56);
  for (int i = 0; i < BENCH_TRAIN; i++)
    ds.train.labels[i] = (uint8_t)(rng_at(rng_key(2, 0, 0, 0), i) % 100);
  ds.test = ds.train;
  ds.test.n = 64;

  dpt_config_t cfg;
  config_defaults(&cfg);
  snprintf(cfg.model_name, sizeof cfg.model_name, "%s", model);
  cfg.batch_size = batch;
  cfg.optimizer = OPT_SGDM;
  cfg.val_fraction = 0;
  char run_dir[] = "/tmp/dpt-bench-XXXXXX";
  if (!mkdtemp(run_dir)) {
    perror("dpt-bench: mkdtemp");
    MPI_Finalize();
    return 1;
  }
  trainer_t t;
  if (trainer_init(&t, &cfg, &ds, run_dir, MPI_COMM_WORLD) < 0) {
    fprintf(stderr, "dpt-bench: %s\n", dpt_errmsg());
    rmdir(run_dir);
    MPI_Finalize();
    return 1;
  }
  nn_model_t *m = &t.model;
  int nbatches = (int)(t.ntrain / batch);
  printf("dpt-bench %s: model %s, 3x32x32 inputs, 100 classes, batch %d, 1 thread, SGDM\n",
         DPT_VERSION, model, batch);
  printf("  %zu parameters, %.1f MFLOP per image (forward + backward)\n", m->nparams,
         m->flops_per_image * 1e-6);
  printf("  kernels: %s (DPT_KERNEL=scalar|avx2|avx512 forces a path); times are this "
         "thread's CPU time\n", nn_kernel_name(nn_kernel()));

  /* --- (a) step throughput */
  for (int i = 0; i < 5; i++) trainer_step(&t, t.train_idx + (i % nbatches) * batch, batch, 0.01);
  long steps = 0;
  double t0 = cpu_now(), dt;
  do {
    trainer_step(&t, t.train_idx + (steps % nbatches) * batch, batch, 0.01);
    steps++;
  } while ((dt = cpu_now() - t0) < seconds);
  double step_s = dt / steps, ips = batch / step_s;
  printf("\n(a) training step (trainer_step, %ld steps in %.2f s)\n", steps, dt);
  printf("  %.2f ms/step   %.1f images/s   %.1f GFLOP/s\n", step_s * 1e3, ips,
         ips * m->flops_per_image * 1e-9);

  /* --- (b) phases */
  nn_prof_t prof;
  memset(&prof, 0, sizeof prof);
  m->prof = &prof;
  long psteps = steps / 2 > 5 ? steps / 2 : 5;
  t0 = cpu_now();
  for (long i = 0; i < psteps; i++)
    trainer_step(&t, t.train_idx + (i % nbatches) * batch, batch, 0.01);
  double pstep_s = (cpu_now() - t0) / psteps;
  m->prof = NULL;

  /* the pieces around the model, each timed alone on the same sizes */
  long reps = psteps;
  t0 = cpu_now();
  for (long r = 0; r < reps; r++)
    for (int first = 0; first < batch; first += TRAIN_LEAF) {
      int n = batch - first < TRAIN_LEAF ? batch - first : TRAIN_LEAF;
      pipeline_batch(&t.pipe, &ds.train, t.train_idx + first, n, 1, 0, t.scratch.input, t.scratch.labels);
    }
  double pipe_s = (cpu_now() - t0) / reps;
  size_t np = m->nparams;
  int64_t leaves = (batch + TRAIN_LEAF - 1) / TRAIN_LEAF;
  t0 = cpu_now();
  for (long r = 0; r < reps; r++) {
    tree_sum(&t.tree, 0, leaves, idle_leaf, NULL, t.scratch.grads);
    for (size_t i = 0; i < np; i++) t.scratch.grads[i] *= 1.0f / batch;
  }
  double tree_s = (cpu_now() - t0) / reps;
  opt_state_t st;
  opt_state_init(&st, np, OPT_SGDM);
  float *w = dpt_alloc(sizeof(float) * np);
  memcpy(w, t.state.params, sizeof(float) * np);
  t0 = cpu_now();
  for (long r = 0; r < reps; r++) opt_step(&t.hp, m, w, t.scratch.grads, &st, 0.01);
  double opt_s = (cpu_now() - t0) / reps;
  opt_state_free(&st);
  dpt_free(w);

  printf("\n(b) phases per step (%ld steps with per-layer timers: %.2f ms/step)\n", psteps,
         pstep_s * 1e3);
  printf("  %-32s %9s %7s %9s\n", "phase", "ms/step", "share", "GFLOP/s");
  double accounted = 0;
#define ROW(name, secs, flops)                                                      \
  do {                                                                              \
    double s_ = (secs);                                                             \
    accounted += s_;                                                                \
    if ((flops) > 0)                                                                \
      printf("  %-32s %9.3f %6.1f%% %9.1f\n", name, s_ * 1e3, 100 * s_ / pstep_s,   \
             (flops) / s_ * 1e-9);                                                  \
    else                                                                            \
      printf("  %-32s %9.3f %6.1f%% %9s\n", name, s_ * 1e3, 100 * s_ / pstep_s, "");\
  } while (0)
  char name[64];
  for (int i = 0; i < m->nconv; i++) {
    const conv_shape_t *s = &m->conv[i];
    double macs = (double)s->oh * s->ow * s->cout * s->k * s->k * s->cin * batch;
    snprintf(name, sizeof name, "conv%d forward", i + 1);
    ROW(name, prof.conv_fwd[i] / psteps, 2 * macs);
  }
  for (int i = 0; i < m->nfc; i++) {
    snprintf(name, sizeof name, "fc%d forward", i + 1);
    ROW(name, prof.fc_fwd[i] / psteps, 2.0 * m->fc_in[i] * m->fc_out[i] * batch);
  }
  ROW("softmax xent", prof.xent / psteps, 0);
  for (int i = m->nfc - 1; i >= 0; i--) {
    snprintf(name, sizeof name, "fc%d backward", i + 1);
    ROW(name, prof.fc_bwd[i] / psteps, 4.0 * m->fc_in[i] * m->fc_out[i] * batch);
  }
  for (int i = m->nconv - 1; i >= 0; i--) {
    const conv_shape_t *s = &m->conv[i];
    double macs = (double)s->oh * s->ow * s->cout * s->k * s->k * s->cin * batch;
    snprintf(name, sizeof name, "conv%d backward", i + 1);
    ROW(name, prof.conv_bwd[i] / psteps, (i == 0 ? 2 : 4) * macs);
  }
  ROW("data pipeline (alone)", pipe_s, 0);
  ROW("tree sum + scale (alone)", tree_s, 0);
  ROW("optimizer SGDM (alone)", opt_s, 0);
  double rest = pstep_s - accounted; /* leaf bookkeeping, timer overhead */
  ROW("rest of the step", rest, 0);
#undef ROW
  double fc_s = 0, fc_flops = 0;
  for (int i = 0; i < m->nfc; i++) {
    fc_s += (prof.fc_fwd[i] + prof.fc_bwd[i]) / psteps;
    fc_flops += 6.0 * m->fc_in[i] * m->fc_out[i] * batch;
  }
  printf("  %-32s %9.3f %6.1f%% %9.1f\n", "(all fc layers, fwd + bwd)", fc_s * 1e3,
         100 * fc_s / pstep_s, fc_flops / fc_s * 1e-9);

  /* --- (c) sgemm */
  if (sgemm_n > 0) {
    printf("\n(c) single-thread cblas_sgemm (OpenBLAS, OPENBLAS_CORETYPE=%s)\n",
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(auto)");
    double peak = sgemm_gflops(0, 0, sgemm_n, sgemm_n, sgemm_n, 0, 2.0);
    printf("  %-40s %7.1f GFLOP/s\n", "square", peak);
    printf("  square n = %d; the step above runs at %.0f%% of it\n", sgemm_n,
           100 * ips * m->flops_per_image * 1e-9 / peak);
    if (m->nconv == 2 && strcmp(model, "LeNet") == 0) {
      struct { const char *what; int ta, tb, m, n, k; double beta; } sh[] = {
          {"conv1 fwd   784x64x75   (NT)", 0, 1, 784, 64, 75, 0},
          {"conv2 fwd   100x64x1600 (NT)", 0, 1, 100, 64, 1600, 0},
          {"conv1 dW    64x75x784   (TN)", 1, 0, 64, 75, 784, 1},
          {"conv2 dW    64x1600x100 (TN)", 1, 0, 64, 1600, 100, 1},
          {"conv2 dX    100x1600x64 (NN)", 0, 0, 100, 1600, 64, 0},
          {"fc1 fwd     16x384x1600 (NT)", 0, 1, 16, 384, 1600, 1},
      };
      for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++)
        printf("  %-40s %7.1f GFLOP/s\n", sh[i].what,
               sgemm_gflops(sh[i].ta, sh[i].tb, sh[i].m, sh[i].n, sh[i].k, sh[i].beta, 0.3));
    }
  }

  trainer_free(&t);
  bench_checkpoint(&ds, model, run_dir);
  bench_local_methods(&ds, model, run_dir, step_s, batch);
  dpt_free(ds.train.images);
  dpt_free(ds.train.labels);
  rmdir(run_dir);
  MPI_Finalize();
  return 0;
}
