/* runfile_read.c - reading run.h5 into a runfile_t (see runfile.h): attributes, the
 * per-epoch datasets and the communication ledger (/rounds: a row per round, about 0.9 MB
 * for 150 epochs of 391 rounds, 5 MB in memory). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config_keys.h"
#include "../core/err.h"
#include "../core/printable.h"
#include "../h5/h5util.h"
#include "runfile_info.h"
#include "runfile.h"

/* ---------------------------------------------------------------- small readers */

/* A string attribute into a fixed buffer (truncated to fit, control characters escaped). */
static int str_into(hid_t obj, const char *name, char *buf, size_t cap) {
  char *v = NULL;
  if (h5_read_attr_str(obj, name, &v) < 0) return -1;
  dpt_printable(buf, cap, v, 0);
  dpt_free(v);
  return 0;
}

/* ---------------------------------------------------------------- the parts */

typedef struct {
  runfile_t *r;
  int cap, rc;
} cfg_ctx_t;

static herr_t config_attr(hid_t g, const char *name, const H5A_info_t *info, void *p) {
  (void)info;
  cfg_ctx_t *c = p;
  char *value = NULL;
  if (runfile_config_read(g, name, &value) < 0) {
    c->rc = -1;
    return -1;
  }
  runfile_t *r = c->r;
  if (r->ncfg == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 64;
    r->cfg_key = dpt_realloc(r->cfg_key, sizeof(char *) * (size_t)c->cap);
    r->cfg_val = dpt_realloc(r->cfg_val, sizeof(char *) * (size_t)c->cap);
  }
  /* shown by the aggregator, the summaries and sweep status: no terminal escape codes */
  r->cfg_key[r->ncfg] = dpt_printable_dup(name);
  r->cfg_val[r->ncfg++] = dpt_printable_dup(value);
  dpt_free(value);
  return 0;
}

/* Sorts the key/value pairs by key (HDF5's name index usually has them sorted already),
 * so that runfile_config can bisect. */
static void sort_config(runfile_t *r) {
  for (int a = 1; a < r->ncfg; a++)
    for (int b = a; b > 0 && strcmp(r->cfg_key[b - 1], r->cfg_key[b]) > 0; b--) {
      char *t = r->cfg_key[b];
      r->cfg_key[b] = r->cfg_key[b - 1], r->cfg_key[b - 1] = t;
      t = r->cfg_val[b];
      r->cfg_val[b] = r->cfg_val[b - 1], r->cfg_val[b - 1] = t;
    }
}

static int read_config(hid_t file, runfile_t *r) {
  if (H5Aexists(file, "config") > 0 && h5_read_attr_str(file, "config", &r->config_yaml) == 0)
    r->has |= RUNFILE_HAS_CONFIG_YAML;
  dpt_clear_error();
  hid_t g = runfile_open_group(file, "config");
  if (g < 0) return -1;
  cfg_ctx_t c = {r, 0, 0};
  hsize_t idx = 0;
  herr_t e = H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, config_attr, &c);
  H5Gclose(g);
  if (c.rc < 0) return -1;
  if (e < 0) return dpt_fail("cannot list the attributes of /config");
  sort_config(r);
  r->has |= RUNFILE_HAS_CONFIG;
  return 0;
}

/* The typed config: the stored YAML through the config loader, or, for a file without
 * it (or whose YAML does not load), the /config values this dpt knows as overrides of
 * the defaults; the `enabled` keys go last, since a value below model.slowmo turns
 * SlowMo on as a map does. When neither loads RUNFILE_HAS_TYPED_CONFIG stays unset,
 * never a failure: the text values stay readable. */
static void load_typed_config(runfile_t *r) {
  const char *path = "run.h5"; /* the loader's errors are dropped: the name is not shown */
  if (r->config_yaml && config_load_string(&r->config, r->config_yaml, path, NULL, 0) == 0) {
    r->has |= RUNFILE_HAS_TYPED_CONFIG;
    return;
  }
  dpt_clear_error();
  char **sets = dpt_alloc(sizeof(char *) * (size_t)(cfg_nkeys + 1));
  int n = 0;
  for (int last = 0; last < 2; last++)
    for (int i = 0; i < cfg_nkeys; i++) {
      const char *key = cfg_keys[i].key, *v = runfile_config(r, key), *dot = strrchr(key, '.');
      if (!v || (strcmp(dot, ".enabled") == 0) != last) continue;
      size_t len = strlen(key) + strlen(v) + 2;
      sets[n] = dpt_alloc(len);
      snprintf(sets[n++], len, "%s=%s", key, v);
    }
  if (config_load_string(&r->config, "{}\n", path, (const char *const *)sets, n) == 0)
    r->has |= RUNFILE_HAS_TYPED_CONFIG;
  dpt_clear_error();
  for (int i = 0; i < n; i++) dpt_free(sets[i]);
  dpt_free(sets);
}

static int read_provenance(hid_t file, runfile_t *r) {
  return runfile_info_read(file, "provenance", r);
}

