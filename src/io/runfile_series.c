/* runfile_series.c - the records between epochs, /intervals and /evals of run.h5 (see
 * runfile.h): their column table, the rows in memory, the checks a reader applies, and
 * writing and reading the groups. The trainer fills them (src/train/interval.c) and
 * checkpoint.h5 carries them through run_curves_each. */
#include <stdio.h>
#include <string.h>

#include "../config/config_keys.h"
#include "../core/err.h"
#include "../h5/h5util.h"
#include "runfile.h"
#include "runfile_info.h"

typedef struct {
  const char *name, *units;
  int is_int;
  run_range_t range;
  int monotone; /* never decreases from one row to the next */
} series_col_t;

typedef struct {
  const char *group;
  int ncols;
  series_col_t cols[RUN_SERIES_MAX_COLS];
} series_def_t;

/* The columns every series starts with (RUN_S_*). */
#define POINT_COLS                                                  \
  {"step", "1", 1, RUN_V_NONNEG, 1}, {"epoch", "1", 1, RUN_V_EPOCH, 1}, \
  {"rounds_total", "1", 1, RUN_V_NONNEG, 1}, {"bytes_total", "bytes", 1, RUN_V_NONNEG, 1}, \
  {"images_total", "images", 1, RUN_V_NONNEG, 1}

static const series_def_t defs[RUN_SERIES_COUNT] = {
    [RUN_SERIES_INTERVALS] = {"intervals", RUN_I_COUNT,
                              {POINT_COLS, {"lr", "1", 0, RUN_V_ANY, 0},
                               {"train_loss", "1", 0, RUN_V_LOSS, 0},
                               {"train_acc", "1", 0, RUN_V_ACC, 0}}},
    [RUN_SERIES_EVALS] = {"evals", RUN_E_COUNT,
                          {POINT_COLS, {"val_loss", "1", 0, RUN_V_LOSS, 0},
                           {"val_acc", "1", 0, RUN_V_ACC, 0}}},
};

const char *run_series_group(run_series_kind_t k) { return defs[k].group; }
int run_series_ncols(run_series_kind_t k) { return defs[k].ncols; }
const char *run_series_col_name(run_series_kind_t k, int c) { return defs[k].cols[c].name; }
const char *run_series_col_units(run_series_kind_t k, int c) { return defs[k].cols[c].units; }
int run_series_col_is_int(run_series_kind_t k, int c) { return defs[k].cols[c].is_int; }

double run_series_value(const run_curves_t *cv, run_series_kind_t k, int c, int64_t i) {
  const run_cell_t *v = &cv->s[k].col[c][i];
  return defs[k].cols[c].is_int ? (double)v->i : v->d;
}

void run_curves_resize(run_curves_t *cv, run_series_kind_t k, int64_t n) {
  run_series_t *s = &cv->s[k];
  while (s->cap < n || s->cap == 0) {
    size_t old = (size_t)s->cap;
    s->cap = s->cap ? 2 * s->cap : 64;
    for (int c = 0; c < defs[k].ncols; c++) {
      s->col[c] = dpt_realloc(s->col[c], sizeof(run_cell_t) * (size_t)s->cap);
      memset(s->col[c] + old, 0, sizeof(run_cell_t) * ((size_t)s->cap - old));
    }
  }
  s->n = n;
}

void run_curves_push(run_curves_t *cv, run_series_kind_t k, const run_cell_t *row) {
  run_curves_resize(cv, k, cv->s[k].n + 1);
  for (int c = 0; c < defs[k].ncols; c++) cv->s[k].col[c][cv->s[k].n - 1] = row[c];
}

void run_curves_free(run_curves_t *cv) {
  for (int k = 0; k < RUN_SERIES_COUNT; k++)
    for (int c = 0; c < RUN_SERIES_MAX_COLS; c++) dpt_free(cv->s[k].col[c]);
  memset(cv, 0, sizeof *cv);
}

static int check_series(const run_curves_t *cv, run_series_kind_t k) {
  const series_def_t *d = &defs[k];
  for (int c = 0; c < d->ncols; c++)
    for (int64_t i = 0; i < cv->s[k].n; i++) {
      char what[64];
      snprintf(what, sizeof what, "/%s/%s[%lld]", d->group, d->cols[c].name, (long long)i);
      double x = run_series_value(cv, k, c, i);
      if (run_value_check(d->cols[c].range, x, what) < 0) return -1;
      if (d->cols[c].monotone && i > 0 && x < run_series_value(cv, k, c, i - 1))
        return dpt_fail("%s is %g, less than the row before (%g): the rows go backwards",
                        what, x, run_series_value(cv, k, c, i - 1));
    }
  return 0;
}

