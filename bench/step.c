/* step.c - (a) the throughput of trainer_step (the real trainer path: pipeline, leaves,
 * tree sum, optimizer) and (b) the same step split by phase: the model's layers by
 * their own timers, the pieces around the model each timed alone on the same sizes. */
#include <stdio.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/data/pipeline.h"
#include "../src/optim/optim.h"
#include "../src/comm/tree.h"
#include "../src/nn/resnet.h"
#include "bench.h"

/* Steps first .. first + n - 1 through the training set in order, wrapping around. */
static void steps(trainer_t *t, int batch, long first, long n) {
  long nbatches = t->ntrain / batch;
  for (long i = first; i < first + n; i++)
    trainer_step(t, t->train_idx + (i % nbatches) * batch, batch, 0.01);
}

/* A leaf that leaves its buffer as it is: what remains is the tree's own adds (the model
 * writes every gradient itself, so train_batch_leaf adds nothing around it). */
static void idle_leaf(void *ctx, int64_t leaf, float *out) {
  (void)ctx;
  (void)leaf;
  (void)out;
}

typedef struct {
  double pipe, tree, opt; /* seconds per step of each piece alone */
} pieces_t;

static pieces_t time_pieces(trainer_t *t, int batch, long reps) {
  pieces_t p;
  nn_model_t *m = &t->model;
  double t0 = bench_cpu_now();
  for (long r = 0; r < reps; r++)
    for (int first = 0; first < batch; first += t->leaf) {
      int n = batch - first < t->leaf ? batch - first : t->leaf;
      pipeline_batch(&t->pipe, &t->ds->train, t->train_idx + first, n, PIPE_AUGMENT, 0,
                     t->scratch.input, t->scratch.labels);
    }
  p.pipe = (bench_cpu_now() - t0) / reps;
  size_t np = m->nparams;
  int64_t leaves = (batch + t->leaf - 1) / t->leaf;
  t0 = bench_cpu_now();
  for (long r = 0; r < reps; r++) {
    tree_sum(&t->tree, 0, leaves, idle_leaf, NULL, t->scratch.grads);
    for (size_t i = 0; i < np; i++) t->scratch.grads[i] *= 1.0f / batch;
  }
  p.tree = (bench_cpu_now() - t0) / reps;
  opt_state_t st;
  opt_state_init(&st, np, OPT_SGDM);
  float *w = dpt_alloc(sizeof(float) * np);
  memcpy(w, t->state.params, sizeof(float) * np);
  t0 = bench_cpu_now();
  for (long r = 0; r < reps; r++) opt_step(&t->hp, m, w, t->scratch.grads, &st, 0.01);
  p.opt = (bench_cpu_now() - t0) / reps;
  opt_state_free(&st);
  dpt_free(w);
  return p;
}

/* One line of the phase table; adds secs to *accounted. */
static void row(const char *name, double secs, double flops, double step_s, double *accounted) {
  *accounted += secs;
  if (flops > 0)
    printf("  %-32s %9.3f %6.1f%% %9.1f\n", name, secs * 1e3, 100 * secs / step_s,
           flops / secs * 1e-9);
  else
    printf("  %-32s %9.3f %6.1f%% %9s\n", name, secs * 1e3, 100 * secs / step_s, "");
}

static double conv_macs(const nn_conv_shape_t *s, int batch) {
  return (double)s->oh * s->ow * s->cout * s->k * s->k * s->cin * batch;
}

/* multiply-adds of one image through the ResNet's 3x3 convolutions: all of them, and
 * the stem's (whose input gradient is never computed) */
static double resnet_macs(const struct nn_resnet *r, double *stem) {
  const nn_conv3_t *s = &r->stem;
  *stem = (double)s->oh * s->ow * s->cout * 9 * s->cin;
  double macs = *stem;
  for (int k = 0; k < r->nblocks; k++)
    for (int j = 0; j < 2; j++) {
      s = j ? &r->blocks[k].conv2 : &r->blocks[k].conv1;
      macs += (double)s->oh * s->ow * s->cout * 9 * s->cin;
    }
  return macs;
}

