/* runset.h - the run files an aggregation reads: every run.h5 below the paths given,
 * each one's config, per-epoch metrics and results (never a checkpoint) as the run-file
 * module reads them (runfile_read), and for every file left out the reason why. */
#ifndef DPT_AGG_RUNSET_H
#define DPT_AGG_RUNSET_H

#include <stddef.h>
#include <stdint.h>

#include "../io/runfile.h"
#include "network.h"

typedef struct {
  char *path;               /* as found */
  char *dir;                /* the run directory (path without "/run.h5") */
  runfile_t file;           /* status, config (text and typed), results; its metrics
                               are freed (the doubles below hold them) */
  int64_t n;                /* epochs recorded */
  double *metric[RUN_M_COUNT]; /* n values each; NULL when the file lacks the column */
  int64_t epochs_run, best_epoch, stopped_early;
  double best_val_acc, wall_time;
  int has_test;             /* test_* below were in the file */
  double test_loss_last, test_acc_last, test_loss_best, test_acc_best;
  /* The key "method": the run file's method name (runfile_method); "?" for an older run
   * whose config does not load (it is still listed). */
  char method[64];
  /* The key "hash": the hash of the run's config YAML (sweep_hash), which names a sweep
   * task's directory; "" without the YAML. */
  char hash[17];
  /* A copy of a run priced under a network (report.c makes one per run and --network):
   * the network (its name is the key "network"), and the replay of the run's ledger
   * under it, NULL when the run could not be priced (no /rounds). NULL net: no network. */
  const net_model_t *net;
  const net_replay_t *replay;
} agg_run_t;

typedef struct {
  char *path;
  char *reason;
} agg_skip_t;

typedef struct {
  agg_run_t *runs;
  int nruns, capruns;
  agg_skip_t *skips;        /* files left out of the numbers */
  int nskips, capskips;
  int nunfinished;          /* runs kept although not complete (include_unfinished) */
} agg_runset_t;

/* Reads one run file. Fails, with the reason as the message, when the file is missing,
 * not HDF5, damaged, not a dpt-run file, of a newer major schema version, or lacks the
 * completeness mark. A readable run that is still running or was interrupted is read
 * (status says so); the caller decides what to do with it. */
int agg_run_read(const char *path, agg_run_t *run);
void agg_run_free(agg_run_t *run);
/* The /config value of a dotted key, or NULL when the run has no such key. */
const char *agg_run_config(const agg_run_t *run, const char *key);

/* Adds the runs under each path: a file is read whatever its name; a directory is
 * searched recursively for files named run.h5 (run.h5.tmp and checkpoints are never
 * read), in sorted order. Never fails: every problem becomes a skip with its reason.
 * Unfinished runs are skipped unless include_unfinished. */
void agg_runset_collect(agg_runset_t *set, const char *const *paths, int npaths,
                        int include_unfinished);
void agg_runset_free(agg_runset_t *set);

#endif
