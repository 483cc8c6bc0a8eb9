/* test_curves.c - the records between epochs (run.h5 /intervals and /evals,
 * src/io/runfile_series.c) read back as written, absent from older files, and refused
 * when a hostile file makes them impossible; the learning-rate schedule counted in
 * optimizer steps (sched_lr, optim.schedule_unit: step). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../src/config/config.h"
#include "../../src/core/err.h"
#include "../../src/h5/h5util.h"
#include "../../src/io/runfile.h"
#include "test.h"

/* A run of one epoch with three intervals and two evaluations (or none), at a fresh path. */
static const char *write_curves(const char *name, int with_curves) {
  static char path[256];
  snprintf(path, sizeof path, "/tmp/dpt-unit-curves-%d-%s.h5", (int)getpid(), name);
  dpt_config_t cfg;
  const char *sets[] = {"metrics.every_steps=4", "eval.every_rounds=5"};
  DPT_ASSERT(config_load_string(&cfg, "experiment: {name: c}\n", "c.yaml", sets,
                                with_curves ? 2 : 0) == 0);
  run_info_t info;
  run_metrics_t m = {0};
  run_curves_t cv = {0};
  run_info_init(&info, 1);
  info.status = RUN_STATUS_COMPLETE;
  run_metrics_push(&m, &(run_epoch_t){.epoch = 1, .lr = 0.1, .train_loss = 2, .train_acc = 0.5,
                                      .val_loss = NAN, .val_acc = NAN});
  for (int i = 0; with_curves && i < 3; i++) {
    run_cell_t row[RUN_I_COUNT] = {{.i = 4 * (i + 1)}, {.i = 1}, {.i = 4 * (i + 1)},
                                   {.i = 1000 * i}, {.i = 256 * (i + 1)}, {.d = 0.1 / (i + 1)},
                                   {.d = 2.5 - i}, {.d = 0.25 * i}};
    run_curves_push(&cv, RUN_SERIES_INTERVALS, row);
  }
  for (int i = 0; with_curves && i < 2; i++) {
    run_cell_t row[RUN_E_COUNT] = {{.i = 5 * (i + 1)}, {.i = 1}, {.i = 5 * (i + 1)},
                                   {.i = 7 * i}, {.i = 320 * (i + 1)}, {.d = 1.5 + i},
                                   {.d = i ? NAN : 0.75}};
    run_curves_push(&cv, RUN_SERIES_EVALS, row);
  }
  info.curves = &cv;
  DPT_ASSERT(runfile_write(path, &cfg, &info, &m) == 0);
  run_metrics_free(&m);
  run_curves_free(&cv);
  return path;
}

TEST(curves_read_back_as_written) {
  const char *path = write_curves("all", 1);
  runfile_t r;
  CHECK_OK(runfile_read(path, &r));
  CHECK((r.has & RUNFILE_HAS_INTERVALS) && (r.has & RUNFILE_HAS_EVALS));
  const run_series_t *iv = &r.curves.s[RUN_SERIES_INTERVALS], *ev = &r.curves.s[RUN_SERIES_EVALS];
  CHECK(iv->n == 3 && ev->n == 2);
  for (int i = 0; i < 3; i++) {
    CHECK(iv->col[RUN_S_STEP][i].i == 4 * (i + 1) && iv->col[RUN_S_BYTES][i].i == 1000 * i);
    CHECK(iv->col[RUN_I_LR][i].d == 0.1 / (i + 1) && iv->col[RUN_I_TRAIN_LOSS][i].d == 2.5 - i);
    CHECK(run_series_value(&r.curves, RUN_SERIES_INTERVALS, RUN_S_IMAGES, i) == 256 * (i + 1));
  }
  CHECK(ev->col[RUN_S_ROUNDS][1].i == 10 && ev->col[RUN_E_VAL_LOSS][1].d == 2.5 &&
        isnan(ev->col[RUN_E_VAL_ACC][1].d) && ev->col[RUN_E_VAL_ACC][0].d == 0.75);
  CHECK(!strcmp(run_series_group(RUN_SERIES_EVALS), "evals") &&
        !strcmp(run_series_col_name(RUN_SERIES_INTERVALS, RUN_I_TRAIN_ACC), "train_acc") &&
        !strcmp(run_series_col_units(RUN_SERIES_EVALS, RUN_S_BYTES), "bytes") &&
        run_series_col_is_int(RUN_SERIES_EVALS, RUN_S_ROUNDS) &&
        !run_series_col_is_int(RUN_SERIES_EVALS, RUN_E_VAL_ACC));
  runfile_free(&r);
  unlink(path);
}

