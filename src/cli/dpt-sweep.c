/* dpt-sweep - expands sweep specs into Slurm array jobs; submits, reports, resubmits,
 * or runs them one after another on a machine without Slurm.
 *   dpt-sweep expand sweeps/demo.yaml -o runs/demo
 *   dpt-sweep submit runs/demo      dpt-sweep status runs/demo
 *   dpt-sweep resubmit runs/demo    dpt-sweep run-local runs/demo */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/exitcodes.h"
#include "../core/fsutil.h"
#include "../sweep/proc.h"
#include "../sweep/progress.h"
#include "../sweep/estimate.h"
#include "../sweep/sweep.h"
#include "../sweep/verify.h"

#define MAX_SETS 256

static void usage(FILE *out) {
  fprintf(out,
"usage: dpt-sweep expand SPEC.yaml [-o DIR] [--set KEY=VALUE]... [--force]\n"
"                        [--max-array-size N] [--jobs DIR]\n"
"       dpt-sweep submit DIR [--dry-run] [--force]\n"
"       dpt-sweep status DIR [--summary]\n"
"       dpt-sweep resubmit DIR [--dry-run]\n"
"       dpt-sweep run-local DIR [--dry-run]\n"
"       dpt-sweep results DIR\n"
"       dpt-sweep complete RUN_DIR\n"
"       dpt-sweep verify DIR [TASK...] [--ranks P] [--keep]\n"
"\n"
"expand     validates every task of a sweep spec (sweeps/*.yaml) as dpt-train would and\n"
"           writes DIR (default runs/NAME): one resolved config per task in\n"
"           tasks/HASH/ (the hash of the config, so one config is one run), manifest.tsv,\n"
"           and one Slurm array script per resource shape in jobs/. --set applies to\n"
"           every task; --force expands over an existing sweep, keeping finished runs\n"
"           (refused while tasks of it are queued or running: squeue).\n"
"submit     submits the array jobs (tasks already done are left out) and the\n"
"           aggregation job after them (--dependency=afterany); records the job ids.\n"
"status     per task and in total: done, running, pending, interrupted, failed,\n"
"           never started, from the run files and squeue; per running task its epoch\n"
"           of E, last validation accuracy (- without a validation split) and ETA,\n"
"           and the sweep's ETA (as of each run's last finished epoch).\n"
"resubmit   submits only the tasks that are neither done nor queued, as index lists.\n"
"run-local  runs the tasks not done one after another with mpirun, no Slurm needed.\n"
"results    each task's axis values and final accuracies (Markdown).\n"
"complete   exits 0 when RUN_DIR/run.h5 is a complete run, else 1 (the job scripts'\n"
"           check; no HDF5 tools needed).\n"
"verify     reruns the given tasks (number or hash; default every task) from their\n"
"           configs on P ranks (default the task's own) in a scratch directory under\n"
"           $TMPDIR, and compares metrics, results and weights_crc32 bitwise with the\n"
"           recorded run.h5: prints match or the first difference (exit status 1).\n"
"\n"
"--dry-run prints the commands instead of running them.\n"
"exit status: 0 ok, 1 error (run-local: a task failed), 2 bad usage\n");
}

/* ---- processes ---- */

/* s (may be NULL) with the formatted text appended; returns the grown string. */
static char *append(char *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *append(char *s, const char *fmt, ...) {
  size_t len = s ? strlen(s) : 0;
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  s = dpt_realloc(s, len + (size_t)n + 1);
  vsnprintf(s + len, (size_t)n + 1, fmt, again);
  va_end(again);
  return s;
}

static int have_cmd(const char *name) {
  const char *path = getenv("PATH");
  if (!path) return 0;
  char buf[4096];
  for (const char *p = path; *p;) {
    size_t n = strcspn(p, ":");
    snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, name);
    if (access(buf, X_OK) == 0) return 1;
    p += n;
    if (*p) p++;
  }
  return 0;
}

static void print_cmd(char *const argv[]) {
  for (int i = 0; argv[i]; i++) printf("%s%s", i ? " " : "", argv[i]);
  printf("\n");
}

/* Where this binary lives, so job scripts find dpt-train beside it. */
static void self_dir(char *buf, size_t cap) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    snprintf(buf, cap, ".");
    return;
  }
  exe[n] = 0;
  dpt_dirname(buf, cap, exe);
}

/* Slurm's MaxArraySize when a cluster is configured and answers, else 0. */
static int cluster_max_array_size(void) {
  if (!have_cmd("scontrol") || (!getenv("SLURM_CONF") && !dpt_file_exists("/etc/slurm/slurm.conf")))
    return 0;
  char *out;
  char *argv[] = {"scontrol", "show", "config", NULL};
  int v = 0;
  if (sweep_run_cmd(argv, &out, 0, NULL) == 0) {
    char *p = strstr(out, "\nMaxArraySize");
    if (p && (p = strchr(p, '='))) v = atoi(p + 1);
  }
  dpt_free(out);
  dpt_clear_error();
  return v > 0 ? v : 0;
}

/* ---- expand ---- */

