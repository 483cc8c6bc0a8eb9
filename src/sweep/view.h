/* view.h - the state of every task of a sweep at one moment: the manifest, what was
 * submitted, Slurm's queue (squeue), the local runner's mark (local.pid) and each task's
 * files. status, results, submit, resubmit, run-local and expand --force read it. */
#ifndef DPT_SWEEP_VIEW_H
#define DPT_SWEEP_VIEW_H

#include "sweep.h"
#include "taskstate.h"

typedef struct {
  sweep_manifest_t m;
  sweep_submission_t *subs;
  int nsubs;
  sweep_task_files_t *files; /* per row */
  sweep_queue_t *queue;      /* per row */
  int *submitted;            /* per row: some submission covered it */
  sweep_state_t *state;      /* per row */
  int queue_asked;           /* there are submissions and squeue is on PATH */
  int queue_ok;              /* squeue answered */
  char queue_error[512];     /* else why not */
} sweep_view_t;

/* Reads the sweep directory dir. A missing or broken manifest fails (and leaves v
 * empty); squeue's silence does not (queue_ok then stays 0 and the files alone decide). */
int sweep_view_load(sweep_view_t *v, const char *dir);
void sweep_view_free(sweep_view_t *v);
/* The newest log of row i of the sweep in dir into path: logs/JOB_INDEX.out of a
 * submission of its array, or run-local's logs/local_TASK.out. 1 when there is one, else 0. */
int sweep_task_log(const sweep_view_t *v, const char *dir, int i, char *path, size_t cap);

#endif