static void print_resnet_layers(const nn_model_t *m, const nn_prof_t *prof, long n, int batch,
                                double step_s, double *acc) {
  double stem, macs = resnet_macs(m->resnet, &stem);
  row("3x3 conv forward", prof->conv3_fwd / n, 2 * macs * batch, step_s, acc);
  /* the conv's backward computes its output gradient, batch norm's input gradient, an
   * image at a time (nn_conv3_backward_fused): its time is in the conv's row */
  row("3x3 conv bwd (dW, dx, bn's dx)", prof->conv3_bwd / n,
      (4 * macs - 2 * stem) * batch, step_s, acc);
  row("batch norm (+ add, ReLU) fwd", prof->bn_fwd / n, 0, step_s, acc);
  row("batch norm bwd (mask, sums)", prof->bn_bwd / n, 0, step_s, acc);
}

static void print_phases(const nn_model_t *m, const nn_prof_t *prof, long n, int batch,
                         double step_s, const pieces_t *p) {
  double acc = 0;
  char name[64];
  printf("  %-32s %9s %7s %9s\n", "phase", "ms/step", "share", "GFLOP/s");
  if (m->resnet) print_resnet_layers(m, prof, n, batch, step_s, &acc);
  for (int i = 0; i < m->nconv; i++) {
    snprintf(name, sizeof name, "conv%d forward", i + 1);
    row(name, prof->conv_fwd[i] / n, 2 * conv_macs(&m->conv[i], batch), step_s, &acc);
  }
  for (int i = 0; i < m->nfc; i++) {
    snprintf(name, sizeof name, "fc%d forward", i + 1);
    row(name, prof->fc_fwd[i] / n, 2.0 * m->fc_in[i] * m->fc_out[i] * batch, step_s, &acc);
  }
  row("softmax xent", prof->xent / n, 0, step_s, &acc);
  for (int i = m->nfc - 1; i >= 0; i--) {
    snprintf(name, sizeof name, "fc%d backward", i + 1);
    row(name, prof->fc_bwd[i] / n, 4.0 * m->fc_in[i] * m->fc_out[i] * batch, step_s, &acc);
  }
  for (int i = m->nconv - 1; i >= 0; i--) {
    snprintf(name, sizeof name, "conv%d backward", i + 1);
    row(name, prof->conv_bwd[i] / n, (i == 0 ? 2 : 4) * conv_macs(&m->conv[i], batch),
        step_s, &acc);
  }
  row("data pipeline (alone)", p->pipe, 0, step_s, &acc);
  row("tree sum + scale (alone)", p->tree, 0, step_s, &acc);
  row("optimizer SGDM (alone)", p->opt, 0, step_s, &acc);
  row("rest of the step", step_s - acc, 0, step_s, &acc); /* leaf bookkeeping, timers */
  if (m->resnet) return;
  double fc_s = 0, fc_flops = 0;
  for (int i = 0; i < m->nfc; i++) {
    fc_s += (prof->fc_fwd[i] + prof->fc_bwd[i]) / n;
    fc_flops += 6.0 * m->fc_in[i] * m->fc_out[i] * batch;
  }
  printf("  %-32s %9.3f %6.1f%% %9.1f\n", "(all fc layers, fwd + bwd)", fc_s * 1e3,
         100 * fc_s / step_s, fc_flops / fc_s * 1e-9);
}

double bench_step(trainer_t *t, const bench_opts_t *o, double peak, double *ips) {
  nn_model_t *m = &t->model;
  int batch = o->batch;
  steps(t, batch, 0, 5); /* warm-up */
  long n = 0;
  double t0 = bench_cpu_now(), dt;
  do {
    steps(t, batch, n++, 1);
  } while ((dt = bench_cpu_now() - t0) < o->seconds);
  double step_s = dt / n;
  *ips = batch / step_s;
  printf("\n(a) training step (trainer_step, %ld steps in %.2f s)\n", n, dt);
  double gflops = *ips * m->flops_per_image * 1e-9;
  printf("  %.2f ms/step   %.1f images/s   %.1f GFLOP/s", step_s * 1e3, *ips, gflops);
  if (peak > 0) printf("   %.0f%% of the FMA peak", 100 * gflops / peak);
  printf("\n");

  nn_prof_t prof;
  memset(&prof, 0, sizeof prof);
  m->prof = &prof;
  long pn = n / 2 > 5 ? n / 2 : 5;
  t0 = bench_cpu_now();
  steps(t, batch, 0, pn);
  double pstep_s = (bench_cpu_now() - t0) / pn;
  m->prof = NULL;
  pieces_t p = time_pieces(t, batch, pn);
  printf("\n(b) phases per step (%ld steps with per-layer timers: %.2f ms/step)\n", pn,
         pstep_s * 1e3);
  print_phases(m, &prof, pn, batch, pstep_s, &p);
  return step_s;
}
