/* test_agg.c - dpt-aggregate's library on run files whose metrics are known: reading and
 * skipping, grouping (means, sample standard deviations, counts), pivots, targets, filters,
 * sorting, best marks, every output format, and the study files. Expected numbers are
 * computed here by hand, not by the code under test. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tools/fixture.h"
#include "../../src/agg/format.h"
#include "../../src/agg/plot.h"
#include "../../src/agg/report.h"
#include "../../src/agg/runset.h"
#include "../../src/agg/study.h"
#include "../../src/agg/table.h"
#include "../../src/core/err.h"
#include "../../src/core/numfmt.h"
#include "../../src/core/readfile.h"
#include "../../src/h5/h5util.h"
#include "test.h"

/* ---------------------------------------------------------------- helpers */

/* One run: optimizer, batch size, seed, final test accuracy; 3 epochs. */
static void make_run(const char *dir, const char *name, const char *opt, int batch, int seed,
                     double test_acc, const char *status) {
  char path[512], s_opt[64], s_b[64], s_seed[64];
  snprintf(path, sizeof path, "%s/%s/run.h5", dir, name);
  snprintf(s_opt, sizeof s_opt, "model.optimizer=%s", opt);
  snprintf(s_b, sizeof s_b, "model.batch_size=%d", batch);
  snprintf(s_seed, sizeof s_seed, "experiment.seed=%d", seed);
  const char *sets[] = {s_opt, s_b, s_seed};
  double val[3] = {0.5, 0.6, test_acc + 0.01};
  agg_fixture_t fx = {.sets = sets, .nsets = 3, .status = status, .epochs = 3,
                      .val_acc = val, .has_test = !status, .test_acc_last = test_acc,
                      .test_acc_best = test_acc - 0.001, .wall_time = 100 + seed,
                      .images_per_s = 1000};
  CHECK_OK(agg_fixture_write(path, &fx));
}

static const agg_run_t **pointers(agg_runset_t *set) {
  const agg_run_t **p = dpt_alloc(sizeof(agg_run_t *) * (size_t)(set->nruns + 1));
  for (int i = 0; i < set->nruns; i++) p[i] = &set->runs[i];
  return p;
}

static double mean3(double a, double b, double c) { return (a + b + c) / 3; }
static double std3(double a, double b, double c) {
  double m = mean3(a, b, c);
  return sqrt(((a - m) * (a - m) + (b - m) * (b - m) + (c - m) * (c - m)) / 2);
}

static char *render(const agg_table_t *t, agg_format_t f, const agg_style_t *st) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  CHECK_OK(agg_table_write(out, t, f, st));
  fclose(out);
  return buf; /* free() */
}

/* Six runs: SGDM and AdamW, three seeds each, batch 64; test accuracies known. */
static const double sgdm[3] = {0.91, 0.93, 0.92}, adamw[3] = {0.88, 0.90, 0.86};

static char *six_runs(void) {
  char *d = test_tmpdir("agg"), name[32];
  for (int s = 0; s < 3; s++) {
    snprintf(name, sizeof name, "sgdm-%d", s);
    make_run(d, name, "SGDM", 64, s, sgdm[s], NULL);
    snprintf(name, sizeof name, "adamw-%d", s);
    make_run(d, name, "AdamW", 64, s, adamw[s], NULL);
  }
  return d;
}

/* ---------------------------------------------------------------- reading */

TEST(agg_reads_runs_and_config) {
  char *d = six_runs();
  agg_runset_t set = {0};
  const char *paths[] = {d};
  agg_runset_collect(&set, paths, 1, 0);
  CHECK(set.nruns == 6 && set.nskips == 0);
  /* sorted by path: adamw-0 first */
  CHECK(set.nruns > 0 && strstr(set.runs[0].path, "adamw-0/run.h5"));
  CHECK(set.nruns > 0 && !strcmp(agg_run_config(&set.runs[0], "model.optimizer"), "AdamW"));
  CHECK(set.nruns > 0 && !strcmp(agg_run_config(&set.runs[0], "model.batch_size"), "64"));
  CHECK(set.nruns > 0 && agg_run_config(&set.runs[0], "no.such.key") == NULL);
  CHECK(set.nruns > 0 && set.runs[0].n == 3 && set.runs[0].has_test);
  const agg_run_t **runs = pointers(&set);
  const char **vary;
  int nv = agg_varying_keys(runs, set.nruns, &vary);
  CHECK(nv == 1 && !strcmp(vary[0], "model.optimizer")); /* seed and name excluded */
  dpt_free(vary);
  dpt_free(runs);
  agg_runset_free(&set);
  test_rmdir_all(d);
}