/* Every column's size, checked before any is allocated: /metrics/epoch is 1-D with at
 * most CFG_MAX_EPOCHS rows, and every column present (the optional ones may be absent)
 * has exactly as many. A small file may claim millions of rows. */
static int check_columns(hid_t g, int64_t *n) {
  int rank;
  hsize_t dims[8], col[8];
  if (h5_dataset_dims(g, "epoch", &rank, dims) < 0) return dpt_wrap("/metrics");
  if (rank != 1) return dpt_fail("/metrics/epoch is not 1-D");
  if (dims[0] > CFG_MAX_EPOCHS)
    return dpt_fail("/metrics/epoch has %llu rows, more than the %d epochs a run may have",
                    (unsigned long long)dims[0], CFG_MAX_EPOCHS);
  for (int c = 0; c < RUN_M_COUNT; c++) {
    const char *name = run_metric_stored_name(g, (run_metric_t)c);
    if (c >= RUN_M_OPTIONAL && !name) continue;
    if (!name) name = run_metric_name((run_metric_t)c); /* missing: named by the error */
    if (h5_dataset_dims(g, name, &rank, col) < 0) return dpt_wrap("/metrics");
    if (rank != 1) return dpt_fail("/metrics/%s is not 1-D", name);
    if (col[0] != dims[0])
      return dpt_fail("/metrics/%s has %lld values, /metrics/epoch %lld", name,
                      (long long)col[0], (long long)dims[0]);
  }
  *n = (int64_t)dims[0];
  return 0;
}

int runfile_read_metrics(hid_t g, run_metrics_t *m, uint32_t *has_metric) {
  int64_t n = 0;
  if (check_columns(g, &n) < 0) return -1;
  run_metrics_resize(m, n);
  *has_metric = 0;
  for (int c = 0; c < RUN_M_COUNT; c++) {
    const char *name = run_metric_stored_name(g, (run_metric_t)c);
    if (c >= RUN_M_OPTIONAL && !name) continue;
    if (!name) name = run_metric_name((run_metric_t)c);
    hid_t memtype = run_metric_is_int((run_metric_t)c) ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE;
    if (n && h5_read_array(g, name, memtype, (hsize_t)n,
                           run_metrics_column(m, (run_metric_t)c)) < 0)
      return dpt_wrap("/metrics");
    *has_metric |= 1u << c;
  }
  return 0;
}

static int read_metrics(hid_t file, runfile_t *r) {
  hid_t g = runfile_open_group(file, "metrics");
  if (g < 0) return -1;
  int rc = runfile_read_metrics(g, &r->metrics, &r->has_metric);
  H5Gclose(g);
  if (rc == 0) rc = run_metrics_check(&r->metrics);
  if (rc == 0) r->has |= RUNFILE_HAS_METRICS;
  return rc;
}

/* The group that holds ledger column c: /rounds, or /rounds_measured for the seconds. */
static const char *rounds_group(int c) {
  return c < LEDGER_C_MEASURED ? "rounds" : "rounds_measured";
}

void runfile_rounds_path(char *buf, size_t cap, ledger_column_t c) {
  snprintf(buf, cap, "%s/%s", rounds_group(c), ledger_column_name(c));
}

int runfile_rounds_absent(hid_t file, ledger_column_t c) {
  char path[64];
  runfile_rounds_path(path, sizeof path, c);
  return ledger_column_optional(c) && H5Lexists(file, path, H5P_DEFAULT) <= 0;
}

/* Every ledger column's size, checked before any is allocated: 1-D, as many rows as
 * /rounds/step (the extent check bounds what a small file may claim); an optional column
 * may be absent. */
static int check_rounds(hid_t file, int64_t *n) {
  int rank;
  hsize_t dims[8];
  char path[64];
  for (int c = 0; c < LEDGER_C_COUNT; c++) {
    if (runfile_rounds_absent(file, (ledger_column_t)c)) continue;
    runfile_rounds_path(path, sizeof path, (ledger_column_t)c);
    if (h5_dataset_dims(file, path, &rank, dims) < 0) return -1;
    if (rank != 1) return dpt_fail("/%s is not 1-D", path);
    if (c == 0) *n = (int64_t)dims[0];
    else if ((int64_t)dims[0] != *n)
      return dpt_fail("/%s has %lld values, /rounds/step %lld", path, (long long)dims[0],
                      (long long)*n);
  }
  return 0;
}

int runfile_read_rounds(hid_t file, ledger_t *l) {
  ledger_truncate(l, 0);
  if (H5Lexists(file, "rounds", H5P_DEFAULT) <= 0) return 0;
  int64_t n = 0;
  int rc = check_rounds(file, &n);
  if (rc == 0) ledger_resize(l, n);
  for (int c = 0; rc == 0 && c < LEDGER_C_COUNT && n; c++) {
    char path[64];
    if (runfile_rounds_absent(file, (ledger_column_t)c)) {
      memset(ledger_column(l, (ledger_column_t)c), 0, 8 * (size_t)n);
      continue;
    }
    runfile_rounds_path(path, sizeof path, (ledger_column_t)c);
    rc = h5_read_array(file, path, c < LEDGER_C_MEASURED ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE,
                       (hsize_t)n, ledger_column(l, (ledger_column_t)c));
  }
  if (rc == 0) rc = ledger_check(l);
  if (rc < 0) {
    ledger_truncate(l, 0); /* no half-read ledger */
    return -1;
  }
  return 1;
}

