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
#include "../io/h5util.h"
#include "textio.h"

const char *const sweep_state_names[TASK_NSTATES] = {
    "done", "running", "pending", "interrupted", "failed", "never started"};

void sweep_run_file(const char *path, sweep_task_files_t *f) {
  f->run_status[0] = 0;
  f->has_results = 0;
  if (dpt_file_exists(path)) {
    hid_t file = h5_open_checked(path, "dpt-run", 1);
    char *status = NULL;
    if (file >= 0 && h5_read_attr_str(file, "status", &status) == 0) {
      snprintf(f->run_status, sizeof f->run_status, "%s", status);
      dpt_free(status);
      hid_t g = H5Gopen2(file, "/results", H5P_DEFAULT);
      if (g >= 0) {
        f->has_results = h5_read_attr_f64(g, "test_acc_last", &f->test_acc_last) == 0 &&
                         h5_read_attr_f64(g, "test_acc_best", &f->test_acc_best) == 0;
        if (h5_read_attr_f64(g, "best_val_acc", &f->best_val_acc) < 0) f->best_val_acc = -1;
        H5Gclose(g);
      }
      /* A run file without its completeness mark is not trusted as done. */
      int64_t complete = 0;
      if (!strcmp(f->run_status, "complete") &&
          (h5_read_attr_i64(file, "complete", &complete) < 0 || complete != 1))
        snprintf(f->run_status, sizeof f->run_status, "damaged");
    } else {
      snprintf(f->run_status, sizeof f->run_status, "damaged");
    }
    if (file >= 0) H5Fclose(file);
    dpt_clear_error();
  }
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

int sweep_run_complete(const sweep_task_files_t *f) { return !strcmp(f->run_status, "complete"); }

const char *sweep_run_status_text(const sweep_task_files_t *f) {
  return f->run_status[0] ? f->run_status : "no run file";
}

sweep_state_t sweep_task_state(const sweep_task_files_t *f, sweep_queue_t q, int submitted) {
  if (sweep_run_complete(f)) return TASK_DONE;
  if (q == SWEEP_Q_RUNNING) return TASK_RUNNING;
  if (q == SWEEP_Q_PENDING) return TASK_PENDING;
  /* Not queued, or in a terminal state (COMPLETED, FAILED, ...): the files decide. */
  if (f->last_exit == DPT_EXIT_REQUEUE || !strcmp(f->run_status, "interrupted"))
    return TASK_INTERRUPTED;
  if (f->last_exit > 0 || f->attempts > 0 || f->run_status[0] || submitted) return TASK_FAILED;
  return TASK_NEVER;
}