TEST(agg_skips_damaged_unfinished_foreign_and_missing) {
  char *d = six_runs(), path[512], cmd[1024];
  make_run(d, "running", "SGDM", 64, 7, 0.5, "running");
  /* damaged: the first 3000 bytes of a good file */
  snprintf(cmd, sizeof cmd, "mkdir -p %s/damaged && head -c 3000 %s/sgdm-0/run.h5 > %s/damaged/run.h5",
           d, d, d);
  CHECK(system(cmd) == 0);
  /* foreign: an HDF5 file of another dpt schema, and one with no schema at all */
  snprintf(path, sizeof path, "%s/ckpt/run.h5", d);
  snprintf(cmd, sizeof cmd, "mkdir -p %s/ckpt %s/plain", d, d);
  CHECK(system(cmd) == 0);
  char tmp[600];
  hid_t f = h5_create_tmp(path, tmp, sizeof tmp, "dpt-checkpoint", "1.0", "test", H5P_DEFAULT);
  CHECK(f >= 0 && h5_close_publish(f, tmp, path) == 0);
  snprintf(path, sizeof path, "%s/plain/run.h5", d);
  f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  CHECK(f >= 0 && H5Fclose(f) >= 0);
  char missing[600];
  snprintf(missing, sizeof missing, "%s/no-such-dir", d);
  const char *paths[] = {d, missing};
  agg_runset_t set = {0};
  agg_runset_collect(&set, paths, 2, 0);
  CHECK(set.nruns == 6);
  CHECK(set.nskips == 5);
  /* each left-out file, by the directory it sits in, and what its reason must say */
  static const struct { const char *where, *why; } expected[] = {
      {"running/", "running"},          {"damaged/", "damaged"},
      {"ckpt/", "dpt-checkpoint"},      {"plain/", "not a dpt file"},
      {"no-such-dir", "No such file"},
  };
  int seen = 0;
  for (int i = 0; i < set.nskips; i++)
    for (int e = 0; e < 5; e++)
      if (strstr(set.skips[i].path, expected[e].where)) {
        seen |= 1 << e;
        CHECK(strstr(set.skips[i].reason, expected[e].why));
      }
  CHECK(seen == 31);
  agg_runset_free(&set);
  /* --include-unfinished keeps the running one, and says so */
  agg_runset_collect(&set, paths, 2, 1);
  CHECK(set.nruns == 7 && set.nskips == 4 && set.nunfinished == 1);
  agg_runset_free(&set);
  test_rmdir_all(d);
}

TEST(agg_reads_files_without_communication_metrics) {
  char *d = test_tmpdir("agg"), path[512];
  make_run(d, "old", "SGDM", 64, 0, 0.9, NULL);
  /* A run file from before communication accounting: no /metrics/averagings, h. */
  snprintf(path, sizeof path, "%s/old/run.h5", d);
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  CHECK(f >= 0);
  H5Ldelete(f, "metrics/averagings", H5P_DEFAULT);
  H5Ldelete(f, "metrics/h", H5P_DEFAULT);
  H5Fclose(f);
  agg_run_t run;
  CHECK_OK(agg_run_read(path, &run));
  CHECK(run.metric[RUN_M_AVERAGINGS] == NULL && run.metric[RUN_M_H] == NULL);
  CHECK(run.metric[RUN_M_VAL_ACC] != NULL && run.metric[RUN_M_MPI_BYTES_SENT] != NULL);
  CHECK(isnan(agg_field_value(&run, agg_field_find("averagings"), 0)));
  CHECK(agg_field_value(&run, agg_field_find("test_acc"), 0) == 0.9);
  agg_run_free(&run);
  test_rmdir_all(d);
}

