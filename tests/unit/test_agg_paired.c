/* test_agg_paired.c - the aggregator's paired statistics: Student t quantiles against
 * printed tables and closed forms, a paired difference worked by hand, the best marks
 * that noise does not earn, and tables with a baseline (group and pivot, Markdown, LaTeX,
 * CSV, JSON). Expected numbers come from tables and hand arithmetic (the digits of the
 * intervals from t quantiles of tables times sd / sqrt(n), in Python), never from the
 * code under test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tools/fixture.h"
#include "../../src/agg/format.h"
#include "../../src/agg/runset.h"
#include "../../src/agg/stats.h"
#include "../../src/agg/study.h"
#include "../../src/agg/table.h"
#include "../../src/core/err.h"
#include "aggruns.h"
#include "test.h"

/* ---------------------------------------------------------------- t quantiles */

TEST(agg_t_quantile_matches_the_tables) {
  /* two-sided 95% (p = 0.975), as printed in every statistics textbook */
  static const struct { int df; double t; } table[] = {
      {1, 12.706}, {2, 4.303}, {3, 3.182}, {5, 2.571}, {10, 2.228}, {30, 2.042}};
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    CHECK(fabs(agg_t_quantile(0.975, table[i].df) - table[i].t) < 0.0005);
  /* 99% two-sided, df = 10: 3.169; df = 4 at 0.975: 2.776 */
  CHECK(fabs(agg_t_quantile(0.995, 10) - 3.169) < 0.0005);
  CHECK(fabs(agg_t_quantile(0.975, 4) - 2.776) < 0.0005);
  /* closed forms: df = 1 is Cauchy, t = tan(pi (p - 1/2)); df = 2: t = (2p - 1) /
   * sqrt(2 p (1 - p)) */
  const double ps[] = {0.6, 0.9, 0.975, 0.995, 0.9995};
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
    double p = ps[i];
    CHECK_NEAR(agg_t_quantile(p, 1), tan(M_PI * (p - 0.5)), 1e-11);
    CHECK_NEAR(agg_t_quantile(p, 2), (2 * p - 1) / sqrt(2 * p * (1 - p)), 1e-11);
    CHECK_NEAR(agg_t_quantile(1 - p, 5), -agg_t_quantile(p, 5), 1e-12);
    CHECK_NEAR(agg_t_cdf(agg_t_quantile(p, 7), 7), p, 1e-12);
  }
  CHECK_NEAR(agg_t_quantile(0.5, 3), 0, 1e-12);
  CHECK(isnan(agg_t_quantile(1, 3)) && isnan(agg_t_quantile(0.9, 0)));
}

TEST(agg_incomplete_beta_identities) {
  /* I_x(1, 1) = x, I_x(a, 1) = x^a, I_x(1, b) = 1 - (1 - x)^b, I_x(a, b) = 1 - I_1-x(b, a) */
  const double xs[] = {0.01, 0.2, 0.5, 0.77, 0.999};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    double x = xs[i];
    CHECK_NEAR(agg_betai(1, 1, x), x, 1e-14);
    CHECK_NEAR(agg_betai(3.5, 1, x), pow(x, 3.5), 1e-13);
    CHECK_NEAR(agg_betai(1, 4, x), 1 - pow(1 - x, 4), 1e-13);
    CHECK_NEAR(agg_betai(2.5, 0.5, x), 1 - agg_betai(0.5, 2.5, 1 - x), 1e-13);
  }
  CHECK(agg_betai(2, 3, 0) == 0 && agg_betai(2, 3, 1) == 1);
}

/* ---------------------------------------------------------------- a pair by hand */