static int refuse_busy_sweep(const char *dir);

static int cmd_expand(int argc, char **argv) {
  const char *out_dir = NULL, *jobs_dir = NULL;
  const char *sets[MAX_SETS];
  int nsets = 0, force = 0, max_array = 0;
  enum { O_SET = 256, O_FORCE, O_MAX, O_JOBS };
  static const struct option opts[] = {
      {"output", required_argument, 0, 'o'}, {"set", required_argument, 0, O_SET},
      {"force", no_argument, 0, O_FORCE}, {"max-array-size", required_argument, 0, O_MAX},
      {"jobs", required_argument, 0, O_JOBS}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
    switch (c) {
      case 'o': out_dir = optarg; break;
      case O_SET:
        if (nsets == MAX_SETS) goto usage_error;
        sets[nsets++] = optarg;
        break;
      case O_FORCE: force = 1; break;
      case O_MAX:
        max_array = atoi(optarg);
        if (max_array < 1) {
          fprintf(stderr, "dpt-sweep: --max-array-size: expected an integer >= 1, got '%s'\n", optarg);
          goto usage_error;
        }
        break;
      case O_JOBS: jobs_dir = optarg; break;
      case 'h': usage(stdout); return DPT_EXIT_OK;
      default: goto usage_error;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "dpt-sweep expand: expected one spec file\n");
    goto usage_error;
  }
  const char *spec_path = argv[optind];
  sweep_spec_t spec;
  sweep_plan_t plan;
  if (sweep_spec_load(&spec, spec_path, sets, nsets) < 0) {
    fprintf(stderr, "dpt-sweep: %s\n", dpt_errmsg());
    sweep_spec_free(&spec);
    return DPT_EXIT_ERROR;
  }
  /* Array indices run to MaxArraySize - 1: more tasks per array than the cluster takes
   * would fail at submission. */
  int cluster_max = cluster_max_array_size();
  const char *max_from = max_array ? "--max-array-size" : "resources.max_array_size";
  if (!max_array) max_array = spec.res.max_array_size;
  if (max_array && cluster_max && max_array > cluster_max) {
    fprintf(stderr, "dpt-sweep: %s: %s %d exceeds this cluster's MaxArraySize %d (scontrol "
            "show config)\n", spec_path, max_from, max_array, cluster_max);
    sweep_spec_free(&spec);
    return DPT_EXIT_ERROR;
  }
  if (!max_array) max_array = cluster_max ? cluster_max : 1001;
  if (sweep_expand(&spec, max_array, &plan) < 0) {
    fprintf(stderr, "dpt-sweep: %s\n", dpt_errmsg());
    sweep_spec_free(&spec);
    return DPT_EXIT_ERROR;
  }
  char dir[2 * PATH_MAX + 64], bin[PATH_MAX], jobs[PATH_MAX + 32], cwd[PATH_MAX], def[PATH_MAX + 16];
  self_dir(bin, sizeof bin);
  if (!jobs_dir) jobs_dir = getenv("DPT_JOBS_DIR");
  if (!jobs_dir) {
    snprintf(def, sizeof def, "%s/../jobs", bin);
    jobs_dir = def;
  }
  if (!realpath(jobs_dir, jobs)) snprintf(jobs, sizeof jobs, "%s", jobs_dir);
  if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, ".");
  if (!out_dir) {
    snprintf(def, sizeof def, "runs/%s", spec.name);
    out_dir = def;
  }
  snprintf(dir, sizeof dir, "%s%s%s", out_dir[0] == '/' ? "" : cwd, out_dir[0] == '/' ? "" : "/",
           out_dir);
  sweep_write_opts_t o = {jobs, bin, cwd, force};
  /* Re-expanding reassigns array indices: a queued or running task would then train
   * another task's run. */
  int rc = force ? refuse_busy_sweep(dir) : 0;
  if (rc == 0) rc = sweep_write(&spec, &plan, dir, &o);
  if (rc < 0) {
    fprintf(stderr, "dpt-sweep: %s\n", dpt_errmsg());
  } else {
    printf("sweep %s: %d task(s) from %d combination(s)", spec.name, plan.ntasks, plan.ncombos);
    if (plan.nexcluded) printf(", %d excluded", plan.nexcluded);
    if (plan.nduplicates) printf(", %d duplicate config(s) merged", plan.nduplicates);
    printf(", %d array job(s) -> %s\n", plan.narrays, out_dir);
    for (int a = 0; a < plan.narrays && a < 20; a++)
      printf("  a%d: %d task(s), %d rank(s) each, %d min\n", a, plan.arrays[a].ntasks,
             plan.arrays[a].ranks, plan.arrays[a].time_min);
    if (plan.narrays > 20) printf("  ... (%d more in arrays.tsv)\n", plan.narrays - 20);
    char tput[PATH_MAX + 32];
    snprintf(tput, sizeof tput, "%s/../build/throughput.txt", bin);
    sweep_estimate_print(stdout, &plan, getenv("DPT_THROUGHPUT") ? getenv("DPT_THROUGHPUT") : tput);
  }
  sweep_plan_free(&plan);
  sweep_spec_free(&spec);
  return rc < 0 ? DPT_EXIT_ERROR : DPT_EXIT_OK;
