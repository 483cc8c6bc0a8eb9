/* runfile.c - writing run.h5 (see runfile.h). */
#include "runfile.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../config/config_keys.h"
#include "../core/err.h"
#include "../h5/h5util.h"
#include "../nn/kernel.h"
#include "runfile_info.h"

/* Every per-epoch column once, indexed by run_metric_t: growing, freeing, writing and
 * reading walk this table. */
typedef struct {
  const char *name, *units;
  int is_int;
  size_t offset;
} column_t;

#define COL(id, field, units, is_int) [id] = {#field, units, is_int, offsetof(run_metrics_t, field)}
static const column_t columns[RUN_M_COUNT] = {
    COL(RUN_M_EPOCH, epoch, "1", 1),
    COL(RUN_M_LR, lr, "1", 0),
    COL(RUN_M_TRAIN_LOSS, train_loss, "1", 0),
    COL(RUN_M_TRAIN_ACC, train_acc, "1", 0),
    COL(RUN_M_VAL_LOSS, val_loss, "1", 0),
    COL(RUN_M_VAL_ACC, val_acc, "1", 0),
    COL(RUN_M_EPOCH_TIME, epoch_time, "s", 0),
    COL(RUN_M_IMAGES_PER_S, images_per_s, "images/s", 0),
    COL(RUN_M_H, h, "1", 1),
    COL(RUN_M_AVERAGINGS, averagings, "1", 1),
    COL(RUN_M_BYTES, bytes, "bytes", 1),
    COL(RUN_M_MPI_BYTES_SENT, mpi_bytes_sent, "bytes", 1),
    COL(RUN_M_COMM_TIME, comm_time, "s", 0),
    COL(RUN_M_COMPUTE_TIME, compute_time, "s", 0),
};
#define NCOLUMNS RUN_M_COUNT

static void **column(run_metrics_t *m, size_t c) {
  return (void **)((char *)m + columns[c].offset);
}

const char *run_metric_name(run_metric_t c) { return columns[c].name; }
const char *run_metric_units(run_metric_t c) { return columns[c].units; }
int run_metric_is_int(run_metric_t c) { return columns[c].is_int; }

void *run_metrics_column(const run_metrics_t *m, run_metric_t c) {
  return *column((run_metrics_t *)m, c);
}

const char *run_metric_stored_name(hid_t g, run_metric_t c) {
  if (H5Lexists(g, columns[c].name, H5P_DEFAULT) > 0) return columns[c].name;
  if (c == RUN_M_MPI_BYTES_SENT && H5Lexists(g, "bytes_sent", H5P_DEFAULT) > 0)
    return "bytes_sent";
  return NULL;
}

double run_metrics_value(const run_metrics_t *m, run_metric_t c, int64_t i) {
  void *v = run_metrics_column(m, c);
  return columns[c].is_int ? (double)((const int64_t *)v)[i] : ((const double *)v)[i];
}

static run_range_t column_range(int c) {
  switch (c) {
  case RUN_M_EPOCH: return RUN_V_EPOCH;
  case RUN_M_TRAIN_ACC:
  case RUN_M_VAL_ACC: return RUN_V_ACC;
  case RUN_M_TRAIN_LOSS:
  case RUN_M_VAL_LOSS: return RUN_V_LOSS;
  case RUN_M_H:
  case RUN_M_AVERAGINGS:
  case RUN_M_BYTES:
  case RUN_M_MPI_BYTES_SENT: return RUN_V_NONNEG;
  default: return RUN_V_ANY;
  }
}

int run_value_check(run_range_t r, double x, const char *what) {
  static const char *const expected[] = {
      [RUN_V_ACC] = "an accuracy in [0, 1] (or NaN: not measured)",
      [RUN_V_LOSS] = "a finite loss >= 0 (or NaN: not measured)",
      [RUN_V_EPOCH] = "an epoch number in [1, " CFG_STR(CFG_MAX_EPOCHS) "]",
      [RUN_V_EPOCHS] = "a count of epochs in [0, " CFG_STR(CFG_MAX_EPOCHS) "]",
      [RUN_V_NONNEG] = "a finite number >= 0"};
  int ok;
  switch (r) {
  case RUN_V_ACC: ok = isnan(x) || (x >= 0 && x <= 1); break;
  case RUN_V_LOSS: ok = isnan(x) || (x >= 0 && isfinite(x)); break;
  case RUN_V_EPOCH: ok = x >= 1 && x <= CFG_MAX_EPOCHS; break;
  case RUN_V_EPOCHS: ok = x >= 0 && x <= CFG_MAX_EPOCHS; break;
  case RUN_V_NONNEG: ok = x >= 0 && isfinite(x); break;
  default: ok = 1;
  }
  return ok ? 0 : dpt_fail("%s is %g, expected %s", what, x, expected[r]);
}