TEST(agg_paired_difference_by_hand) {
  /* seeds 0..4; the baseline lacks seed 4, the other side seed 3: pairs at 0, 1, 2 */
  const double base[5] = {0.80, 0.82, 0.81, 0.85, NAN};
  const double x[5] = {0.83, 0.84, 0.86, NAN, 0.90};
  agg_paired_t d = agg_paired(x, base, 5);
  /* differences 0.03, 0.02, 0.05: mean 0.1 / 3, sd 0.01 sqrt(7/3), and
   * mean ± 4.302653 sd / sqrt(3) = [-0.0046125, 0.0712792] */
  CHECK(d.n == 3);
  CHECK_NEAR(d.mean, 0.1 / 3, 1e-14);
  CHECK_NEAR(d.sd, 0.01 * sqrt(7.0 / 3), 1e-14);
  CHECK_NEAR(d.lo, -0.004612497002634282, 1e-9);
  CHECK_NEAR(d.hi, 0.07127916366930095, 1e-9);
  CHECK(!agg_paired_excludes_zero(&d));
  /* one pair: a mean, no interval */
  const double one[2] = {0.9, NAN}, one_base[2] = {0.8, 0.7};
  d = agg_paired(one, one_base, 2);
  CHECK(d.n == 1 && fabs(d.mean - 0.1) < 1e-15 && isnan(d.lo) && isnan(d.hi));
  CHECK(!agg_paired_excludes_zero(&d));
  /* none */
  d = agg_paired(x + 3, base + 3, 2);
  CHECK(d.n == 0 && isnan(d.mean));
  /* the same difference at every seed: a zero-width interval that excludes zero, unless
   * the difference is zero */
  const double a[2] = {0.5, 0.6}, b[2] = {0.25, 0.35};
  d = agg_paired(a, b, 2);
  CHECK(d.n == 2 && d.lo == 0.25 && d.hi == 0.25 && agg_paired_excludes_zero(&d));
  d = agg_paired(a, a, 2);
  CHECK(!agg_paired_excludes_zero(&d));
}

/* ---------------------------------------------------------------- tables */

/* One run DIR/NAME of optimizer opt at batch size batch and seed, with its test
 * accuracy. */
static void run_named(const char *dir, const char *name, const char *opt, int batch, int seed,
                      double acc) {
  char path[512], s_opt[64], s_b[64], s_seed[64];
  snprintf(path, sizeof path, "%s/%s/run.h5", dir, name);
  snprintf(s_opt, sizeof s_opt, "model.optimizer=%s", opt);
  snprintf(s_b, sizeof s_b, "model.batch_size=%d", batch);
  snprintf(s_seed, sizeof s_seed, "experiment.seed=%d", seed);
  const char *sets[] = {s_opt, s_b, s_seed};
  agg_fixture_t fx = {.sets = sets, .nsets = 3, .epochs = 2, .has_test = 1,
                      .test_acc_last = acc, .test_acc_best = acc, .wall_time = 10,
                      .images_per_s = 1000};
  CHECK_OK(agg_fixture_write(path, &fx));
}

static void run_at(const char *dir, const char *opt, int batch, int seed, double acc) {
  char name[128];
  snprintf(name, sizeof name, "%s-%d-%d", opt, batch, seed);
  run_named(dir, name, opt, batch, seed, acc);
}

static char *render(const agg_table_t *t, agg_format_t f, const agg_style_t *st) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  CHECK_OK(agg_table_write(out, t, f, st));
  fclose(out);
  return buf; /* free() */
}

/* SGDM {0.90, 0.91, 0.92}, AdamW {0.80, 0.82, 0.81} at seeds 0, 1, 2, batch 64. */
static char *two_optimizers(void) {
  char *d = test_tmpdir("paired");
  const double sgdm[3] = {0.90, 0.91, 0.92}, adamw[3] = {0.80, 0.82, 0.81};
  for (int s = 0; s < 3; s++) {
    run_at(d, "SGDM", 64, s, sgdm[s]);
    run_at(d, "AdamW", 64, s, adamw[s]);
  }
  return d;
}

static void group_by_optimizer(agg_table_t *t, const runs_t *r) {
  const char *keys[] = {"model.optimizer"};
  int fields[] = {agg_field_find("test_acc")};
  CHECK_OK(agg_table_group(t, r->runs, r->set.nruns, keys, 1, fields, 1, 0));
}

