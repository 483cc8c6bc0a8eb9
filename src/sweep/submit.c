/* submit.c - dpt-sweep submit and resubmit: per array job, the tasks that are not done
 * (resubmit: nor queued) as one --array index list, then the aggregation job behind
 * them (--dependency=afterany), each job id recorded in submitted.tsv. The --array and
 * --dependency options are built whole: a shortened list would silently leave tasks
 * out. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/strbuf.h"
#include "commands.h"
#include "slurm.h"
#include "textio.h"
#include "view.h"

typedef struct {
  const sweep_view_t *v;
  const sweep_submit_opts_t *o;
  char dir[PATH_MAX];          /* the sweep directory, absolute */
  sweep_submission_t *subs;    /* made by this call */
  int nsubs;
  strbuf_t dep;                /* "--dependency=afterany:JOB:JOB..." */
} submit_t;

/* Records a submission of job for array (indices as submitted). */
static void record(submit_t *s, const char *job, const char *array, char *indices) {
  sweep_submission_t *r = &s->subs[s->nsubs++];
  r->job = dpt_strdup(job);
  snprintf(r->array, sizeof r->array, "%s", array);
  r->indices = indices;
}

/* The tasks of array a that this submission takes, into idx; returns how many. */
static int pick_tasks(const submit_t *s, int a, int *idx) {
  const sweep_view_t *v = s->v;
  int n = 0;
  for (int i = 0; i < v->m.nrows; i++) {
    if (strcmp(v->m.rows[i].array, v->m.arrays[a].array)) continue;
    sweep_state_t st = v->state[i];
    if (st == TASK_DONE || (s->o->resubmit && (st == TASK_RUNNING || st == TASK_PENDING)))
      continue;
    idx[n++] = v->m.rows[i].index;
  }
  return n;
}

/* Submits (or prints) array a's tasks that are to run; 0 also when there are none. */
static int submit_array(submit_t *s, int a, int *idx) {
  const sweep_array_row_t *ar = &s->v->m.arrays[a];
  int n = pick_tasks(s, a, idx);
  if (!n) return 0;
  char script[PATH_MAX + 64], job[64];
  char *list = sweep_index_list(idx, n, ar->throttle);
  char *array_opt = dpt_strf("--array=%s", list);
  dpt_free(list);
  snprintf(script, sizeof script, "%s/jobs/%s.sbatch", s->dir, ar->array);
  int rc = 0;
  if (s->o->dry_run) {
    printf("sbatch --parsable %s %s\n", array_opt, script);
  } else if ((rc = sweep_sbatch(array_opt, script, job, sizeof job)) == 0) {
    record(s, job, ar->array, sweep_index_list(idx, n, 0));
    printf("submitted %s: job %s, %d task(s)\n", ar->array, job, n);
    strbuf_printf(&s->dep, ":%s", job);
  }
  dpt_free(array_opt);
  return rc;
}

/* The aggregation job, after every array job this call submitted. */
static int submit_aggregate(submit_t *s) {
  char script[PATH_MAX + 64], job[64];
  snprintf(script, sizeof script, "%s/jobs/aggregate.sbatch", s->dir);
  const char *after = s->nsubs ? s->dep.s : NULL;
  if (s->o->dry_run) {
    printf("sbatch --parsable%s%s %s\n", after ? " " : "", after ? after : "", script);
    return 0;
  }
  TRY(sweep_sbatch(after, script, job, sizeof job));
  record(s, job, "aggregate", dpt_strdup("-"));
  printf("submitted aggregate: job %s, after %s\n", job, s->dep.s + strlen("--dependency="));
  return 0;
fail:
  return -1;
}

/* What refuses a submission before anything is submitted. */
static int check_submit(const sweep_view_t *v, const char *dir, const sweep_submit_opts_t *o) {
  if (!o->resubmit && v->nsubs && !o->force)
    return dpt_fail("%s was already submitted (job %s); see dpt-sweep status, then dpt-sweep "
                    "resubmit for the tasks that did not finish, or submit --force", dir,
                    v->subs[0].job);
  if (o->resubmit && v->nsubs && !v->queue_ok && !o->dry_run)
    return dpt_fail("squeue did not answer (%s), so queued tasks cannot be told apart; try "
                    "again", v->queue_error);
  if (!o->dry_run && !sweep_have_cmd("sbatch"))
    return dpt_fail("sbatch not found: no Slurm here; dpt-sweep run-local %s runs the tasks "
                    "with mpirun", dir);
  return 0;
}

int sweep_cmd_submit(const char *dir, const sweep_submit_opts_t *o) {
  sweep_view_t v;
  /* Two submissions at once would each see nothing submitted and submit every task. */
  int lock = o->dry_run ? 0 : sweep_lock(dir);
  if (lock < 0) return -1;
  if (sweep_view_load(&v, dir) < 0) {
    if (lock > 0) close(lock);
    return -1;
  }
  submit_t s = {&v, o, "", dpt_alloc((size_t)(v.m.narrays + 1) * sizeof *s.subs), 0, {0}};
  strbuf_puts(&s.dep, "--dependency=afterany");
  if (!realpath(dir, s.dir)) snprintf(s.dir, sizeof s.dir, "%s", dir);
  int *idx = dpt_alloc((size_t)(v.m.nrows + 1) * sizeof *idx);
  int rc = check_submit(&v, dir, o);
  for (int a = 0; rc == 0 && a < v.m.narrays; a++) rc = submit_array(&s, a, idx);
  dpt_free(idx);
  if (rc == 0 && !o->dry_run && !s.nsubs)
    printf("nothing to submit: every task is done%s\n", o->resubmit ? " or queued" : "");
  else if (rc == 0)
    rc = submit_aggregate(&s);
  /* What was submitted is recorded even when a later submission failed. */
  if (s.nsubs && sweep_submissions_append(dir, s.subs, s.nsubs) < 0) rc = -1;
  sweep_submissions_free(s.subs, s.nsubs);
  strbuf_free(&s.dep);
  sweep_view_free(&v);
  if (lock > 0) close(lock);
  return rc;
}
