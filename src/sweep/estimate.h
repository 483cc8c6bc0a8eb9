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
#include "../nn/model.h"
#include "sweep.h"

#define SWEEP_EVAL_COST (1.0 / 3.0)
/* Training images/s per core when no throughput file gives a model's figure: the seed's
 * LeNet variant's step on 3x32x32 inputs on the 2-core reference machine, and ResNet-20's
 * on the 2-core AVX2 machine (docs/performance.md). A deeper ResNet (depth 6n + 2) costs
 * n / 3 of ResNet-20 per image; LeNet5 gets LeNet's figure. Every model sees a 32x32
 * canvas (NN_INPUT_SIZE), so one figure per model holds for every dataset. */
#define SWEEP_DEFAULT_IMAGES_PER_S 3000.0
#define SWEEP_DEFAULT_RESNET20_IMAGES_PER_S 200.0

typedef struct {
  int64_t train, val, test; /* images of each split one run uses */
  int epochs;
} sweep_work_t;

/* The work of task t on a dataset with ntrain training and ntest test images. */
void sweep_work_of(const sweep_task_t *t, int64_t ntrain, int64_t ntest, sweep_work_t *w);
/* Core-hours of that work at images_per_s training images per second per core. */
double sweep_core_hours(const sweep_work_t *w, double images_per_s);
/* Reads a model's training images/s per core from a throughput file: the line
 * "images_per_s_per_core.MODEL V" (V > 0), or for LeNet also the plain
 * "images_per_s_per_core V" (LeNet's step, as make bench wrote it before it timed other
 * models); the first matching line counts. 0 and *ips set; 1 when the file does not exist
 * or has no line for the model; -1 naming the file and line when a matching line is
 * malformed, or when the file has no images_per_s_per_core line at all. */
int sweep_throughput_read(const char *path, const char *model, double *ips);
/* The images/s per core an estimate uses for model: the throughput file's figure, else
 * (a ResNet) ResNet-20's figure in the file scaled by depth, else the built-in default.
 * source (cap bytes) says which. 0, or -1 when the file is malformed. */
int sweep_model_throughput(const char *path, nn_model_kind_t model, double *ips, char *source,
                           size_t cap);
/* Prints "estimate: ..." for the plan (each task's resolved config, its dataset's sizes
 * from data.path or, when that file is absent, from the standard dataset its name
 * names), each model at its own throughput (sweep_model_throughput), with the core-hours
 * of each model when the sweep trains several. Never fails: what it
 * cannot estimate it says. */
void sweep_estimate_print(FILE *out, const sweep_plan_t *plan, const char *throughput_path);

#endif
