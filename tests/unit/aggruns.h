/* aggruns.h - what the aggregator's unit tests share (test_agg_paired.c,
 * test_agg_bestof.c): the runs under a directory as the table functions take them. */
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

#endif
