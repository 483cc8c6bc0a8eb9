/* bench.h - dpt-bench, how fast one training step runs and where its time goes. Prints
 * numbers, never asserts. bench.c drives it on a synthetic CIFAR-100-shaped set in
 * memory: (a) the throughput of trainer_step, as a fraction of the core's FMA peak
 * (peak.c), and (b) the step split by phase (step.c),
 * (c) single-thread sgemm as the yardstick (sgemm.c), (e) checkpoint write and read and
 * (f) the cost of an averaging of local methods (state.c), (g) the cost of a round of
 * each compressor on the seed LeNet's vector (compress.c). */
#ifndef DPT_BENCH_H
#define DPT_BENCH_H

#include "../src/data/dataset.h"
#include "../src/train/trainer.h"

#define BENCH_TRAIN 4096 /* synthetic training images */

typedef struct {
  int batch;         /* images per step */
  double seconds;    /* how long to time the step for */
  const char *model; /* model.name as given: LeNet, LeNet5 or a ResNet */
  int sgemm_n;       /* size of the square sgemm; 0 skips every sgemm */
  int step_only;     /* only the step and its phases: (a) and (b) */
} bench_opts_t;

/* Runs every part, printing to stdout; writes only a scratch directory it removes.
 * Fails when the trainer cannot be set up. */
int bench_run(const bench_opts_t *o);

/* This thread's CPU time and the monotonic clock, in seconds. */
double bench_cpu_now(void);
double bench_now(void);

/* The FP32 FMA peak of one core in GFLOP/s (peak.c), 0 where no vector path runs; *how
 * says what was measured. */
double bench_fma_peak(const char **how);
/* (a) and (b): returns the seconds of one step (for (f)); *ips its images per second;
 * peak (GFLOP/s, 0: unknown) for the step's fraction of it. */
double bench_step(trainer_t *t, const bench_opts_t *o, double peak, double *ips);
/* (c), against the step's images per second. */
void bench_sgemm(const nn_model_t *m, nn_model_kind_t kind, const bench_opts_t *o,
                 double ips);
/* (e) and (f) on fresh trainers in dir. */
void bench_checkpoint(const dpt_dataset_t *ds, nn_model_kind_t model, const char *dir);
void bench_local_methods(const dpt_dataset_t *ds, nn_model_kind_t model, const char *dir,
                         double step_s, int batch);
/* (g) */
void bench_compress(void);

#endif