TEST(agg_best_is_bold_only_beyond_noise) {
  char *d = two_optimizers();
  runs_t r;
  read_runs(&r, d);
  agg_table_t t;
  group_by_optimizer(&t, &r);
  CHECK(t.nseeds == 3 && !strcmp(t.seed[0], "0") && !strcmp(t.seed[2], "2"));
  agg_table_mark_best(&t);
  /* SGDM - AdamW by seed: 0.10, 0.09, 0.11 -> [0.0752, 0.1248]: SGDM bold (row 1) */
  CHECK(!agg_cell(&t, 0, 2)->best && agg_cell(&t, 1, 2)->best);
  agg_table_free(&t);
  free_runs(&r);
  /* LAMB {0.89, 0.92, 0.91}: SGDM - LAMB = 0.01, -0.01, 0.01 holds zero -> no bold */
  run_at(d, "LAMB", 64, 0, 0.89);
  run_at(d, "LAMB", 64, 1, 0.92);
  run_at(d, "LAMB", 64, 2, 0.91);
  read_runs(&r, d);
  group_by_optimizer(&t, &r);
  agg_table_mark_best(&t);
  for (int row = 0; row < t.nrows; row++) CHECK(!agg_cell(&t, row, 2)->best);
  agg_table_free(&t);
  free_runs(&r);
  test_rmdir_all(d);
}

/* The runs of dir grouped by optimizer, compared with AdamW. */
static void against_adamw(agg_table_t *t, runs_t *r, const char *dir) {
  read_runs(r, dir);
  group_by_optimizer(t, r);
  const char *keys[] = {"model.optimizer"}, *conds[] = {"model.optimizer=AdamW"};
  CHECK_OK(agg_table_baseline(t, conds, 1, keys, 1, agg_field_find("test_acc"), 0));
}

TEST(agg_baseline_group_table) {
  char *d = two_optimizers();
  run_at(d, "LAMB", 64, 0, 0.89);
  run_at(d, "LAMB", 64, 1, 0.92);
  run_at(d, "LAMB", 64, 2, 0.91);
  runs_t r;
  agg_table_t t;
  against_adamw(&t, &r, d);
  CHECK(t.diff_col == 2 && !strcmp(t.baseline, "model.optimizer=AdamW"));
  /* rows: AdamW, LAMB, SGDM. LAMB - AdamW = 0.09, 0.10, 0.10: mean 0.09667, sd 0.005774,
   * [0.0823, 0.1110]; SGDM - AdamW: [0.0752, 0.1248] */
  CHECK(agg_cell(&t, 0, 2)->base && agg_cell(&t, 0, 2)->diff.n == 0);
  agg_paired_t lamb = agg_cell(&t, 1, 2)->diff, sgdm = agg_cell(&t, 2, 2)->diff;
  CHECK(lamb.n == 3 && sgdm.n == 3);
  CHECK_NEAR(lamb.mean, 0.29 / 3, 1e-14);
  CHECK_NEAR(lamb.lo, 0.08232449090083512, 1e-9);
  CHECK_NEAR(lamb.hi, 0.11100884243249824, 1e-9);
  CHECK_NEAR(sgdm.lo, 0.07515862288249668, 1e-9);
  CHECK_NEAR(sgdm.hi, 0.1248413771175033, 1e-9);
  char *md = render(&t, AGG_MARKDOWN, NULL);
  CHECK(strstr(md, "| model.optimizer | n | test acc | Δ test acc |"));
  CHECK(strstr(md, "| --- | ---: | ---: | ---: |"));
  CHECK(strstr(md, "| AdamW | 3 | 0.8100 ± 0.0100 | baseline |"));
  CHECK(strstr(md, "| SGDM | 3 | 0.9100 ± 0.0100 | **+0.1000 [+0.0752, +0.1248] (3 pairs)** |"));
  CHECK(strstr(md, "Δ: mean paired difference to the baseline (model.optimizer=AdamW)"));
  free(md);
  agg_style_t pct = {1, 1, 1}; /* percent, 1 decimal, standard error 1.0 / sqrt(3) */
  char *tex = render(&t, AGG_LATEX, &pct);
  CHECK(strstr(tex, "\\begin{tabular}{lrrr}"));
  CHECK(strstr(tex, "model.optimizer & n & test acc (\\%) & $\\Delta$ test acc (points) \\\\"));
  CHECK(strstr(tex, "LAMB & 3 & 90.7 $\\pm$ 0.9 & \\textbf{+9.7 [+8.2, +11.1] (3 pairs)} \\\\"));
  free(tex);
  char *csv = render(&t, AGG_CSV, NULL);
  CHECK(strstr(csv, "test_acc_n,test_acc_diff_mean,test_acc_diff_lo,test_acc_diff_hi,"
                    "test_acc_diff_n\n"));
  CHECK(strstr(csv, "AdamW,3,0.81,"));
  CHECK(strstr(csv, ",3,,,,0\n")); /* the baseline's own row */
  free(csv);
  char *js = render(&t, AGG_JSON, NULL);
  CHECK(strstr(js, "\"baseline\": \"model.optimizer=AdamW\""));
  CHECK(strstr(js, "\"best\": false, \"baseline\": true, \"diff\": null}"));
  CHECK(strstr(js, "\"diff\": {\"mean\": 0.0966666666666"));
  free(js);
  agg_table_free(&t);
  free_runs(&r);
  test_rmdir_all(d);
}