int run_metrics_check(const run_metrics_t *m) {
  for (int c = 0; c < NCOLUMNS; c++)
    for (int64_t i = 0; column_range(c) != RUN_V_ANY && i < m->n; i++) {
      char what[64];
      snprintf(what, sizeof what, "/metrics/%s[%lld]", columns[c].name, (long long)i);
      if (run_value_check(column_range(c), run_metrics_value(m, (run_metric_t)c, i), what) < 0)
        return -1;
    }
  return 0;
}

void run_metrics_resize(run_metrics_t *m, int64_t n) {
  while (m->cap < n || m->cap == 0) {
    size_t old = 8 * (size_t)m->cap; /* bytes: int64_t and double alike */
    m->cap = m->cap ? 2 * m->cap : 64;
    for (size_t c = 0; c < NCOLUMNS; c++) {
      void **p = column(m, c);
      *p = dpt_realloc(*p, 8 * (size_t)m->cap);
      memset((char *)*p + old, 0, 8 * (size_t)m->cap - old);
    }
  }
  m->n = n;
}

int run_metrics_each(run_metrics_t *m,
                     int (*fn)(void *ctx, const char *name, const char *units, int is_int,
                               void *column),
                     void *ctx) {
  for (size_t c = 0; c < NCOLUMNS; c++)
    if (fn(ctx, columns[c].name, columns[c].units, columns[c].is_int, *column(m, c)) < 0)
      return -1;
  return 0;
}

void run_metrics_push(run_metrics_t *m, const run_epoch_t *e) {
  run_metrics_resize(m, m->n + 1);
  int64_t i = m->n - 1;
  m->epoch[i] = e->epoch;
  m->lr[i] = e->lr;
  m->train_loss[i] = e->train_loss;
  m->train_acc[i] = e->train_acc;
  m->val_loss[i] = e->val_loss;
  m->val_acc[i] = e->val_acc;
  m->epoch_time[i] = e->seconds;
  m->images_per_s[i] = e->images_per_s;
  run_metrics_comm(m, 0, 0, 0, 0, 0, 0);
}

void run_metrics_comm(run_metrics_t *m, int64_t h, int64_t averagings, int64_t bytes,
                      int64_t mpi_bytes_sent, double comm_time, double compute_time) {
  int64_t i = m->n - 1;
  m->h[i] = h;
  m->averagings[i] = averagings;
  m->bytes[i] = bytes;
  m->mpi_bytes_sent[i] = mpi_bytes_sent;
  m->comm_time[i] = comm_time;
  m->compute_time[i] = compute_time;
}

void run_metrics_free(run_metrics_t *m) {
  for (size_t c = 0; c < NCOLUMNS; c++) dpt_free(*column(m, c));
  memset(m, 0, sizeof *m);
}

const char *const run_status_names[] = {"", "running", "complete", "interrupted", NULL};

run_status_t run_status_parse(const char *word) {
  if (!*word) return RUN_STATUS_NONE;
  for (int s = RUN_STATUS_RUNNING; s < RUN_STATUS_OTHER; s++)
    if (!strcmp(word, run_status_names[s])) return (run_status_t)s;
  return RUN_STATUS_OTHER;
}

static void copy_env(char *dst, size_t cap, const char *name) {
  const char *v = getenv(name);
  snprintf(dst, cap, "%s", v ? v : "");
}

void run_info_init(run_info_t *info, int64_t mpi_ranks) {
  memset(info, 0, sizeof *info);
  info->status = RUN_STATUS_RUNNING;
  if (gethostname(info->hostname, sizeof info->hostname - 1) != 0)
    snprintf(info->hostname, sizeof info->hostname, "unknown");
  h5_iso_time(info->start_time, sizeof info->start_time);
  info->mpi_ranks = mpi_ranks;
  info->blas_threads = 1;
  copy_env(info->slurm_job_id, sizeof info->slurm_job_id, "SLURM_JOB_ID");
  copy_env(info->slurm_array_job_id, sizeof info->slurm_array_job_id, "SLURM_ARRAY_JOB_ID");
  copy_env(info->slurm_array_task_id, sizeof info->slurm_array_task_id,
           "SLURM_ARRAY_TASK_ID");
}