/* The communication ledger: optional (files written before it lack /rounds). */
static int read_rounds(hid_t file, runfile_t *r) {
  int got = runfile_read_rounds(file, &r->rounds);
  if (got > 0) r->has |= RUNFILE_HAS_ROUNDS;
  return got < 0 ? -1 : 0;
}

/* /intervals and /evals: absent in files written before them or without them asked for. */
static int read_curves(hid_t file, runfile_t *r) {
  unsigned has = 0;
  if (run_curves_read(file, &r->curves, &has) < 0) {
    run_curves_free(&r->curves); /* a partial reader sees none rather than bad rows */
    return -1;
  }
  if (has & (1u << RUN_SERIES_INTERVALS)) r->has |= RUNFILE_HAS_INTERVALS;
  if (has & (1u << RUN_SERIES_EVALS)) r->has |= RUNFILE_HAS_EVALS;
  return 0;
}

static int read_results(hid_t file, runfile_t *r) {
  return runfile_info_read(file, "results", r);
}

/* ---------------------------------------------------------------- the file */

static void read_root(hid_t file, runfile_t *r) {
  int64_t complete = 0, block = 0;
  r->complete = H5Aexists(file, "complete") > 0 &&
                h5_read_attr_i64(file, "complete", &complete) == 0 && complete == 1;
  str_into(file, "schema_version", r->schema_version, sizeof r->schema_version);
  if (H5Aexists(file, "creator") > 0)
    str_into(file, "creator", r->creator, sizeof r->creator);
  if (H5Aexists(file, "creator_version") > 0)
    str_into(file, "creator_version", r->creator_version, sizeof r->creator_version);
  if (H5Aexists(file, "file_time") > 0)
    str_into(file, "file_time", r->file_time, sizeof r->file_time);
  if (H5Aexists(file, "sum_block") > 0) /* -1: there, but not a count of terms */
    r->sum_block = h5_read_attr_i64(file, "sum_block", &block) == 0 && block > 0 ? block : -1;
  dpt_clear_error();
}

static int read_file(const char *path, runfile_t *r, int strict) {
  memset(r, 0, sizeof *r);
  hid_t file = h5_open_checked(path, RUN_SCHEMA, RUN_SCHEMA_MAJOR);
  if (file < 0) return -1;
  read_root(file, r);
  int rc = 0;
  if (strict && !r->complete) {
    rc = dpt_fail("no completeness mark: written by a writer that died, not trusted");
  } else if (str_into(file, "status", r->status_word, sizeof r->status_word) < 0 && strict) {
    rc = -1;
  } else {
    /* Strict: the first part that fails fails the read. Partial: each is read alone. */
    int (*const parts[])(hid_t, runfile_t *) = {read_config, read_metrics, read_results,
                                                 read_rounds, read_provenance,
                                                 read_curves};
    for (size_t i = 0; rc == 0 && i < sizeof parts / sizeof parts[0]; i++) {
      int part = parts[i](file, r);
      if (part < 0 && strict && parts[i] != read_provenance) rc = -1;
      if (rc == 0) dpt_clear_error();
    }
  }
  H5Fclose(file);
  r->info.status = run_status_parse(r->status_word);
  if (rc < 0) {
    dpt_wrap("%s", path);
    runfile_free(r);
  }
  return rc;
}

int runfile_read(const char *path, runfile_t *out) { return read_file(path, out, 1); }

const dpt_config_t *runfile_typed_config(runfile_t *r) {
  if (!r->config_tried && (r->has & RUNFILE_HAS_CONFIG)) load_typed_config(r);
  r->config_tried = 1;
  return r->has & RUNFILE_HAS_TYPED_CONFIG ? &r->config : NULL;
}

const char *runfile_method(runfile_t *r) {
  if (r->info.method[0]) return r->info.method;
  const dpt_config_t *cfg = runfile_typed_config(r);
  if (cfg) config_method_name(cfg, r->info.method, sizeof r->info.method);
  else snprintf(r->info.method, sizeof r->info.method, "?");
  return r->info.method;
}

int runfile_read_partial(const char *path, runfile_t *out) { return read_file(path, out, 0); }

void runfile_free(runfile_t *r) {
  for (int i = 0; i < r->ncfg; i++) {
    dpt_free(r->cfg_key[i]);
    dpt_free(r->cfg_val[i]);
  }
  dpt_free(r->cfg_key);
  dpt_free(r->cfg_val);
  dpt_free(r->config_yaml);
  run_metrics_free(&r->metrics);
  run_curves_free(&r->curves);
  ledger_free(&r->rounds);
  memset(r, 0, sizeof *r);
}

const char *runfile_config(const runfile_t *r, const char *key) {
  int lo = 0, hi = r->ncfg - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2, c = strcmp(r->cfg_key[mid], key);
    if (c == 0) return r->cfg_val[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return NULL;
}
