/* view.c - the state of every task of a sweep (see view.h). */
#include "view.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/err.h"
#include "slurm.h"

void sweep_view_free(sweep_view_t *v) {
  sweep_manifest_free(&v->m);
  sweep_submissions_free(v->subs, v->nsubs);
  dpt_free(v->files);
  dpt_free(v->queue);
  dpt_free(v->submitted);
  dpt_free(v->state);
  memset(v, 0, sizeof *v);
}

/* Row of (array, index), or -1. */
static int row_of(const sweep_manifest_t *m, const char *array, int index) {
  for (int i = 0; i < m->nrows; i++)
    if (m->rows[i].index == index && !strcmp(m->rows[i].array, array)) return i;
  return -1;
}

typedef struct {
  sweep_view_t *v;
  const char *array;
  sweep_queue_t q;
} mark_t;

static void mark_submitted(void *ctx, int idx) {
  mark_t *mk = ctx;
  int r = row_of(&mk->v->m, mk->array, idx);
  if (r >= 0) mk->v->submitted[r] = 1;
}

static void mark_queue(void *ctx, int idx) {
  mark_t *mk = ctx;
  int r = row_of(&mk->v->m, mk->array, idx);
  if (r >= 0 && mk->q > mk->v->queue[r]) mk->v->queue[r] = mk->q;
}

/* One line of squeue: the rows of the submission with that job id. */
static void queue_line(void *ctx, const char *job, const char *indices, sweep_queue_t q) {
  sweep_view_t *v = ctx;
  for (int s = 0; s < v->nsubs; s++)
    if (!strcmp(v->subs[s].job, job)) {
      mark_t mk = {v, v->subs[s].array, q};
      sweep_index_each(indices, mark_queue, &mk);
    }
}

/* run-local marks the task it runs in local.pid while its process lives. */
static void mark_local(sweep_view_t *v, const char *dir) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/local.pid", dir);
  FILE *f = fopen(path, "r");
  if (!f) return;
  long pid = 0;
  int task = -1;
  if (fscanf(f, "%ld %d", &pid, &task) == 2 && pid > 0 && kill((pid_t)pid, 0) == 0)
    for (int i = 0; i < v->m.nrows; i++)
      if (v->m.rows[i].task == task) v->queue[i] = SWEEP_Q_RUNNING;
  fclose(f);
}

/* Keeps candidate in path when it exists and is newer than what path holds (*when). */
static void newer_log(const char *candidate, char *path, size_t cap, time_t *when) {
  struct stat st;
  if (stat(candidate, &st) != 0 || !S_ISREG(st.st_mode) || (path[0] && st.st_mtime < *when))
    return;
  snprintf(path, cap, "%s", candidate);
  *when = st.st_mtime;
}

int sweep_task_log(const sweep_view_t *v, const char *dir, int i, char *path, size_t cap) {
  const sweep_row_t *r = &v->m.rows[i];
  char candidate[PATH_MAX + 64];
  time_t when = 0;
  path[0] = 0;
  snprintf(candidate, sizeof candidate, "%s/logs/local_%d.out", dir, r->task);
  newer_log(candidate, path, cap, &when);
  for (int s = 0; s < v->nsubs; s++) {
    if (strcmp(v->subs[s].array, r->array)) continue;
    snprintf(candidate, sizeof candidate, "%s/logs/%s_%d.out", dir, v->subs[s].job, r->index);
    newer_log(candidate, path, cap, &when);
  }
  return path[0] != 0;
}

int sweep_view_load(sweep_view_t *v, const char *dir) {
  memset(v, 0, sizeof *v);
  TRY(sweep_manifest_read(dir, &v->m));
  TRY(sweep_submissions_read(dir, &v->subs, &v->nsubs));
  int n = v->m.nrows;
  v->files = dpt_alloc((size_t)(n + 1) * sizeof *v->files);
  v->queue = dpt_alloc((size_t)(n + 1) * sizeof *v->queue);
  v->submitted = dpt_alloc((size_t)(n + 1) * sizeof *v->submitted);
  v->state = dpt_alloc((size_t)(n + 1) * sizeof *v->state);
  for (int i = 0; i < n; i++) sweep_task_files(dir, &v->m.rows[i], &v->files[i]);
  for (int s = 0; s < v->nsubs; s++) {
    mark_t mk = {v, v->subs[s].array, SWEEP_Q_NONE};
    sweep_index_each(v->subs[s].indices, mark_submitted, &mk);
  }
  v->queue_asked = v->nsubs && sweep_have_cmd("squeue");
  if (v->queue_asked) {
    v->queue_ok = sweep_squeue(&v->m, queue_line, v) == 0;
    if (!v->queue_ok) snprintf(v->queue_error, sizeof v->queue_error, "%s", dpt_errmsg());
    dpt_clear_error();
  }
  mark_local(v, dir);
  for (int i = 0; i < n; i++) {
    char log[PATH_MAX];
    v->files[i].has_log = v->submitted[i] && sweep_task_log(v, dir, i, log, sizeof log);
    v->state[i] = sweep_task_state(&v->files[i], v->queue[i], v->submitted[i]);
  }
  return 0;
fail:
  sweep_view_free(v);
  return -1;
}
