/* estimate.h - the core-hours a sweep will take, printed by `dpt-sweep expand` so that a
 * user sizes a study before submitting it.
 *
 * A task's work is counted in training-image equivalents: every epoch trains on the
 * training split (after data.limit, without the validation share) and evaluates the
 * validation split; the end evaluates the test split twice (last and best model). An
 * evaluated image costs SWEEP_EVAL_COST of a trained one (the forward pass alone is about
 * a third of forward + backward). Divided by this build's training images/s per core
 * (recorded by `make bench`), it assumes ideal scaling over ranks and no early stop: an
 * upper bound on work for patience runs, a lower bound on core-hours where the ranks
 * scale below 100%. */
#ifndef DPT_SWEEP_ESTIMATE_H
#define DPT_SWEEP_ESTIMATE_H

#include <stdint.h>
#include <stdio.h>

#include "../config/config.h"
#include "sweep.h"

#define SWEEP_EVAL_COST (1.0 / 3.0)
/* Training images/s per core when no throughput file is found: the step of the seed's
 * LeNet variant on 3x32x32 inputs on the 2-core reference machine (docs/performance.md). */
#define SWEEP_DEFAULT_IMAGES_PER_S 3000.0

typedef struct {
  int64_t train, val, test; /* images of each split one run uses */
  int epochs;
} sweep_work_t;

/* The work of a run of cfg on a dataset with ntrain training and ntest test images. */
void sweep_work_of(const dpt_config_t *cfg, int64_t ntrain, int64_t ntest, sweep_work_t *w);
/* Core-hours of that work at images_per_s training images per second per core. */
double sweep_core_hours(const sweep_work_t *w, double images_per_s);
/* Reads the line "images_per_s_per_core V" (V > 0) of a throughput file: 0 and *ips set,
 * 1 when the file does not exist, -1 naming the file and line when it is malformed. */
int sweep_throughput_read(const char *path, double *ips);
/* Prints "estimate: ..." for the plan (each task's resolved config, its dataset's sizes
 * from data.path or, when that file is absent, from the standard dataset its name
 * names), at the throughput of throughput_path or the default. Never fails: what it
 * cannot estimate it says. */
void sweep_estimate_print(FILE *out, const sweep_plan_t *plan, const char *throughput_path);

#endif
