/* test_agg_bestof.c - --best-of: each group's runs at the value of a key whose mean
 * selection value is best (bestof.h), on run files with hand-picked validation curves;
 * the chosen runs' table with a baseline paired by seed, and how Markdown, LaTeX, CSV
 * and JSON show the chosen value. Expected choices and numbers are worked by hand in the
 * comments (the interval with t(0.975, 1) = tan(0.475 pi) = 12.706204736174698). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/fixture.h"
#include "../../src/agg/bestof.h"
#include "../../src/agg/format.h"
#include "../../src/agg/study.h"
#include "../../src/agg/table.h"
#include "../../src/core/err.h"
#include "aggruns.h"
#include "test.h"

/* A run DIR/NAME of optimizer opt at learning rate lr and batch size 64, seed, with a
 * validation curve {peak, last} (best_val_acc = peak, val_loss = 1.1 - last) and a test
 * accuracy. */
static void run_lr(const char *dir, const char *opt, const char *lr, int seed, double peak,
                   double last, double test) {
  char path[512], s_opt[64], s_lr[64], s_seed[64];
  snprintf(path, sizeof path, "%s/%s-%s-%d/run.h5", dir, opt, lr, seed);
  snprintf(s_opt, sizeof s_opt, "model.optimizer=%s", opt);
  snprintf(s_lr, sizeof s_lr, "model.learning_rate=%s", lr);
  snprintf(s_seed, sizeof s_seed, "experiment.seed=%d", seed);
  const char *sets[] = {s_opt, s_lr, s_seed, "model.batch_size=64"};
  const double val[2] = {peak, last};
  agg_fixture_t fx = {.sets = sets, .nsets = 4, .epochs = 2, .val_acc = val,
                      .has_test = 1, .test_acc_last = test, .test_acc_best = test,
                      .wall_time = 10, .images_per_s = 1000};
  CHECK_OK(agg_fixture_write(path, &fx));
}

/* Per optimizer and learning rate, two seeds' {peak, last} and test accuracy:
 *   SGDM 0.01 {0.80, 0.79} {0.82, 0.81}: best_val_acc mean 0.81, last 0.80
 *   SGDM 0.03 {0.90, 0.88} {0.70, 0.69}: 0.80 (the best single run), last 0.785
 *   SGDM 0.1  {0.84, 0.60} {0.80, 0.62}: 0.82, the highest mean; last 0.61
 *   LARS 0.01 {0.875, .875} {0.625, .625}: 0.75, last 0.75
 *   LARS 0.03 {0.75, 0.74} {0.75, 0.74}: 0.75, a tie: the smaller rate (0.01) wins; last 0.74
 *   LARS 0.1  {0.60, 0.60} {0.62, 0.62}: 0.61
 * Test accuracies: the chosen SGDM 0.1 {0.80, 0.84}, LARS 0.01 {0.86, 0.87}; every other
 * run 0.10, so a table that kept one would show it. */
static char *lr_grid(void) {
  static const struct {
    const char *opt, *lr;
    double peak[2], last[2], test[2];
  } cells[] = {
      {"SGDM", "0.01", {0.80, 0.82}, {0.79, 0.81}, {0.10, 0.10}},
      {"SGDM", "0.03", {0.90, 0.70}, {0.88, 0.69}, {0.10, 0.10}},
      {"SGDM", "0.1", {0.84, 0.80}, {0.60, 0.62}, {0.80, 0.84}},
      {"LARS", "0.01", {0.875, 0.625}, {0.875, 0.625}, {0.86, 0.87}},
      {"LARS", "0.03", {0.75, 0.75}, {0.74, 0.74}, {0.10, 0.10}},
      {"LARS", "0.1", {0.60, 0.62}, {0.60, 0.62}, {0.10, 0.10}}};
  char *d = test_tmpdir("bestof");
  for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++)
    for (int seed = 0; seed < 2; seed++)
      run_lr(d, cells[c].opt, cells[c].lr, seed, cells[c].peak[seed], cells[c].last[seed],
             cells[c].test[seed]);
  return d;
}

/* The kept runs' "OPT lr" texts, sorted, joined by spaces. */
static char *kept(const agg_run_t *const *runs, int n) {
  static char buf[2048];
  char items[16][64];
  for (int i = 0; i < n && i < 16; i++)
    snprintf(items[i], sizeof items[i], "%s/%s/%s", agg_run_config(runs[i], "model.optimizer"),
             agg_run_config(runs[i], "model.learning_rate"),
             agg_run_config(runs[i], "experiment.seed"));
  qsort(items, (size_t)(n < 16 ? n : 16), sizeof items[0],
        (int (*)(const void *, const void *))strcmp);
  buf[0] = '\0';
  for (int i = 0; i < n && i < 16; i++)
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%.63s", i ? " " : "", items[i]);
  return buf;
}