usage_error:
  fprintf(stderr, "run 'dpt-sweep --help' for usage\n");
  return DPT_EXIT_USAGE;
}

/* ---- the state of every task ---- */

typedef struct {
  sweep_manifest_t m;
  sweep_submission_t *subs;
  int nsubs;
  sweep_task_files_t *files;
  const char **queue;   /* per row: squeue's state word, or NULL */
  int *submitted;       /* per row */
  sweep_state_t *state; /* per row */
  int queue_ok;         /* squeue answered */
  char queue_error[512];/* else why not */
  char *queue_text;
} sweep_view_t;

static void view_free(sweep_view_t *v) {
  sweep_manifest_free(&v->m);
  sweep_submissions_free(v->subs, v->nsubs);
  dpt_free(v->files);
  dpt_free(v->queue);
  dpt_free(v->submitted);
  dpt_free(v->state);
  dpt_free(v->queue_text);
}

/* Row of (array, index), or -1. */
static int row_of(const sweep_manifest_t *m, const char *array, int index) {
  /* Rows are in task order and each array's indices ascend: scan is fine at these sizes,
   * but start from a guess for large sweeps. */
  for (int i = 0; i < m->nrows; i++)
    if (m->rows[i].index == index && !strcmp(m->rows[i].array, array)) return i;
  return -1;
}

/* Marks every row of `array` whose index is in list ("0-5%2", "1,3-4") with fn. */
static void each_index(const char *list, void (*fn)(void *ctx, int idx), void *ctx) {
  const char *p = list;
  while (*p && *p != '%') {
    char *end;
    long a = strtol(p, &end, 10), b = a;
    if (end == p) break;
    p = end;
    if (*p == '-') {
      b = strtol(p + 1, &end, 10);
      p = end;
    }
    for (long i = a; i <= b && i - a < 10000000; i++) fn(ctx, (int)i);
    if (*p == ',') p++;
  }
}

typedef struct {
  sweep_view_t *v;
  const char *array;
  const char *state;
} mark_t;

static void mark_submitted(void *ctx, int idx) {
  mark_t *mk = ctx;
  int r = row_of(&mk->v->m, mk->array, idx);
  if (r >= 0) mk->v->submitted[r] = 1;
}

static int queue_rank(const char *s) { /* prefer what is alive */
  if (!s) return 0;
  if (!strcmp(s, "RUNNING") || !strcmp(s, "COMPLETING")) return 3;
  if (!strcmp(s, "PENDING") || !strncmp(s, "REQUEUE", 7)) return 2;
  return 1;
}

static void mark_queue(void *ctx, int idx) {
  mark_t *mk = ctx;
  int r = row_of(&mk->v->m, mk->array, idx);
  if (r >= 0 && queue_rank(mk->state) > queue_rank(mk->v->queue[r])) mk->v->queue[r] = mk->state;
}

static int view_load(sweep_view_t *v, const char *dir) {
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
    mark_t mk = {v, v->subs[s].array, NULL};
    each_index(v->subs[s].indices, mark_submitted, &mk);
  }
  /* Slurm's queue (accounting may be off: squeue, not sacct): only our own jobs of this
   * sweep's names, read whole (sweep_run_cmd refuses a truncated answer). */
  if (v->nsubs && have_cmd("squeue")) {
    char *names = NULL;
    for (int a = 0; a <= v->m.narrays; a++)
      names = append(names, "%s%s-%s", names ? "," : "--name=", v->m.name,
                     a < v->m.narrays ? v->m.arrays[a].array : "aggregate");
    char *argv[] = {"squeue", "--me", "-h", "-r", names, "-o", "%i %T", NULL};
    int st = sweep_run_cmd(argv, &v->queue_text, 0, NULL);
    dpt_free(names);
    if (st == 0) {
      v->queue_ok = 1;
      for (char *line = strtok(v->queue_text, "\n"); line; line = strtok(NULL, "\n")) {
        char *sp = strchr(line, ' '), *us = strchr(line, '_');
        if (!sp || !us || us > sp) continue;
        *sp = 0;
        *us = 0;
        const char *idx = us + 1;
        if (*idx == '[') idx++;
        for (int s = 0; s < v->nsubs; s++)
          if (!strcmp(v->subs[s].job, line)) {
            mark_t mk = {v, v->subs[s].array, sp + 1};
            each_index(idx, mark_queue, &mk);
          }
      }
    } else {
      snprintf(v->queue_error, sizeof v->queue_error, "%s",
               st < 0 ? dpt_errmsg() : "squeue failed");
    }
    dpt_clear_error();
  }
  /* run-local marks the task it runs in local.pid. */
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/local.pid", dir);
  FILE *f = fopen(path, "r");
  if (f) {
    long pid = 0;
    int task = -1;
    if (fscanf(f, "%ld %d", &pid, &task) == 2 && pid > 0 && kill((pid_t)pid, 0) == 0)
      for (int i = 0; i < n; i++)
        if (v->m.rows[i].task == task) v->queue[i] = "RUNNING";
    fclose(f);
  }
  for (int i = 0; i < n; i++)
    v->state[i] = sweep_task_state(&v->files[i], v->queue[i], v->submitted[i]);
  return 0;
