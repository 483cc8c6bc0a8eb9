/* replay.h - the runs priced under networks (--network, a study's `network:`): one copy
 * of every run per network, each with the replay of its ledger (network.h), so that the
 * tables and plots treat "network" as one more key and the replay's values as fields. */
#ifndef DPT_AGG_REPLAY_H
#define DPT_AGG_REPLAY_H

#include <stdio.h>

#include "runset.h"
#include "study.h"

typedef struct {
  net_model_t *nets;
  int nnets;
  agg_run_t *views;       /* nruns x nnets shallow copies, run-major; the set owns the
                             runs' storage */
  net_replay_t *replays;  /* one per view; n = 0 where the run could not be priced */
  int nviews;
  strlist_t notes;        /* per run not priced: "PATH: why" */
} agg_priced_t;

/* Resolves st's networks (presets or files; --replicas overrides their replicas) and
 * prices every run of set under each. Fails only for a network it cannot resolve; a
 * run it cannot price (no /rounds, no speed) gets a note and no replay. */
int agg_price_runs(agg_priced_t *p, const agg_runset_t *set, const agg_study_t *st);
/* The notes, on log, after a line saying what they are. */
void agg_priced_notes(const agg_priced_t *p, FILE *log);
void agg_priced_free(agg_priced_t *p);

#endif