TEST(agg_best_of_chooses_by_mean_validation_ties_to_the_smaller) {
  char *d = lr_grid();
  runs_t r;
  read_runs(&r, d);
  CHECK(r.set.nruns == 12);
  const char *keys[] = {"model.optimizer"};
  int nchoice = -1, f = agg_best_of_field("best_val_acc");
  int n = agg_best_of(r.runs, r.set.nruns, keys, 1, "model.learning_rate", f, 0, &nchoice);
  CHECK(n == 4 && nchoice == 2);
  CHECK(!strcmp(kept(r.runs, n), "LARS/0.01/0 LARS/0.01/1 SGDM/0.1/0 SGDM/0.1/1"));
  free_runs(&r);
  /* val_loss is lower-better: the lowest mean of 1.1 - last. SGDM: 0.30, 0.315, 0.49
   * -> 0.01; LARS: 0.35, 0.36, 0.49 -> 0.01 */
  read_runs(&r, d);
  n = agg_best_of(r.runs, r.set.nruns, keys, 1, "model.learning_rate", agg_best_of_field("val_loss"),
                  0, &nchoice);
  CHECK(n == 4 && !strcmp(kept(r.runs, n), "LARS/0.01/0 LARS/0.01/1 SGDM/0.01/0 SGDM/0.01/1"));
  free_runs(&r);
  /* without group keys, one group of both optimizers: 0.01 (0.80 + 0.82 + 0.875 + 0.625)
   * / 4 = 0.78 over 0.03 (0.775) and 0.1 (0.715) */
  read_runs(&r, d);
  n = agg_best_of(r.runs, r.set.nruns, NULL, 0, "model.learning_rate", f, 0, &nchoice);
  CHECK(n == 4 && nchoice == 1);
  CHECK(!strcmp(kept(r.runs, n), "LARS/0.01/0 LARS/0.01/1 SGDM/0.01/0 SGDM/0.01/1"));
  free_runs(&r);
  /* a key that does not vary within a group: everything kept, nothing chosen */
  read_runs(&r, d);
  const char *both[] = {"model.optimizer", "model.learning_rate"};
  n = agg_best_of(r.runs, r.set.nruns, both, 2, "model.batch_size", f, 0, &nchoice);
  CHECK(n == 12 && nchoice == 0);
  free_runs(&r);
  test_rmdir_all(d);
}

TEST(agg_best_of_ties_in_numeric_order_and_skips_missing_values) {
  char *d = test_tmpdir("bestof");
  /* batch 64 and 256 tie at 0.75: 64, the smaller number (as text "256" sorts first) */
  const char *b64[] = {"model.batch_size=64"}, *b256[] = {"model.batch_size=256"};
  const double flat[2] = {0.75, 0.75};
  char p64[512], p256[512], pnone[512];
  snprintf(p64, sizeof p64, "%s/b64/run.h5", d);
  snprintf(p256, sizeof p256, "%s/b256/run.h5", d);
  agg_fixture_t fx = {.sets = b64, .nsets = 1, .epochs = 2, .val_acc = flat, .has_test = 1,
                      .test_acc_last = 0.5};
  CHECK_OK(agg_fixture_write(p64, &fx));
  fx.sets = b256;
  CHECK_OK(agg_fixture_write(p256, &fx));
  runs_t r;
  read_runs(&r, d);
  int nchoice, f = agg_best_of_field("best_val_acc");
  int n = agg_best_of(r.runs, r.set.nruns, NULL, 0, "model.batch_size", f, 0, &nchoice);
  CHECK(n == 1 && !strcmp(agg_run_config(r.runs[0], "model.batch_size"), "64"));
  free_runs(&r);
  /* choosing by test_acc: a value beats none (a run without test results at 32 is never
   * chosen, though 32 is the smaller); a group where no run has one is an error */
  const char *b32[] = {"model.batch_size=32"};
  snprintf(pnone, sizeof pnone, "%s/b32/run.h5", d);
  fx.sets = b32;
  fx.has_test = 0;
  CHECK_OK(agg_fixture_write(pnone, &fx));
  read_runs(&r, d);
  n = agg_best_of(r.runs, r.set.nruns, NULL, 0, "model.batch_size", agg_best_of_field("test_acc"), 0,
                  &nchoice);
  CHECK(n == 1 && !strcmp(agg_run_config(r.runs[0], "model.batch_size"), "64"));
  free_runs(&r);
  read_runs(&r, d);
  const char *keys[] = {"model.batch_size"};
  CHECK_FAILS(agg_best_of(r.runs, r.set.nruns, keys, 1, "model.learning_rate",
                          agg_best_of_field("test_acc"), 0, &nchoice));
  CHECK(strstr(dpt_errmsg(), "--best-of model.learning_rate: no run of the group "
                             "model.batch_size=32 has a value of test_acc to choose by"));
  free_runs(&r);
  /* fields: unknown, or without a direction */
  CHECK_FAILS(agg_best_of_field("accuracy"));
  CHECK(strstr(dpt_errmsg(), "unknown field 'accuracy'"));
  CHECK_FAILS(agg_best_of_field("epochs"));
  CHECK(strstr(dpt_errmsg(), "--select-by epochs: the field has no better direction"));
  test_rmdir_all(d);
}