/* ---------------------------------------------------------------- tables */

TEST(agg_group_means_stds_counts_and_best) {
  char *d = six_runs();
  agg_runset_t set = {0};
  const char *paths[] = {d};
  agg_runset_collect(&set, paths, 1, 0);
  const agg_run_t **runs = pointers(&set);
  const char *keys[] = {"model.optimizer"};
  int fields[] = {agg_field_find("test_acc"), agg_field_find("wall_time")};
  agg_table_t t;
  CHECK_OK(agg_table_group(&t, runs, set.nruns, keys, 1, fields, 2, 0));
  agg_table_mark_best(&t);
  CHECK(t.nrows == 2 && t.ncols == 4 && t.nkeys == 1);
  /* natural order: AdamW, SGDM */
  CHECK(!strcmp(agg_cell(&t, 0, 0)->text, "AdamW") && !strcmp(agg_cell(&t, 1, 0)->text, "SGDM"));
  CHECK(agg_cell(&t, 0, 1)->st.n == 3 && agg_cell(&t, 1, 1)->st.n == 3);
  agg_stat_t a = agg_cell(&t, 0, 2)->st, s = agg_cell(&t, 1, 2)->st;
  CHECK_NEAR(a.mean, mean3(adamw[0], adamw[1], adamw[2]), 1e-15);
  CHECK_NEAR(a.std, std3(adamw[0], adamw[1], adamw[2]), 1e-14);
  CHECK_NEAR(s.mean, mean3(sgdm[0], sgdm[1], sgdm[2]), 1e-15);
  CHECK_NEAR(s.std, 0.01, 1e-14);
  CHECK(a.n == 3 && s.n == 3);
  /* SGDM leads, but within noise: its paired differences to AdamW by seed are 0.03, 0.03,
   * 0.06, mean 0.04, sd 0.0173, and the 95% interval 0.04 ± 4.303 * 0.01 = [-0.0030,
   * 0.0830] holds zero -> no mark */
  CHECK(!agg_cell(&t, 0, 2)->best && !agg_cell(&t, 1, 2)->best);
  /* wall time: 100 + seed for both groups -> every row ties -> no mark */
  CHECK_NEAR(agg_cell(&t, 0, 3)->st.mean, 101, 1e-15);
  CHECK(!agg_cell(&t, 0, 3)->best && !agg_cell(&t, 1, 3)->best);

  /* sort descending by test_acc: SGDM first */
  CHECK_OK(agg_table_sort(&t, "-test_acc"));
  CHECK(!strcmp(agg_cell(&t, 0, 0)->text, "SGDM"));
  CHECK_FAILS(agg_table_sort(&t, "no_such_column"));
  agg_table_free(&t);
  dpt_free(runs);
  agg_runset_free(&set);
  test_rmdir_all(d);
}

