/* test_runfile.c - run.h5 read back by runfile_read (src/io/runfile_read.c): every part
 * runfile_write wrote, and hostile files (a missing dataset, a newer major version, a
 * foreign schema, no completeness mark) refused with a clear reason, or read in part by
 * runfile_read_partial. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/config/config.h"
#include "../../src/core/err.h"
#include "../../src/h5/h5util.h"
#include "../../src/io/runfile.h"
#include "test.h"

static const char *yaml =
    "model: {name: LeNet, epochs: 3, batch_size: 32, learning_rate: 0.025, optimizer: SGDM,\n"
    "        num_workers: 2, work: {local_steps: 4, batch_size: 16}}\n"
    "experiment: {name: readback, seed: 7}\n";

/* A complete run of two epochs with test results, at a fresh path. */
static const char *write_run(const char *name) {
  static char path[256];
  snprintf(path, sizeof path, "/tmp/dpt-unit-runfile-%d-%s.h5", (int)getpid(), name);
  dpt_config_t cfg;
  DPT_ASSERT(config_load_string(&cfg, yaml, "readback.yaml", NULL, 0) == 0);
  run_info_t info;
  run_metrics_t m = {0};
  run_info_init(&info, 2);
  info.status = RUN_STATUS_COMPLETE;
  snprintf(info.method, sizeof info.method, "LocalSGD as written");
  snprintf(info.end_time, sizeof info.end_time, "2026-12-02T01:00:00Z");
  info.train_images = 900, info.val_images = 100, info.test_images = 200;
  info.train_images_crc32 = 4294967295, info.train_labels_crc32 = 1;
  info.test_images_crc32 = 2, info.test_labels_crc32 = 3;
  info.epochs_run = 2, info.best_epoch = 2, info.best_val_acc = 0.5;
  info.has_test = 1, info.test_loss_last = 1.25, info.test_acc_last = 0.625;
  info.test_loss_best = 1.5, info.test_acc_best = 0.75;
  info.wall_time = 12.5, info.num_workers = 2, info.averagings_total = 14;
  info.weights_crc32 = 3735928559;
  for (int e = 1; e <= 2; e++) {
    run_metrics_push(&m, &(run_epoch_t){.epoch = e, .lr = 0.025 / e, .train_loss = 2.0 / e,
                                        .train_acc = 0.1 * e, .val_loss = 2.1 / e,
                                        .val_acc = 0.25 * e, .seconds = 1.5 * e,
                                        .images_per_s = 100 * e});
    run_metrics_comm(&m, 4, 7, 1000 * e, 3000 * e, 0.01 * e, 1.4 * e);
  }
  /* a ledger of 5000 rounds: more than one chunk of /rounds */
  ledger_t l = {0};
  for (int64_t i = 0; i < 5000; i++)
    ledger_push(&l, &(ledger_round_t){.step = 4 * (i + 1), .epoch = 1 + i / 2500,
                                      .kind = i % 3 == 2 ? LEDGER_OUTER : LEDGER_AVERAGE,
                                      .collective = LEDGER_ALLREDUCE, .participants = 2,
                                      .floats = 61706, .bytes = 4 * 61706, .images = 64 + i % 5},
                &(ledger_timing_t){0.5 * (double)i, 0.25, 0});
  info.rounds = &l;
  DPT_ASSERT(runfile_write(path, &cfg, &info, &m) == 0);
  run_metrics_free(&m);
  ledger_free(&l);
  return path;
}

