/* test_checkpoint.c - checkpoint.h5 round trip: the whole run state that one trainer
 * writes (root attributes, global arrays, the epoch's items, worker rows and counters,
 * metrics) is what a fresh trainer of the same config reads back, field for field. The
 * values are set by hand, each distinct, so a field the table writes but does not read
 * (or reads into the wrong place) differs. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/config/config.h"
#include "../../src/core/err.h"
#include "../../src/data/import.h"
#include "../../src/train/checkpoint.h"
#include "../../src/train/trainer.h"
#include "test.h"

/* LocalSGD with AdamW workers and an outer step: every optional array exists. */
static const char *const yaml =
    "model: {name: LeNet5, epochs: 3, batch_size: 8, num_workers: 2,\n"
    "        work: {local_steps: 2, batch_size: 4, optimizer: AdamW, momentum: average},\n"
    "        outer: {type: nesterov, learning_rate: 0.7, momentum: 0.9}}\n"
    "data: {val_fraction: 0.25}\n"
    "train: {eval_batch: 16}\n"
    "experiment: {seed: 7}\n";

/* 24 training and 8 test images of 28x28, labels cycling through 10 classes. */
static void tiny_dataset(dpt_dataset_t *ds) {
  *ds = (dpt_dataset_t){.name = "tiny", .num_classes = 10, .channels = 1, .height = 28,
                        .width = 28, .train.n = 24, .test.n = 8};
  dpt_split_t *splits[2] = {&ds->train, &ds->test};
  for (int s = 0; s < 2; s++) {
    dpt_split_t *sp = splits[s];
    sp->images = dpt_alloc((size_t)sp->n * 28 * 28);
    sp->labels = dpt_alloc((size_t)sp->n);
    for (size_t i = 0; i < (size_t)sp->n * 28 * 28; i++) sp->images[i] = (uint8_t)(i * 37 + s);
    for (int64_t i = 0; i < sp->n; i++) sp->labels[i] = (uint8_t)(i % 10);
  }
  dataset_stats(ds);
}

static void fill(float *x, size_t n, float base) {
  for (size_t i = 0; i < n; i++) x[i] = base + (float)i * 0.001f;
}

/* A mid-run state in which every field differs from its starting value. */
static void set_state(trainer_t *t) {
  train_state_t *s = &t->state;
  size_t np = t->model.nparams;
  s->epoch = 2;
  s->step = 1;
  s->H = 3;
  s->averagings_total = 11;
  s->epoch_averagings = 5;
  s->since_best = 1;
  s->best_val = 0.25;
  s->deviation_sum = 1.5;
  s->deviation_count = 4;
  s->outer_steps = 6;
  s->opt.t = 9;
  s->info.best_epoch = 2;
  s->info.stopped_early = 1;
  s->info.best_val_acc = 0.375;
  s->info.wall_time = 12.5;
  snprintf(s->info.start_time, sizeof s->info.start_time, "2026-01-02T03:04:05Z");
  fill(s->params, np, 1.0f);
  fill(s->best_params, np, 2.0f);
  fill(s->opt.m, np, 3.0f);
  fill(s->outer_buf, np, 4.0f);
  for (int64_t i = 0; i < t->item_cap; i++) {
    s->item_loss[i] = 0.5 + (double)i;
    s->item_correct[i] = i % 3;
  }
  for (int e = 1; e <= 2; e++) {
    run_metrics_push(&s->metrics, &(run_epoch_t){.epoch = e, .lr = 0.01 * e,
                                                 .train_loss = 2.0 / e,
                                                 .train_acc = 0.1 * e, .val_loss = 2.5 / e,
                                                 .val_acc = 0.2 * e, .seconds = 3.0,
                                                 .images_per_s = 100.0});
    run_metrics_comm(&s->metrics, 2, 4 + e, 1000 * e, 2000 * e, 0.5, 1.5);
  }
  for (int64_t i = 0; i < 7; i++)
    ledger_push(&s->ledger, &(ledger_round_t){.step = 2 * i + 1, .epoch = 1 + i / 3,
                                              .kind = LEDGER_AVERAGE, .participants = 4,
                                              .floats = 9, .bytes = 36, .images = 10 + i},
                &(ledger_timing_t){0.25 * (double)i, 0.5, 0});
  for (int i = 0; i < t->nlocal; i++) {
    worker_t *w = &t->workers[i];
    fill(w->params, np, 5.0f + (float)w->id);
    fill(w->opt.m, np, 7.0f + (float)w->id);
    fill(w->opt.v, np, 9.0f + (float)w->id);
    w->opt.t = 13 + w->id;
    w->pos = 2 + w->id;
    w->pass = 1;
  }
}

static int same_floats(const float *a, const float *b, size_t n) {
  return !memcmp(a, b, sizeof(float) * n);
}