TEST(agg_pivot_cells_counts_and_column_best) {
  char *d = test_tmpdir("agg");
  /* SGDM: b64 {0.90, 0.92}, b256 {0.80}; LAMB: b64 {0.85}, b256 {0.84, 0.86, 0.88} */
  make_run(d, "a", "SGDM", 64, 0, 0.90, NULL);
  make_run(d, "b", "SGDM", 64, 1, 0.92, NULL);
  make_run(d, "c", "SGDM", 256, 0, 0.80, NULL);
  make_run(d, "d", "LAMB", 64, 0, 0.85, NULL);
  make_run(d, "e", "LAMB", 256, 0, 0.84, NULL);
  make_run(d, "f", "LAMB", 256, 1, 0.86, NULL);
  make_run(d, "g", "LAMB", 256, 2, 0.88, NULL);
  agg_runset_t set = {0};
  const char *paths[] = {d};
  agg_runset_collect(&set, paths, 1, 0);
  const agg_run_t **runs = pointers(&set);
  const char *rows[] = {"model.optimizer"}, *cols[] = {"model.batch_size"};
  agg_table_t t;
  CHECK_OK(agg_table_pivot(&t, runs, set.nruns, rows, 1, cols, 1, agg_field_find("test_acc"), 0));
  agg_table_mark_best(&t);
  CHECK(t.nrows == 2 && t.ncols == 3);
  /* columns in numeric order: 64 before 256 */
  CHECK(!strcmp(t.name[1], "model.batch_size=64") && !strcmp(t.name[2], "model.batch_size=256"));
  CHECK(!strcmp(agg_cell(&t, 0, 0)->text, "LAMB"));
  agg_stat_t l64 = agg_cell(&t, 0, 1)->st, l256 = agg_cell(&t, 0, 2)->st;
  agg_stat_t s64 = agg_cell(&t, 1, 1)->st, s256 = agg_cell(&t, 1, 2)->st;
  CHECK(l64.n == 1 && l256.n == 3 && s64.n == 2 && s256.n == 1);
  CHECK_NEAR(l64.mean, 0.85, 1e-15);
  CHECK(isnan(l64.std));
  CHECK_NEAR(l256.mean, mean3(0.84, 0.86, 0.88), 1e-15);
  CHECK_NEAR(l256.std, std3(0.84, 0.86, 0.88), 1e-14);
  CHECK_NEAR(s64.mean, 0.91, 1e-15);
  CHECK_NEAR(s64.std, sqrt((0.01 * 0.01 * 2) / 1), 1e-14);
  /* the better mean per column (SGDM at 64, LAMB at 256) shares one seed with the other
   * row: a lead that cannot be measured is not marked */
  CHECK(!agg_cell(&t, 1, 1)->best && !agg_cell(&t, 0, 1)->best);
  CHECK(!agg_cell(&t, 0, 2)->best && !agg_cell(&t, 1, 2)->best);

  /* Markdown: ± with std, (n=k) per cell */
  char *md = render(&t, AGG_MARKDOWN, NULL);
  CHECK(strstr(md, "| model.optimizer | model.batch_size=64 | model.batch_size=256 |"));
  CHECK(strstr(md, "| LAMB | 0.8500 (n=1) | 0.8600 ± 0.0200 (n=3) |"));
  CHECK(strstr(md, "| SGDM | 0.9100 ± 0.0141 (n=2) | 0.8000 (n=1) |"));
  free(md);
  agg_style_t pct = {1, 1, 0};
  md = render(&t, AGG_MARKDOWN, &pct);
  CHECK(strstr(md, "| SGDM | 91.0 ± 1.4 (n=2) |"));
  free(md);
  agg_table_free(&t);
  dpt_free(runs);
  agg_runset_free(&set);
  test_rmdir_all(d);
}

TEST(agg_targets_epochs_and_rounds) {
  char *d = test_tmpdir("agg"), path[512];
  snprintf(path, sizeof path, "%s/t/run.h5", d);
  double val[5] = {0.5, 0.7, 0.86, 0.84, 0.9}, avg[5] = {10, 20, 30, 40, 50};
  double h[5] = {4, 8, 16, 8, 4};
  const char *sets[] = {"model.num_workers=2"};
  agg_fixture_t fx = {.sets = sets, .nsets = 1, .epochs = 5, .val_acc = val, .has_test = 1,
                      .test_acc_last = 0.88, .test_acc_best = 0.89, .images_per_s = 500,
                      .averagings = avg, .h = h};
  CHECK_OK(agg_fixture_write(path, &fx));
  agg_run_t r;
  CHECK_OK(agg_run_read(path, &r));
  CHECK(agg_field_value(&r, agg_field_find("epochs_to_target"), 0.85) == 3);
  CHECK(agg_field_value(&r, agg_field_find("rounds_to_target"), 0.85) == 10 + 20 + 30);
  CHECK(agg_field_value(&r, agg_field_find("epochs_to_target"), 0.9) == 5);
  CHECK(agg_field_value(&r, agg_field_find("rounds_to_target"), 0.9) == 150);
  CHECK(isnan(agg_field_value(&r, agg_field_find("epochs_to_target"), 0.95)));
  CHECK(isnan(agg_field_value(&r, agg_field_find("epochs_to_target"), 0)));
  CHECK(agg_field_value(&r, agg_field_find("averagings"), 0) == 150);
  CHECK(agg_field_value(&r, agg_field_find("best_val_acc"), 0) == 0.9);
  CHECK(agg_field_value(&r, agg_field_find("val_acc"), 0) == 0.9);
  CHECK(agg_field_value(&r, agg_field_find("H_last"), 0) == 4);
  CHECK(agg_field_value(&r, agg_field_find("epochs"), 0) == 5);
  CHECK(agg_field_value(&r, agg_field_find("test_acc_best"), 0) == 0.89);
  CHECK(agg_field_value(&r, agg_field_find("images_per_s"), 0) == 500);
  agg_run_free(&r);
  test_rmdir_all(d);
}

