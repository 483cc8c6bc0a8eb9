/* table.h - from runs to tables: the per-run summary values (fields), filters, grouping
 * with mean, sample standard deviation and count, pivot tables, sorting, and (paired.c)
 * each cell's values by seed, paired differences to a baseline and the best-value marks.
 * Output formats are in format.h. */
#ifndef DPT_AGG_TABLE_H
#define DPT_AGG_TABLE_H

#include <stddef.h>

#include "runset.h"
#include "stats.h"

/* ---- fields: one number per run, NaN when the run does not have it */

typedef struct {
  const char *name;  /* "test_acc" */
  const char *label; /* column heading */
  const char *doc;
  int better;        /* +1 higher is better, -1 lower is better, 0 no best mark */
  const char *fmt;   /* printf format; NULL: an integer when integral, else "%.1f" */
} agg_field_t;

extern const agg_field_t agg_fields[];
extern const int agg_nfields;

/* A field relative to the baseline (payload_ratio, vs_dense_bytes): a run alone has no
 * value of it (agg_field_value gives NaN); a cell's value at a seed is its source field's
 * (the returned index) over the baseline cell's at that seed, or, when *inverse, the
 * baseline's over its own (agg_table_baseline). -1 for any other field. */
int agg_field_relative(int field, int *inverse);
/* Index into agg_fields, or -1. */
int agg_field_find(const char *name);
/* target > 0 enables epochs_to_target and rounds_to_target (first epoch whose validation
 * accuracy reaches target; the averagings up to and including it). */
double agg_field_value(const agg_run_t *r, int field, double target);

/* 1 for a centralized run (/results num_workers 0): no H, its rounds are reductions. */
int agg_run_centralized(const agg_run_t *r);

/* ---- keys: a dotted config key, or "run" (the run directory), "status", "method"
 * (config_method_name), "hash" (of the run's config, as a sweep names its directory) or
 * "network" (the network a copy of the run is priced under, --network) */

/* The key's text for one run, or NULL when the run has no such key. */
const char *agg_key_text(const agg_run_t *r, const char *key);
/* Config keys whose text differs between the runs that have them, in key order, without
 * the keys that tell replicates apart (experiment.seed, .name, .output, .checkpoint_dir,
 * .resume), and "method" first when the runs' methods differ. A run lacking a key
 * (written before it existed) does not make it vary.
 * Returns the count; *keys points into the runs' storage (free only the array). */
int agg_varying_keys(const agg_run_t *const *runs, int n, const char ***keys);
/* Orders two key texts: numbers numerically and before words, words by strcmp. */
int agg_natural_cmp(const char *a, const char *b);

/* Numbers the distinct combinations of the keys' texts in natural order: id[i] is run
 * i's group, first[g] a run of group g (both arrays of n). Returns the group count. */
int agg_group_runs(const agg_run_t *const *runs, int n, const char *const *keys, int nkeys,
                   int *id, int *first);

/* "KEY=VALUE,KEY=VALUE" of the run's texts of keys (a pivot column's name); free it. */
char *agg_tuple_name(const agg_run_t *r, const char *const *keys, int nkeys);

/* ---- filters: KEY=V1,V2  KEY!=V  KEY<V  KEY<=V  KEY>V  KEY>=V (KEY a key or a field) */

typedef enum { W_EQ, W_NE, W_LT, W_LE, W_GT, W_GE } agg_op_t;
typedef struct {
  char *key, *value;
  agg_op_t op;
} agg_where_t;

int agg_where_parse(const char *text, agg_where_t *w);
void agg_where_free(agg_where_t *w);
int agg_where_match(const agg_where_t *w, const agg_run_t *r, double target);

/* ---- tables */

typedef struct {
  double mean, std; /* std: sample standard deviation (n-1), NaN when n < 2 */
  int n;            /* values counted (runs lacking the value are not) */
} agg_stat_t;

/* Mean, sample standard deviation and count of the values of x[0..n) that are not NaN. */
agg_stat_t agg_stat_of(const double *x, int n);

/* A cell's value at one seed: the mean over its runs of that seed. */
typedef struct {
  int seed;         /* index into agg_table_t.seed */
  double value;
} agg_seed_value_t;

