/* verify.c - the comparison of `dpt-sweep verify` (see verify.h). */
#include "verify.h"

#include <errno.h>
#include <ftw.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../agg/runset.h"
#include "../core/err.h"
#include "../io/h5util.h"

/* The per-epoch metrics a config and seed decide, in the order a difference is looked
 * for; times, throughput and bytes sent (rank 0's share, so P's) are left out. */
static const run_metric_t decided[] = {RUN_M_LR, RUN_M_TRAIN_LOSS, RUN_M_TRAIN_ACC,
                                       RUN_M_VAL_LOSS, RUN_M_VAL_ACC, RUN_M_H,
                                       RUN_M_AVERAGINGS};

/* Bitwise, so that a NaN equals the same NaN and -0 differs from 0. */
static int same(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* The /results integer `name` of a run file. */
static int result_i64(const char *path, const char *name, int64_t *v) {
  hid_t file = h5_open_checked(path, "dpt-run", 1);
  if (file < 0) return dpt_wrap("%s", path);
  hid_t g = H5Gopen2(file, "/results", H5P_DEFAULT);
  int rc = g >= 0 ? h5_read_attr_i64(g, name, v) : -1;
  if (g >= 0) H5Gclose(g);
  H5Fclose(file);
  if (rc < 0) return dpt_fail("%s: no /results %s", path, name);
  return 0;
}

static int compare_runs(const agg_run_t *a, const agg_run_t *b, char *diff, size_t cap) {
  if (strcmp(a->status, "complete") || strcmp(b->status, "complete")) {
    snprintf(diff, cap, "status: recorded %s, rerun %s", a->status, b->status);
    return 1;
  }
  int64_t n = a->n < b->n ? a->n : b->n;
  for (int64_t e = 0; e < n; e++)
    for (size_t i = 0; i < sizeof decided / sizeof decided[0]; i++) {
      const double *x = a->metric[decided[i]], *y = b->metric[decided[i]];
      if (!x || !y || same(x[e], y[e])) continue;
      snprintf(diff, cap, "metric %s, epoch %lld: recorded %.17g, rerun %.17g",
               run_metric_name(decided[i]), (long long)e + 1, x[e], y[e]);
      return 1;
    }
  if (a->n != b->n) {
    snprintf(diff, cap, "epochs recorded: recorded %lld, rerun %lld", (long long)a->n,
             (long long)b->n);
    return 1;
  }
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
  return 0;
}

int sweep_verify_compare(const char *recorded, const char *rerun, char *diff, size_t cap) {
  agg_run_t a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  int64_t crc_a = 0, crc_b = 0, avg_a = 0, avg_b = 0;
  int rc = -1;
  diff[0] = 0;
  if (agg_run_read(recorded, &a) < 0) {
    dpt_wrap("recorded %s", recorded);
    goto done;
  }
  if (agg_run_read(rerun, &b) < 0) {
    dpt_wrap("rerun %s", rerun);
    goto done;
  }
  if (result_i64(recorded, "weights_crc32", &crc_a) < 0 ||
      result_i64(rerun, "weights_crc32", &crc_b) < 0 ||
      result_i64(recorded, "averagings_total", &avg_a) < 0 ||
      result_i64(rerun, "averagings_total", &avg_b) < 0)
    goto done;
  rc = compare_runs(&a, &b, diff, cap);
  if (rc == 0 && avg_a != avg_b) {
    snprintf(diff, cap, "result averagings_total: recorded %lld, rerun %lld",
             (long long)avg_a, (long long)avg_b);
    rc = 1;
  } else if (rc == 0 && crc_a != crc_b) {
    snprintf(diff, cap, "weights_crc32: recorded %08llx, rerun %08llx",
             (unsigned long long)crc_a, (unsigned long long)crc_b);
    rc = 1;
  }
done:
  agg_run_free(&a);
  agg_run_free(&b);
  return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int sweep_remove_tree(const char *dir) {
  if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
    return dpt_fail("%s: cannot remove: %s", dir, strerror(errno));
  return 0;
}