TEST(agg_where_filters) {
  char *d = test_tmpdir("agg");
  make_run(d, "a", "SGDM", 64, 0, 0.90, NULL);
  make_run(d, "b", "LAMB", 256, 0, 0.80, NULL);
  agg_runset_t set = {0};
  const char *paths[] = {d};
  agg_runset_collect(&set, paths, 1, 0);
  CHECK(set.nruns == 2);
  const agg_run_t *a = &set.runs[0], *b = &set.runs[1]; /* a/ before b/ */
  struct { const char *expr; int a, b; } cases[] = {
      {"model.optimizer=SGDM", 1, 0},       {"model.optimizer=SGDM,LAMB", 1, 1},
      {"model.optimizer!=SGDM", 0, 1},      {"model.batch_size>=256", 0, 1},
      {"model.batch_size<256", 1, 0},       {"model.learning_rate=1e-2", 1, 1},
      {"test_acc>0.85", 1, 0},              {"model.batch_size = 64", 1, 0},
      {"model.work.dynamic.strategy=", 1, 1}, {"no.such.key=1", 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    agg_where_t w;
    CHECK_OK(agg_where_parse(cases[i].expr, &w));
    if (agg_where_match(&w, a, 0) != cases[i].a || agg_where_match(&w, b, 0) != cases[i].b)
      test_failed(__FILE__, __LINE__, "--where %s", cases[i].expr);
    agg_where_free(&w);
  }
  agg_where_t w;
  CHECK_FAILS(agg_where_parse("model.optimizer", &w));
  CHECK_FAILS(agg_where_parse("=SGDM", &w));
  agg_runset_free(&set);
  test_rmdir_all(d);
}

/* ---------------------------------------------------------------- formats */

/* Splits one CSV line (no quotes in these tests) into fields. */
static int csv_fields(char *line, char **f, int max) {
  int n = 0;
  for (char *p = line; n < max;) {
    f[n++] = p;
    char *c = strchr(p, ',');
    if (!c) break;
    *c = '\0';
    p = c + 1;
  }
  return n;
}

TEST(agg_csv_parses_back_to_the_same_numbers) {
  char *d = six_runs();
  agg_runset_t set = {0};
  const char *paths[] = {d};
  agg_runset_collect(&set, paths, 1, 0);
  const agg_run_t **runs = pointers(&set);
  const char *keys[] = {"model.optimizer"};
  int fields[] = {agg_field_find("test_acc"), agg_field_find("test_acc_best")};
  agg_table_t t;
  CHECK_OK(agg_table_group(&t, runs, set.nruns, keys, 1, fields, 2, 0));
  char *csv = render(&t, AGG_CSV, NULL);
  char *save, *line = strtok_r(csv, "\n", &save);
  CHECK(line && !strcmp(line, "model.optimizer,n,test_acc_mean,test_acc_std,test_acc_n,"
                              "test_acc_best_mean,test_acc_best_std,test_acc_best_n"));
  for (int r = 0; r < t.nrows; r++) {
    line = strtok_r(NULL, "\n", &save);
    CHECK(line != NULL);
    if (!line) break;
    char *f[16];
    CHECK(csv_fields(line, f, 16) == 8);
    CHECK(!strcmp(f[0], agg_cell(&t, r, 0)->text));
    CHECK(atoi(f[1]) == 3);
    for (int k = 0; k < 2; k++) {
      agg_stat_t st = agg_cell(&t, r, 2 + k)->st;
      CHECK(strtod(f[2 + 3 * k], NULL) == st.mean); /* exactly */
      CHECK(strtod(f[3 + 3 * k], NULL) == st.std);
      CHECK(atoi(f[4 + 3 * k]) == st.n);
    }
  }
  /* And the numbers are the hand-computed ones. */
  CHECK_NEAR(agg_cell(&t, 1, 2)->st.mean, mean3(sgdm[0], sgdm[1], sgdm[2]), 1e-15);
  free(csv);
  agg_table_free(&t);
  dpt_free(runs);
  agg_runset_free(&set);
  test_rmdir_all(d);
}

TEST(agg_latex_booktabs_and_escapes) {
  char *d = test_tmpdir("agg"), path[512];
  snprintf(path, sizeof path, "%s/x/run.h5", d);
  const char *sets[] = {"experiment.name=a_b 50% R&D"};
  agg_fixture_t fx = {.sets = sets, .nsets = 1, .epochs = 2, .has_test = 1,
                      .test_acc_last = 0.5, .test_acc_best = 0.5};
  CHECK_OK(agg_fixture_write(path, &fx));
  snprintf(path, sizeof path, "%s/y/run.h5", d);
  fx.test_acc_last = 0.75;
  const char *sets2[] = {"experiment.name=plain"};
  fx.sets = sets2;
  CHECK_OK(agg_fixture_write(path, &fx));
  agg_runset_t set = {0};
  const char *paths[] = {d};
  agg_runset_collect(&set, paths, 1, 0);
  const agg_run_t **runs = pointers(&set);
  const char *keys[] = {"experiment.name", "model.batch_size"};
  int fields[] = {agg_field_find("test_acc")};
  agg_table_t t;
  CHECK_OK(agg_table_group(&t, runs, set.nruns, keys, 2, fields, 1, 0));
  agg_table_mark_best(&t);
  char *tex = render(&t, AGG_LATEX, NULL);
  CHECK(strstr(tex, "\\begin{tabular}{llrr}\n\\toprule\n"));
  CHECK(strstr(tex, "experiment.name & model.batch\\_size & n & test acc \\\\\n\\midrule\n"));
  CHECK(strstr(tex, "a\\_b 50\\% R\\&D & 64 & 1 & 0.5000 \\\\\n"));
  /* one run each: the better one's lead is not measured, so not bold */
  CHECK(strstr(tex, "plain & 64 & 1 & 0.7500 \\\\\n\\bottomrule\n\\end{tabular}\n"));
  free(tex);
  /* Markdown of the same: no escaping beyond '|' */
  char *md = render(&t, AGG_MARKDOWN, NULL);
  CHECK(strstr(md, "| a_b 50% R&D | 64 | 1 | 0.5000 |"));
  CHECK(strstr(md, "| plain | 64 | 1 | 0.7500 |"));
  free(md);
  /* JSON: strings, numbers that parse back, best flags, null std for n = 1 */
  char *js = render(&t, AGG_JSON, NULL);
  CHECK(strstr(js, "{\"experiment.name\": \"plain\", \"model.batch_size\": \"64\", \"n\": 1, "
                   "\"test_acc\": {\"mean\": 0.75, \"std\": null, \"n\": 1, \"best\": false}}"));
  CHECK(strstr(js, "\"test_acc\": {\"mean\": 0.5, \"std\": null, \"n\": 1, \"best\": false}"));
  free(js);
  agg_table_free(&t);
  dpt_free(runs);
  agg_runset_free(&set);
  test_rmdir_all(d);
}

/* The CSV and JSON writers' numbers (core/numfmt.h). */
TEST(agg_number_format_round_trips) {
  double xs[] = {0.1, 1.0 / 3, 0.92, 2.0 / 3 * 1e-7, 123456789.123, 0.009999999999999953};
  char buf[64];
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    dpt_format_double(buf, sizeof buf, xs[i]);
    CHECK(strtod(buf, NULL) == xs[i]);
  }
  dpt_format_double(buf, sizeof buf, 0.1);
  CHECK(!strcmp(buf, "0.1"));
}