TEST(runfile_read_gives_back_what_runfile_write_wrote) {
  const char *path = write_run("all");
  runfile_t r;
  CHECK_OK(runfile_read(path, &r));
  CHECK(runfile_typed_config(&r) == &r.config);
  CHECK(r.complete && !strcmp(r.schema_version, RUN_SCHEMA_VERSION) &&
        !strcmp(r.creator, "dpt-train") && r.file_time[0]);
  CHECK(r.has == (RUNFILE_HAS_CONFIG | RUNFILE_HAS_CONFIG_YAML | RUNFILE_HAS_PROVENANCE |
                  RUNFILE_HAS_METRICS | RUNFILE_HAS_RESULTS | RUNFILE_HAS_WORKERS |
                  RUNFILE_HAS_CRC | RUNFILE_HAS_TYPED_CONFIG | RUNFILE_HAS_DATA_CRC |
                  RUNFILE_HAS_ROUNDS));
  CHECK(r.config_yaml && strstr(r.config_yaml, "name: readback"));
  CHECK(r.info.status == RUN_STATUS_COMPLETE && r.config.epochs == 3 && r.config.num_workers == 2 &&
        r.config.local_steps == 4 && r.config.learning_rate == 0.025 && r.config.seed == 7);
  CHECK(r.ncfg > 20 && !strcmp(runfile_config(&r, "model.epochs"), "3") &&
        !strcmp(runfile_config(&r, "model.learning_rate"), "0.025") &&
        !strcmp(runfile_config(&r, "model.work.local_steps"), "4") &&
        runfile_config(&r, "no.such.key") == NULL);
  for (int i = 1; i < r.ncfg; i++) CHECK(strcmp(r.cfg_key[i - 1], r.cfg_key[i]) < 0);
  const run_info_t *in = &r.info;
  CHECK(in->status == RUN_STATUS_COMPLETE && in->mpi_ranks == 2 && in->train_images == 900 &&
        in->val_images == 100 && in->test_images == 200 &&
        !strcmp(in->end_time, "2026-12-02T01:00:00Z"));
  CHECK(in->train_images_crc32 == 4294967295 && in->train_labels_crc32 == 1 &&
        in->test_images_crc32 == 2 && in->test_labels_crc32 == 3);
  CHECK(in->epochs_run == 2 && in->best_epoch == 2 && in->best_val_acc == 0.5 &&
        in->has_test && in->test_loss_last == 1.25 && in->test_acc_last == 0.625 &&
        in->test_loss_best == 1.5 && in->test_acc_best == 0.75 && in->wall_time == 12.5 &&
        in->num_workers == 2 && in->averagings_total == 14 && in->weights_crc32 == 3735928559);
  CHECK(r.metrics.n == 2 && r.has_metric == (1u << RUN_M_COUNT) - 1);
  for (int e = 0; e < 2; e++) {
    CHECK(r.metrics.epoch[e] == e + 1 && r.metrics.lr[e] == 0.025 / (e + 1));
    CHECK(r.metrics.val_acc[e] == 0.25 * (e + 1) && r.metrics.bytes[e] == 1000 * (e + 1) &&
          r.metrics.mpi_bytes_sent[e] == 3000 * (e + 1));
    CHECK(run_metrics_value(&r.metrics, RUN_M_H, e) == 4);
    CHECK(run_metrics_value(&r.metrics, RUN_M_COMPUTE_TIME, e) == 1.4 * (e + 1));
  }
  CHECK(!strcmp(run_metric_name(RUN_M_IMAGES_PER_S), "images_per_s") &&
        !strcmp(run_metric_units(RUN_M_BYTES), "bytes") && run_metric_is_int(RUN_M_H) &&
        !run_metric_is_int(RUN_M_VAL_ACC));
  const ledger_t *l = &r.rounds;
  CHECK(l->n == 5000 && ledger_bytes(l, 0, l->n) == 5000LL * 4 * 61706);
  for (int64_t i = 0; i < l->n; i += 1237) {
    ledger_round_t row = ledger_row(l, i);
    CHECK(row.step == 4 * (i + 1) && row.epoch == 1 + i / 2500 && row.participants == 2 &&
          row.kind == (i % 3 == 2 ? LEDGER_OUTER : LEDGER_AVERAGE) &&
          row.collective == LEDGER_ALLREDUCE && row.images == 64 + i % 5);
    CHECK(l->compute_s[i] == 0.5 * (double)i && l->comm_s[i] == 0.25 && l->wait_s[i] == 0);
  }
  runfile_free(&r);
  CHECK(r.ncfg == 0 && r.metrics.epoch == NULL && r.rounds.n == 0);
  unlink(path);
}

