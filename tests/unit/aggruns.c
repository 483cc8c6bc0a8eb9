/* aggruns.c - the runs under a directory for the aggregator's unit tests (aggruns.h). */
#include "aggruns.h"

#include <stdio.h>
#include <string.h>

#include "../../src/agg/report.h"
#include "../../src/core/err.h"
#include "../../src/core/readfile.h"
#include "test.h"

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

char *agg_report_text(const char *dir, const char *const *opts, int nopts, int *rc) {
  static const char *const names[] = {"values", "value", "baseline", "best-of", "select-by",
                                      "format", "cols", "rows", "network", "replicas"};
  static const agg_study_opt_t ids[] = {AGG_OPT_VALUES, AGG_OPT_VALUE, AGG_OPT_BASELINE,
                                        AGG_OPT_BEST_OF, AGG_OPT_SELECT_BY, AGG_OPT_FORMAT,
                                        AGG_OPT_COLS, AGG_OPT_ROWS, AGG_OPT_NETWORK,
                                        AGG_OPT_REPLICAS};
  static int serial;
  char out[512];
  snprintf(out, sizeof out, "%s/out-%d.txt", dir, serial++);
  agg_request_t req = {0};
  agg_study_init(&req.st);
  for (int i = 0; i + 1 < nopts; i += 2)
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++)
      if (!strcmp(opts[i], names[k])) CHECK_OK(agg_study_option(&req.st, ids[k], opts[i + 1]));
  strlist_push(&req.paths, dir);
  req.out = out;
  FILE *log = fopen("/dev/null", "w");
  *rc = agg_report(&req, log);
  fclose(log);
  char *text = NULL;
  if (*rc >= 0) CHECK_OK(dpt_read_file(out, 1 << 20, &text, NULL));
  agg_study_free(&req.st);
  strlist_free(&req.paths);
  return text;
}