/* ---------------------------------------------------------------- studies */

/* The study text fails to parse with a message holding msg. */
static void study_refused(const char *yaml, const char *name, const char *msg) {
  agg_study_t s;
  agg_study_init(&s);
  CHECK_FAILS(agg_study_parse(&s, yaml, strlen(yaml), name));
  if (!strstr(dpt_errmsg(), msg))
    test_failed(__FILE__, __LINE__, "got '%s', not '%s'", dpt_errmsg(), msg);
  agg_study_free(&s);
}

TEST(agg_study_parses_and_names_bad_keys) {
  const char *y = "title: T\nrows: [a.b, c]\ncols: d\nvalue: test_acc\nwhere:\n  - x=1\n"
                  "  - y>=2\ntarget: 0.9\npercent: true\ndigits: 1\n";
  agg_study_t s;
  agg_study_init(&s);
  CHECK_OK(agg_study_parse(&s, y, strlen(y), "t.yaml"));
  CHECK(!strcmp(s.title, "T") && s.rows.n == 2 && !strcmp(s.rows.v[1], "c"));
  CHECK(s.cols.n == 1 && !strcmp(s.cols.v[0], "d") && !strcmp(s.value, "test_acc"));
  CHECK(s.where.n == 2 && !strcmp(s.where.v[1], "y>=2"));
  CHECK(s.target == 0.9 && s.percent == 1 && s.digits == 1);
  agg_study_free(&s);
  study_refused("title: T\nrowz: [a]\n", "bad.yaml", "bad.yaml:2: unknown key 'rowz'");
  study_refused("target: 2\n", "bad2.yaml", "bad2.yaml:1: 'target'");
}

