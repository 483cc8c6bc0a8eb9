/* interval.c - what a run records between its epochs (run.h5 /intervals and /evals,
 * runfile.h) and the learning rate of each step.
 *
 * The intervals cost nothing while training: at an epoch's end run.c has the epoch's
 * per-item losses and correct counts collected in one fixed order on every rank, the
 * items of a step are a contiguous range of them (method.h), and the images of a step
 * follow from the method's schedule, so each interval's means are sums over that range,
 * the same on every P and across a resume (the items are in the checkpoint). The
 * evaluations run after the steps that end a round, every eval.every_rounds rounds, on
 * the global model (for local methods the average just taken). */
#include "../core/err.h"
#include "method.h"

double train_lr(const trainer_t *t, int64_t epoch, int64_t step) {
  const dpt_config_t *c = t->cfg;
  if (c->schedule_unit == SCHED_UNIT_EPOCH)
    return sched_lr(t->lr0, epoch, c->epochs, c->warmup, c->scheduler);
  int64_t steps = t->method->steps(t);
  return sched_lr(t->lr0, epoch * steps + step, (int64_t)c->epochs * steps, c->warmup,
                  c->scheduler);
}

int train_check_schedule(const trainer_t *t) {
  const dpt_config_t *c = t->cfg;
  int64_t steps = t->method->steps(t), total = (int64_t)c->epochs * steps;
  if (c->schedule_unit == SCHED_UNIT_STEP && c->warmup >= total)
    return dpt_fail("model.warmup = %d steps (optim.schedule_unit: step) must be less than "
                    "the run's %lld optimizer steps (model.epochs %d x %lld steps per epoch)",
                    c->warmup, (long long)total, c->epochs, (long long)steps);
  return 0;
}

/* Where a row was taken: after `step` steps of the current epoch, `rounds` rounds and
 * `images` training images of the run. Bytes: the ledger's first `rounds` rows. */
static void point(const trainer_t *t, int64_t step, int64_t rounds, int64_t images,
                  run_cell_t *row) {
  const train_state_t *s = &t->state;
  row[RUN_S_STEP].i = s->epoch * t->method->steps(t) + step;
  row[RUN_S_EPOCH].i = s->epoch + 1;
  row[RUN_S_ROUNDS].i = rounds;
  row[RUN_S_BYTES].i = ledger_bytes(&s->ledger, 0, rounds);
  row[RUN_S_IMAGES].i = images;
}

/* Training images of the run before step `step` of the current epoch. */
static int64_t images_before(const trainer_t *t, int64_t step) {
  int64_t n = t->state.epoch * t->method->images(t);
  for (int64_t j = 0; j < step; j++) n += t->method->step_images(t, j);
  return n;
}

void train_step_done(trainer_t *t) {
  int every = t->cfg->eval_every_rounds;
  train_state_t *s = &t->state;
  if (every <= 0 || !t->method->round_after(t, s->step - 1)) return;
  int64_t rounds = t->method->rounds(t);
  if (rounds % every) return;
  run_cell_t row[RUN_E_COUNT];
  point(t, s->step, rounds, images_before(t, s->step), row);
  trainer_evaluate(t, s->params, &t->ds->train, t->val_idx, t->nval, &row[RUN_E_VAL_LOSS].d,
                   &row[RUN_E_VAL_ACC].d);
  run_curves_push(&s->curves, RUN_SERIES_EVALS, row);
}

void train_intervals(trainer_t *t, const double *item_loss, const int64_t *item_correct,
                     int64_t items) {
  int every = t->cfg->metrics_every_steps;
  if (every <= 0) return;
  const train_method_t *m = t->method;
  int64_t steps = m->steps(t), width = items / steps, first = t->state.epoch * steps;
  int64_t rounds = m->rounds(t); /* the run's so far, less this epoch's */
  for (int64_t j = 0; j < steps; j++) rounds -= m->round_after(t, j);
  int64_t images = images_before(t, 0), n = 0, correct = 0;
  double loss = 0;
  for (int64_t j = 0; j < steps; j++) {
    for (int64_t i = j * width; i < (j + 1) * width; i++) {
      loss += item_loss[i];
      correct += item_correct[i];
    }
    int64_t nj = m->step_images(t, j);
    n += nj;
    images += nj;
    rounds += m->round_after(t, j);
    if ((first + j + 1) % every != 0 && j < steps - 1) continue;
    run_cell_t row[RUN_I_COUNT];
    point(t, j + 1, rounds, images, row);
    row[RUN_I_LR].d = train_lr(t, t->state.epoch, j);
    row[RUN_I_TRAIN_LOSS].d = loss / (double)n;
    row[RUN_I_TRAIN_ACC].d = (double)correct / (double)n;
    run_curves_push(&t->state.curves, RUN_SERIES_INTERVALS, row);
    loss = 0;
    correct = n = 0;
  }
}
