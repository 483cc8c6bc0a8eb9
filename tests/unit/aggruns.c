/* aggruns.c - the runs under a directory for the aggregator's unit tests (aggruns.h). */
#include "aggruns.h"

#include <string.h>

#include "../../src/core/err.h"

void read_runs(runs_t *r, const char *dir) {
  memset(r, 0, sizeof *r);
  const char *paths[] = {dir};
  agg_runset_collect(&r->set, paths, 1, 0);
  r->runs = dpt_alloc(sizeof(agg_run_t *) * (size_t)(r->set.nruns + 1));
  for (int i = 0; i < r->set.nruns; i++) r->runs[i] = &r->set.runs[i];
}

void free_runs(runs_t *r) {
  dpt_free(r->runs);
  agg_runset_free(&r->set);
}