/* Opens a written run file for changes. */
static hid_t edit(const char *path) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  CHECK(f >= 0);
  return f;
}

/* runfile_read fails with exactly "PATH: reason"; runfile_read_partial still reads it
 * unless the file cannot be opened as a run file at all. */
static void refused(const char *path, const char *reason, int partial_ok) {
  runfile_t r;
  char want[1024];
  snprintf(want, sizeof want, "%s: %s", path, reason);
  CHECK_FAILS(runfile_read(path, &r));
  if (strcmp(dpt_errmsg(), want))
    test_failed(__FILE__, __LINE__, "message '%s', expected '%s'", dpt_errmsg(), want);
  CHECK(r.ncfg == 0 && r.metrics.epoch == NULL);
  int rc = runfile_read_partial(path, &r);
  CHECK(partial_ok ? rc == 0 : rc < 0);
  if (rc == 0) runfile_free(&r);
}

TEST(runfile_read_refuses_a_run_without_a_required_part) {
  const char *path = write_run("missing");
  hid_t f = edit(path);
  CHECK(H5Ldelete(f, "/metrics/val_acc", H5P_DEFAULT) >= 0);
  H5Fclose(f);
  refused(path, "/metrics: missing dataset 'val_acc'", 1);
  runfile_t r;
  CHECK_OK(runfile_read_partial(path, &r));
  CHECK(!(r.has & RUNFILE_HAS_METRICS) && (r.has & RUNFILE_HAS_RESULTS) &&
        r.info.status == RUN_STATUS_COMPLETE && !strcmp(runfile_config(&r, "model.epochs"), "3"));
  runfile_free(&r);
  f = edit(path);
  CHECK(H5Ldelete(f, "/config", H5P_DEFAULT) >= 0);
  H5Fclose(f);
  refused(path, "no /config group", 1);
  unlink(path);
  /* an optional column may be missing: the file is older than communication accounting */
  path = write_run("optional");
  f = edit(path);
  CHECK(H5Ldelete(f, "/metrics/comm_time", H5P_DEFAULT) >= 0);
  H5Fclose(f);
  CHECK_OK(runfile_read(path, &r));
  CHECK(!(r.has_metric & (1u << RUN_M_COMM_TIME)) && (r.has_metric & (1u << RUN_M_H)) &&
        r.metrics.comm_time[1] == 0);
  runfile_free(&r);
  unlink(path);
}

/* Replaces the int64 dataset `name` of a written run file by n values. */
static void replace_i64(const char *path, const char *name, const int64_t *v, hsize_t n) {
  hid_t f = edit(path);
  CHECK(H5Ldelete(f, name, H5P_DEFAULT) >= 0);
  CHECK(h5_write_series(f, name, H5T_STD_I64LE, H5T_NATIVE_INT64, n, v, "1") == 0);
  H5Fclose(f);
}

/* The writing build's summation order: kernel.h's NN_SUM_BLOCK, 64; 0 in a file of a
 * build before blocked sums (no sum_block), which summed each output in one chain; -1
 * when sum_block is there but not a positive integer. */