static int write_metrics(hid_t file, const run_metrics_t *m) {
  hid_t g = H5Gcreate2(file, "metrics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) return dpt_fail("cannot create group /metrics");
  int rc = 0;
  for (size_t c = 0; rc == 0 && c < NCOLUMNS; c++)
    rc = h5_write_series(g, columns[c].name, columns[c].is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE,
                         columns[c].is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, m->n,
                         *column((run_metrics_t *)m, c), columns[c].units);
  H5Gclose(g);
  return rc;
}

/* LocalSGD: what each worker's shard holds, so a reader sees the sharding's effect. */
static int write_workers(hid_t file, const run_info_t *info) {
  if (!info->num_workers || !info->class_hist) return 0;
  hid_t g = H5Gcreate2(file, "workers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) return dpt_fail("cannot create group /workers");
  hsize_t dims[2] = {(hsize_t)info->num_workers, (hsize_t)info->num_classes};
  int rc = h5_write_array(g, "class_histogram", H5T_STD_I64LE, H5T_NATIVE_INT64, 2, dims,
                          info->class_hist, "images", 0);
  H5Gclose(g);
  return rc;
}

/* The ledger's columns: the algorithmic ones in /rounds (int64, `kind` and `collective`
 * with the attribute `names` spelling their values), the measured seconds apart in
 * /rounds_measured, whose attribute `measured` says what they are. */
static int write_rounds(hid_t file, const ledger_t *l) {
  if (!l) return 0;
  hid_t g[2] = {H5Gcreate2(file, "rounds", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                H5Gcreate2(file, "rounds_measured", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)};
  int rc = g[0] < 0 || g[1] < 0 ? dpt_fail("cannot create group /rounds") : 0;
  for (int c = 0; rc == 0 && c < LEDGER_C_COUNT; c++) {
    int measured = c >= LEDGER_C_MEASURED;
    if (ledger_column_optional((ledger_column_t)c) && ledger_column_zero(l, (ledger_column_t)c))
      continue;
    rc = h5_write_packed_series(g[measured], ledger_column_name((ledger_column_t)c),
                                measured ? H5T_IEEE_F64LE : H5T_STD_I64LE,
                                measured ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64,
                                (hsize_t)l->n, ledger_column(l, (ledger_column_t)c),
                                ledger_column_units((ledger_column_t)c));
  }
  const struct { const char *name; const char *const *names; int n; } named[] = {
      {"kind", ledger_kind_names, LEDGER_KIND_COUNT},
      {"collective", ledger_collective_names, LEDGER_COLLECTIVE_COUNT}};
  for (int i = 0; rc == 0 && i < 2; i++) {
    hid_t d = H5Dopen2(g[0], named[i].name, H5P_DEFAULT);
    rc = d < 0 ? dpt_fail("cannot open /rounds/%s", named[i].name)
               : h5_attr_strv(d, "names", named[i].names, named[i].n);
    if (d >= 0) H5Dclose(d);
  }
  if (rc == 0)
    rc = h5_attr_str(g[1], "measured",
                     "seconds measured on this run's placement (rank 0's clock): compute "
                     "since the previous round, communication in the round, waiting for the "
                     "slowest rank before it (0 unless train.measure_wait, when it is part "
                     "of the communication); not part of the algorithmic record in /rounds");
  for (int i = 0; i < 2; i++)
    if (g[i] >= 0) H5Gclose(g[i]);
  return rc;
}

int runfile_write(const char *path, const dpt_config_t *cfg, const run_info_t *info,
                  const run_metrics_t *m) {
  const int on[RUN_SERIES_COUNT] = {[RUN_SERIES_INTERVALS] = cfg->metrics_every_steps > 0,
                                    [RUN_SERIES_EVALS] = cfg->eval_every_rounds > 0};
  char tmp[4096];
  hid_t file = h5_create_tmp(path, tmp, sizeof tmp, RUN_SCHEMA, RUN_SCHEMA_VERSION,
                             "dpt-train", H5P_DEFAULT);
  if (file < 0) return -1;
  if (info->status <= RUN_STATUS_NONE || info->status >= RUN_STATUS_OTHER) {
    h5_abandon(file, tmp);
    return dpt_fail("%s: no status to write (%d)", path, (int)info->status);
  }
  if (h5_attr_str(file, "status", run_status_names[info->status]) < 0 ||
      h5_attr_i64(file, "sum_block", nn_sum_block()) < 0 ||
      runfile_config_write(file, cfg) < 0 ||
      runfile_info_write(file, info) < 0 || write_metrics(file, m) < 0 ||
      write_workers(file, info) < 0 || write_rounds(file, info->rounds) < 0 ||
      run_curves_write(file, info->curves, on) < 0 ||
      /* Written last: readers trust only a file that has it. */
      h5_attr_i64(file, "complete", 1) < 0) {
    h5_abandon(file, tmp);
    return dpt_wrap("%s", path);
  }
  if (h5_close_publish(file, tmp, path) < 0) return dpt_wrap("%s", path);
  return 0;
}
