/* progress.c - per-task progress and the sweep's ETA from run.h5 files (see progress.h). */
#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "../core/numfmt.h"
#include "../io/runfile.h"

void sweep_progress_read(const char *sweep_dir, const sweep_row_t *row, sweep_progress_t *p) {
  char path[4200];
  *p = (sweep_progress_t){.val_acc = NAN};
  snprintf(path, sizeof path, "%s/%s/run.h5", sweep_dir, row->run_dir);
  runfile_t r;
  if (dpt_file_exists(path) && runfile_read_partial(path, &r) == 0) {
    const char *epochs = runfile_config(&r, "model.epochs");
    p->has_file = 1;
    if (epochs) p->epochs = atoll(epochs);
    if ((r.has & RUNFILE_HAS_METRICS) && r.metrics.n > 0) {
      p->epoch = r.metrics.n;
      for (int64_t i = 0; i < r.metrics.n; i++) p->seconds += r.metrics.epoch_time[i];
      p->val_acc = r.metrics.val_acc[r.metrics.n - 1];
    }
    runfile_free(&r);
  }
  dpt_clear_error();
}

double sweep_progress_eta(const sweep_progress_t *p) {
  if (p->epoch <= 0 || p->epochs <= 0) return -1;
  int64_t left = p->epochs > p->epoch ? p->epochs - p->epoch : 0;
  return p->seconds / (double)p->epoch * (double)left;
}

void sweep_format_seconds(char *buf, size_t cap, double s) { dpt_format_duration(buf, cap, s); }

/* "epoch 2/3  val acc 0.8770  " followed by tail. */
static void progress_text(const sweep_progress_t *p, const char *tail, char *buf, size_t cap) {
  char of[32] = "-", acc[32] = "-";
  if (p->epochs > 0) snprintf(of, sizeof of, "%lld", (long long)p->epochs);
  if (!isnan(p->val_acc)) snprintf(acc, sizeof acc, "%.4f", p->val_acc);
  snprintf(buf, cap, "epoch %lld/%s  val acc %s  %s", (long long)p->epoch, of, acc, tail);
}

void sweep_progress_line(const sweep_progress_t *p, char *buf, size_t cap) {
  char eta[32] = "ETA ";
  sweep_format_seconds(eta + 4, sizeof eta - 4, sweep_progress_eta(p));
  progress_text(p, eta, buf, cap);
}

double sweep_progress_total_eta(const sweep_progress_t *p, const sweep_state_t *state, int n) {
  double length = 0; /* summed estimated task lengths of the runs with an epoch */
  int measured = 0, running = 0, pending = 0, unknown = 0;
  double left = 0;
  for (int i = 0; i < n; i++) {
    if (p[i].epoch > 0 && p[i].epochs > 0) {
      length += p[i].seconds / (double)p[i].epoch * (double)p[i].epochs;
      measured++;
    }
    if (state[i] == TASK_RUNNING) running++;
    if (state[i] == TASK_PENDING) pending++;
    if (state[i] != TASK_RUNNING && state[i] != TASK_PENDING && state[i] != TASK_INTERRUPTED)
      continue;
    double eta = sweep_progress_eta(&p[i]);
    if (eta >= 0) left += eta;
    else unknown++;
  }
  if (unknown && !measured) return -1;
  if (left > 0 && !running && !pending) return -1; /* only stopped tasks are left */
  left += unknown * (length / (measured ? measured : 1));
  return left / (running ? running : 1);
}

void sweep_progress_report(FILE *out, const char *sweep_dir, const sweep_manifest_t *m,
                           const sweep_state_t *state, char *eta, size_t cap) {
  sweep_progress_t *p = dpt_alloc(sizeof *p * (size_t)(m->nrows + 1));
  char line[128];
  for (int i = 0; i < m->nrows; i++) {
    const sweep_row_t *r = &m->rows[i];
    /* Finished tasks count towards the typical task length. */
    if (state[i] == TASK_NEVER || state[i] == TASK_FAILED) continue;
    sweep_progress_read(sweep_dir, r, &p[i]);
    if (state[i] != TASK_RUNNING && state[i] != TASK_INTERRUPTED) continue;
    if (state[i] == TASK_RUNNING) sweep_progress_line(&p[i], line, sizeof line);
    else /* interrupted: no progress until it is resubmitted, so no ETA */
      progress_text(&p[i], "stopped (resubmit continues it)", line, sizeof line);
    fprintf(out, "task %d  %s[%d]  %s  %s\n", r->task, r->array, r->index,
            sweep_state_names[state[i]], line);
  }
  sweep_format_seconds(eta, cap, sweep_progress_total_eta(p, state, m->nrows));
  dpt_free(p);
}
