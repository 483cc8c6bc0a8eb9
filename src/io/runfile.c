/* runfile.c - writing run.h5 (see runfile.h). */
#include "runfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/err.h"
#include "h5util.h"

void run_metrics_push(run_metrics_t *m, int64_t epoch, double lr, double train_loss,
                      double train_acc, double val_loss, double val_acc, double seconds,
                      double images_per_s) {
  if (m->n == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 64;
    m->epoch = dpt_realloc(m->epoch, sizeof(int64_t) * m->cap);
    double **cols[] = {&m->lr, &m->train_loss, &m->train_acc, &m->val_loss,
                       &m->val_acc, &m->epoch_time, &m->images_per_s};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
      *cols[i] = dpt_realloc(*cols[i], sizeof(double) * m->cap);
  }
  int64_t i = m->n++;
  m->epoch[i] = epoch;
  m->lr[i] = lr;
  m->train_loss[i] = train_loss;
  m->train_acc[i] = train_acc;
  m->val_loss[i] = val_loss;
  m->val_acc[i] = val_acc;
  m->epoch_time[i] = seconds;
  m->images_per_s[i] = images_per_s;
}

void run_metrics_free(run_metrics_t *m) {
  dpt_free(m->epoch);
  double *cols[] = {m->lr, m->train_loss, m->train_acc, m->val_loss,
                    m->val_acc, m->epoch_time, m->images_per_s};
  for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) dpt_free(cols[i]);
  memset(m, 0, sizeof *m);
}

static void copy_env(char *dst, size_t cap, const char *name) {
  const char *v = getenv(name);
  snprintf(dst, cap, "%s", v ? v : "");
}

void run_info_init(run_info_t *info, int64_t mpi_ranks) {
  memset(info, 0, sizeof *info);
  snprintf(info->status, sizeof info->status, "running");
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

typedef struct { hid_t group; int rc; } attr_ctx_t;

static void config_attr(void *ctx, const char *key, const char *value) {
  attr_ctx_t *a = ctx;
  if (a->rc == 0) a->rc = h5_attr_str(a->group, key, value);
}

static int write_config(hid_t file, const dpt_config_t *cfg) {
  char *yaml = config_to_yaml(cfg);
  int rc = h5_attr_str(file, "config", yaml);
  dpt_free(yaml);
  if (rc < 0) return -1;
  attr_ctx_t a = {H5Gcreate2(file, "config", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), 0};
  if (a.group < 0) return dpt_fail("cannot create group /config");
  config_each(cfg, config_attr, &a);
  H5Gclose(a.group);
  return a.rc;
}

static int write_provenance(hid_t file, const run_info_t *info) {
  hid_t g = H5Gcreate2(file, "provenance", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) return dpt_fail("cannot create group /provenance");
  int rc = 0;
  if (h5_attr_str(g, "hostname", info->hostname) < 0 ||
      h5_attr_str(g, "start_time", info->start_time) < 0 ||
      h5_attr_str(g, "end_time", info->end_time) < 0 ||
      h5_attr_i64(g, "mpi_ranks", info->mpi_ranks) < 0 ||
      h5_attr_i64(g, "blas_threads", info->blas_threads) < 0 ||
      h5_attr_str(g, "slurm_job_id", info->slurm_job_id) < 0 ||
      h5_attr_str(g, "slurm_array_job_id", info->slurm_array_job_id) < 0 ||
      h5_attr_str(g, "slurm_array_task_id", info->slurm_array_task_id) < 0 ||
      h5_attr_i64(g, "train_images", info->train_images) < 0 ||
      h5_attr_i64(g, "val_images", info->val_images) < 0 ||
      h5_attr_i64(g, "test_images", info->test_images) < 0)
    rc = -1;
  H5Gclose(g);
  return rc;
}

static int write_metrics(hid_t file, const run_metrics_t *m) {
  hid_t g = H5Gcreate2(file, "metrics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) return dpt_fail("cannot create group /metrics");
  struct { const char *name; const double *data; const char *units; } cols[] = {
      {"lr", m->lr, "1"},
      {"train_loss", m->train_loss, "1"},
      {"train_acc", m->train_acc, "1"},
      {"val_loss", m->val_loss, "1"},
      {"val_acc", m->val_acc, "1"},
      {"epoch_time", m->epoch_time, "s"},
      {"images_per_s", m->images_per_s, "images/s"},
  };
  int rc = h5_write_series(g, "epoch", H5T_STD_I64LE, H5T_NATIVE_INT64, m->n, m->epoch, "1");
  for (size_t i = 0; rc == 0 && i < sizeof cols / sizeof cols[0]; i++)
    rc = h5_write_series(g, cols[i].name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, m->n,
                         cols[i].data, cols[i].units);
  H5Gclose(g);
  return rc;
}

static int write_results(hid_t file, const run_info_t *info) {
  hid_t g = H5Gcreate2(file, "results", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) return dpt_fail("cannot create group /results");
  int rc = 0;
  if (h5_attr_i64(g, "epochs_run", info->epochs_run) < 0 ||
      h5_attr_i64(g, "best_epoch", info->best_epoch) < 0 ||
      h5_attr_f64(g, "best_val_acc", info->best_val_acc) < 0 ||
      h5_attr_i64(g, "stopped_early", info->stopped_early) < 0 ||
      h5_attr_f64(g, "wall_time", info->wall_time) < 0)
    rc = -1;
  if (rc == 0 && info->has_test &&
      (h5_attr_f64(g, "test_loss_last", info->test_loss_last) < 0 ||
       h5_attr_f64(g, "test_acc_last", info->test_acc_last) < 0 ||
       h5_attr_f64(g, "test_loss_best", info->test_loss_best) < 0 ||
       h5_attr_f64(g, "test_acc_best", info->test_acc_best) < 0))
    rc = -1;
  H5Gclose(g);
  return rc;
}

int runfile_write(const char *path, const dpt_config_t *cfg, const run_info_t *info,
                  const run_metrics_t *m) {
  char tmp[4096];
  hid_t file = h5_create_tmp(path, tmp, sizeof tmp, "dpt-run", RUN_SCHEMA_VERSION,
                             "dpt-train", H5P_DEFAULT);
  if (file < 0) return -1;
  if (h5_attr_str(file, "status", info->status) < 0 || write_config(file, cfg) < 0 ||
      write_provenance(file, info) < 0 || write_metrics(file, m) < 0 ||
      write_results(file, info) < 0 ||
      /* Written last: readers trust only a file that has it. */
      h5_attr_i64(file, "complete", 1) < 0) {
    h5_abandon(file, tmp);
    return dpt_wrap("%s", path);
  }
  if (h5_close_publish(file, tmp, path) < 0) return dpt_wrap("%s", path);
  return 0;
}
