/* sweepdir.c - writing the sweep directory from a plan: the task configs, sweep.yaml,
 * the batch scripts from the templates in jobs/, arrays.tsv and, last, manifest.tsv
 * (layout in sweep.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/exitcodes.h"
#include "../core/fsutil.h"
#include "../core/readfile.h"
#include "../core/strbuf.h"
#include "sweep.h"
#include "template.h"
#include "textio.h"

/* A manifest cell: tabs and newlines become spaces. */
static void put_cell(strbuf_t *b, const char *text) {
  for (const char *p = text; *p; p++) {
    char c = (*p == '\t' || *p == '\n' || *p == '\r') ? ' ' : *p;
    strbuf_put(b, &c, 1);
  }
}


/* Creates path, which must not exist, with text. */
static int write_new(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
  if (fd < 0) return dpt_fail("cannot create %s: %s", path, strerror(errno));
  size_t n = strlen(text);
  int bad = write(fd, text, n) != (ssize_t)n;
  bad |= close(fd) != 0;
  if (bad) {
    unlink(path);
    return dpt_fail("cannot write %s", path);
  }
  return 0;
}

static int dir_is_empty(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 1;
  struct dirent *e;
  int empty = 1;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
  closedir(d);
  return empty;
}

/* Fills the template jobs_dir/tpl_name into the script at/jobs/name. */
static int write_script(const sweep_write_opts_t *o, const char *tpl_name, const char *at,
                        const char *name, const sweep_subst_t *subs, int nsubs) {
  char path[4200], *text;
  snprintf(path, sizeof path, "%s/%s", o->jobs_dir, tpl_name);
  TRY(sweep_fill_template(path, subs, nsubs, &text));
  snprintf(path, sizeof path, "%s/jobs/%s.sbatch", at, name);
  int rc = sweep_write_text(path, text, SWEEP_RENAME_ONLY, 0755);
  dpt_free(text);
  return rc;
fail:
  return -1;
}

/* The values every script shares, as the templates take them. */
typedef struct {
  const sweep_spec_t *spec;
  const sweep_write_opts_t *o;
  const char *dir;     /* the sweep directory the scripts name */
  const char *at;      /* where they are written now (a temporary directory at first) */
  char *workdir;       /* --chdir */
  char logs[4200];     /* DIR/logs */
} scripts_t;

static int write_array_script(const scripts_t *sc, int a, const sweep_array_t *ar) {
  const sweep_resources_t *res = &sc->spec->res;
  char job[256], array[64], name[16], ranks[16], cpus[16], mem[32], time[32], lead[16];
  char ntasks[16], code[8], requeues[16];
  snprintf(name, sizeof name, "a%d", a);
  snprintf(job, sizeof job, "%s-%s", sc->spec->name, name);
  snprintf(array, sizeof array, "0-%d", ar->ntasks - 1);
  if (res->throttle > 0)
    snprintf(array + strlen(array), sizeof array - strlen(array), "%%%d", res->throttle);
  snprintf(ranks, sizeof ranks, "%d", ar->ranks);
  snprintf(cpus, sizeof cpus, "%d", ar->cpus_per_rank);
  snprintf(mem, sizeof mem, "%dM", ar->mem_per_cpu_mb);
  if (!ar->mem_per_cpu_mb) mem[0] = 0;
  snprintf(time, sizeof time, "%d", ar->time_min);
  snprintf(lead, sizeof lead, "%d", res->signal_lead);
  if (res->signal_lead == 0) lead[0] = 0;
  snprintf(ntasks, sizeof ntasks, "%d", ar->ntasks);
  snprintf(code, sizeof code, "%d", DPT_EXIT_REQUEUE);
  snprintf(requeues, sizeof requeues, "%d", res->max_requeues);
  char *log = sweep_sbatch_word(sc->logs, "/%A_%a.out");
  const sweep_subst_t subs[] = {
      {"SWEEP_NAME", sc->spec->name}, {"SWEEP_DIR", sc->dir}, {"ARRAY_NAME", name},
      {"JOB_NAME", job}, {"ARRAY", array}, {"RANKS", ranks}, {"CPUS_PER_RANK", cpus},
      {"MEM_PER_CPU", mem}, {"TIME", time}, {"PARTITION", res->partition},
      {"ACCOUNT", res->account}, {"SIGNAL_LEAD", lead}, {"LOG_PATTERN", log},
      {"WORKDIR_SBATCH", sc->workdir}, {"DPT_BIN", sc->o->bin_dir}, {"NTASKS", ntasks},
      {"REQUEUE_CODE", code}, {"MAX_REQUEUES", requeues}};
  int rc = write_script(sc->o, "array.sbatch.in", sc->at, name, subs,
                        (int)(sizeof subs / sizeof subs[0]));
  dpt_free(log);
  return rc;
}