TEST(runfile_read_gives_the_summation_order_and_0_before_blocked_sums) {
  const char *path = write_run("sums");
  runfile_t r;
  CHECK_OK(runfile_read(path, &r));
  CHECK(r.sum_block == 64);
  runfile_free(&r);
  hid_t f = edit(path);
  CHECK(H5Adelete(f, "sum_block") >= 0);
  H5Fclose(f);
  CHECK_OK(runfile_read(path, &r));
  CHECK(r.sum_block == 0);
  runfile_free(&r);
  /* a crafted one (not an integer, or not positive) reads as unknown, not as one chain */
  f = edit(path);
  CHECK(h5_attr_str(f, "sum_block", "64") == 0);
  H5Fclose(f);
  CHECK_OK(runfile_read(path, &r));
  CHECK(r.sum_block == -1);
  runfile_free(&r);
  f = edit(path);
  CHECK(H5Adelete(f, "sum_block") >= 0 && h5_attr_i64(f, "sum_block", -64) == 0);
  H5Fclose(f);
  CHECK_OK(runfile_read(path, &r));
  CHECK(r.sum_block == -1);
  runfile_free(&r);
  unlink(path);
}

/* A crafted /rounds is refused naming the column, the row and what was expected (a
 * partial read leaves the ledger out); a file without /rounds (written before the
 * ledger) reads, without RUNFILE_HAS_ROUNDS; an old file's bytes_sent is read as what
 * it measured, mpi_bytes_sent. */
TEST(runfile_read_checks_the_ledger_and_reads_files_from_before_it) {
  const char *path = write_run("rounds");
  int64_t *v = calloc(5000, sizeof *v);
  v[17] = 7;
  replace_i64(path, "/rounds/kind", v, 5000);
  refused(path, "/rounds/kind[17] is 7, expected 0 .. 2 (gradient, average, outer)", 1);
  runfile_t r;
  CHECK_OK(runfile_read_partial(path, &r));
  CHECK(!(r.has & RUNFILE_HAS_ROUNDS) && r.rounds.n == 0 && (r.has & RUNFILE_HAS_METRICS));
  runfile_free(&r);
  v[17] = 0;
  replace_i64(path, "/rounds/kind", v, 5000);
  v[4999] = 5;
  replace_i64(path, "/rounds/collective", v, 5000);
  refused(path, "/rounds/collective[4999] is 5, expected 0 .. 2 (allreduce, allgather, broadcast)", 1);
  v[4999] = 0;
  replace_i64(path, "/rounds/collective", v, 5000);
  v[3] = -1;
  replace_i64(path, "/rounds/images", v, 5000);
  refused(path, "/rounds/images[3] is -1, expected a count >= 0", 1);
  replace_i64(path, "/rounds/images", v, 4999);
  refused(path, "/rounds/images has 4999 values, /rounds/step 5000", 1);
  unlink(path);
  free(v);
  path = write_run("before-ledger");
  hid_t f = edit(path);
  CHECK(H5Ldelete(f, "/rounds", H5P_DEFAULT) >= 0 && H5Ldelete(f, "/rounds_measured", H5P_DEFAULT) >= 0);
  CHECK(H5Ldelete(f, "/metrics/bytes", H5P_DEFAULT) >= 0);
  CHECK(H5Lmove(f, "/metrics/mpi_bytes_sent", f, "/metrics/bytes_sent", H5P_DEFAULT, H5P_DEFAULT) >= 0);
  H5Fclose(f);
  CHECK_OK(runfile_read(path, &r));
  CHECK(!(r.has & RUNFILE_HAS_ROUNDS) && r.rounds.n == 0);
  CHECK(!(r.has_metric & (1u << RUN_M_BYTES)) && (r.has_metric & (1u << RUN_M_MPI_BYTES_SENT)) &&
        r.metrics.mpi_bytes_sent[1] == 6000 && r.metrics.bytes[1] == 0);
  runfile_free(&r);
  unlink(path);
}

