/* runlocal.c - dpt-sweep run-local: the tasks that are not done, one after another with
 * mpirun on this machine, no Slurm needed. Each resumes from its checkpoint, appends its
 * attempt to attempts.tsv like a job script does, and is marked in local.pid while it
 * runs, so that status sees it running. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "commands.h"
#include "launch.h"
#include "proc.h"
#include "slurm.h"
#include "textio.h"
#include "view.h"

typedef struct {
  const char *dir;
  char train[PATH_MAX + 16];
  char pidpath[PATH_MAX];
  int use_mpirun, dry_run;
  int ran, todo, failed;
} local_t;

/* "local INDEX 0 STATUS TIME" in the task's attempts.tsv. */
static void record_attempt(const local_t *l, const sweep_row_t *r, int status) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s/attempts.tsv", l->dir, r->run_dir);
  int fd = dpt_open_write(path, O_APPEND); /* never through a planted link */
  FILE *f = fd < 0 ? NULL : fdopen(fd, "a");
  if (!f) {
    if (fd >= 0) close(fd);
    fprintf(stderr, "dpt-sweep: attempts.tsv not written: %s\n", dpt_errmsg());
    return;
  }
  char when[32];
  time_t now = time(NULL);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", localtime(&now));
  fprintf(f, "local\t%d\t0\t%d\t%s\n", r->index, status, when);
  fclose(f);
}

static void announce(local_t *l, const sweep_manifest_t *m, const sweep_row_t *r) {
  printf("task %d (%d/%d, %d rank(s)):", r->task, l->ran, l->todo, r->ranks);
  for (int a = 0; a < m->axes.n; a++) printf(" %s=%s", m->axes.v[a], r->values.v[a]);
  printf("\n");
  fflush(stdout);
  FILE *pf = dpt_fopen_write(l->pidpath);
  if (pf) {
    fprintf(pf, "%ld %d\n", (long)getpid(), r->task);
    fclose(pf);
  }
}

/* Trains row r (or prints its command); a failure is counted, not returned. */
static void run_task(local_t *l, const sweep_manifest_t *m, const sweep_row_t *r) {
  char cfg[PATH_MAX], run_dir[PATH_MAX], log[PATH_MAX], np[16];
  snprintf(cfg, sizeof cfg, "%s/%s/config.yaml", l->dir, r->run_dir);
  snprintf(run_dir, sizeof run_dir, "%s/%s", l->dir, r->run_dir);
  snprintf(log, sizeof log, "%s/logs/local_%d.out", l->dir, r->task);
  snprintf(np, sizeof np, "%d", r->ranks);
  char *args[SWEEP_TRAIN_ARGS];
  int n = sweep_train_args(args, l->use_mpirun, np, l->train, cfg, run_dir);
  if (n < 0) {
    fprintf(stderr, "dpt-sweep: task %d needs %d ranks and mpirun is missing\n", r->task,
            r->ranks);
    l->failed++;
    return;
  }
  args[n++] = "--resume"; /* an interrupted task continues from its checkpoint */
  args[n++] = "auto";
  args[n] = NULL;
  if (l->dry_run) {
    for (int i = 0; args[i]; i++) printf("%s%s", i ? " " : "", args[i]);
    printf("\n");
    return;
  }
  l->ran++;
  announce(l, m, r);
  time_t t0 = time(NULL);
  int st = sweep_run_cmd(args, NULL, 0, log);
  if (st < 0) {
    fprintf(stderr, "dpt-sweep: %s\n", dpt_errmsg());
    st = 127;
  }
  record_attempt(l, r, st);
  sweep_task_files_t f;
  sweep_task_files(l->dir, r, &f);
  if (st == 0 && sweep_run_complete(&f)) {
    printf("  done in %lds", (long)(time(NULL) - t0));
    if (f.has_results)
      printf(", test accuracy %.4f (last) %.4f (best)", f.test_acc_last, f.test_acc_best);
    printf("\n");
  } else {
    printf("  FAILED (exit status %d); log: %s\n", st, log);
    l->failed++;
  }
  fflush(stdout);
}

int sweep_cmd_run_local(const char *dir, int dry_run) {
  sweep_view_t v;
  int lock = dry_run ? 0 : sweep_lock(dir); /* one run-local (or submit) at a time */
  if (lock < 0) return -1;
  if (sweep_view_load(&v, dir) < 0) {
    if (lock > 0) close(lock);
    return -1;
  }
  local_t l = {.dir = dir, .use_mpirun = sweep_have_cmd("mpirun"), .dry_run = dry_run};
  sweep_train_path(l.train, sizeof l.train);
  snprintf(l.pidpath, sizeof l.pidpath, "%s/local.pid", dir);
  for (int i = 0; i < v.m.nrows; i++) l.todo += v.state[i] != TASK_DONE;
  for (int i = 0; i < v.m.nrows; i++) {
    const sweep_row_t *r = &v.m.rows[i];
    if (v.state[i] == TASK_DONE) continue;
    if (v.state[i] == TASK_RUNNING || v.state[i] == TASK_PENDING)
      printf("task %d: %s in Slurm; skipped\n", r->task, sweep_state_names[v.state[i]]);
    else
      run_task(&l, &v.m, r);
  }
  unlink(l.pidpath);
  if (!dry_run) printf("run-local: %d task(s) run, %d failed\n", l.ran, l.failed);
  sweep_view_free(&v);
  if (lock > 0) close(lock);
  return l.failed ? 1 : 0;
}