static int write_aggregate_script(const scripts_t *sc) {
  char job[256], code[8];
  snprintf(job, sizeof job, "%s-aggregate", sc->spec->name);
  snprintf(code, sizeof code, "%d", DPT_EXIT_SKIPPED);
  char *log = sweep_sbatch_word(sc->logs, "/aggregate_%j.out");
  const sweep_subst_t subs[] = {
      {"SWEEP_NAME", sc->spec->name}, {"SWEEP_DIR", sc->dir}, {"JOB_NAME", job},
      {"PARTITION", sc->spec->res.partition}, {"ACCOUNT", sc->spec->res.account},
      {"LOG_PATTERN", log}, {"WORKDIR_SBATCH", sc->workdir}, {"DPT_BIN", sc->o->bin_dir},
      {"SKIPPED_CODE", code}};
  int rc = write_script(sc->o, "aggregate.sbatch.in", sc->at, "aggregate", subs,
                        (int)(sizeof subs / sizeof subs[0]));
  dpt_free(log);
  return rc;
}

/* jobs/aN.sbatch per array and jobs/aggregate.sbatch, written below at for dir. */
static int write_scripts(const sweep_spec_t *spec, const sweep_plan_t *plan, const char *dir,
                         const char *at, const sweep_write_opts_t *o) {
  scripts_t sc = {spec, o, dir, at, sweep_sbatch_word(o->workdir, NULL), ""};
  snprintf(sc.logs, sizeof sc.logs, "%s/logs", dir);
  int rc = 0;
  for (int a = 0; rc == 0 && a < plan->narrays; a++)
    rc = write_array_script(&sc, a, &plan->arrays[a]);
  /* Scripts of arrays an earlier expansion had and this one has not. */
  for (int a = plan->narrays; rc == 0; a++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/jobs/a%d.sbatch", at, a);
    if (unlink(path) != 0) break;
  }
  if (rc == 0) rc = write_aggregate_script(&sc);
  dpt_free(sc.workdir);
  return rc;
}


/* What refuses the directory before anything is written: paths a job script cannot
 * carry, an existing sweep without force, a directory that is no sweep, a missing
 * template. */
static int check_target(const char *dir, const sweep_write_opts_t *o) {
  char path[4200];
  const char *const paths[][2] = {{"sweep directory", dir}, {"working directory", o->workdir},
                                  {"dpt's bin directory", o->bin_dir}};
  for (int i = 0; i < 3; i++)
    if (!sweep_script_safe(paths[i][1]))
      return dpt_fail("%s '%s': a path with a quote (' or \") or a control character (newline, "
                      "tab) cannot be written into a job script, nor one with a backslash "
                      "(sbatch drops it); spaces, '#' and '%%' are fine",
                      paths[i][0], paths[i][1]);
  snprintf(path, sizeof path, "%s/manifest.tsv", dir);
  int is_sweep = dpt_file_exists(path);
  if (is_sweep && !o->force)
    return dpt_fail("%s is already an expanded sweep; --force expands over it (finished runs "
                    "are kept)", dir);
  if (!is_sweep && !dir_is_empty(dir))
    return dpt_fail("%s exists, is not empty and is not a sweep; refusing to write into it", dir);
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", o->jobs_dir,
             i ? "aggregate.sbatch.in" : "array.sbatch.in");
    if (access(path, R_OK) != 0)
      return dpt_fail("%s: job template missing (--jobs DIR names the templates' directory)",
                      path);
  }
  return 0;
}

/* tasks/HASH/config.yaml of every task. */
static int write_configs(const sweep_plan_t *plan, const char *dir) {
  char path[4200];
  for (int i = 0; i < plan->ntasks; i++) {
    const sweep_task_t *t = &plan->tasks[i];
    snprintf(path, sizeof path, "%s/tasks/%s", dir, t->hash);
    int fresh = mkdir(path, 0777) == 0;
    if (!fresh && errno != EEXIST)
      return dpt_fail("cannot create directory %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/tasks/%s/config.yaml", dir, t->hash);
    if (fresh) { /* write in place: the manifest, published last, vouches for it */
      TRY(write_new(path, t->yaml));
      continue;
    }
    /* Same hash, same config: an intact config.yaml (perhaps of a finished run) stays;
     * one an interrupted expansion left short is replaced. */
    char *old = NULL;
    dpt_read_file_opt(path, DPT_TEXT_MAX, &old, NULL);
    dpt_clear_error();
    int same = old && !strcmp(old, t->yaml);
    dpt_free(old);
    if (!same) TRY(sweep_write_text(path, t->yaml, SWEEP_RENAME_ONLY, 0));
  }
  return 0;
fail:
  return -1;
}