TEST(runfile_read_refuses_a_newer_major_a_foreign_schema_and_an_unfinished_file) {
  const char *path = write_run("hostile");
  hid_t f = edit(path);
  CHECK(H5Adelete(f, "schema_version") >= 0 && h5_attr_str(f, "schema_version", "2.0") == 0);
  H5Fclose(f);
  refused(path, "schema version 2.0 is newer than this dpt understands (major 1); upgrade dpt", 0);
  f = edit(path);
  CHECK(H5Adelete(f, "schema_version") >= 0 && h5_attr_str(f, "schema_version", "1.1") == 0);
  CHECK(H5Adelete(f, "schema") >= 0 && h5_attr_str(f, "schema", "dpt-checkpoint") == 0);
  H5Fclose(f);
  refused(path, "is a 'dpt-checkpoint' file, expected 'dpt-run'", 0);
  f = edit(path);
  CHECK(H5Adelete(f, "schema") >= 0 && h5_attr_str(f, "schema", RUN_SCHEMA) == 0);
  CHECK(H5Adelete(f, "complete") >= 0);
  H5Fclose(f);
  refused(path, "no completeness mark: written by a writer that died, not trusted", 1);
  runfile_t r;
  CHECK_OK(runfile_read_partial(path, &r));
  CHECK(!r.complete && r.metrics.n == 2 && (r.has & RUNFILE_HAS_METRICS));
  runfile_free(&r);
  unlink(path);
  refused("/tmp/dpt-unit-no-such-run.h5", "no such file (or not readable)", 0);
}

/* Replaces (or, with value NULL, deletes) the string attribute `name` of the root. */
static void set_root_str(const char *path, const char *name, const char *value) {
  hid_t f = edit(path);
  CHECK(H5Adelete(f, name) >= 0);
  if (value) CHECK(h5_attr_str(f, name, value) == 0);
  H5Fclose(f);
}

/* The typed config comes from the stored YAML; without it, from the /config values; a
 * run whose config loads from neither is still read, with the text values and without
 * RUNFILE_HAS_TYPED_CONFIG. The status word is parsed once, an unknown one kept. */
TEST(runfile_read_types_the_config_and_the_status_or_says_it_cannot) {
  const char *path = write_run("typed");
  set_root_str(path, "config", "model: {epochs: [not a number}\n");
  runfile_t r;
  CHECK_OK(runfile_read(path, &r));
  runfile_typed_config(&r);
  CHECK((r.has & RUNFILE_HAS_TYPED_CONFIG) && r.config.epochs == 3 &&
        r.config.num_workers == 2 && r.config.local_steps == 4 && r.config.seed == 7);
  runfile_free(&r);
  set_root_str(path, "config", NULL);
  set_root_str(path, "status", "paused");
  CHECK_OK(runfile_read(path, &r));
  runfile_typed_config(&r);
  CHECK((r.has & RUNFILE_HAS_TYPED_CONFIG) && r.config.learning_rate == 0.025);
  CHECK(r.info.status == RUN_STATUS_OTHER && !strcmp(r.status_word, "paused"));
  runfile_free(&r);
  hid_t f = edit(path);
  hid_t g = H5Gopen2(f, "config", H5P_DEFAULT);
  CHECK(H5Adelete(g, "model.epochs") >= 0 && h5_attr_i64(g, "model.epochs", -5) == 0);
  H5Gclose(g);
  H5Fclose(f);
  CHECK_OK(runfile_read(path, &r));
  runfile_typed_config(&r);
  CHECK(!(r.has & RUNFILE_HAS_TYPED_CONFIG) && !strcmp(runfile_config(&r, "model.epochs"), "-5"));
  CHECK(!strcmp(dpt_errmsg(), "unknown error")); /* no message left behind */
  runfile_free(&r);
  set_root_str(path, "status", "running");
  CHECK_OK(runfile_read(path, &r));
  CHECK(r.info.status == RUN_STATUS_RUNNING);
  runfile_free(&r);
  unlink(path);
}

/* Deletes attribute `name` of group `group`. */
static void drop_attr(const char *path, const char *group, const char *name) {
  hid_t f = edit(path);
  hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
  CHECK(g >= 0 && H5Adelete(g, name) >= 0);
  H5Gclose(g);
  H5Fclose(f);
}

