/* aggruns.h - what the aggregator's unit tests share (test_agg_paired.c,
 * test_agg_bestof.c, test_agg_ratio.c): the runs under a directory as the table functions
 * take them, and the report of a directory as dpt-aggregate prints it. */
#ifndef DPT_TEST_AGGRUNS_H
#define DPT_TEST_AGGRUNS_H

#include "../../src/agg/runset.h"

typedef struct {
  agg_runset_t set;
  const agg_run_t **runs; /* set.nruns pointers into set.runs */
} runs_t;

/* Every run.h5 below dir (unfinished ones left out). */
void read_runs(runs_t *r, const char *dir);
void free_runs(runs_t *r);
/* agg_report's output for dir with opts (pairs of a long option's name without "--" and
 * its value: values, value, baseline, best-of, select-by, format, cols, rows, network,
 * replicas), written to a file in dir and read back (free() it; NULL when *rc < 0). */
char *agg_report_text(const char *dir, const char *const *opts, int nopts, int *rc);

#endif
