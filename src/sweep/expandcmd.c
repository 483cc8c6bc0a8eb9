/* expandcmd.c - dpt-sweep expand: from a spec file to a sweep directory. Loads and
 * expands the spec within the cluster's MaxArraySize, refuses to expand over a sweep
 * whose tasks are queued or running, writes the directory, and prints what it made and
 * the core-hours it will take. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../config/config.h"
#include "../core/err.h"
#include "../core/fsutil.h"
#include "../core/strlist.h"
#include "commands.h"
#include "estimate.h"
#include "launch.h"
#include "slurm.h"
#include "textio.h"
#include "sweep.h"
#include "view.h"

/* 0 when dir is no sweep yet, or none of its tasks is queued or running. Re-expanding
 * reassigns array indices: a queued or running task would then train another task's
 * run. */
static int refuse_busy_sweep(const char *dir) {
  char path[2 * PATH_MAX + 96];
  snprintf(path, sizeof path, "%s/manifest.tsv", dir);
  if (!dpt_file_exists(path)) return 0;
  sweep_view_t v;
  TRY(sweep_view_load(&v, dir));
  int rc = 0, busy = 0, first = -1;
  if (v.queue_asked && !v.queue_ok)
    rc = dpt_fail("%s: squeue did not answer (%s), so it is unknown whether tasks of this "
                  "sweep are queued; --force refuses to expand over it", dir, v.queue_error);
  for (int i = 0; rc == 0 && i < v.m.nrows; i++)
    if (v.state[i] == TASK_RUNNING || v.state[i] == TASK_PENDING) {
      if (first < 0) first = i;
      busy++;
    }
  if (busy)
    rc = dpt_fail("%s: %d task(s) of this sweep are queued or running (task %d: %s[%d] %s); "
                  "expanding over it would give their array indices to other tasks; wait, "
                  "or scancel them first", dir, busy, v.m.rows[first].task,
                  v.m.rows[first].array, v.m.rows[first].index, sweep_state_names[v.state[first]]);
  sweep_view_free(&v);
  return rc;
fail:
  return -1;
}

/* The most tasks per array: the option, else the spec's, else the cluster's, else
 * Slurm's default 1001. Array indices run to MaxArraySize - 1: more tasks per array
 * than the cluster takes would fail at submission. */
static int max_array_size(const sweep_expand_opts_t *o, const sweep_spec_t *spec, int *max) {
  int cluster = sweep_cluster_max_array_size();
  const char *from = o->max_array_size ? "--max-array-size" : "resources.max_array_size";
  *max = o->max_array_size ? o->max_array_size : spec->res.max_array_size;
  if (*max && cluster && *max > cluster)
    return dpt_fail("%s: %s %d exceeds this cluster's MaxArraySize %d (scontrol show config)",
                    o->spec, from, *max, cluster);
  if (!*max) *max = cluster ? cluster : 1001;
  return 0;
}

static void print_plan(const sweep_spec_t *spec, const sweep_plan_t *plan, const char *out_dir,
                       const char *bin) {
  printf("sweep %s: %d task(s) from %d combination(s)", spec->name, plan->ntasks, plan->ncombos);
  if (plan->nexcluded) printf(", %d excluded", plan->nexcluded);
  if (plan->nduplicates) printf(", %d duplicate config(s) merged", plan->nduplicates);
  printf(", %d array job(s) -> %s\n", plan->narrays, out_dir);
  for (int a = 0; a < plan->narrays && a < 20; a++)
    printf("  a%d: %d task(s), %d rank(s) each, %d min\n", a, plan->arrays[a].ntasks,
           plan->arrays[a].ranks, plan->arrays[a].time_min);
  if (plan->narrays > 20) printf("  ... (%d more in arrays.tsv)\n", plan->narrays - 20);
  char tput[PATH_MAX + 32];
  snprintf(tput, sizeof tput, "%s/../build/throughput.txt", bin);
  sweep_estimate_print(stdout, plan, getenv("DPT_THROUGHPUT") ? getenv("DPT_THROUGHPUT") : tput);
}

/* Writes the planned sweep: the templates' directory and the sweep directory made
 * absolute (job scripts run elsewhere), jobs starting in this working directory. */
static int write_plan(const sweep_expand_opts_t *o, const sweep_spec_t *spec,
                      const sweep_plan_t *plan, const char *bin) {
  char dir[2 * PATH_MAX + 64], jobs[PATH_MAX + 32], cwd[PATH_MAX], def[PATH_MAX + 16];
  char out_def[PATH_MAX + 16];
  const char *jobs_dir = o->jobs_dir ? o->jobs_dir : getenv("DPT_JOBS_DIR");
  if (!jobs_dir) {
    snprintf(def, sizeof def, "%s/../jobs", bin);
    jobs_dir = def;
  }
  if (!realpath(jobs_dir, jobs)) snprintf(jobs, sizeof jobs, "%s", jobs_dir);
  if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, ".");
  const char *out_dir = o->out_dir;
  if (!out_dir) {
    snprintf(out_def, sizeof out_def, "runs/%s", spec->name);
    out_dir = out_def;
  }
  snprintf(dir, sizeof dir, "%s%s%s", out_dir[0] == '/' ? "" : cwd, out_dir[0] == '/' ? "" : "/",
           out_dir);
  sweep_write_opts_t w = {jobs, bin, cwd, o->force};
  char manifest[sizeof dir + 16];
  snprintf(manifest, sizeof manifest, "%s/manifest.tsv", dir);
  /* over a sweep: not while a submit or run-local works on it */
  int lock = o->force && dpt_file_exists(manifest) ? sweep_lock(dir) : 0;
  TRY(lock);
  int rc = o->force ? refuse_busy_sweep(dir) : 0;
  if (rc == 0) rc = sweep_write(spec, plan, dir, &w);
  if (lock > 0) close(lock);
  TRY(rc);
  print_plan(spec, plan, out_dir, bin);
  return 0;
fail:
  return -1;
}

/* One warning line per distinct data.path of the tasks that names no file (relative
 * paths resolve in this directory, where the jobs start): the sweep is still written,
 * the data may be imported before it runs. */
static void warn_missing_datasets(const sweep_plan_t *plan) {
  strlist_t seen = {0};
  for (int t = 0; t < plan->ntasks; t++) {
    const char *path = plan->tasks[t].data_path;
    if (strlist_find(&seen, path) >= 0) continue;
    strlist_push(&seen, path);
    if (!dpt_file_exists(path))
      fprintf(stderr, "dpt-sweep: warning: dataset %s (data.path) does not exist; import it "
              "before the tasks run (dpt-data)\n", path);
  }
  strlist_free(&seen);
}

int sweep_cmd_expand(const sweep_expand_opts_t *o) {
  sweep_spec_t spec;
  sweep_plan_t plan = {0};
  char bin[PATH_MAX];
  int max = 0, rc = -1;
  sweep_bin_dir(bin, sizeof bin);
  if (sweep_spec_load(&spec, o->spec, o->sets, o->nsets) == 0 &&
      max_array_size(o, &spec, &max) == 0 && sweep_expand(&spec, max, &plan) == 0)
    rc = write_plan(o, &spec, &plan, bin);
  if (rc == 0) warn_missing_datasets(&plan);
  sweep_plan_free(&plan);
  sweep_spec_free(&spec);
  return rc;
}