TEST(agg_baseline_pivot_pairs_each_row_with_its_own_baseline_cell) {
  char *d = test_tmpdir("paired");
  /* SGDM 64 {0.90, 0.92}, 256 {0.85, 0.86}; AdamW 64 {0.88, 0.89}, 256 {0.80, 0.81} */
  run_at(d, "SGDM", 64, 0, 0.90);
  run_at(d, "SGDM", 64, 1, 0.92);
  run_at(d, "SGDM", 256, 0, 0.85);
  run_at(d, "SGDM", 256, 1, 0.86);
  run_at(d, "AdamW", 64, 0, 0.88);
  run_at(d, "AdamW", 64, 1, 0.89);
  run_at(d, "AdamW", 256, 0, 0.80);
  run_at(d, "AdamW", 256, 1, 0.81);
  runs_t r;
  read_runs(&r, d);
  agg_table_t t;
  const char *rows[] = {"model.optimizer"}, *cols[] = {"model.batch_size"};
  const char *keys[] = {"model.optimizer", "model.batch_size"};
  const char *conds[] = {"model.batch_size=64"};
  int acc = agg_field_find("test_acc");
  CHECK_OK(agg_table_pivot(&t, r.runs, r.set.nruns, rows, 1, cols, 1, acc, 0));
  CHECK_OK(agg_table_baseline(&t, conds, 1, keys, 2, acc, 0));
  CHECK(t.diff_col == -1);
  /* AdamW 256 - AdamW 64: -0.08, -0.08 (the same at both seeds): excludes zero.
   * SGDM 256 - SGDM 64: -0.05, -0.06, mean -0.055 ± 12.706 * 0.005 = [-0.1185, +0.0085] */
  agg_paired_t adamw = agg_cell(&t, 0, 2)->diff, sgdm = agg_cell(&t, 1, 2)->diff;
  CHECK(agg_cell(&t, 0, 1)->base && agg_cell(&t, 1, 1)->base);
  CHECK(adamw.n == 2 && fabs(adamw.mean + 0.08) < 1e-12 && agg_paired_excludes_zero(&adamw));
  CHECK_NEAR(sgdm.lo, -0.11853102368087348, 1e-9);
  CHECK_NEAR(sgdm.hi, 0.008531023680873488, 1e-9);
  char *md = render(&t, AGG_MARKDOWN, NULL);
  CHECK(strstr(md, "| AdamW | 0.8850 ± 0.0071 (n=2); Δ baseline | **0.8050 ± 0.0071 (n=2); "
                   "Δ -0.0800 [-0.0800, -0.0800] (2 pairs)** |"));
  CHECK(strstr(md, "| SGDM | 0.9100 ± 0.0141 (n=2); Δ baseline | 0.8550 ± 0.0071 (n=2); "
                   "Δ -0.0550 [-0.1185, +0.0085] (2 pairs) |"));
  free(md);
  agg_table_free(&t);
  /* refused: no '=', a key the table lacks, a baseline no cell meets */
  CHECK_OK(agg_table_pivot(&t, r.runs, r.set.nruns, rows, 1, cols, 1, acc, 0));
  const char *bad[] = {"model.batch_size>=64", "model.learning_rate=0.01", "model.batch_size=8"};
  const char *why[] = {"expected KEY=VALUE", "not a row or column key", "no row of the table"};
  for (int i = 0; i < 3; i++) {
    CHECK_FAILS(agg_table_baseline(&t, bad + i, 1, keys, 2, acc, 0));
    CHECK(strstr(dpt_errmsg(), why[i]));
  }
  agg_table_free(&t);
  /* a group table without the compared value */
  int wall[] = {agg_field_find("wall_time")};
  CHECK_OK(agg_table_group(&t, r.runs, r.set.nruns, keys, 2, wall, 1, 0));
  CHECK_FAILS(agg_table_baseline(&t, conds, 1, keys, 2, acc, 0));
  CHECK(strstr(dpt_errmsg(), "not a column of this table"));
  agg_table_free(&t);
  free_runs(&r);
  test_rmdir_all(d);
}