typedef struct {
  char *text;       /* a key column's text; NULL in a number column */
  agg_stat_t st;
  int best;         /* the best mean of its column, by a lead beyond noise (paired.c) */
  /* Number cells: the seeds the cell has a value for, in seed order (as many as its
   * runs at most, so a table of many seeds stays small); and a run of the cell (NULL when
   * it has none), whose key texts are the cell's. */
  agg_seed_value_t *by_seed;
  int nby_seed;
  const agg_run_t *run;
  agg_paired_t diff; /* with a baseline: the paired difference to the baseline's cell */
  int base;          /* with a baseline: this cell is the baseline's */
} agg_cell_t;

#define AGG_COL_COUNT (-2) /* field index of the "n" column: runs in the group */
#define AGG_COL_KEY (-1)

typedef struct {
  char *title;
  int nrows, ncols;
  int nkeys;        /* the first nkeys columns are key columns */
  char **name;      /* per column: key, field name, "n", or KEY=VALUE of a pivot column */
  char **label;     /* per column: heading */
  int *field;       /* per column: field index, AGG_COL_KEY or AGG_COL_COUNT */
  int pivot_field;  /* the value shown in a pivot table; -1 in a group table */
  agg_cell_t *cell; /* nrows x ncols, row-major */
  int nseeds;
  char **seed;      /* the runs' experiment.seed texts, in natural order */
  char *baseline;   /* "KEY=VALUE,..." when the table has paired differences, else NULL */
  int diff_col;     /* a group table's column whose cells carry them; -1 in a pivot (every
                       value column) or without a baseline */
  char *best_of;    /* the key whose best value each group's runs were chosen at (bestof.h),
                       else NULL: a group table has it as a key column, a pivot cell's is
                       its run's text of it */
  int select_field; /* the field best_of chose by */
} agg_table_t;

/* One row per distinct combination of keys (in natural order), columns: the keys, the
 * count n, then mean/std/count of each field. */
int agg_table_group(agg_table_t *t, const agg_run_t *const *runs, int n,
                    const char *const *keys, int nkeys, const int *fields, int nfields,
                    double target);
/* Rows: combinations of rowkeys; columns: combinations of colkeys; cells: the field's
 * mean/std/count over the runs in both. */
int agg_table_pivot(agg_table_t *t, const agg_run_t *const *runs, int n,
                    const char *const *rowkeys, int nrow, const char *const *colkeys,
                    int ncol, int field, double target);
/* Sorts rows by a column (its name, a field name or a key); "-NAME" sorts descending.
 * Rows without a value go last. */
int agg_table_sort(agg_table_t *t, const char *spec);
void agg_table_free(agg_table_t *t);

/* ---- by seed (paired.c) */

/* The seeds (experiment.seed texts) of the runs into t->seed. */
void agg_table_seeds(agg_table_t *t, const agg_run_t *const *runs, int n);
/* A cell's by_seed values (their count in *nvalues): per seed of t that one of the runs
 * idx[0..m) has a value of field for, the mean of those runs' values (a seed run twice
 * counts once). */
agg_seed_value_t *agg_seed_values(const agg_table_t *t, const agg_run_t *const *runs,
                                  const int *idx, int m, int field, double target,
                                  int *nvalues);
/* Marks, in every number column whose field has a direction, the cell with the best mean
 * when its lead is beyond noise: its paired difference (by seed) to every other cell of
 * the column that has a value has a 95% interval on the better side of zero. A tie for
 * the best, a column of one value, or fewer than 2 shared seeds with any other cell
 * leaves the column unmarked. */
void agg_table_mark_best(agg_table_t *t);
/* Paired differences to a baseline: conds are KEY=VALUE conditions (as --where, '='
 * only) on keys of the table (keys: its row and column keys); the baseline's cells are
 * those whose runs meet them all. Each cell is compared with the baseline cell that has
 * the same texts of the keys that vary among the baseline's cells (with one baseline
 * cell, every cell with it), on `field` (a pivot's value; in a group table one of its
 * columns, which diff_col then names). Fails naming a condition that is no KEY=VALUE or
 * names no key of the table, a field that is no column, and a baseline no cell meets. */
int agg_table_baseline(agg_table_t *t, const char *const *conds, int nconds,
                       const char *const *keys, int nkeys, int field, double target);

static inline agg_cell_t *agg_cell(const agg_table_t *t, int row, int col) {
  return &t->cell[(size_t)row * (size_t)t->ncols + (size_t)col];
}

#endif
