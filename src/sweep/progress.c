/* progress.c - per-task progress and the sweep's ETA from run.h5 files (see progress.h). */
#include "progress.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "../io/h5util.h"
#include "../io/runfile.h"

/* The sum and the last value of a per-epoch metric of n values. */
static int sum_last(hid_t metrics, const char *name, int64_t n, double *sum, double *last) {
  double *v = dpt_alloc(sizeof *v * (size_t)n);
  int rc = h5_read_array(metrics, name, H5T_NATIVE_DOUBLE, (hsize_t)n, v);
  *sum = 0;
  for (int64_t i = 0; rc == 0 && i < n; i++) *sum += v[i];
  if (rc == 0) *last = v[n - 1];
  dpt_free(v);
  return rc;
}

static void read_file(hid_t file, sweep_progress_t *p) {
  hid_t g = H5Gopen2(file, "config", H5P_DEFAULT);
  char *epochs = NULL;
  if (g >= 0 && runfile_config_read(g, "model.epochs", &epochs) == 0)
    p->epochs = atoll(epochs);
  dpt_free(epochs);
  if (g >= 0) H5Gclose(g);
  g = H5Gopen2(file, "metrics", H5P_DEFAULT);
  if (g < 0) return;
  int rank;
  hsize_t dims[8];
  double unused;
  if (h5_dataset_dims(g, "epoch", &rank, dims) == 0 && rank == 1 && dims[0] > 0 &&
      sum_last(g, "epoch_time", (int64_t)dims[0], &p->seconds, &unused) == 0 &&
      sum_last(g, "val_acc", (int64_t)dims[0], &unused, &p->val_acc) == 0)
    p->epoch = (int64_t)dims[0];
  H5Gclose(g);
}

void sweep_progress_read(const char *sweep_dir, const sweep_row_t *row, sweep_progress_t *p) {
  char path[4200];
  *p = (sweep_progress_t){.val_acc = NAN};
  snprintf(path, sizeof path, "%s/%s/run.h5", sweep_dir, row->run_dir);
  if (dpt_file_exists(path)) {
    hid_t file = h5_open_checked(path, "dpt-run", 1);
    if (file >= 0) {
      p->has_file = 1;
      read_file(file, p);
      H5Fclose(file);
    }
  }
  if (p->epoch == 0) p->seconds = 0, p->val_acc = NAN;
  dpt_clear_error();
}

double sweep_progress_eta(const sweep_progress_t *p) {
  if (p->epoch <= 0 || p->epochs <= 0) return -1;
  int64_t left = p->epochs > p->epoch ? p->epochs - p->epoch : 0;
  return p->seconds / (double)p->epoch * (double)left;
}

void sweep_format_seconds(char *buf, size_t cap, double s) {
  long v = (long)(s + 0.5);
  if (s < 0) snprintf(buf, cap, "-");
  else if (v < 60) snprintf(buf, cap, "%lds", v);
  else if (v < 3600) snprintf(buf, cap, "%ldm%02lds", v / 60, v % 60);
  else snprintf(buf, cap, "%ldh%02ldm", v / 3600, v / 60 % 60);
}

void sweep_progress_line(const sweep_progress_t *p, char *buf, size_t cap) {
  char of[32] = "-", acc[32] = "-", eta[32];
  if (p->epochs > 0) snprintf(of, sizeof of, "%lld", (long long)p->epochs);
  if (!isnan(p->val_acc)) snprintf(acc, sizeof acc, "%.4f", p->val_acc);
  sweep_format_seconds(eta, sizeof eta, sweep_progress_eta(p));
  snprintf(buf, cap, "epoch %lld/%s  val acc %s  ETA %s", (long long)p->epoch, of, acc, eta);
}

double sweep_progress_total_eta(const sweep_progress_t *p, const sweep_state_t *state, int n) {
  double length = 0; /* summed estimated task lengths of the runs with an epoch */
  int measured = 0, running = 0, unknown = 0;
  double left = 0;
  for (int i = 0; i < n; i++) {
    if (p[i].epoch > 0 && p[i].epochs > 0) {
      length += p[i].seconds / (double)p[i].epoch * (double)p[i].epochs;
      measured++;
    }
    if (state[i] == TASK_RUNNING) running++;
    if (state[i] != TASK_RUNNING && state[i] != TASK_PENDING && state[i] != TASK_INTERRUPTED)
      continue;
    double eta = sweep_progress_eta(&p[i]);
    if (eta >= 0) left += eta;
    else unknown++;
  }
  if (unknown && !measured) return -1;
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
    sweep_progress_line(&p[i], line, sizeof line);
    fprintf(out, "task %d  %s[%d]  %s  %s\n", r->task, r->array, r->index,
            sweep_state_names[state[i]], line);
  }
  sweep_format_seconds(eta, cap, sweep_progress_total_eta(p, state, m->nrows));
  dpt_free(p);
}
