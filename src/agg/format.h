/* format.h - writing a table as Markdown, CSV, LaTeX (booktabs) or JSON.
 *
 * Markdown and LaTeX are for reading: "mean ± std" (std when n >= 2; the standard error
 * with se), the count when a cell has fewer values than its group, and in bold the best
 * value of a column whose lead is beyond noise (agg_table_mark_best). With a baseline,
 * each compared cell also shows its paired difference "+0.0300 [+0.0100, +0.0500] (3
 * pairs)" (a group table in a column after the compared one, a pivot in the cell), in
 * bold where the interval excludes zero, and nothing else is bold. A pivot whose runs
 * were chosen by --best-of (table.h best_of) is followed by a second table of the same
 * rows and columns holding the value each cell was chosen at.
 * CSV and JSON are for programs: every number in full (it parses back to the same
 * double), a column each for mean, std and n (and diff_mean, diff_lo, diff_hi, diff_n
 * with a baseline; COLUMN_KEY, the value chosen, in a pivot with best_of), NaN as an
 * empty field or null. */
#ifndef DPT_AGG_FORMAT_H
#define DPT_AGG_FORMAT_H

#include <stdio.h>

#include "table.h"

typedef enum { AGG_MARKDOWN, AGG_CSV, AGG_LATEX, AGG_JSON } agg_format_t;

typedef struct {
  int percent; /* accuracies as percentages */
  int digits;  /* decimals of accuracies and losses; < 0: 4 (2 as percentages) */
  int se;      /* md, latex: ± the standard error (std / sqrt(n)) instead of the std */
} agg_style_t;

/* "md"/"markdown", "csv", "latex"/"tex", "json". */
int agg_format_parse(const char *name, agg_format_t *f);
int agg_table_write(FILE *out, const agg_table_t *t, agg_format_t f, const agg_style_t *style);

/* The CSV and JSON spellings of values, for the other machine-readable outputs (long.h):
 * a number that reads back to the same double (CSV: empty for NaN; JSON: null for NaN
 * and infinities), a JSON string with its escapes. */
void agg_csv_number(FILE *out, double x);
void agg_json_number(FILE *out, double x);
void agg_json_string(FILE *out, const char *s);

#endif