int run_curves_check(const run_curves_t *cv) {
  for (int k = 0; k < RUN_SERIES_COUNT; k++)
    if (check_series(cv, (run_series_kind_t)k) < 0) return -1;
  return 0;
}

int run_curves_each(run_curves_t *cv,
                    int (*fn)(void *ctx, const char *path, const char *units, int is_int,
                              void *column, int64_t n),
                    void *ctx) {
  for (int k = 0; k < RUN_SERIES_COUNT; k++)
    for (int c = 0; c < defs[k].ncols; c++) {
      char path[64];
      snprintf(path, sizeof path, "%s/%s", defs[k].group, defs[k].cols[c].name);
      if (fn(ctx, path, defs[k].cols[c].units, defs[k].cols[c].is_int, cv->s[k].col[c],
             cv->s[k].n) < 0)
        return -1;
    }
  return 0;
}

static int write_series(hid_t file, const run_series_t *s, const series_def_t *d) {
  hid_t g = H5Gcreate2(file, d->group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) return dpt_fail("cannot create group /%s", d->group);
  int rc = 0;
  for (int c = 0; rc == 0 && c < d->ncols; c++) {
    const series_col_t *col = &d->cols[c];
    rc = h5_write_series(g, col->name, col->is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE,
                         col->is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, (hsize_t)s->n,
                         s->col[c], col->units);
  }
  H5Gclose(g);
  return rc;
}

int run_curves_write(hid_t file, const run_curves_t *cv, const int on[RUN_SERIES_COUNT]) {
  for (int k = 0; cv && k < RUN_SERIES_COUNT; k++)
    if ((on[k] || cv->s[k].n) && write_series(file, &cv->s[k], &defs[k]) < 0) return -1;
  return 0;
}

/* Every column 1-D with as many rows as the first, at most RUN_SERIES_MAX_ROWS: checked
 * before anything is allocated (a small file may claim millions of rows). */
static int series_rows(hid_t g, const series_def_t *d, int64_t *n) {
  for (int c = 0; c < d->ncols; c++) {
    int rank;
    hsize_t dims[8];
    if (h5_dataset_dims(g, d->cols[c].name, &rank, dims) < 0) return -1;
    if (rank != 1) return dpt_fail("%s is not 1-D", d->cols[c].name);
    if (c == 0 && dims[0] > RUN_SERIES_MAX_ROWS)
      return dpt_fail("%s has %llu rows, more than the %d a run may have", d->cols[c].name,
                      (unsigned long long)dims[0], RUN_SERIES_MAX_ROWS);
    if (c == 0) *n = (int64_t)dims[0];
    else if ((int64_t)dims[0] != *n)
      return dpt_fail("%s has %lld values, %s %lld", d->cols[c].name, (long long)dims[0],
                      d->cols[0].name, (long long)*n);
  }
  return 0;
}

static int read_series(hid_t g, run_curves_t *cv, run_series_kind_t k) {
  const series_def_t *d = &defs[k];
  int64_t n = 0;
  if (series_rows(g, d, &n) < 0) return -1;
  run_curves_resize(cv, k, n);
  for (int c = 0; c < d->ncols; c++)
    if (n && h5_read_array(g, d->cols[c].name,
                           d->cols[c].is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE,
                           (hsize_t)n, cv->s[k].col[c]) < 0)
      return -1;
  return 0;
}

int run_curves_read(hid_t file, run_curves_t *cv, unsigned *has) {
  *has = 0;
  for (int k = 0; k < RUN_SERIES_COUNT; k++) {
    if (H5Lexists(file, defs[k].group, H5P_DEFAULT) <= 0) continue;
    hid_t g = runfile_open_group(file, defs[k].group);
    if (g < 0) return -1;
    int rc = read_series(g, cv, (run_series_kind_t)k);
    H5Gclose(g);
    if (rc < 0) return dpt_wrap("/%s", defs[k].group);
    *has |= 1u << k;
  }
  return run_curves_check(cv);
}
