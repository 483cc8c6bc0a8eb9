/* long.c - the long table of every run's per-epoch metrics (see long.h). */
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

static void write_csv_row(FILE *out, const agg_run_t *r, int64_t e, const char *const *cols,
                          int ncols) {
  for (int k = 0; k < ncols; k++) {
    const char *v = agg_key_text(r, cols[k]);
    if (k) fputc(',', out);
    dpt_csv_field(out, v ? v : "");
  }
  for (int c = 0; c < RUN_M_COUNT; c++) {
    fputc(',', out);
    agg_csv_number(out, r->metric[c] ? r->metric[c][e] : NAN);
  }
  fputc('\n', out);
}

static void write_json_row(FILE *out, const agg_run_t *r, int64_t e, const char *const *cols,
                           int ncols) {
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
    agg_json_number(out, r->metric[c] ? r->metric[c][e] : NAN);
  }
  fputc('}', out);
}

int agg_long_write(FILE *out, const agg_run_t *const *runs, int n, const char *const *keys,
                   int nkeys, agg_format_t f) {
  if (f != AGG_CSV && f != AGG_JSON) return dpt_fail("--long writes csv or json");
  const char **cols = dpt_alloc(sizeof(char *) * (size_t)(nkeys + NFIRST));
  int ncols = long_keys(keys, nkeys, cols), rows = 0;
  if (f == AGG_CSV) {
    for (int k = 0; k < ncols; k++) {
      if (k) fputc(',', out);
      dpt_csv_field(out, cols[k]);
    }
    for (int c = 0; c < RUN_M_COUNT; c++) fprintf(out, ",%s", run_metric_name((run_metric_t)c));
    fputc('\n', out);
  } else {
    fputc('[', out);
  }
  for (int i = 0; i < n; i++)
    for (int64_t e = 0; e < runs[i]->n; e++) {
      if (f == AGG_CSV) {
        write_csv_row(out, runs[i], e, cols, ncols);
      } else {
        fputs(rows++ ? ",\n " : "\n ", out);
        write_json_row(out, runs[i], e, cols, ncols);
      }
    }
  if (f == AGG_JSON) fputs("\n]\n", out);
  dpt_free(cols);
  if (fflush(out) != 0 || ferror(out)) return dpt_fail("cannot write the table");
  return 0;
}