fail:
  return -1;
}

/* 0 when dir is no sweep yet, or none of its tasks is queued or running. */
static int refuse_busy_sweep(const char *dir) {
  char path[2 * PATH_MAX + 96];
  snprintf(path, sizeof path, "%s/manifest.tsv", dir);
  if (!dpt_file_exists(path)) return 0;
  sweep_view_t v;
  int rc = view_load(&v, dir);
  if (rc == 0 && v.nsubs && have_cmd("squeue") && !v.queue_ok)
    rc = dpt_fail("%s: squeue did not answer (%s), so it is unknown whether tasks of this "
                  "sweep are queued; --force refuses to expand over it", dir, v.queue_error);
  int busy = 0, first = -1;
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
  view_free(&v);
  return rc;
}

static int dir_arg(int argc, char **argv, const char *cmd, const char **dir) {
  if (optind != argc - 1) {
    fprintf(stderr, "dpt-sweep %s: expected one sweep directory\n", cmd);
    return -1;
  }
  *dir = argv[optind];
  return 0;
}

/* ---- status ---- */

static int cmd_status(int argc, char **argv) {
  int summary = 0;
  static const struct option opts[] = {{"summary", no_argument, 0, 's'},
                                       {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "sh", opts, NULL)) != -1) {
    if (c == 's') summary = 1;
    else if (c == 'h') { usage(stdout); return 0; }
    else goto usage_error;
  }
  const char *dir;
  if (dir_arg(argc, argv, "status", &dir) < 0) goto usage_error;
  sweep_view_t v;
  if (view_load(&v, dir) < 0) {
    fprintf(stderr, "dpt-sweep: %s\n", dpt_errmsg());
    view_free(&v);
    return DPT_EXIT_ERROR;
  }
  int count[TASK_NSTATES] = {0};
  for (int i = 0; i < v.m.nrows; i++) count[v.state[i]]++;
  if (!summary) {
    printf("task\tjob\tstate\tattempts");
    for (int a = 0; a < v.m.naxes; a++) printf("\t%s", v.m.axes[a]);
    printf("\n");
    for (int i = 0; i < v.m.nrows; i++) {
      const sweep_row_t *r = &v.m.rows[i];
      printf("%d\t%s[%d]\t%s\t%d", r->task, r->array, r->index, sweep_state_names[v.state[i]],
             v.files[i].attempts);
      for (int a = 0; a < v.m.naxes; a++) printf("\t%s", r->values[a]);
      printf("\n");
    }
  }
  char eta[32];
  sweep_progress_report(stdout, dir, &v.m, v.state, eta, sizeof eta);
  if (v.nsubs && !v.queue_ok)
    printf("note: squeue did not answer; states come from the run files only\n");
  printf("total %d task(s):", v.m.nrows);
  for (int s = 0; s < TASK_NSTATES; s++) printf("%s %d %s", s ? "," : "", count[s], sweep_state_names[s]);
  printf("\n");
  int width = 40, done = count[TASK_DONE], n = v.m.nrows;
  int fill = n ? (int)((long)done * width / n) : 0;
  printf("[");
  for (int i = 0; i < width; i++) putchar(i < fill ? '#' : '-');
  printf("] %d/%d done (%d%%)  ETA %s\n", done, n, n ? (int)(100L * done / n) : 0, eta);
  view_free(&v);
  return DPT_EXIT_OK;
usage_error:
  fprintf(stderr, "run 'dpt-sweep --help' for usage\n");
  return DPT_EXIT_USAGE;
}

/* ---- submit and resubmit ---- */

static int parse_job_id(const char *out, char *job, size_t cap) {
  size_t n = strspn(out, "0123456789");
  if (!n || n >= cap) return -1;
  snprintf(job, cap, "%.*s", (int)n, out);
  return 0;
}

/* sbatch --parsable script [option]: the job id, or -1 naming what went wrong. */
static int sbatch(const char *option, const char *script, char *job, size_t cap) {
  char *out = NULL;
  char *argv[] = {"sbatch", "--parsable", (char *)(option ? option : script),
                  (char *)(option ? script : NULL), NULL};
  int st = sweep_run_cmd(argv, &out, 0, NULL);
  int rc = 0;
  if (st < 0) rc = dpt_wrap("sbatch %s", script);
  else if (st != 0 || parse_job_id(out, job, cap) < 0)
    rc = dpt_fail("sbatch %s failed (status %d): %s", script, st, out ? out : "");
  dpt_free(out);
  return rc;
}

/* Submits, per array, the tasks that are not done (resubmit: nor queued), then the
 * aggregation behind them. The --array and --dependency options are built whole: a
 * shortened list would silently leave tasks out. */