TEST(agg_best_of_table_pairs_the_chosen_runs_with_the_baseline) {
  char *d = lr_grid();
  /* LARS (lr 0.01) - SGDM (lr 0.1) by seed: 0.86 - 0.80, 0.87 - 0.84 = 0.06, 0.03:
   * mean 0.045, sd 0.0212132, 0.045 ± 12.706204736 * 0.0212132 / sqrt(2) =
   * [-0.1456, +0.2356] */
  const char *md_opts[] = {"values", "test_acc", "baseline", "model.optimizer=SGDM",
                           "best-of", "model.learning_rate"};
  int rc;
  char *md = agg_report_text(d, md_opts, 6, &rc);
  CHECK(rc == 0 && md);
  CHECK(md && strstr(md, "| model.optimizer | model.learning_rate (chosen) | n | test acc | "
                         "Δ test acc |"));
  CHECK(md && strstr(md, "| LARS | 0.01 | 2 | 0.8650 ± 0.0071 | +0.0450 [-0.1456, +0.2356] "
                         "(2 pairs) |"));
  CHECK(md && strstr(md, "| SGDM | 0.1 | 2 | 0.8200 ± 0.0283 | baseline |"));
  CHECK(md && strstr(md, "each row: the runs at the model.learning_rate whose mean best val acc "
                         "is the highest (a tie: the smaller value)"));
  free(md);
  const char *csv_opts[] = {"values", "test_acc", "baseline", "model.optimizer=SGDM",
                            "best-of", "model.learning_rate", "format", "csv"};
  char *csv = agg_report_text(d, csv_opts, 8, &rc);
  CHECK(csv && !strncmp(csv, "model.optimizer,model.learning_rate,n,test_acc_mean,", 52));
  CHECK(csv && strstr(csv, "\nLARS,0.01,2,0.865,"));
  /* (0.86 - 0.80 + 0.87 - 0.84) / 2 in doubles, as Python computes it */
  CHECK(csv && strstr(csv, ",2,0.044999999999999984,"));
  free(csv);
  /* the choice by val_loss: SGDM 0.01 {0.10, 0.10}, LARS 0.01: 0.865 - 0.10 */
  const char *loss_opts[] = {"values", "test_acc", "best-of", "model.learning_rate",
                             "select-by", "val_loss", "format", "csv"};
  csv = agg_report_text(d, loss_opts, 8, &rc);
  CHECK(csv && strstr(csv, "\nSGDM,0.01,2,0.1,"));
  free(csv);
  /* refused: a key no run has, a replicate key, a grouping key, a baseline on the key,
   * --select-by alone */
  const char *bad[][4] = {{"best-of", "model.lr", "values", "test_acc"},
                          {"best-of", "experiment.seed", "values", "test_acc"},
                          {"best-of", "model.learning_rate", "rows", "model.learning_rate"},
                          {"best-of", "model.learning_rate", "baseline", "model.learning_rate=0.1"},
                          {"select-by", "val_loss", "values", "test_acc"}};
  const char *why[] = {"--best-of: no run has the config key 'model.lr'",
                       "--best-of experiment.seed: it tells runs or replicates apart",
                       "--best-of model.learning_rate is also a row or column key",
                       "--baseline model.learning_rate=0.1: the --best-of key is chosen",
                       "--select-by val_loss needs --best-of KEY"};
  for (int i = 0; i < 5; i++) {
    char *text = agg_report_text(d, bad[i], 4, &rc);
    CHECK(rc < 0 && !text);
    CHECK(strstr(dpt_errmsg(), why[i]));
    free(text);
  }
  test_rmdir_all(d);
}

