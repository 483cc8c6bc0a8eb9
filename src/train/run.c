/* run.c - the one epoch driver both methods run under (method.h): per epoch the
 * method's steps, the epoch's train figures collected in a fixed order, validation, the
 * best model, dynamic H, early stop, run.h5 and checkpoints; the stop vote; the end. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/crc.h"
#include "../core/err.h"
#include "checkpoint.h"
#include "method.h"
#include "report.h"

static int agree(trainer_t *t, int rc) { return comm_agree(t->dist.comm, rc); }

/* The epoch's train loss and accuracy over its items, collected in one fixed order so
 * that the sums never depend on P. */
static void epoch_train_figures(trainer_t *t, int64_t items, int64_t seen, double *loss,
                                double *acc) {
  const train_state_t *s = &t->state;
  double *loss_items = dpt_alloc(sizeof(double) * items);
  int64_t *correct_items = dpt_alloc(sizeof(int64_t) * items);
  memcpy(loss_items, s->item_loss, sizeof(double) * items);
  memcpy(correct_items, s->item_correct, sizeof(int64_t) * items);
  comm_collect_f64(&t->dist, loss_items, (size_t)items);
  comm_sum_i64(&t->dist, correct_items, (size_t)items);
  double total = 0;
  int64_t correct = 0;
  for (int64_t i = 0; i < items; i++) {
    total += loss_items[i];
    correct += correct_items[i];
  }
  dpt_free(loss_items);
  dpt_free(correct_items);
  *loss = total / (double)seen;
  *acc = (double)correct / (double)seen;
}

/* Runs (the rest of) epoch state.epoch and records its metrics. */
static train_result_t run_epoch(trainer_t *t, const train_method_t *m, double lr) {
  train_state_t *s = &t->state;
  double t0 = MPI_Wtime(), comm0 = t->dist.seconds;
  int64_t bytes0 = t->dist.bytes_sent, items = 0;
  if (s->step == 0) {
    memset(s->item_loss, 0, sizeof(double) * t->item_cap);
    memset(s->item_correct, 0, sizeof(int64_t) * t->item_cap);
  }
  train_result_t rc = m->epoch(t, lr, &items);
  if (agree(t, rc == TRAIN_FAILED ? -1 : 0) < 0) return TRAIN_FAILED;
  if (rc == TRAIN_STOPPED) return TRAIN_STOPPED;
  int64_t seen = m->images(t);
  double loss, acc;
  epoch_train_figures(t, items, seen, &loss, &acc);
  double train_seconds = MPI_Wtime() - t0;
  double val_loss = NAN, val_acc = NAN;
  if (t->nval)
    trainer_evaluate(t, s->params, &t->ds->train, t->val_idx, t->nval, &val_loss, &val_acc);
  double comm = t->dist.seconds - comm0;
  int h = m->h(t);
  s->epoch++;
  s->step = 0;
  s->info.epochs_run = s->epoch;
  run_metrics_push(&s->metrics, &(run_epoch_t){.epoch = s->epoch, .lr = lr,
                                                .train_loss = loss, .train_acc = acc,
                                                .val_loss = val_loss, .val_acc = val_acc,
                                                .seconds = MPI_Wtime() - t0,
                                                .images_per_s = (double)seen / train_seconds});
  /* the epoch's rounds: the ledger's last rows (all of them, after a resume too) */
  const ledger_t *l = &s->ledger;
  int64_t first = l->n;
  while (first > 0 && l->epoch[first - 1] == s->epoch) first--;
  run_metrics_comm(&s->metrics, h, m->averagings(t), ledger_bytes(l, first, l->n),
                   t->dist.bytes_sent - bytes0, comm, train_seconds - comm);
  return TRAIN_FINISHED;
}

static int save(trainer_t *t) {
  double t0 = MPI_Wtime();
  if (ckpt_write(t, t->ckpt_path) < 0) return -1;
  t->ckpt_seconds += MPI_Wtime() - t0;
  return 0;
}

/* A signal stopped the run: checkpoint, mark run.h5 interrupted. */
static train_result_t interrupt(trainer_t *t) {
  if (save(t) < 0) return TRAIN_FAILED;
  t->state.info.status = RUN_STATUS_INTERRUPTED;
  if (agree(t, train_write_run(t)) < 0) return TRAIN_FAILED;
  if (t->rank == 0)
    printf("interrupted at epoch %d, step %lld: checkpoint written to %s\n",
           t->state.epoch + 1, (long long)t->state.step, t->ckpt_path);
  return TRAIN_STOPPED;
}

/* The best model has the best validation accuracy; without a validation split it is
 * the last one. Then the early stop after model.patience epochs without a better one. */