TEST(agg_study_files_in_analysis_load) {
  const char *names[] = {"centralized", "large-batch", "localsgd", "slowmo", "dynamic",
                         "sharding"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char path[128];
    snprintf(path, sizeof path, "analysis/%s.yaml", names[i]);
    agg_study_t s;
    agg_study_init(&s);
    CHECK_OK(agg_study_load(&s, path));
    CHECK(s.title && s.doc && s.rows.n >= 1);
    if (s.cols.n) CHECK(s.value && agg_field_find(s.value) >= 0);
    for (int v = 0; v < s.values.n; v++) CHECK(agg_field_find(s.values.v[v]) >= 0);
    for (int w = 0; w < s.where.n; w++) {
      agg_where_t wh;
      CHECK_OK(agg_where_parse(s.where.v[w], &wh));
      agg_where_free(&wh);
    }
    agg_study_free(&s);
  }
}

/* Keywords of a study are checked where they are written: a bad format or plot name
 * fails the load with its file and line, not a later step. */
TEST(agg_study_names_a_bad_format_or_plot_at_its_line) {
  study_refused("title: T\nformat: xml\n", "f.yaml", "f.yaml:2: unknown format 'xml'");
  study_refused("plots:\n  [val_acc_epoch,\n   val_acc_round]\n", "p.yaml",
                "p.yaml:2: unknown plot 'val_acc_round'");
  agg_study_t s;
  agg_study_init(&s);
  const char *good = "format: latex\nplots: [H_epoch, val_acc_epoch]\npercent: yes\n";
  CHECK_OK(agg_study_parse(&s, good, strlen(good), "g.yaml"));
  CHECK(s.has_format && s.format == AGG_LATEX && s.percent == 1);
  CHECK(s.plots == (AGG_PLOT_H_EPOCH | AGG_PLOT_VAL_ACC_EPOCH));
  agg_study_free(&s);
}

/* The command line over a study: its lists and settings replace the study's, filters
 * add up, and what it leaves unset stays the study's. */
