/* report.h - dpt-aggregate's job from paths to a published table: read the run files
 * (runset.h), name those left out, filter and group the runs (table.h), write the table
 * (format.h) and the curves (plot.h). What to show comes from a study (study.h) that
 * the command line overrides; fixture.h makes run files for tests and the benchmark. */
#ifndef DPT_AGG_REPORT_H
#define DPT_AGG_REPORT_H

#include <stdio.h>

#include "format.h"
#include "study.h"

typedef struct {
  agg_study_t st;         /* what to show */
  strlist_t paths;       /* directories and files to read */
  int include_unfinished; /* keep running and interrupted runs, apart (a status column) */
  int per_run;            /* one row per run */
  int long_rows;          /* instead of a table, every run's metrics per epoch (long.h) */
  const char *out;        /* the table's file, published atomically; NULL: stdout */
  const char *plots;      /* directory for the curves; NULL: none */
} agg_request_t;

/* Reads every run under req->paths and writes the table (and plots). The files left
 * out are named on `log` with their reasons, then a line counting runs and rows.
 * Returns how many files were left out (0: every one aggregated), or -1 when no table
 * could be made. */
int agg_report(const agg_request_t *req, FILE *log);

/* Lists the fields a table can show, with what each means (--fields). */
void agg_fields_print(FILE *out);

#endif