TEST(agg_baseline_pairs_by_seed_a_seed_run_twice_counts_once) {
  char *d = test_tmpdir("paired");
  /* AdamW at seeds 0, 1 and 7; SGDM at seed 0 twice (0.90, 0.94: mean 0.92), 1 and 5 */
  run_at(d, "AdamW", 64, 0, 0.80);
  run_at(d, "AdamW", 64, 1, 0.82);
  run_at(d, "AdamW", 64, 7, 0.50);
  run_named(d, "SGDM-a", "SGDM", 64, 0, 0.90);
  run_named(d, "SGDM-b", "SGDM", 64, 0, 0.94);
  run_at(d, "SGDM", 64, 1, 0.93);
  run_at(d, "SGDM", 64, 5, 0.10);
  runs_t r;
  agg_table_t t;
  against_adamw(&t, &r, d);
  /* shared seeds 0 and 1: 0.92 - 0.80 and 0.93 - 0.82 = 0.12, 0.11; mean 0.115 */
  agg_paired_t sgdm = agg_cell(&t, 1, 2)->diff;
  CHECK(sgdm.n == 2);
  CHECK_NEAR(sgdm.mean, 0.115, 1e-14);
  CHECK(t.nseeds == 4 && agg_cell(&t, 1, 2)->nby_seed == 3 && agg_cell(&t, 1, 1)->st.n == 4);
  agg_table_free(&t);
  free_runs(&r);
  test_rmdir_all(d);
}

TEST(agg_study_reads_baseline_and_spread) {
  agg_study_t s;
  agg_study_init(&s);
  const char *y = "baseline: [model.optimizer=SGDM, model.batch_size=64]\nspread: se\n";
  CHECK_OK(agg_study_parse(&s, y, strlen(y), "t.yaml"));
  CHECK(s.baseline.n == 2 && !strcmp(s.baseline.v[1], "model.batch_size=64") && s.se == 1);
  agg_study_free(&s);
  agg_study_init(&s);
  y = "title: x\nspread: var\n";
  CHECK_FAILS(agg_study_parse(&s, y, strlen(y), "t.yaml"));
  CHECK(strstr(dpt_errmsg(), "t.yaml:2") && strstr(dpt_errmsg(), "'spread' wants sd or se"));
  agg_study_free(&s);
  agg_study_init(&s);
  CHECK_FAILS(agg_study_option(&s, AGG_OPT_SPREAD, "var"));
  CHECK_OK(agg_study_option(&s, AGG_OPT_BASELINE, "method=LocalSGD"));
  CHECK(s.baseline.n == 1);
  agg_study_free(&s);
}