static int submit(const char *dir, int dry_run, int force, int resubmit) {
  sweep_view_t v;
  int rc = -1, nnew = 0;
  char abs[PATH_MAX], script[PATH_MAX + 64], job[64];
  char *dep = NULL;
  sweep_submission_t *subs = NULL;
  if (view_load(&v, dir) < 0) goto done;
  if (!realpath(dir, abs)) snprintf(abs, sizeof abs, "%s", dir);
  if (!resubmit && v.nsubs && !force) {
    dpt_fail("%s was already submitted (job %s); see dpt-sweep status, then dpt-sweep "
             "resubmit for the tasks that did not finish, or submit --force", dir, v.subs[0].job);
    goto done;
  }
  if (resubmit && v.nsubs && !v.queue_ok && !dry_run) {
    dpt_fail("squeue did not answer (%s), so queued tasks cannot be told apart; try again",
             v.queue_error);
    goto done;
  }
  if (!dry_run && !have_cmd("sbatch")) {
    dpt_fail("sbatch not found: no Slurm here; dpt-sweep run-local %s runs the tasks with "
             "mpirun", dir);
    goto done;
  }
  subs = dpt_alloc((size_t)(v.m.narrays + 1) * sizeof *subs);
  dep = append(NULL, "--dependency=afterany");
  int *idx = dpt_alloc((size_t)(v.m.nrows + 1) * sizeof *idx);
  for (int a = 0; a < v.m.narrays; a++) {
    int n = 0;
    for (int i = 0; i < v.m.nrows; i++) {
      if (strcmp(v.m.rows[i].array, v.m.arrays[a].array)) continue;
      sweep_state_t s = v.state[i];
      if (s == TASK_DONE || (resubmit && (s == TASK_RUNNING || s == TASK_PENDING))) continue;
      idx[n++] = v.m.rows[i].index;
    }
    if (!n) continue;
    char *list = sweep_index_list(idx, n, v.m.arrays[a].throttle);
    char *array_opt = append(NULL, "--array=%s", list);
    dpt_free(list);
    snprintf(script, sizeof script, "%s/jobs/%s.sbatch", abs, v.m.arrays[a].array);
    if (dry_run) {
      printf("sbatch --parsable %s %s\n", array_opt, script);
      dpt_free(array_opt);
      continue;
    }
    int st = sbatch(array_opt, script, job, sizeof job);
    dpt_free(array_opt);
    if (st < 0) {
      dpt_free(idx);
      sweep_submissions_append(dir, subs, nnew); /* keep what was submitted */
      goto done;
    }
    subs[nnew].job = dpt_strdup(job);
    snprintf(subs[nnew].array, sizeof subs[nnew].array, "%s", v.m.arrays[a].array);
    subs[nnew++].indices = sweep_index_list(idx, n, 0);
    printf("submitted %s: job %s, %d task(s)\n", v.m.arrays[a].array, job, n);
    dep = append(dep, ":%s", job);
  }
  dpt_free(idx);
  if (!dry_run && !nnew) {
    printf("nothing to submit: every task is done%s\n", resubmit ? " or queued" : "");
    rc = 0;
    goto done;
  }
  snprintf(script, sizeof script, "%s/jobs/aggregate.sbatch", abs);
  const char *after = nnew ? dep : NULL;
  if (dry_run) {
    printf("sbatch --parsable%s%s %s\n", after ? " " : "", after ? after : "", script);
    rc = 0;
    goto done;
  }
  if (sbatch(after, script, job, sizeof job) < 0) {
    sweep_submissions_append(dir, subs, nnew);
    goto done;
  }
  subs[nnew].job = dpt_strdup(job);
  snprintf(subs[nnew].array, sizeof subs[nnew].array, "aggregate");
  subs[nnew++].indices = dpt_strdup("-");
  printf("submitted aggregate: job %s, after %s\n", job, dep + strlen("--dependency="));
  rc = sweep_submissions_append(dir, subs, nnew);
done:
  dpt_free(dep);
  sweep_submissions_free(subs, nnew);
  view_free(&v);
  return rc;
}

static int cmd_submit(int argc, char **argv, int resubmit) {
  int dry_run = 0, force = 0;
  static const struct option opts[] = {{"dry-run", no_argument, 0, 'n'},
                                       {"force", no_argument, 0, 'f'},
                                       {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "nfh", opts, NULL)) != -1) {
    if (c == 'n') dry_run = 1;
    else if (c == 'f' && !resubmit) force = 1;
    else if (c == 'h') { usage(stdout); return 0; }
    else goto usage_error;
  }
  const char *dir;
  if (dir_arg(argc, argv, resubmit ? "resubmit" : "submit", &dir) < 0) goto usage_error;
  if (submit(dir, dry_run, force, resubmit) < 0) {
    fprintf(stderr, "dpt-sweep: %s\n", dpt_errmsg());
    return DPT_EXIT_ERROR;
  }
  return DPT_EXIT_OK;
usage_error:
  fprintf(stderr, "run 'dpt-sweep --help' for usage\n");
  return DPT_EXIT_USAGE;
}

/* ---- run-local and verify ---- */