TEST(agg_best_of_pivot_shows_the_chosen_value) {
  char *d = lr_grid();
  /* a second batch size, 256: SGDM's best rate 0.01 {0.70} over 0.1 {0.60}; LARS only 0.1 */
  const double sgdm_lo[2] = {0.70, 0.70}, sgdm_hi[2] = {0.60, 0.60};
  const char *s1[] = {"model.optimizer=SGDM", "model.learning_rate=0.01",
                      "model.batch_size=256", "experiment.seed=0"};
  const char *s2[] = {"model.optimizer=SGDM", "model.learning_rate=0.1",
                      "model.batch_size=256", "experiment.seed=0"};
  const char *s3[] = {"model.optimizer=LARS", "model.learning_rate=0.1",
                      "model.batch_size=256", "experiment.seed=0"};
  char path[512];
  agg_fixture_t fx = {.sets = s1, .nsets = 4, .epochs = 2, .val_acc = sgdm_lo, .has_test = 1,
                      .test_acc_last = 0.7};
  snprintf(path, sizeof path, "%s/s256lo/run.h5", d);
  CHECK_OK(agg_fixture_write(path, &fx));
  fx.sets = s2, fx.val_acc = sgdm_hi, fx.test_acc_last = 0.1;
  snprintf(path, sizeof path, "%s/s256hi/run.h5", d);
  CHECK_OK(agg_fixture_write(path, &fx));
  fx.sets = s3, fx.test_acc_last = 0.6;
  snprintf(path, sizeof path, "%s/l256/run.h5", d);
  CHECK_OK(agg_fixture_write(path, &fx));
  const char *opts[] = {"rows", "model.optimizer", "cols", "model.batch_size",
                        "best-of", "model.learning_rate", "format", "md"};
  int rc;
  char *md = agg_report_text(d, opts, 8, &rc);
  CHECK(md && strstr(md, "| LARS | 0.8650 ± 0.0071 (n=2) | 0.6000 (n=1) |"));
  CHECK(md && strstr(md, "| SGDM | 0.8200 ± 0.0283 (n=2) | 0.7000 (n=1) |"));
  CHECK(md && strstr(md, "**model.learning_rate chosen per cell** (highest mean best val acc)\n\n"
                         "| model.optimizer | model.batch_size=64 | model.batch_size=256 |\n"
                         "| --- | ---: | ---: |\n| LARS | 0.01 | 0.1 |\n| SGDM | 0.1 | 0.01 |\n"));
  free(md);
  opts[7] = "latex";
  char *tex = agg_report_text(d, opts, 8, &rc);
  CHECK(tex && strstr(tex, "% model.learning_rate chosen per cell (highest mean best_val_acc)\n"
                           "\\begin{tabular}{lrr}\n"));
  CHECK(tex && strstr(tex, "LARS & 0.01 & 0.1 \\\\\nSGDM & 0.1 & 0.01 \\\\\n"));
  free(tex);
  opts[7] = "csv";
  char *csv = agg_report_text(d, opts, 8, &rc);
  CHECK(csv && strstr(csv, "\"model.batch_size=64_n\",\"model.batch_size=64_model.learning_rate\","));
  CHECK(csv && strstr(csv, "\nSGDM,0.8200000000000001,") && strstr(csv, ",2,0.1,0.7,,1,0.01\n"));
  free(csv);
  opts[7] = "json";
  char *js = agg_report_text(d, opts, 8, &rc);
  CHECK(js && strstr(js, "\"best_of\": \"model.learning_rate\",\n \"select_by\": \"best_val_acc\""));
  CHECK(js && strstr(js, "\"best\": false, \"model.learning_rate\": \"0.01\"}"));
  free(js);
  test_rmdir_all(d);
}

TEST(agg_study_reads_best_of_and_select_by) {
  static const struct {
    const char *yaml, *best_of, *select_by, *error;
  } cases[] = {
      {"best_of: model.learning_rate\nselect_by: val_loss\n", "model.learning_rate", "val_loss",
       NULL},
      {"title: t\nbest_of: [a, b]\n", NULL, NULL, "b.yaml:2: 'best_of' wants one value"},
      {"select_by: {a: 1}\n", NULL, NULL, "b.yaml:1: 'select_by' wants one value"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    agg_study_t s;
    agg_study_init(&s);
    int rc = agg_study_parse(&s, cases[i].yaml, strlen(cases[i].yaml), "b.yaml");
    if (cases[i].error) {
      CHECK(rc < 0 && strstr(dpt_errmsg(), cases[i].error));
    } else {
      CHECK(rc == 0 && !strcmp(s.best_of, cases[i].best_of));
      CHECK(!strcmp(s.select_by, cases[i].select_by));
      /* the command line's choice replaces the file's */
      agg_study_t over;
      agg_study_init(&over);
      CHECK_OK(agg_study_option(&over, AGG_OPT_SELECT_BY, "best_val_acc"));
      agg_study_override(&s, &over);
      CHECK(!strcmp(s.best_of, cases[i].best_of) && !strcmp(s.select_by, "best_val_acc"));
    }
    agg_study_free(&s);
  }
}
