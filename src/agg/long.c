/* long.c - the long table of every run's per-epoch metrics and its records between
 * epochs (see long.h). */
#include "long.h"

#include <math.h>
#include <string.h>

#include "../core/csv.h"
#include "../core/err.h"
#include "table.h"

/* The key columns every long table starts with. */
static const char *const first_keys[] = {"run", "hash", "experiment.seed", "method"};
#define NFIRST ((int)(sizeof first_keys / sizeof first_keys[0]))

/* The key columns: the first four, then keys[] without them. */
static int long_keys(const char *const *keys, int nkeys, const char **out) {
  int n = 0;
  for (int i = 0; i < NFIRST; i++) out[n++] = first_keys[i];
  for (int k = 0; k < nkeys; k++) {
    int dup = 0;
    for (int i = 0; i < NFIRST; i++) dup |= !strcmp(keys[k], first_keys[i]);
    if (!dup) out[n++] = keys[k];
  }
  return n;
}

/* The rows of a run: its epochs (/metrics), then its /intervals and /evals rows when the
 * file has them. A row is (kind, i): kind -1 an epoch, else a run_series_kind_t. */
#define ROW_EPOCH (-1)
static const char *granularity(int kind) {
  return kind == ROW_EPOCH ? "epoch" : kind == RUN_SERIES_INTERVALS ? "interval" : "eval";
}
static int64_t rows_of(const agg_run_t *r, int kind) {
  return kind == ROW_EPOCH ? r->n : r->file.curves.s[kind].n;
}

/* The series column named `name`, or -1. */
static int series_col(int kind, const char *name) {
  for (int c = 0; kind != ROW_EPOCH && c < run_series_ncols((run_series_kind_t)kind); c++)
    if (!strcmp(run_series_col_name((run_series_kind_t)kind, c), name)) return c;
  return -1;
}

/* The columns after the metrics when some run has rows between epochs: the granularity,
 * then the point columns of the series that /metrics has no column of the same name for
 * (step, rounds_total, bytes_total, images_total). */
typedef struct {
  int between;              /* some run has /intervals or /evals rows */
  int extra[RUN_S_FIRST], nextra;
} long_cols_t;

static void extra_cols(const agg_run_t *const *runs, int n, long_cols_t *lc) {
  memset(lc, 0, sizeof *lc);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < RUN_SERIES_COUNT; k++) lc->between |= rows_of(runs[i], k) > 0;
  for (int c = 0; lc->between && c < RUN_S_FIRST; c++) {
    int dup = 0;
    for (int m = 0; m < RUN_M_COUNT; m++)
      dup |= !strcmp(run_metric_name((run_metric_t)m), run_series_col_name(0, c));
    if (!dup) lc->extra[lc->nextra++] = c;
  }
}

/* Metric column c of row (kind, i): the series column of that name, or none (NaN). */
static double metric_at(const agg_run_t *r, int kind, int64_t i, int c) {
  if (kind == ROW_EPOCH) return r->metric[c] ? r->metric[c][i] : NAN;
  int sc = series_col(kind, run_metric_name((run_metric_t)c));
  return sc < 0 ? NAN : run_series_value(&r->file.curves, (run_series_kind_t)kind, sc, i);
}
static double extra_at(const agg_run_t *r, int kind, int64_t i, int sc) {
  return kind == ROW_EPOCH ? NAN : run_series_value(&r->file.curves, (run_series_kind_t)kind, sc, i);
}

static void write_csv_row(FILE *out, const agg_run_t *r, int kind, int64_t e,
                          const char *const *cols, int ncols, const long_cols_t *lc) {
  for (int k = 0; k < ncols; k++) {
    const char *v = agg_key_text(r, cols[k]);
    if (k) fputc(',', out);
    dpt_csv_field(out, v ? v : "");
  }
  for (int c = 0; c < RUN_M_COUNT; c++) {
    fputc(',', out);
    agg_csv_number(out, metric_at(r, kind, e, c));
  }
  if (lc->between) fprintf(out, ",%s", granularity(kind));
  for (int x = 0; x < lc->nextra; x++) {
    fputc(',', out);
    agg_csv_number(out, extra_at(r, kind, e, lc->extra[x]));
  }
  fputc('\n', out);
}

static void write_json_row(FILE *out, const agg_run_t *r, int kind, int64_t e,
                           const char *const *cols, int ncols, const long_cols_t *lc) {
  for (int k = 0; k < ncols; k++) {
    const char *v = agg_key_text(r, cols[k]);
    fputs(k ? ", " : "{", out);
    agg_json_string(out, cols[k]);
    fputs(": ", out);
    if (v) agg_json_string(out, v);
    else fputs("null", out);
  }
  for (int c = 0; c < RUN_M_COUNT; c++) {
    fprintf(out, ", \"%s\": ", run_metric_name((run_metric_t)c));
    agg_json_number(out, metric_at(r, kind, e, c));
  }
  if (lc->between) fprintf(out, ", \"granularity\": \"%s\"", granularity(kind));
  for (int x = 0; x < lc->nextra; x++) {
    fprintf(out, ", \"%s\": ", run_series_col_name(0, lc->extra[x]));
    agg_json_number(out, extra_at(r, kind, e, lc->extra[x]));
  }
  fputc('}', out);
}

static void write_header(FILE *out, const char *const *cols, int ncols, const long_cols_t *lc) {
  for (int k = 0; k < ncols; k++) {
    if (k) fputc(',', out);
    dpt_csv_field(out, cols[k]);
  }
  for (int c = 0; c < RUN_M_COUNT; c++) fprintf(out, ",%s", run_metric_name((run_metric_t)c));
  if (lc->between) fprintf(out, ",granularity");
  for (int x = 0; x < lc->nextra; x++) fprintf(out, ",%s", run_series_col_name(0, lc->extra[x]));
  fputc('\n', out);
}

int agg_long_write(FILE *out, const agg_run_t *const *runs, int n, const char *const *keys,
                   int nkeys, agg_format_t f) {
  if (f != AGG_CSV && f != AGG_JSON) return dpt_fail("--long writes csv or json");
  const char **cols = dpt_alloc(sizeof(char *) * (size_t)(nkeys + NFIRST));
  int ncols = long_keys(keys, nkeys, cols), rows = 0;
  long_cols_t lc;
  extra_cols(runs, n, &lc);
  if (f == AGG_CSV) write_header(out, cols, ncols, &lc);
  else fputc('[', out);
  for (int i = 0; i < n; i++)
    for (int kind = ROW_EPOCH; kind < RUN_SERIES_COUNT; kind++)
      for (int64_t e = 0; e < rows_of(runs[i], kind); e++) {
        if (f == AGG_CSV) {
          write_csv_row(out, runs[i], kind, e, cols, ncols, &lc);
        } else {
          fputs(rows++ ? ",\n " : "\n ", out);
          write_json_row(out, runs[i], kind, e, cols, ncols, &lc);
        }
      }
  if (f == AGG_JSON) fputs("\n]\n", out);
  dpt_free(cols);
  if (fflush(out) != 0 || ferror(out)) return dpt_fail("cannot write the table");
  return 0;
}