/* The command that trains config cfg into run_dir on np ranks, into args (room for 16;
 * the caller may add 6 and must end it with NULL); returns its length, or -1 when it
 * needs mpirun and there is none. */
static int train_args(char *args[16], int use_mpirun, char *np, char *train, char *cfg,
                      char *run_dir) {
  int n = 0;
  if (use_mpirun) {
    args[n++] = "mpirun";
    if (geteuid() == 0) args[n++] = "--allow-run-as-root";
    args[n++] = "--oversubscribe";
    args[n++] = "-np";
    args[n++] = np;
  } else if (strcmp(np, "1")) {
    return -1;
  }
  args[n++] = train;
  args[n++] = "-c";
  args[n++] = cfg;
  args[n++] = "--run-dir";
  args[n++] = run_dir;
  return n;
}

/* dpt-train beside this binary, or $DPT_TRAIN. */
static void train_path(char *buf, size_t cap) {
  const char *env_train = getenv("DPT_TRAIN");
  char bin[PATH_MAX];
  self_dir(bin, sizeof bin);
  if (env_train) snprintf(buf, cap, "%s", env_train);
  else snprintf(buf, cap, "%s/dpt-train", bin);
}

static int cmd_run_local(int argc, char **argv) {
  int dry_run = 0;
  static const struct option opts[] = {{"dry-run", no_argument, 0, 'n'},
                                       {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
    if (c == 'n') dry_run = 1;
    else if (c == 'h') { usage(stdout); return 0; }
    else goto usage_error;
  }
  const char *dir;
  if (dir_arg(argc, argv, "run-local", &dir) < 0) goto usage_error;
  sweep_view_t v;
  if (view_load(&v, dir) < 0) {
    fprintf(stderr, "dpt-sweep: %s\n", dpt_errmsg());
    view_free(&v);
    return DPT_EXIT_ERROR;
  }
  char train[PATH_MAX + 16], cfg[PATH_MAX], run_dir[PATH_MAX], log[PATH_MAX];
  char np[16], pidpath[PATH_MAX];
  train_path(train, sizeof train);
  int use_mpirun = have_cmd("mpirun");
  int failed = 0, ran = 0, todo = 0;
  for (int i = 0; i < v.m.nrows; i++) todo += v.state[i] != TASK_DONE;
  snprintf(pidpath, sizeof pidpath, "%s/local.pid", dir);
  for (int i = 0; i < v.m.nrows; i++) {
    const sweep_row_t *r = &v.m.rows[i];
    if (v.state[i] == TASK_DONE) continue;
    if (v.state[i] == TASK_RUNNING || v.state[i] == TASK_PENDING) {
      printf("task %d: %s in Slurm; skipped\n", r->task, sweep_state_names[v.state[i]]);
      continue;
    }
    snprintf(cfg, sizeof cfg, "%s/%s/config.yaml", dir, r->run_dir);
    snprintf(run_dir, sizeof run_dir, "%s/%s", dir, r->run_dir);
    snprintf(log, sizeof log, "%s/logs/local_%d.out", dir, r->task);
    snprintf(np, sizeof np, "%d", r->ranks);
    char *args[16];
    int n = train_args(args, use_mpirun, np, train, cfg, run_dir);
    if (n < 0) {
      fprintf(stderr, "dpt-sweep: task %d needs %d ranks and mpirun is missing\n", r->task, r->ranks);
      failed++;
      continue;
    }
    args[n++] = "--resume"; /* an interrupted task continues from its checkpoint */
    args[n++] = "auto";
    args[n] = NULL;
    if (dry_run) {
      print_cmd(args);
      continue;
    }
    ran++;
    printf("task %d (%d/%d, %d rank(s)):", r->task, ran, todo, r->ranks);
    for (int a = 0; a < v.m.naxes; a++) printf(" %s=%s", v.m.axes[a], r->values[a]);
    printf("\n");
    fflush(stdout);
    FILE *pf = fopen(pidpath, "w");
    if (pf) {
      fprintf(pf, "%ld %d\n", (long)getpid(), r->task);
      fclose(pf);
    }
    time_t t0 = time(NULL);
    int st = sweep_run_cmd(args, NULL, 0, log);
    if (st < 0) {
      fprintf(stderr, "dpt-sweep: %s\n", dpt_errmsg());
      st = 127;
    }
    char apath[PATH_MAX];
    snprintf(apath, sizeof apath, "%s/%s/attempts.tsv", dir, r->run_dir);
    FILE *af = fopen(apath, "a");
    if (af) {
      char when[32];
      time_t now = time(NULL);
      strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", localtime(&now));
      fprintf(af, "local\t%d\t0\t%d\t%s\n", r->index, st, when);
      fclose(af);
    }
    sweep_task_files_t f;
    sweep_task_files(dir, r, &f);
    if (st == 0 && !strcmp(f.run_status, "complete")) {
      printf("  done in %lds", (long)(time(NULL) - t0));
      if (f.has_results) printf(", test accuracy %.4f (last) %.4f (best)", f.test_acc_last, f.test_acc_best);
      printf("\n");
    } else {
      printf("  FAILED (exit status %d); log: %s\n", st, log);
      failed++;
    }
    fflush(stdout);
  }
  unlink(pidpath);
  if (!dry_run) printf("run-local: %d task(s) run, %d failed\n", ran, failed);
  view_free(&v);
  return failed ? DPT_EXIT_ERROR : DPT_EXIT_OK;
usage_error:
  fprintf(stderr, "run 'dpt-sweep --help' for usage\n");
  return DPT_EXIT_USAGE;
}

/* ---- verify ---- */

/* The manifest row of task `arg` (its number or its hash), or -1. */
static int row_of_task(const sweep_manifest_t *m, const char *arg) {
  for (int i = 0; i < m->nrows; i++) {
    char num[16];
    snprintf(num, sizeof num, "%d", m->rows[i].task);
    if (!strcmp(arg, num) || !strcmp(arg, m->rows[i].hash)) return i;
  }
  return -1;
}

/* Reruns row r's config on np ranks into scratch and compares with its run.h5: 0 match,
 * 1 differs or the rerun failed, -1 error. */
static int verify_task(const char *dir, const sweep_row_t *r, const char *scratch, char *np) {
  char train[PATH_MAX + 16], cfg[2 * PATH_MAX], run_dir[PATH_MAX + 64];
  char log[PATH_MAX + 80], recorded[2 * PATH_MAX], rerun[PATH_MAX + 80], diff[512];
  train_path(train, sizeof train);
  snprintf(cfg, sizeof cfg, "%s/%s/config.yaml", dir, r->run_dir);
  snprintf(recorded, sizeof recorded, "%s/%s/run.h5", dir, r->run_dir);
  snprintf(run_dir, sizeof run_dir, "%s/task-%d-p%s", scratch, r->task, np);
  snprintf(log, sizeof log, "%s.log", run_dir);
  snprintf(rerun, sizeof rerun, "%s/run.h5", run_dir);
  sweep_task_files_t f;
  sweep_task_files(dir, r, &f);
  if (strcmp(f.run_status, "complete"))
    return dpt_fail("task %d (%s): no complete run.h5 to compare with (%s)", r->task,
                    r->hash, f.run_status[0] ? f.run_status : "no run file");
  char *args[24];
  int n = train_args(args, have_cmd("mpirun"), np, train, cfg, run_dir);
  if (n < 0) return dpt_fail("task %d: %s ranks need mpirun, which is missing", r->task, np);
  /* The rerun writes no results row and no checkpoint outside its scratch directory. */
  args[n++] = "--set";
  args[n++] = "experiment.output=";
  args[n++] = "--set";
  args[n++] = "experiment.checkpoint_dir=";
  args[n] = NULL;
  printf("task %d (%s) on %s rank(s): ", r->task, r->hash, np);
  fflush(stdout);
  int st = sweep_run_cmd(args, NULL, 0, log);
  if (st != 0) {
    if (st < 0) return -1;
    printf("rerun FAILED (exit status %d); log: %s\n", st, log);
    return 1;
  }
  int rc = sweep_verify_compare(recorded, rerun, diff, sizeof diff);
  if (rc == 0) printf("match\n");
  else if (rc == 1) printf("DIFFERS: %s\n", diff);
  else printf("\n");
  return rc;
}

static int cmd_verify(int argc, char **argv) {
  const char *ranks = NULL;
  int keep = 0;
  static const struct option opts[] = {{"ranks", required_argument, 0, 'p'},
                                       {"keep", no_argument, 0, 'k'},
                                       {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "p:kh", opts, NULL)) != -1) {
    if (c == 'p') ranks = optarg;
    else if (c == 'k') keep = 1;
    else if (c == 'h') { usage(stdout); return 0; }
    else goto usage_error;
  }
  char *end = NULL;
  long p = ranks ? strtol(ranks, &end, 10) : 1;
  if (ranks && (end == ranks || *end || p < 1 || p > 1024)) {
    fprintf(stderr, "dpt-sweep verify: --ranks: expected an integer in [1, 1024], got '%s'\n",
            ranks);
    goto usage_error;
  }
  if (optind >= argc) {
    fprintf(stderr, "dpt-sweep verify: expected a sweep directory\n");
    goto usage_error;
  }
  const char *dir = argv[optind++];
  sweep_manifest_t m;
  if (sweep_manifest_read(dir, &m) < 0) {
    fprintf(stderr, "dpt-sweep: %s\n", dpt_errmsg());
    return DPT_EXIT_ERROR;
  }
  int *rows = dpt_alloc((size_t)(m.nrows + argc) * sizeof *rows), nrows = 0;
  for (int i = optind; i < argc; i++)
    if ((rows[nrows++] = row_of_task(&m, argv[i])) < 0) {
      fprintf(stderr, "dpt-sweep verify: %s: no task '%s' (a task number or hash of "
              "manifest.tsv)\n", dir, argv[i]);
      dpt_free(rows);
      sweep_manifest_free(&m);
      return DPT_EXIT_ERROR;
    }
  if (!nrows) /* every task */
    for (int i = 0; i < m.nrows; i++) rows[nrows++] = i;
  const char *tmp = getenv("TMPDIR");
  char scratch[PATH_MAX];
  snprintf(scratch, sizeof scratch, "%s/dpt-verify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  int differ = 0, errors = 0, made = mkdtemp(scratch) != NULL;
  if (!made) {
    fprintf(stderr, "dpt-sweep: %s: cannot create: %s\n", scratch, strerror(errno));
    errors++;
  }
  for (int i = 0; !errors && i < nrows; i++) {
    char np[16];
    snprintf(np, sizeof np, "%ld", ranks ? p : (long)m.rows[rows[i]].ranks);
    int rc = verify_task(dir, &m.rows[rows[i]], scratch, np);
    if (rc < 0) {
      fprintf(stderr, "dpt-sweep: %s\n", dpt_errmsg());
      errors++;
    }
    differ += rc == 1;
  }
  if (!errors) printf("verify: %d task(s), %d match, %d differ\n", nrows, nrows - differ, differ);
  if (keep && made) printf("reruns kept in %s\n", scratch);
  else if (made && sweep_remove_tree(scratch) < 0) fprintf(stderr, "dpt-sweep: %s\n", dpt_errmsg());
  dpt_free(rows);
  sweep_manifest_free(&m);
  return differ || errors ? DPT_EXIT_ERROR : DPT_EXIT_OK;
usage_error:
  fprintf(stderr, "run 'dpt-sweep --help' for usage\n");
  return DPT_EXIT_USAGE;
}

/* ---- results ---- */

static int cmd_results(int argc, char **argv) {
  const char *dir;
  if (dir_arg(argc, argv, "results", &dir) < 0) {
    fprintf(stderr, "run 'dpt-sweep --help' for usage\n");
    return DPT_EXIT_USAGE;
  }
  sweep_view_t v;
  if (view_load(&v, dir) < 0) {
    fprintf(stderr, "dpt-sweep: %s\n", dpt_errmsg());
    view_free(&v);
    return DPT_EXIT_ERROR;
  }
  printf("| task |");
  for (int a = 0; a < v.m.naxes; a++) printf(" %s |", v.m.axes[a]);
  printf(" state | best val acc | test acc (last) | test acc (best) |\n|---:|");
  for (int a = 0; a < v.m.naxes; a++) printf("---|");
  printf("---|---:|---:|---:|\n");
  for (int i = 0; i < v.m.nrows; i++) {
    const sweep_row_t *r = &v.m.rows[i];
    const sweep_task_files_t *f = &v.files[i];
    printf("| %d |", r->task);
    for (int a = 0; a < v.m.naxes; a++) printf(" %s |", r->values[a]);
    printf(" %s |", sweep_state_names[v.state[i]]);
    if (f->has_results)
      printf(" %.4f | %.4f | %.4f |\n", f->best_val_acc, f->test_acc_last, f->test_acc_best);
    else
      printf(" - | - | - |\n");
  }
  view_free(&v);
  return DPT_EXIT_OK;
}

/* ---- complete: the job scripts' check, with dpt's own reader ---- */

static int cmd_complete(int argc, char **argv) {
  if (optind != argc - 1) {
    fprintf(stderr, "dpt-sweep complete: expected one run directory\n"
                    "run 'dpt-sweep --help' for usage\n");
    return DPT_EXIT_USAGE;
  }
  const char *dir = argv[optind];
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/run.h5", dir);
  sweep_task_files_t f;
  sweep_run_file(path, &f);
  if (!strcmp(f.run_status, "complete")) {
    printf("%s: complete\n", path);
    return DPT_EXIT_OK;
  }
  printf("%s: not complete (%s)\n", path, f.run_status[0] ? f.run_status : "no run file");
  return DPT_EXIT_ERROR;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return DPT_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    usage(stdout);
    return DPT_EXIT_OK;
  }
  if (!strcmp(cmd, "--version")) {
    printf("dpt-sweep %s\n", DPT_VERSION);
    return DPT_EXIT_OK;
  }
  optind = 1;
  argc--;
  argv++;
  if (!strcmp(cmd, "expand")) return cmd_expand(argc, argv);
  if (!strcmp(cmd, "submit")) return cmd_submit(argc, argv, 0);
  if (!strcmp(cmd, "resubmit")) return cmd_submit(argc, argv, 1);
  if (!strcmp(cmd, "status")) return cmd_status(argc, argv);
  if (!strcmp(cmd, "run-local")) return cmd_run_local(argc, argv);
  if (!strcmp(cmd, "results")) return cmd_results(argc, argv);
  if (!strcmp(cmd, "complete")) return cmd_complete(argc, argv);
  if (!strcmp(cmd, "verify")) return cmd_verify(argc, argv);
  fprintf(stderr, "dpt-sweep: unknown command '%s' (expand, submit, status, resubmit, "
                  "run-local, results, complete, verify)\nrun 'dpt-sweep --help' for usage\n", cmd);
  return DPT_EXIT_USAGE;
}
