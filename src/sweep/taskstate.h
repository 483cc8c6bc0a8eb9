/* taskstate.h - the state of one task of a sweep (done, running, pending, interrupted,
 * failed, never started), decided from its files (run.h5, attempts.tsv) and its place in
 * Slurm's queue. */
#ifndef DPT_SWEEP_TASKSTATE_H
#define DPT_SWEEP_TASKSTATE_H

#include "../io/runfile.h"
#include "sweep.h"

typedef enum {
  TASK_DONE, TASK_RUNNING, TASK_PENDING, TASK_INTERRUPTED, TASK_FAILED, TASK_NEVER,
  TASK_NSTATES
} sweep_state_t;
extern const char *const sweep_state_names[TASK_NSTATES];

/* A task's place in Slurm's queue, from squeue's state word (sweep_queue_parse in
 * slurm.h); a larger value is more alive, so of two entries for one task the larger
 * wins. */
typedef enum {
  SWEEP_Q_NONE,    /* not in the queue */
  SWEEP_Q_ENDED,   /* a terminal state (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...) */
  SWEEP_Q_PENDING, /* PENDING, REQUEUED, SUSPENDED, held, ... */
  SWEEP_Q_RUNNING  /* RUNNING, COMPLETING, CONFIGURING, ... */
} sweep_queue_t;

/* What one task's files say: whether run.h5 exists, its status (run: the run file's
 * own run_status_t, RUN_STATUS_NONE for a file that is unreadable, has no status or says
 * complete without its completeness mark; run_status as text for messages: "complete",
 * "running", "interrupted", "damaged", "" when there is no file), its results, and the
 * attempts recorded in attempts.tsv (last_exit -1 = none). */
typedef struct {
  int has_run_file;
  run_status_t run;
  char run_status[16];
  int last_exit;
  int attempts;
  double test_acc_last, test_acc_best, best_val_acc;
  int has_results;
  int has_log; /* a log of the task exists (Slurm creates it when the job starts; set by
                * view.c): a submitted task without one never ran */
} sweep_task_files_t;

void sweep_task_files(const char *sweep_dir, const sweep_row_t *row, sweep_task_files_t *f);
/* Only the run file's part of that (run, run_status, results). */
void sweep_run_file(const char *run_h5, sweep_task_files_t *f);
/* The run file says the run is complete. */
int sweep_run_complete(const sweep_task_files_t *f);
/* run_status for messages: "no run file" when there is none. */
const char *sweep_run_status_text(const sweep_task_files_t *f);

/* The state of a task from its files and its place in the queue. submitted: some
 * submission covered the task. A task is failed only when it ran (an attempt, a run file
 * or a log): one submitted that left the queue without starting never started. */
sweep_state_t sweep_task_state(const sweep_task_files_t *f, sweep_queue_t q, int submitted);

#endif
