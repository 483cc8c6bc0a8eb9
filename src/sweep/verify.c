/* verify.c - dpt-sweep verify: reruns tasks from their configs in a scratch directory
 * and compares each rerun with the recorded run.h5 (see verify.h). */
#include "verify.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/err.h"
#include "../io/runfile.h"
#include "commands.h"
#include "launch.h"
#include "proc.h"
#include "slurm.h"
#include "taskstate.h"

/* The per-epoch metrics a config and seed decide, in the order a difference is looked
 * for; times, throughput and MPI bytes sent (rank 0's share, so P's) are left out. */
static const run_metric_t decided[] = {RUN_M_LR, RUN_M_TRAIN_LOSS, RUN_M_TRAIN_ACC,
                                       RUN_M_VAL_LOSS, RUN_M_VAL_ACC, RUN_M_H,
                                       RUN_M_AVERAGINGS, RUN_M_BYTES};

/* Bitwise, so that a NaN equals the same NaN and -0 differs from 0. */
static int same(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static int compare_metrics(const runfile_t *a, const runfile_t *b, char *diff, size_t cap) {
  int64_t n = a->metrics.n < b->metrics.n ? a->metrics.n : b->metrics.n;
  for (int64_t e = 0; e < n; e++)
    for (size_t i = 0; i < sizeof decided / sizeof decided[0]; i++) {
      run_metric_t c = decided[i];
      if (!(a->has_metric & b->has_metric & (1u << c))) continue;
      double x = run_metrics_value(&a->metrics, c, e), y = run_metrics_value(&b->metrics, c, e);
      if (same(x, y)) continue;
      snprintf(diff, cap, "metric %s, epoch %lld: recorded %.17g, rerun %.17g",
               run_metric_name(c), (long long)e + 1, x, y);
      return 1;
    }
  if (a->metrics.n != b->metrics.n) {
    snprintf(diff, cap, "epochs recorded: recorded %lld, rerun %lld", (long long)a->metrics.n,
             (long long)b->metrics.n);
    return 1;
  }
  return 0;
}

/* The communication ledgers' algorithmic columns, row by row, when both files have one. */
static int compare_rounds(const runfile_t *a, const runfile_t *b, char *diff, size_t cap) {
  if (!(a->has & b->has & RUNFILE_HAS_ROUNDS)) return 0;
  if (a->rounds.n != b->rounds.n) {
    snprintf(diff, cap, "rounds: recorded %lld, rerun %lld", (long long)a->rounds.n,
             (long long)b->rounds.n);
    return 1;
  }
  for (int c = 0; c < LEDGER_C_MEASURED; c++) {
    const int64_t *x = ledger_column(&a->rounds, (ledger_column_t)c);
    const int64_t *y = ledger_column(&b->rounds, (ledger_column_t)c);
    for (int64_t i = 0; i < a->rounds.n; i++)
      if (x[i] != y[i]) {
        snprintf(diff, cap, "/rounds/%s[%lld]: recorded %lld, rerun %lld",
                 ledger_column_name((ledger_column_t)c), (long long)i, (long long)x[i],
                 (long long)y[i]);
        return 1;
      }
  }
  return 0;
}

static int compare_runs(const runfile_t *ra, const runfile_t *rb, char *diff, size_t cap) {
  const run_info_t *a = &ra->info, *b = &rb->info;
  if (a->status != RUN_STATUS_COMPLETE || b->status != RUN_STATUS_COMPLETE) {
    snprintf(diff, cap, "status: recorded %s, rerun %s", ra->status_word, rb->status_word);
    return 1;
  }
  if (compare_metrics(ra, rb, diff, cap) || compare_rounds(ra, rb, diff, cap)) return 1;
  const struct { const char *name; double x, y; } results[] = {
      {"best_val_acc", a->best_val_acc, b->best_val_acc},
      {"best_epoch", (double)a->best_epoch, (double)b->best_epoch},
      {"test_loss_last", a->test_loss_last, b->test_loss_last},
      {"test_acc_last", a->test_acc_last, b->test_acc_last},
      {"test_loss_best", a->test_loss_best, b->test_loss_best},
      {"test_acc_best", a->test_acc_best, b->test_acc_best}};
  for (size_t i = 0; i < sizeof results / sizeof results[0]; i++)
    if (!same(results[i].x, results[i].y)) {
      snprintf(diff, cap, "result %s: recorded %.17g, rerun %.17g", results[i].name,
               results[i].x, results[i].y);
      return 1;
    }
  if (a->averagings_total != b->averagings_total) {
    snprintf(diff, cap, "result averagings_total: recorded %lld, rerun %lld",
             (long long)a->averagings_total, (long long)b->averagings_total);
    return 1;
  }
  if (a->weights_crc32 != b->weights_crc32) {
    snprintf(diff, cap, "weights_crc32: recorded %08llx, rerun %08llx",
             (unsigned long long)a->weights_crc32, (unsigned long long)b->weights_crc32);
    return 1;
  }
  return 0;
}

/* Reads a run file that verify can compare: complete, with the weights' crc32 and the
 * averagings. which: "recorded" or "rerun". */
static int read_run(const char *path, const char *which, runfile_t *r) {
  if (runfile_read(path, r) < 0) return dpt_wrap("%s", which);
  const char *missing = !(r->has & RUNFILE_HAS_CRC) ? "weights_crc32"
                        : !(r->has & RUNFILE_HAS_WORKERS) ? "averagings_total" : NULL;
  if (!missing) return 0;
  runfile_free(r);
  return dpt_fail("%s: no /results %s", path, missing);
}

/* Appends to diff, on a line of its own, why a bitwise match is not to be expected when
 * the recorded run's build summed in another order (root sum_block) than the rerun's. */
static void note_sum_order(const runfile_t *a, const runfile_t *b, char *diff, size_t cap) {
  if (a->sum_block == b->sum_block) return;
  char order[2][64];
  const runfile_t *r[2] = {a, b};
  for (int i = 0; i < 2; i++)
    if (r[i]->sum_block < 0)
      snprintf(order[i], sizeof order[i], "in an order its sum_block does not state");
    else if (r[i]->sum_block > 0)
      snprintf(order[i], sizeof order[i], "in blocks of %lld", (long long)r[i]->sum_block);
    else
      snprintf(order[i], sizeof order[i], "in one chain per output (a build before blocked sums)");
  size_t len = strlen(diff);
  snprintf(diff + len, cap - len, "\n  the recorded run summed %s; this build sums %s: a bitwise "
           "match is not expected; verify with the recording build (creator_version %s)",
           order[0], order[1], a->creator_version[0] ? a->creator_version : "?");
}

int sweep_verify_compare(const char *recorded, const char *rerun, char *diff, size_t cap) {
  runfile_t a, b;
  diff[0] = 0;
  if (read_run(recorded, "recorded", &a) < 0) return -1;
  if (read_run(rerun, "rerun", &b) < 0) {
    runfile_free(&a);
    return -1;
  }
  int rc = compare_runs(&a, &b, diff, cap);
  if (rc == 1) note_sum_order(&a, &b, diff, cap);
  runfile_free(&a);
  runfile_free(&b);
  return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* ---- the command ---- */

/* The manifest row of task `arg` (its number or its hash), or -1. */
static int row_of_task(const sweep_manifest_t *m, const char *arg) {
  for (int i = 0; i < m->nrows; i++) {
    char num[16];
    snprintf(num, sizeof num, "%d", m->rows[i].task);
    if (!strcmp(arg, num) || !strcmp(arg, m->rows[i].hash)) return i;
  }
  return -1;
}

/* Reruns row r's config on np ranks into scratch and compares with its run.h5: 0 match,
 * 1 differs or the rerun failed, -1 error. */
static int verify_task(const char *dir, const sweep_row_t *r, const char *scratch, char *np) {
  char train[PATH_MAX + 16], cfg[2 * PATH_MAX], run_dir[PATH_MAX + 64];
  char log[PATH_MAX + 80], recorded[2 * PATH_MAX], rerun[PATH_MAX + 80], diff[512];
  sweep_train_path(train, sizeof train);
  snprintf(cfg, sizeof cfg, "%s/%s/config.yaml", dir, r->run_dir);
  snprintf(recorded, sizeof recorded, "%s/%s/run.h5", dir, r->run_dir);
  snprintf(run_dir, sizeof run_dir, "%s/task-%d-p%s", scratch, r->task, np);
  snprintf(log, sizeof log, "%s.log", run_dir);
  snprintf(rerun, sizeof rerun, "%s/run.h5", run_dir);
  sweep_task_files_t f;
  sweep_task_files(dir, r, &f);
  if (!sweep_run_complete(&f))
    return dpt_fail("task %d (%s): no complete run.h5 to compare with (%s)", r->task,
                    r->hash, sweep_run_status_text(&f));
  char *args[SWEEP_TRAIN_ARGS];
  int n = sweep_train_args(args, sweep_have_cmd("mpirun"), np, train, cfg, run_dir);
  if (n < 0) return dpt_fail("task %d: %s ranks need mpirun, which is missing", r->task, np);
  /* The rerun writes no results row and no checkpoint outside its scratch directory. */
  args[n++] = "--set";
  args[n++] = "experiment.output=";
  args[n++] = "--set";
  args[n++] = "experiment.checkpoint_dir=";
  args[n] = NULL;
  printf("task %d (%s) on %s rank(s): ", r->task, r->hash, np);
  fflush(stdout);
  int st = sweep_run_cmd(args, NULL, 0, log);
  if (st != 0) {
    if (st < 0) return -1;
    printf("rerun FAILED (exit status %d); log: %s\n", st, log);
    return 1;
  }
  int rc = sweep_verify_compare(recorded, rerun, diff, sizeof diff);
  if (rc == 0) printf("match\n");
  else if (rc == 1) printf("DIFFERS: %s\n", diff);
  else printf("\n");
  return rc;
}

/* The rows o names (every row when none) into rows; returns how many, or -1. */
static int pick_rows(const sweep_manifest_t *m, const char *dir, const sweep_verify_opts_t *o,
                     int *rows) {
  for (int i = 0; i < o->ntasks; i++)
    if ((rows[i] = row_of_task(m, o->tasks[i])) < 0)
      return dpt_fail("verify: %s: no task '%s' (a task number or hash of manifest.tsv)", dir,
                      o->tasks[i]);
  if (o->ntasks) return o->ntasks;
  for (int i = 0; i < m->nrows; i++) rows[i] = i;
  return m->nrows;
}

int sweep_cmd_verify(const char *dir, const sweep_verify_opts_t *o) {
  sweep_manifest_t m;
  if (sweep_manifest_read(dir, &m) < 0) return -1;
  int *rows = dpt_alloc((size_t)(m.nrows + o->ntasks + 1) * sizeof *rows);
  int nrows = pick_rows(&m, dir, o, rows), differ = 0, rc = nrows < 0 ? -1 : 0;
  const char *tmp = getenv("TMPDIR");
  char scratch[PATH_MAX];
  snprintf(scratch, sizeof scratch, "%s/dpt-verify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  int made = rc == 0 && mkdtemp(scratch) != NULL;
  if (rc == 0 && !made) rc = dpt_fail("%s: cannot create: %s", scratch, strerror(errno));
  for (int i = 0; rc == 0 && i < nrows; i++) {
    char np[16];
    snprintf(np, sizeof np, "%d", o->ranks ? o->ranks : m.rows[rows[i]].ranks);
    int r = verify_task(dir, &m.rows[rows[i]], scratch, np);
    if (r < 0) rc = -1;
    differ += r == 1;
  }
  if (rc == 0) printf("verify: %d task(s), %d match, %d differ\n", nrows, nrows - differ, differ);
  if (o->keep && made) printf("reruns kept in %s\n", scratch);
  else if (made && nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
    fprintf(stderr, "dpt-sweep: %s: cannot remove: %s\n", scratch, strerror(errno));
  dpt_free(rows);
  sweep_manifest_free(&m);
  return rc < 0 ? -1 : differ ? 1 : 0;
}
