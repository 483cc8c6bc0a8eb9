/* runfile.c - writing run.h5 (see runfile.h). */
#include "runfile.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/err.h"
#include "../config/config_keys.h"
#include "h5util.h"

/* Every per-epoch column once: growing, freeing and writing walk this table. */
typedef struct {
  const char *name, *units;
  int is_int;
  size_t offset;
} column_t;

#define COL(field, units, is_int) {#field, units, is_int, offsetof(run_metrics_t, field)}
static const column_t columns[] = {
    COL(epoch, "1", 1),          COL(lr, "1", 0),           COL(train_loss, "1", 0),
    COL(train_acc, "1", 0),      COL(val_loss, "1", 0),     COL(val_acc, "1", 0),
    COL(epoch_time, "s", 0),     COL(images_per_s, "images/s", 0),
    COL(h, "1", 1),              COL(averagings, "1", 1),   COL(bytes_sent, "bytes", 1),
    COL(comm_time, "s", 0),      COL(compute_time, "s", 0),
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

static void **column(run_metrics_t *m, size_t c) {
  return (void **)((char *)m + columns[c].offset);
}

void run_metrics_resize(run_metrics_t *m, int64_t n) {
  while (m->cap < n || m->cap == 0) {
    m->cap = m->cap ? 2 * m->cap : 64;
    for (size_t c = 0; c < NCOLUMNS; c++) {
      void **p = column(m, c);
      *p = dpt_realloc(*p, 8 * (size_t)m->cap); /* int64_t and double alike */
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

void run_metrics_push(run_metrics_t *m, int64_t epoch, double lr, double train_loss,
                      double train_acc, double val_loss, double val_acc, double seconds,
                      double images_per_s) {
  run_metrics_resize(m, m->n + 1);
  int64_t i = m->n - 1;
  m->epoch[i] = epoch;
  m->lr[i] = lr;
  m->train_loss[i] = train_loss;
  m->train_acc[i] = train_acc;
  m->val_loss[i] = val_loss;
  m->val_acc[i] = val_acc;
  m->epoch_time[i] = seconds;
  m->images_per_s[i] = images_per_s;
  run_metrics_comm(m, 0, 0, 0, 0, 0);
}

void run_metrics_comm(run_metrics_t *m, int64_t h, int64_t averagings, int64_t bytes_sent,
                      double comm_time, double compute_time) {
  int64_t i = m->n - 1;
  m->h[i] = h;
  m->averagings[i] = averagings;
  m->bytes_sent[i] = bytes_sent;
  m->comm_time[i] = comm_time;
  m->compute_time[i] = compute_time;
}

void run_metrics_free(run_metrics_t *m) {
  for (size_t c = 0; c < NCOLUMNS; c++) dpt_free(*column(m, c));
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

/* --- /config: one typed attribute per key (schema 1.1) ----------------------------
 * The key table (config_keys.c) gives each key's type: int keys are H5T_STD_I64LE, the
 * seed H5T_STD_U64LE, floats H5T_IEEE_F64LE, booleans the enum {FALSE 0, TRUE 1} over
 * H5T_STD_I8LE (h5py's own bool, read back as numpy.bool_), the rest strings; a key left
 * at `auto` is the string "auto". Files of schema 1.0 hold strings only. */

runfile_kind_t runfile_config_kind(const char *key) {
  const cfg_key_t *k = cfg_key_find(key);
  if (!k) return RUNCFG_UNKNOWN;
  switch (k->type) {
  case T_INT: return RUNCFG_INT;
  case T_U64: return RUNCFG_UINT;
  case T_FLOAT: return RUNCFG_FLOAT;
  case T_BOOL: return RUNCFG_BOOL;
  default: return RUNCFG_STRING;
  }
}

/* The enum h5py writes for numpy.bool_; the caller closes it. */
static hid_t bool_type(void) {
  hid_t t = H5Tenum_create(H5T_STD_I8LE);
  int8_t v = 0;
  H5Tenum_insert(t, "FALSE", &v);
  v = 1;
  H5Tenum_insert(t, "TRUE", &v);
  return t;
}

static int scalar_attr(hid_t obj, const char *name, hid_t type, const void *value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  int rc = attr >= 0 && H5Awrite(attr, type, value) >= 0 ? 0 : -1;
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(space);
  return rc < 0 ? dpt_fail("cannot write HDF5 attribute '%s'", name) : 0;
}

typedef struct { hid_t group; const dpt_config_t *cfg; int rc; } attr_ctx_t;

static int typed_attr(hid_t g, const dpt_config_t *cfg, const char *key, const char *text) {
  const cfg_key_t *k = cfg_key_find(key);
  const char *field = (const char *)cfg + k->off;
  if (!strcmp(text, "auto")) return h5_attr_str(g, key, text);
  switch (runfile_config_kind(key)) {
  case RUNCFG_INT: return h5_attr_i64(g, key, *(const int *)field);
  case RUNCFG_UINT: return scalar_attr(g, key, H5T_STD_U64LE, (const uint64_t *)field);
  case RUNCFG_FLOAT: return h5_attr_f64(g, key, *(const double *)field);
  case RUNCFG_BOOL: {
    int8_t v = *(const int *)field != 0;
    hid_t t = bool_type();
    int rc = scalar_attr(g, key, t, &v);
    H5Tclose(t);
    return rc;
  }
  default: return h5_attr_str(g, key, text);
  }
}

static void config_attr(void *ctx, const char *key, const char *value) {
  attr_ctx_t *a = ctx;
  if (a->rc == 0) a->rc = typed_attr(a->group, a->cfg, key, value);
}

static int write_config(hid_t file, const dpt_config_t *cfg) {
  char *yaml = config_to_yaml(cfg);
  int rc = h5_attr_str(file, "config", yaml);
  dpt_free(yaml);
  if (rc < 0) return -1;
  attr_ctx_t a = {H5Gcreate2(file, "config", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), cfg, 0};
  if (a.group < 0) return dpt_fail("cannot create group /config");
  config_each(cfg, config_attr, &a);
  H5Gclose(a.group);
  return a.rc;
}

int runfile_config_type_ok(const char *key, hid_t type, const char **expected) {
  runfile_kind_t kind = runfile_config_kind(key);
  static const char *const want[] = {
      [RUNCFG_INT] = "H5T_STD_I64LE", [RUNCFG_UINT] = "H5T_STD_U64LE",
      [RUNCFG_FLOAT] = "H5T_IEEE_F64LE", [RUNCFG_BOOL] = "an enum {FALSE 0, TRUE 1} of H5T_STD_I8LE",
      [RUNCFG_STRING] = "a string"};
  if (kind == RUNCFG_UNKNOWN) return -1;
  *expected = want[kind];
  H5T_class_t cls = H5Tget_class(type);
  if (cls == H5T_STRING) return kind == RUNCFG_STRING || cfg_key_find(key)->autoable;
  switch (kind) {
  case RUNCFG_INT: return H5Tequal(type, H5T_STD_I64LE) > 0;
  case RUNCFG_UINT: return H5Tequal(type, H5T_STD_U64LE) > 0;
  case RUNCFG_FLOAT: return H5Tequal(type, H5T_IEEE_F64LE) > 0;
  case RUNCFG_BOOL: {
    hid_t t = bool_type();
    int ok = H5Tequal(type, t) > 0;
    H5Tclose(t);
    return ok;
  }
  default: return 0;
  }
}

/* A typed attribute's value as config_each spells it: the number goes into the key's
 * field of a scratch config, which cfg_key_text prints. */
static int typed_text(hid_t attr, hid_t type, const cfg_key_t *k, char **text) {
  dpt_config_t scratch;
  char *field = (char *)&scratch + k->off;
  herr_t e;
  if (k->type == T_FLOAT) {
    e = H5Aread(attr, H5T_NATIVE_DOUBLE, field);
  } else if (k->type == T_U64) {
    e = H5Aread(attr, H5T_NATIVE_UINT64, field);
  } else if (k->type == T_BOOL) {
    int8_t b = 0;
    e = H5Aread(attr, type, &b);
    *(int *)field = b;
  } else {
    int64_t i = 0;
    e = H5Aread(attr, H5T_NATIVE_INT64, &i);
    *(int *)field = (int)i;
  }
  if (e < 0) return dpt_fail("/config: cannot read attribute '%s'", k->key);
  char buf[64];
  cfg_key_text(&scratch, k, buf, sizeof buf);
  *text = dpt_strdup(buf);
  return 0;
}

int runfile_config_read(hid_t group, const char *key, char **text) {
  if (H5Aexists(group, key) <= 0) return dpt_fail("/config: no attribute '%s'", key);
  hid_t attr = H5Aopen(group, key, H5P_DEFAULT);
  if (attr < 0) return dpt_fail("/config: cannot open attribute '%s'", key);
  hid_t type = H5Aget_type(attr);
  const char *expected;
  int rc;
  if (H5Tget_class(type) == H5T_STRING)
    rc = h5_read_attr_str(group, key, text);
  else if (runfile_config_type_ok(key, type, &expected) != 1)
    rc = dpt_fail("/config: attribute '%s' is not %s", key,
                  runfile_config_kind(key) == RUNCFG_UNKNOWN ? "a string (unknown key)"
                                                             : expected);
  else
    rc = typed_text(attr, type, cfg_key_find(key), text);
  H5Tclose(type);
  H5Aclose(attr);
  return rc;
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

static int write_results(hid_t file, const run_info_t *info) {
  hid_t g = H5Gcreate2(file, "results", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) return dpt_fail("cannot create group /results");
  int rc = 0;
  if (h5_attr_i64(g, "epochs_run", info->epochs_run) < 0 ||
      h5_attr_i64(g, "best_epoch", info->best_epoch) < 0 ||
      h5_attr_f64(g, "best_val_acc", info->best_val_acc) < 0 ||
      h5_attr_i64(g, "stopped_early", info->stopped_early) < 0 ||
      h5_attr_f64(g, "wall_time", info->wall_time) < 0 ||
      h5_attr_i64(g, "num_workers", info->num_workers) < 0 ||
      h5_attr_i64(g, "averagings_total", info->averagings_total) < 0)
    rc = -1;
  if (rc == 0 && info->has_test &&
      (h5_attr_f64(g, "test_loss_last", info->test_loss_last) < 0 ||
       h5_attr_f64(g, "test_acc_last", info->test_acc_last) < 0 ||
       h5_attr_f64(g, "test_loss_best", info->test_loss_best) < 0 ||
       h5_attr_f64(g, "test_acc_best", info->test_acc_best) < 0 ||
       h5_attr_i64(g, "weights_crc32", info->weights_crc32) < 0))
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
      write_results(file, info) < 0 || write_workers(file, info) < 0 ||
      /* Written last: readers trust only a file that has it. */
      h5_attr_i64(file, "complete", 1) < 0) {
    h5_abandon(file, tmp);
    return dpt_wrap("%s", path);
  }
  if (h5_close_publish(file, tmp, path) < 0) return dpt_wrap("%s", path);
  return 0;
}