static void track_best(trainer_t *t) {
  train_state_t *s = &t->state;
  double val_acc = s->metrics.val_acc[s->metrics.n - 1];
  if (!t->nval || val_acc > s->best_val) {
    s->best_val = t->nval ? val_acc : NAN;
    memcpy(s->best_params, s->params, sizeof(float) * t->model.nparams);
    s->info.best_epoch = s->epoch;
    s->info.best_val_acc = s->best_val;
    s->since_best = 0;
  } else {
    s->since_best++;
  }
}

static void check_patience(trainer_t *t) {
  int patience = t->cfg->patience;
  if (patience > 0 && t->nval && t->state.since_best >= patience) {
    t->state.info.stopped_early = 1;
    if (t->rank == 0)
      printf("early stop: no better validation accuracy in %d epochs\n", patience);
  }
}

static uint32_t weights_crc(const trainer_t *t) {
  return dpt_crc32(0, t->state.params, sizeof(float) * t->model.nparams);
}

/* The last and best models on the test split, the final run.h5 and checkpoint. */
static train_result_t finish(trainer_t *t, double start) {
  train_state_t *s = &t->state;
  run_info_t *info = &s->info;
  trainer_evaluate(t, s->params, &t->ds->test, t->test_idx, t->ntest, &info->test_loss_last,
                   &info->test_acc_last);
  trainer_evaluate(t, s->best_params, &t->ds->test, t->test_idx, t->ntest,
                   &info->test_loss_best, &info->test_acc_best);
  info->has_test = 1;
  info->averagings_total = s->averagings_total;
  info->weights_crc32 = weights_crc(t);
  info->wall_time += MPI_Wtime() - start;
  info->status = RUN_STATUS_COMPLETE;
  if (save(t) < 0 || agree(t, train_write_run(t)) < 0) return TRAIN_FAILED;
  if (t->rank == 0) {
    printf("test: last model loss %.4f acc %.4f; best model (epoch %lld) loss %.4f acc %.4f\n",
           info->test_loss_last, info->test_acc_last, (long long)info->best_epoch,
           info->test_loss_best, info->test_acc_best);
    printf("run file: %s (checkpoints took %.2f s)\n", t->run_path, t->ckpt_seconds);
  }
  return TRAIN_FINISHED;
}

static train_result_t run_all(trainer_t *t) {
  const dpt_config_t *cfg = t->cfg;
  const train_method_t *m = t->method;
  train_state_t *s = &t->state;
  double start = MPI_Wtime();
  if (agree(t, train_write_run(t)) < 0) return TRAIN_FAILED;
  while (s->epoch < cfg->epochs && !s->info.stopped_early) {
    double lr = sched_lr(t->lr0, s->epoch, cfg->epochs, cfg->warmup, cfg->scheduler);
    train_result_t rc = run_epoch(t, m, lr);
    if (rc == TRAIN_FAILED) return TRAIN_FAILED;
    if (rc == TRAIN_STOPPED) return interrupt(t);
    track_best(t);
    if (m->after_epoch) m->after_epoch(t);
    s->info.wall_time += MPI_Wtime() - start;
    start = MPI_Wtime();
    if (t->rank == 0) train_print_progress(t, s->info.wall_time);
    check_patience(t);
    if (agree(t, train_write_run(t)) < 0) return TRAIN_FAILED;
    int last = s->epoch == cfg->epochs || s->info.stopped_early;
    if (!last && cfg->checkpoint_every > 0 && s->epoch % cfg->checkpoint_every == 0 &&
        save(t) < 0)
      return TRAIN_FAILED;
    if (!last && train_stop_now(t)) return interrupt(t);
  }
  return finish(t, start);
}

train_result_t trainer_run(trainer_t *t) {
  train_result_t rc = run_all(t);
  train_vote_finish(t);
  return rc;
}

int trainer_test_only(trainer_t *t) {
  run_info_t *info = &t->state.info;
  trainer_evaluate(t, t->state.params, &t->ds->test, t->test_idx, t->ntest,
                   &info->test_loss_last, &info->test_acc_last);
  info->test_loss_best = info->test_loss_last;
  info->test_acc_best = info->test_acc_last;
  info->has_test = 1;
  info->weights_crc32 = weights_crc(t);
  info->status = RUN_STATUS_COMPLETE;
  if (agree(t, train_write_run(t)) < 0) return -1;
  if (t->rank == 0)
    printf("test only (%s): loss %.4f acc %.4f\nrun file: %s\n", t->cfg->pretrained,
           info->test_loss_last, info->test_acc_last, t->run_path);
  return 0;
}