TEST(agg_study_override_replaces_settings_and_adds_filters) {
  agg_study_t s, over;
  agg_study_init(&s);
  agg_study_init(&over);
  const char *y = "title: T\nrows: [a]\ncols: [c]\nwhere: [x=1]\ndigits: 3\nformat: csv\n";
  CHECK_OK(agg_study_parse(&s, y, strlen(y), "t.yaml"));
  CHECK_OK(agg_study_option(&over, AGG_OPT_ROWS, "b, d"));
  CHECK_OK(agg_study_option(&over, AGG_OPT_WHERE, "y>=2"));
  CHECK_OK(agg_study_option(&over, AGG_OPT_FORMAT, "json"));
  CHECK_FAILS(agg_study_option(&over, AGG_OPT_TARGET, "2"));
  CHECK(strstr(dpt_errmsg(), "--target wants an accuracy in (0, 1], not '2'"));
  CHECK_FAILS(agg_study_option(&over, AGG_OPT_PLOT, "nope"));
  agg_study_override(&s, &over);
  CHECK(s.rows.n == 2 && !strcmp(s.rows.v[0], "b") && !strcmp(s.rows.v[1], "d"));
  CHECK(s.cols.n == 1 && !strcmp(s.cols.v[0], "c"));
  CHECK(s.where.n == 2 && !strcmp(s.where.v[0], "x=1") && !strcmp(s.where.v[1], "y>=2"));
  CHECK(!strcmp(s.title, "T") && s.digits == 3 && s.format == AGG_JSON);
  CHECK(over.rows.n == 0 && over.where.n == 0);
  agg_study_free(&s);
}

/* run-fixture's words (tests/tools/fixture.c): a bad number list is an error naming it. */
TEST(agg_fixture_words_name_a_bad_number_list) {
  char *d = test_tmpdir("agg"), path[512];
  snprintf(path, sizeof path, "%s/r/run.h5", d);
  char *bad[] = {"model.optimizer=AdamW", "val_acc=0.5,x"};
  CHECK_FAILS(agg_fixture_from_words(path, bad, 2));
  CHECK(strstr(dpt_errmsg(), "val_acc: not a number list"));
  char *unknown[] = {"speed=3"};
  CHECK_FAILS(agg_fixture_from_words(path, unknown, 1));
  CHECK(strstr(dpt_errmsg(), "unknown field 'speed'"));
  char *good[] = {"model.optimizer=AdamW", "val_acc=0.5,0.7", "test_acc=0.6", "H=2,4"};
  CHECK_OK(agg_fixture_from_words(path, good, 4));
  agg_run_t run;
  CHECK_OK(agg_run_read(path, &run));
  CHECK(run.n == 2 && run.metric[RUN_M_VAL_ACC] && run.metric[RUN_M_VAL_ACC][1] == 0.7);
  CHECK(run.metric[RUN_M_H] && run.metric[RUN_M_H][1] == 4 && run.test_acc_last == 0.6);
  CHECK(!strcmp(agg_run_config(&run, "model.optimizer"), "AdamW"));
  agg_run_free(&run);
  test_rmdir_all(d);
}

/* agg_report publishes the table to -o and returns the files it left out. */
TEST(agg_report_writes_the_table_and_counts_skips) {
  char *d = six_runs(), out[512], bad[512];
  snprintf(out, sizeof out, "%s/table.csv", d);
  snprintf(bad, sizeof bad, "%s/junk/run.h5", d);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/junk' && echo not-hdf5 > '%s'", d, bad);
  CHECK(system(cmd) == 0);
  agg_request_t req = {0};
  agg_study_init(&req.st);
  CHECK_OK(agg_study_option(&req.st, AGG_OPT_VALUES, "test_acc"));
  CHECK_OK(agg_study_option(&req.st, AGG_OPT_FORMAT, "csv"));
  strlist_push(&req.paths, d);
  req.out = out;
  FILE *log = fopen("/dev/null", "w");
  CHECK(agg_report(&req, log) == 1);
  fclose(log);
  char *text = NULL;
  CHECK_OK(dpt_read_file(out, 1 << 20, &text, NULL));
  CHECK(text && !strncmp(text, "model.optimizer,n,test_acc_mean,test_acc_std,test_acc_n\n", 56));
  CHECK(text && strstr(text, "\nSGDM,3,0.92"));
  dpt_free(text);
  agg_study_free(&req.st);
  strlist_free(&req.paths);
  test_rmdir_all(d);
}