TEST(curves_are_optional_and_written_only_when_asked_for) {
  const char *path = write_curves("none", 0);
  runfile_t r;
  CHECK_OK(runfile_read(path, &r));
  CHECK(!(r.has & (RUNFILE_HAS_INTERVALS | RUNFILE_HAS_EVALS)));
  CHECK(r.curves.s[RUN_SERIES_INTERVALS].n == 0 && r.curves.s[RUN_SERIES_EVALS].n == 0);
  runfile_free(&r);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  CHECK(f >= 0 && H5Lexists(f, "intervals", H5P_DEFAULT) == 0);
  H5Fclose(f);
  unlink(path);
}

/* Replaces dataset `name` of the file at path by n int64 values. */
static void replace_i64(const char *path, const char *name, const int64_t *v, hsize_t n) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  CHECK(f >= 0 && H5Ldelete(f, name, H5P_DEFAULT) >= 0);
  CHECK_OK(h5_write_array(f, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n, v, "1", 0));
  H5Fclose(f);
}

/* Each column made impossible in a file of its own: refused naming the value; a summary
 * (runfile_read_partial) still reads the rest. */
TEST(curves_refused_when_impossible) {
  static const struct {
    const char *dataset;
    int64_t v[3];
    hsize_t n;
    const char *reason;
  } cases[] = {
      {"/intervals/images_total", {256, 512}, 2, "/intervals: images_total has 2 values, step 3"},
      {"/intervals/step", {4, 8, 6}, 3,
       "/intervals/step[2] is 6, less than the row before (8): the rows go backwards"},
      {"/evals/bytes_total", {5, -10}, 2, "/evals/bytes_total[1] is -10, expected a finite number >= 0"},
      {"/intervals/epoch", {0, 1, 1}, 3,
       "/intervals/epoch[0] is 0, expected an epoch number in [1, 100000]"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *path = write_curves("bad", 1);
    replace_i64(path, cases[i].dataset, cases[i].v, cases[i].n);
    runfile_t r;
    CHECK_FAILS(runfile_read(path, &r));
    const char *msg = dpt_errmsg(), *colon = strstr(msg, ": ");
    if (!colon || strncmp(msg, path, strlen(path)) || strcmp(colon + 2, cases[i].reason))
      test_failed(__FILE__, __LINE__, "message '%s', expected 'PATH: %s'", msg, cases[i].reason);
    CHECK_OK(runfile_read_partial(path, &r));
    CHECK((r.has & RUNFILE_HAS_METRICS) && !(r.has & RUNFILE_HAS_INTERVALS) &&
          r.curves.s[RUN_SERIES_INTERVALS].n == 0);
    runfile_free(&r);
    unlink(path);
  }
}

TEST(sched_lr_counts_steps_as_it_counts_epochs) {
  /* 300 warm-up steps of a 1000-step run: 0.1 lr0 rising linearly, then cosine to 0 */
  CHECK_NEAR(sched_lr(0.1, 0, 1000, 300, SCHED_COSINE), 0.01, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 150, 1000, 300, SCHED_COSINE), 0.055, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 300, 1000, 300, SCHED_COSINE), 0.1, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 650, 1000, 300, SCHED_COSINE), 0.05, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 999, 1000, 300, SCHED_CONSTANT), 0.1, 1e-15);
  /* step counts beyond int: a 150-epoch run of 2^25 steps per epoch */
  int64_t n = (int64_t)150 << 25;
  CHECK_NEAR(sched_lr(1.0, n / 2, n, 0, SCHED_COSINE), 0.5, 1e-12);
  /* the per-epoch schedule is the seed's formula, bit for bit */
  for (int e = 0; e < 12; e++) {
    double seed = e < 2 ? 0.1 * (0.1 + 0.9 * (double)e / 2)
                        : 0.1 * (1.0 + cos(M_PI * (double)(e - 2) / 10)) / 2.0;
    CHECK(sched_lr(0.1, e, 12, 2, SCHED_COSINE) == seed);
  }
}