/* The method's name is the one the writer recorded in /provenance; a file written before
 * it was recorded is named from its config, or "?" when that does not load. */
TEST(runfile_method_is_the_recorded_name_or_named_from_the_config) {
  const char *path = write_run("method");
  runfile_t r;
  CHECK_OK(runfile_read(path, &r));
  CHECK(!strcmp(runfile_method(&r), "LocalSGD as written"));
  runfile_free(&r);
  drop_attr(path, "provenance", "method");
  CHECK_OK(runfile_read(path, &r));
  CHECK((r.has & RUNFILE_HAS_PROVENANCE) && !strcmp(runfile_method(&r), "LocalSGD"));
  runfile_free(&r);
  hid_t f = edit(path);
  CHECK(H5Ldelete(f, "config", H5P_DEFAULT) >= 0);
  H5Fclose(f);
  CHECK_OK(runfile_read_partial(path, &r));
  CHECK(!strcmp(runfile_method(&r), "?"));
  runfile_free(&r);
  unlink(path);
}

/* The writer spells only the states a run has: no status is refused, and no file left. */
TEST(runfile_write_refuses_a_run_without_a_status) {
  char path[256];
  snprintf(path, sizeof path, "/tmp/dpt-unit-runfile-%d-nostatus.h5", (int)getpid());
  dpt_config_t cfg;
  DPT_ASSERT(config_load_string(&cfg, yaml, "readback.yaml", NULL, 0) == 0);
  run_info_t info;
  run_metrics_t m = {0};
  run_info_init(&info, 1);
  CHECK(info.status == RUN_STATUS_RUNNING);
  info.status = RUN_STATUS_NONE;
  CHECK_FAILS(runfile_write(path, &cfg, &info, &m));
  CHECK(strstr(dpt_errmsg(), "no status to write") != NULL);
  dpt_clear_error();
  info.status = RUN_STATUS_OTHER;
  CHECK_FAILS(runfile_write(path, &cfg, &info, &m));
  dpt_clear_error();
  CHECK(access(path, F_OK) != 0);
}

/* The /results parts of the attribute table: the crc and the worker counts are
 * optional, the test results all or none, what every run has required; a missing
 * provenance attribute only leaves provenance out. */
TEST(runfile_read_takes_the_optional_results_parts_whole) {
  const char *path = write_run("parts");
  drop_attr(path, "results", "weights_crc32");
  drop_attr(path, "results", "averagings_total");
  runfile_t r;
  CHECK_OK(runfile_read(path, &r));
  CHECK((r.has & RUNFILE_HAS_RESULTS) && !(r.has & RUNFILE_HAS_CRC) &&
        !(r.has & RUNFILE_HAS_WORKERS) && r.info.has_test && r.info.test_acc_best == 0.75);
  runfile_free(&r);
  /* a file written before the data's crc32s were recorded */
  drop_attr(path, "provenance", "train_images_crc32");
  CHECK_OK(runfile_read(path, &r));
  CHECK((r.has & RUNFILE_HAS_PROVENANCE) && !(r.has & RUNFILE_HAS_DATA_CRC));
  runfile_free(&r);
  drop_attr(path, "provenance", "blas_threads");
  CHECK_OK(runfile_read(path, &r));
  CHECK(!(r.has & RUNFILE_HAS_PROVENANCE) && (r.has & RUNFILE_HAS_RESULTS));
  runfile_free(&r);
  drop_attr(path, "results", "test_loss_best");
  refused(path, "/results: missing attribute 'test_loss_best'", 1);
  CHECK_OK(runfile_read_partial(path, &r));
  CHECK(!(r.has & RUNFILE_HAS_RESULTS) && !r.info.has_test);
  runfile_free(&r);
  drop_attr(path, "results", "wall_time");
  refused(path, "/results: missing attribute 'wall_time'", 1);
  unlink(path);
}