static int write_arrays_tsv(const sweep_spec_t *spec, const sweep_plan_t *plan, const char *dir) {
  char path[4200];
  strbuf_t b = {0};
  strbuf_puts(&b, "array\tranks\ttime_min\tmem_per_cpu_mb\tcpus_per_rank\tthrottle\tntasks\n");
  for (int a = 0; a < plan->narrays; a++) {
    const sweep_array_t *ar = &plan->arrays[a];
    strbuf_printf(&b, "a%d\t%d\t%d\t%d\t%d\t%d\t%d\n", a, ar->ranks, ar->time_min,
                  ar->mem_per_cpu_mb, ar->cpus_per_rank, spec->res.throttle, ar->ntasks);
  }
  snprintf(path, sizeof path, "%s/arrays.tsv", dir);
  int rc = sweep_write_text(path, b.s, SWEEP_RENAME_ONLY, 0);
  strbuf_free(&b);
  return rc;
}

static int write_manifest(const sweep_spec_t *spec, const sweep_plan_t *plan, const char *dir) {
  char path[4200];
  strbuf_t b = {0};
  strbuf_printf(&b, "# dpt-sweep manifest of %s: %d task(s) in %d array job(s), from %s\n",
                spec->name, plan->ntasks, plan->narrays, spec->path);
  strbuf_puts(&b, "task\tarray\tindex\tranks\ttime_min\trun_dir\thash");
  for (int a = 0; a < spec->naxes; a++) {
    strbuf_puts(&b, "\t");
    put_cell(&b, spec->axes[a].key);
  }
  strbuf_puts(&b, "\n");
  for (int i = 0; i < plan->ntasks; i++) {
    const sweep_task_t *t = &plan->tasks[i];
    strbuf_printf(&b, "%d\ta%d\t%d\t%d\t%d\ttasks/%s\t%s", i, t->array, t->index, t->ranks,
                  t->time_min, t->hash, t->hash);
    for (int a = 0; a < spec->naxes; a++) {
      strbuf_puts(&b, "\t");
      put_cell(&b, spec->axes[a].values[t->vi[spec->axes[a].dim]].text);
    }
    strbuf_puts(&b, "\n");
  }
  snprintf(path, sizeof path, "%s/manifest.tsv", dir);
  int rc = sweep_write_text(path, b.s, SWEEP_DURABLE, 0);
  strbuf_free(&b);
  return rc;
}

/* Everything of the sweep below at (the directory itself or its temporary twin), the
 * scripts naming dir; the manifest, which makes it a sweep, last. */
static int write_all(const sweep_spec_t *spec, const sweep_plan_t *plan, const char *dir,
                     const char *at, const sweep_write_opts_t *o) {
  char path[4200];
  const char *subdirs[] = {"", "/tasks", "/jobs", "/logs"};
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s%s", at, subdirs[i]);
    TRY(dpt_mkdirs(path));
  }
  snprintf(path, sizeof path, "%s/sweep.yaml", at);
  TRY(write_configs(plan, at));
  TRY(sweep_write_text(path, spec->text, SWEEP_RENAME_ONLY, 0));
  TRY(write_scripts(spec, plan, dir, at, o));
  TRY(write_arrays_tsv(spec, plan, at));
  /* Everything above reaches the disk before the manifest that makes it a sweep. */
  int fd = open(at, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    syncfs(fd);
    close(fd);
  }
  return write_manifest(spec, plan, at);
fail:
  return -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

/* A new sweep is written into DIR/../.NAME.expand-XXXXXX (mkdtemp: created exclusively,
 * unpredictable) and renamed onto DIR at the end: a failed expansion leaves nothing. */
static int write_fresh(const sweep_spec_t *spec, const sweep_plan_t *plan, const char *dir,
                       const sweep_write_opts_t *o) {
  char parent[4200], tmp[4300];
  dpt_dirname(parent, sizeof parent, dir);
  const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
  snprintf(tmp, sizeof tmp, "%s/.%s.expand-XXXXXX", parent, base);
  TRY(dpt_mkdirs(parent));
  if (!mkdtemp(tmp))
    return dpt_fail("cannot create a directory next to %s: %s", dir, strerror(errno));
  mode_t mask = umask(0);
  umask(mask);
  int rc = chmod(tmp, 0777 & ~mask) == 0 ? write_all(spec, plan, dir, tmp, o) : -1;
  if (rc == 0 && rename(tmp, dir) != 0) /* onto nothing or an empty directory */
    rc = dpt_fail("cannot rename %s to %s: %s", tmp, dir, strerror(errno));
  if (rc < 0) {
    nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return -1;
  }
  int fd = open(parent, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  return 0;
fail:
  return -1;
}

int sweep_write(const sweep_spec_t *spec, const sweep_plan_t *plan, const char *dir,
                const sweep_write_opts_t *o) {
  char path[4200];
  TRY(check_target(dir, o)); /* before anything is written */
  snprintf(path, sizeof path, "%s/manifest.tsv", dir);
  /* --force over a sweep: in place (its finished runs stay), the manifest published last */
  int rc = dpt_file_exists(path) ? write_all(spec, plan, dir, dir, o)
                                  : write_fresh(spec, plan, dir, o);
  return rc < 0 ? dpt_wrap("writing sweep %s", dir) : 0;
fail:
  return -1;
}
