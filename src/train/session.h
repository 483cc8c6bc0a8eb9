/* session.h - one dpt-train invocation after its command line is parsed: check the MPI
 * world, load and validate the config, lock the run directory, load the data, set the
 * trainer up, restore weights or a checkpoint, train (or test only), append the CSV row.
 * Collective over MPI_COMM_WORLD; every failure is agreed on by all ranks first. */
#ifndef DPT_TRAIN_SESSION_H
#define DPT_TRAIN_SESSION_H

#include <signal.h>

#include "../core/cli.h"
#include "trainer.h"

typedef struct {
  const char *config_path;
  const char *const *sets;       /* --set overrides, "dotted.key=value" */
  int nsets;
  const char *run_dir;           /* NULL: runs/NAME-vVERSION of experiment: */
  const char *resume;            /* NULL (from experiment.resume), "auto", "never" or a
                                    checkpoint path */
  int force;                     /* train afresh over a finished run in the run directory */
  int check_only;                /* print the resolved config and stop */
  int print_checkpoint;          /* print where the run's checkpoint.h5 lives and stop */
  volatile sig_atomic_t *stop_flag; /* set by SIGUSR1/SIGTERM */
} train_session_t;

/* How the session ended on this rank. On TRAIN_FAILED, failed_here says whether this
 * rank's own step failed (the current dpt error is then its message) or another's, and
 * scope whether every rank failed alike (a bad config) or only some. */
typedef struct {
  train_result_t result;
  int failed_here;
  cli_err_scope_t scope;
} train_outcome_t;

train_outcome_t train_session(const train_session_t *s);

#endif
