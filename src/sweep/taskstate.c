/* taskstate.c - the state of each task from its files and Slurm's queue (see
 * taskstate.h). */
#include "taskstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../core/exitcodes.h"
#include "../core/fsutil.h"
#include "../core/readfile.h"
#include "../io/runfile.h"
#include "textio.h"

const char *const sweep_state_names[TASK_NSTATES] = {
    "done", "running", "pending", "interrupted", "failed", "never started"};

static void set_run(sweep_task_files_t *f, run_status_t run, const char *text) {
  f->run = run;
  snprintf(f->run_status, sizeof f->run_status, "%s", text);
}

void sweep_run_file(const char *path, sweep_task_files_t *f) {
  set_run(f, RUN_STATUS_NONE, "");
  f->has_results = 0;
  f->has_run_file = dpt_file_exists(path);
  if (!f->has_run_file) return;
  runfile_t r;
  if (runfile_read_partial(path, &r) < 0) {
    set_run(f, RUN_STATUS_NONE, "damaged");
    dpt_clear_error();
    return;
  }
  /* A run file without a readable status says nothing; one complete without its
   * completeness mark is not trusted as done. */
  run_status_t run = r.info.status;
  int results = run != RUN_STATUS_NONE && (r.has & RUNFILE_HAS_RESULTS);
  if (run == RUN_STATUS_COMPLETE && !r.complete) run = RUN_STATUS_NONE;
  set_run(f, run, run == RUN_STATUS_NONE ? "damaged" : r.status_word);
  f->has_results = results && r.info.has_test;
  f->test_acc_last = r.info.test_acc_last;
  f->test_acc_best = r.info.test_acc_best;
  f->best_val_acc = results ? r.info.best_val_acc : -1;
  runfile_free(&r);
}

void sweep_task_files(const char *sweep_dir, const sweep_row_t *row, sweep_task_files_t *f) {
  char path[4200];
  memset(f, 0, sizeof *f);
  f->last_exit = -1;
  snprintf(path, sizeof path, "%s/%s/run.h5", sweep_dir, row->run_dir);
  sweep_run_file(path, f);
  snprintf(path, sizeof path, "%s/%s/attempts.tsv", sweep_dir, row->run_dir);
  char *text = NULL;
  dpt_read_file_opt(path, DPT_TEXT_MAX, &text, NULL);
  dpt_clear_error();
  if (text) {
    char *fld[6];
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
      if (sweep_split_tabs(line, fld, 6) < 4) continue;
      f->attempts++;
      f->last_exit = atoi(fld[3]);
    }
    dpt_free(text);
  }
}

int sweep_run_complete(const sweep_task_files_t *f) { return f->run == RUN_STATUS_COMPLETE; }

const char *sweep_run_status_text(const sweep_task_files_t *f) {
  return f->run_status[0] ? f->run_status : "no run file";
}

sweep_state_t sweep_task_state(const sweep_task_files_t *f, sweep_queue_t q, int submitted) {
  if (sweep_run_complete(f)) return TASK_DONE;
  if (q == SWEEP_Q_RUNNING) return TASK_RUNNING;
  if (q == SWEEP_Q_PENDING) return TASK_PENDING;
  /* Not queued, or in a terminal state (COMPLETED, FAILED, ...): the files decide. */
  if (f->last_exit == DPT_EXIT_REQUEUE || f->run == RUN_STATUS_INTERRUPTED)
    return TASK_INTERRUPTED;
  if (f->last_exit > 0 || f->attempts > 0 || f->has_run_file || (submitted && f->has_log))
    return TASK_FAILED;
  return TASK_NEVER;
}