static void check_same_state(const trainer_t *a, const trainer_t *b) {
  const train_state_t *x = &a->state, *y = &b->state;
  size_t np = a->model.nparams;
  CHECK(x->epoch == y->epoch && x->step == y->step && x->H == y->H && b->dyn.h == x->H);
  CHECK(x->averagings_total == y->averagings_total && x->epoch_averagings == y->epoch_averagings);
  CHECK(x->since_best == y->since_best && x->best_val == y->best_val);
  CHECK(x->deviation_sum == y->deviation_sum && x->deviation_count == y->deviation_count);
  CHECK(x->outer_steps == y->outer_steps && x->opt.t == y->opt.t);
  CHECK(x->info.best_epoch == y->info.best_epoch && x->info.stopped_early == y->info.stopped_early);
  CHECK(x->info.best_val_acc == y->info.best_val_acc && x->info.wall_time == y->info.wall_time);
  CHECK(!strcmp(x->info.start_time, y->info.start_time) && y->info.epochs_run == x->epoch);
  CHECK(same_floats(x->params, y->params, np) && same_floats(x->best_params, y->best_params, np));
  CHECK(same_floats(x->opt.m, y->opt.m, np) && same_floats(x->outer_buf, y->outer_buf, np));
  CHECK(!memcmp(x->item_loss, y->item_loss, sizeof(double) * a->item_cap));
  CHECK(!memcmp(x->item_correct, y->item_correct, sizeof(int64_t) * a->item_cap));
  CHECK(y->metrics.n == 2 && !memcmp(x->metrics.val_acc, y->metrics.val_acc, 2 * sizeof(double)));
  CHECK(y->metrics.n == 2 &&
        !memcmp(x->metrics.averagings, y->metrics.averagings, 2 * sizeof(int64_t)) &&
        !memcmp(x->metrics.bytes, y->metrics.bytes, 2 * sizeof(int64_t)) &&
        !memcmp(x->metrics.mpi_bytes_sent, y->metrics.mpi_bytes_sent, 2 * sizeof(int64_t)));
  CHECK(y->ledger.n == x->ledger.n && x->ledger.n > 0);
  for (int c = 0; c < LEDGER_C_COUNT && y->ledger.n == x->ledger.n; c++)
    CHECK(!memcmp(ledger_column(&x->ledger, (ledger_column_t)c),
                  ledger_column(&y->ledger, (ledger_column_t)c), 8 * (size_t)x->ledger.n));
  for (int i = 0; i < a->nlocal; i++) {
    const worker_t *v = &a->workers[i], *w = &b->workers[i];
    CHECK(same_floats(v->params, w->params, np) && same_floats(v->opt.m, w->opt.m, np));
    CHECK(same_floats(v->opt.v, w->opt.v, np));
    CHECK(v->opt.t == w->opt.t && v->pos == w->pos && v->pass == w->pass);
  }
}

TEST(checkpoint_round_trip_every_field) {
  char dir[] = "/tmp/dpt-test-ckpt-XXXXXX";
  if (!mkdtemp(dir)) DPT_PANIC("mkdtemp");
  dpt_config_t cfg;
  dpt_dataset_t ds;
  trainer_t a, b;
  CHECK_OK(config_load_string(&cfg, yaml, "ckpt.yaml", NULL, 0));
  tiny_dataset(&ds);
  CHECK_OK(trainer_init(&a, &cfg, &ds, dir, MPI_COMM_WORLD));
  CHECK_OK(trainer_init(&b, &cfg, &ds, dir, MPI_COMM_WORLD));
  set_state(&a);
  CHECK_OK(ckpt_write(&a, a.ckpt_path));
  CHECK_OK(ckpt_load(&b, a.ckpt_path));
  check_same_state(&a, &b);
  /* a checkpoint written before the ledger (no /rounds, no /metrics/bytes, the measured
   * traffic called bytes_sent) still loads: the ledger starts empty there */
  hid_t f = H5Fopen(a.ckpt_path, H5F_ACC_RDWR, H5P_DEFAULT);
  CHECK(f >= 0 && H5Ldelete(f, "rounds", H5P_DEFAULT) >= 0 &&
        H5Ldelete(f, "rounds_measured", H5P_DEFAULT) >= 0 &&
        H5Ldelete(f, "metrics/bytes", H5P_DEFAULT) >= 0 &&
        H5Lmove(f, "metrics/mpi_bytes_sent", f, "metrics/bytes_sent", H5P_DEFAULT, H5P_DEFAULT) >= 0);
  H5Fclose(f);
  CHECK_OK(ckpt_load(&b, a.ckpt_path));
  CHECK(b.state.ledger.n == 0 && b.state.metrics.bytes[1] == 0 &&
        b.state.metrics.mpi_bytes_sent[1] == 4000 && b.state.metrics.val_acc[1] == 0.4);
  /* a step count past the epoch's items is refused, naming it */
  a.state.step = a.item_cap + 1;
  CHECK_OK(ckpt_write(&a, a.ckpt_path));
  CHECK_FAILS(ckpt_load(&b, a.ckpt_path));
  CHECK(strstr(dpt_errmsg(), "step") != NULL);
  trainer_free(&a);
  trainer_free(&b);
  dataset_free(&ds);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0);
}
