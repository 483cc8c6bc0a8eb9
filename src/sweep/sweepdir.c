/* sweepdir.c - the sweep directory: writing it from a plan (configs, manifest, batch
 * scripts from the templates in jobs/), reading it back, submissions, and each task's
 * state from its files (layout in sweep.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/exitcodes.h"
#include "../core/fsutil.h"
#include "../io/h5util.h"
#include "sweep.h"

const char *const sweep_state_names[TASK_NSTATES] = {
    "done", "running", "pending", "interrupted", "failed", "never started"};

/* ---- a growable string ---- */

typedef struct {
  char *s;
  size_t len, cap;
} buf_t;

static void bput(buf_t *b, const char *text, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = 2 * (b->len + n + 1) + 256;
    b->s = dpt_realloc(b->s, b->cap);
  }
  memcpy(b->s + b->len, text, n);
  b->len += n;
  b->s[b->len] = 0;
}
static void bputs(buf_t *b, const char *text) { bput(b, text, strlen(text)); }
static void bprintf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(buf_t *b, const char *fmt, ...) {
  char tmp[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof tmp) DPT_PANIC("bprintf: line too long");
  bput(b, tmp, (size_t)n);
}
/* A manifest cell: tabs and newlines become spaces. */
static void bcell(buf_t *b, const char *text) {
  for (const char *p = text; *p; p++) {
    char c = (*p == '\t' || *p == '\n' || *p == '\r') ? ' ' : *p;
    bput(b, &c, 1);
  }
}

static char *read_file(const char *path, int missing_ok) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (!(missing_ok && errno == ENOENT)) dpt_fail("%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  buf_t b = {0};
  char chunk[65536];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) bput(&b, chunk, got);
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    dpt_free(b.s);
    dpt_fail("%s: cannot read", path);
    return NULL;
  }
  if (!b.s) bputs(&b, "");
  return b.s;
}

/* Writes text to path through path.tmp; durable = fsync and publish (else rename only,
 * and the caller syncs the file system once). */
static int write_file(const char *path, const char *text, int durable, int mode) {
  char tmp[4200];
  TRY(dpt_tmp_name(tmp, sizeof tmp, path));
  FILE *f = fopen(tmp, "wb");
  if (!f) return dpt_fail("cannot create %s: %s", tmp, strerror(errno));
  size_t n = strlen(text);
  int bad = fwrite(text, 1, n, f) != n;
  bad |= fclose(f) != 0;
  if (bad) {
    unlink(tmp);
    return dpt_fail("cannot write %s: %s", tmp, strerror(errno));
  }
  if (mode) chmod(tmp, (mode_t)mode);
  if (durable) return dpt_publish(tmp, path);
  if (rename(tmp, path) != 0) {
    unlink(tmp);
    return dpt_fail("cannot rename %s to %s: %s", tmp, path, strerror(errno));
  }
  return 0;
fail:
  return -1;
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

/* ---- templates: {{KEY}} is replaced; a line whose key is empty is left out ---- */

typedef struct {
  const char *key, *value;
} subst_t;

static int fill_template(const char *tpl_path, const subst_t *subs, int nsubs, char **out) {
  char *tpl = read_file(tpl_path, 0);
  if (!tpl) return dpt_wrap("job template");
  buf_t b = {0};
  int rc = 0;
  for (char *line = tpl; *line && rc == 0;) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
    buf_t l = {0};
    int drop = 0;
    for (size_t i = 0; i < len;) {
      if (line[i] == '{' && i + 1 < len && line[i + 1] == '{') {
        char *end = strstr(line + i, "}}");
        if (!end || end >= line + len) {
          rc = dpt_fail("%s: unclosed {{ in a line", tpl_path);
          break;
        }
        size_t klen = (size_t)(end - line - i - 2);
        int k = 0;
        for (; k < nsubs; k++)
          if (strlen(subs[k].key) == klen && !strncmp(subs[k].key, line + i + 2, klen)) break;
        if (k == nsubs) {
          rc = dpt_fail("%s: unknown placeholder {{%.*s}}", tpl_path, (int)klen, line + i + 2);
          break;
        }
        if (!*subs[k].value) drop = 1;
        bputs(&l, subs[k].value);
        i = (size_t)(end - line) + 2;
      } else {
        bput(&l, line + i, 1);
        i++;
      }
    }
    if (!drop && l.s) bputs(&b, l.s);
    dpt_free(l.s);
    line += len;
  }
  dpt_free(tpl);
  if (rc < 0) {
    dpt_free(b.s);
    return -1;
  }
  *out = b.s;
  return 0;
}

/* ---- values in #SBATCH lines ---- */

/* sbatch (22.05) splits a directive's arguments at blanks and ends the line at a '#',
 * except inside quotes, which it removes; it has no escapes, so a path goes in double
 * quotes and script_safe() refuses one that holds a quote. In --output, Slurm expands
 * %-patterns: a literal '%' is written '%%' (--chdir takes it as it is). */
static char *sbatch_word(const char *path, const char *pattern) {
  buf_t b = {0};
  bputs(&b, "\"");
  for (const char *p = path; *p; p++) {
    bput(&b, p, 1);
    if (pattern && *p == '%') bput(&b, "%", 1);
  }
  if (pattern) bputs(&b, pattern);
  bputs(&b, "\"");
  return b.s;
}

/* ---- writing ---- */

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

static int write_scripts(const sweep_spec_t *spec, const sweep_plan_t *plan, const char *dir,
                         const sweep_write_opts_t *o) {
  char path[4200], tpl[4200], logs[4200], job[256], array[4096], name[16];
  char ranks[16], cpus[16], mem[32], time[32], lead[16], ntasks[16], code[8], requeues[16];
  snprintf(logs, sizeof logs, "%s/logs", dir);
  snprintf(code, sizeof code, "%d", DPT_EXIT_REQUEUE);
  snprintf(requeues, sizeof requeues, "%d", spec->res.max_requeues);
  char *workdir = sbatch_word(o->workdir, NULL), *log_task = sbatch_word(logs, "/%A_%a.out");
  char *log_agg = sbatch_word(logs, "/aggregate_%j.out");
  int rc = -1;
  snprintf(lead, sizeof lead, "%d", spec->res.signal_lead);
  if (spec->res.signal_lead == 0) lead[0] = 0;
  for (int a = 0; a < plan->narrays; a++) {
    const sweep_array_t *ar = &plan->arrays[a];
    snprintf(name, sizeof name, "a%d", a);
    snprintf(job, sizeof job, "%s-%s", spec->name, name);
    snprintf(array, sizeof array, "0-%d", ar->ntasks - 1);
    if (spec->res.throttle > 0)
      snprintf(array + strlen(array), sizeof array - strlen(array), "%%%d", spec->res.throttle);
    snprintf(ranks, sizeof ranks, "%d", ar->ranks);
    snprintf(cpus, sizeof cpus, "%d", ar->cpus_per_rank);
    snprintf(mem, sizeof mem, "%dM", ar->mem_per_cpu_mb);
    if (!ar->mem_per_cpu_mb) mem[0] = 0;
    snprintf(time, sizeof time, "%d", ar->time_min);
    snprintf(ntasks, sizeof ntasks, "%d", ar->ntasks);
    const subst_t subs[] = {
        {"SWEEP_NAME", spec->name}, {"SWEEP_DIR", dir}, {"ARRAY_NAME", name},
        {"JOB_NAME", job}, {"ARRAY", array}, {"RANKS", ranks}, {"CPUS_PER_RANK", cpus},
        {"MEM_PER_CPU", mem}, {"TIME", time}, {"PARTITION", spec->res.partition},
        {"ACCOUNT", spec->res.account}, {"SIGNAL_LEAD", lead}, {"LOG_PATTERN", log_task},
        {"WORKDIR_SBATCH", workdir}, {"DPT_BIN", o->bin_dir}, {"NTASKS", ntasks},
        {"REQUEUE_CODE", code}, {"MAX_REQUEUES", requeues}};
    char *text;
    snprintf(tpl, sizeof tpl, "%s/array.sbatch.in", o->jobs_dir);
    TRY(fill_template(tpl, subs, (int)(sizeof subs / sizeof subs[0]), &text));
    snprintf(path, sizeof path, "%s/jobs/%s.sbatch", dir, name);
    int wrc = write_file(path, text, 0, 0755);
    dpt_free(text);
    TRY(wrc);
  }
  /* Scripts of arrays an earlier expansion had and this one has not. */
  for (int a = plan->narrays;; a++) {
    snprintf(path, sizeof path, "%s/jobs/a%d.sbatch", dir, a);
    if (unlink(path) != 0) break;
  }
  snprintf(job, sizeof job, "%s-aggregate", spec->name);
  const subst_t subs[] = {{"SWEEP_NAME", spec->name}, {"SWEEP_DIR", dir}, {"JOB_NAME", job},
                          {"PARTITION", spec->res.partition}, {"ACCOUNT", spec->res.account},
                          {"LOG_PATTERN", log_agg}, {"WORKDIR_SBATCH", workdir},
                          {"DPT_BIN", o->bin_dir}};
  char *text;
  snprintf(tpl, sizeof tpl, "%s/aggregate.sbatch.in", o->jobs_dir);
  TRY(fill_template(tpl, subs, (int)(sizeof subs / sizeof subs[0]), &text));
  snprintf(path, sizeof path, "%s/jobs/aggregate.sbatch", dir);
  rc = write_file(path, text, 0, 0755);
  dpt_free(text);
fail:
  dpt_free(workdir);
  dpt_free(log_task);
  dpt_free(log_agg);
  return rc;
}

/* The job scripts quote paths in single quotes for the shell and in double quotes for
 * sbatch (sbatch_word), so quotes and control characters cannot be carried. */
static int script_safe(const char *path) {
  for (const char *p = path; *p; p++)
    if (*p == '\'' || *p == '"' || (unsigned char)*p < 0x20 || *p == 0x7f) return 0;
  return 1;
}

int sweep_write(const sweep_spec_t *spec, const sweep_plan_t *plan, const char *dir,
                const sweep_write_opts_t *o) {
  char path[4200];
  const char *const paths[][2] = {{"sweep directory", dir}, {"working directory", o->workdir},
                                  {"dpt's bin directory", o->bin_dir}};
  for (int i = 0; i < 3; i++)
    if (!script_safe(paths[i][1]))
      return dpt_fail("%s '%s': a path with a quote (' or \") or a control character (newline, "
                      "tab) cannot be written into a job script; spaces, '#' and '%%' are fine",
                      paths[i][0], paths[i][1]);
  snprintf(path, sizeof path, "%s/manifest.tsv", dir);
  int is_sweep = dpt_file_exists(path);
  if (is_sweep && !o->force)
    return dpt_fail("%s is already an expanded sweep; --force expands over it (finished runs "
                    "are kept)", dir);
  if (!is_sweep && !dir_is_empty(dir))
    return dpt_fail("%s exists, is not empty and is not a sweep; refusing to write into it", dir);
  /* The spec is read before anything is written, so a missing template leaves no files. */
  char *spec_text = read_file(spec->path, 0);
  if (!spec_text) return -1;
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", o->jobs_dir,
             i ? "aggregate.sbatch.in" : "array.sbatch.in");
    if (access(path, R_OK) != 0) {
      dpt_free(spec_text);
      return dpt_fail("%s: job template missing (--jobs DIR names the templates' directory)",
                      path);
    }
  }
  const char *subdirs[] = {"", "/tasks", "/jobs", "/logs"};
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s%s", dir, subdirs[i]);
    if (dpt_mkdirs(path) < 0) goto fail;
  }
  for (int i = 0; i < plan->ntasks; i++) {
    const sweep_task_t *t = &plan->tasks[i];
    snprintf(path, sizeof path, "%s/tasks/%s", dir, t->hash);
    int fresh = mkdir(path, 0777) == 0;
    if (!fresh && errno != EEXIST) {
      dpt_fail("cannot create directory %s: %s", path, strerror(errno));
      goto fail;
    }
    snprintf(path, sizeof path, "%s/tasks/%s/config.yaml", dir, t->hash);
    if (fresh) {
      /* A new directory: write in place (the manifest, published last, vouches for it). */
      if (write_new(path, t->yaml) < 0) goto fail;
    } else {
      /* Same hash, same config: an intact config.yaml (perhaps of a finished run) stays;
       * one an interrupted expansion left short is replaced. */
      char *old = read_file(path, 1);
      dpt_clear_error();
      int same = old && !strcmp(old, t->yaml);
      dpt_free(old);
      if (!same && write_file(path, t->yaml, 0, 0) < 0) goto fail;
    }
  }
  snprintf(path, sizeof path, "%s/sweep.yaml", dir);
  if (write_file(path, spec_text, 0, 0) < 0) goto fail;
  if (write_scripts(spec, plan, dir, o) < 0) goto fail;

  buf_t b = {0};
  bputs(&b, "array\tranks\ttime_min\tmem_per_cpu_mb\tcpus_per_rank\tthrottle\tntasks\n");
  for (int a = 0; a < plan->narrays; a++) {
    const sweep_array_t *ar = &plan->arrays[a];
    bprintf(&b, "a%d\t%d\t%d\t%d\t%d\t%d\t%d\n", a, ar->ranks, ar->time_min,
            ar->mem_per_cpu_mb, ar->cpus_per_rank, spec->res.throttle, ar->ntasks);
  }
  snprintf(path, sizeof path, "%s/arrays.tsv", dir);
  int rc = write_file(path, b.s, 0, 0);
  dpt_free(b.s);
  if (rc < 0) goto fail;

  /* Everything above reaches the disk before the manifest that makes it a sweep. */
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    syncfs(fd);
    close(fd);
  }
  b = (buf_t){0};
  bprintf(&b, "# dpt-sweep manifest of %s: %d task(s) in %d array job(s), from %s\n", spec->name,
          plan->ntasks, plan->narrays, spec->path);
  bputs(&b, "task\tarray\tindex\tranks\ttime_min\trun_dir\thash");
  for (int a = 0; a < spec->naxes; a++) {
    bputs(&b, "\t");
    bcell(&b, spec->axes[a].key);
  }
  bputs(&b, "\n");
  for (int i = 0; i < plan->ntasks; i++) {
    const sweep_task_t *t = &plan->tasks[i];
    bprintf(&b, "%d\ta%d\t%d\t%d\t%d\ttasks/%s\t%s", i, t->array, t->index, t->ranks,
            t->time_min, t->hash, t->hash);
    for (int a = 0; a < spec->naxes; a++) {
      bputs(&b, "\t");
      bcell(&b, spec->axes[a].values[t->vi[spec->axes[a].dim]].text);
    }
    bputs(&b, "\n");
  }
  snprintf(path, sizeof path, "%s/manifest.tsv", dir);
  rc = write_file(path, b.s, 1, 0);
  dpt_free(b.s);
  dpt_free(spec_text);
  return rc;
fail:
  dpt_free(spec_text);
  return dpt_wrap("writing sweep %s", dir);
}

/* ---- reading ---- */

/* Splits line (modified) at tabs into at most max fields. */
static int split_tabs(char *line, char **f, int max) {
  int n = 0;
  for (char *p = line; n < max;) {
    f[n++] = p;
    char *t = strchr(p, '\t');
    if (!t) break;
    *t = 0;
    p = t + 1;
  }
  return n;
}

int sweep_manifest_read(const char *dir, sweep_manifest_t *m) {
  memset(m, 0, sizeof *m);
  char path[4200];
  snprintf(path, sizeof path, "%s/manifest.tsv", dir);
  if (!dpt_file_exists(path))
    return dpt_fail("%s: not a sweep directory (no manifest.tsv; dpt-sweep expand makes one)",
                    dir);
  char *text = read_file(path, 0);
  if (!text) return -1;
  m->dir = dpt_strdup(dir);
  char *f[4096];
  int lineno = 0, cols = 0, rc = 0;
  for (char *line = strtok(text, "\n"); line && rc == 0; line = strtok(NULL, "\n")) {
    lineno++;
    static const char head[] = "# dpt-sweep manifest of ";
    if (!strncmp(line, head, sizeof head - 1) && !m->name) {
      size_t n = strcspn(line + sizeof head - 1, ":");
      m->name = dpt_alloc(n + 1);
      memcpy(m->name, line + sizeof head - 1, n);
    }
    if (line[0] == '#') continue;
    int n = split_tabs(line, f, 4096);
    if (!cols) {
      if (n < 7 || strcmp(f[0], "task")) {
        rc = dpt_fail("%s:%d: expected the column header", path, lineno);
        break;
      }
      cols = n;
      m->naxes = n - 7;
      m->axes = dpt_alloc((size_t)(m->naxes + 1) * sizeof *m->axes);
      for (int i = 0; i < m->naxes; i++) m->axes[i] = dpt_strdup(f[7 + i]);
      continue;
    }
    if (n != cols) {
      rc = dpt_fail("%s:%d: %d columns, expected %d", path, lineno, n, cols);
      break;
    }
    if ((m->nrows & (m->nrows - 1)) == 0)
      m->rows = dpt_realloc(m->rows, (size_t)(m->nrows ? 2 * m->nrows : 1) * sizeof *m->rows);
    sweep_row_t *r = &m->rows[m->nrows++];
    memset(r, 0, sizeof *r);
    r->task = atoi(f[0]);
    snprintf(r->array, sizeof r->array, "%s", f[1]);
    r->array_id = atoi(f[1] + 1);
    r->index = atoi(f[2]);
    r->ranks = atoi(f[3]);
    r->time_min = atoi(f[4]);
    r->run_dir = dpt_strdup(f[5]);
    r->hash = dpt_strdup(f[6]);
    r->values = dpt_alloc((size_t)(m->naxes + 1) * sizeof *r->values);
    for (int i = 0; i < m->naxes; i++) r->values[i] = dpt_strdup(f[7 + i]);
  }
  dpt_free(text);
  if (rc == 0 && !m->name)
    rc = dpt_fail("%s: no '# dpt-sweep manifest of NAME' line (dpt-sweep expand writes it)", path);
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/arrays.tsv", dir);
    text = read_file(path, 0);
    if (!text) rc = -1;
    int header = 1;
    for (char *line = text ? strtok(text, "\n") : NULL; line && rc == 0; line = strtok(NULL, "\n")) {
      if (header) {
        header = 0;
        continue;
      }
      int n = split_tabs(line, f, 16);
      if (n != 7) {
        rc = dpt_fail("%s: expected 7 columns", path);
        break;
      }
      m->arrays = dpt_realloc(m->arrays, (size_t)(m->narrays + 1) * sizeof *m->arrays);
      sweep_array_row_t *a = &m->arrays[m->narrays++];
      snprintf(a->array, sizeof a->array, "%s", f[0]);
      a->ranks = atoi(f[1]);
      a->time_min = atoi(f[2]);
      a->mem_per_cpu_mb = atoi(f[3]);
      a->cpus_per_rank = atoi(f[4]);
      a->throttle = atoi(f[5]);
      a->ntasks = atoi(f[6]);
    }
    dpt_free(text);
  }
  if (rc < 0) sweep_manifest_free(m);
  return rc;
}

void sweep_manifest_free(sweep_manifest_t *m) {
  for (int i = 0; i < m->nrows; i++) {
    for (int a = 0; a < m->naxes; a++) dpt_free(m->rows[i].values[a]);
    dpt_free(m->rows[i].values);
    dpt_free(m->rows[i].run_dir);
    dpt_free(m->rows[i].hash);
  }
  for (int a = 0; a < m->naxes; a++) dpt_free(m->axes[a]);
  dpt_free(m->axes);
  dpt_free(m->rows);
  dpt_free(m->arrays);
  dpt_free(m->dir);
  dpt_free(m->name);
  memset(m, 0, sizeof *m);
}

/* ---- submissions ---- */

int sweep_submissions_read(const char *dir, sweep_submission_t **subs, int *n) {
  char path[4200];
  *subs = NULL;
  *n = 0;
  snprintf(path, sizeof path, "%s/submitted.tsv", dir);
  char *text = read_file(path, 1);
  if (!text) return dpt_file_exists(path) ? -1 : 0;
  char *f[4];
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    if (line[0] == '#' || !strncmp(line, "job\t", 4)) continue;
    if (split_tabs(line, f, 4) != 3) continue;
    *subs = dpt_realloc(*subs, (size_t)(*n + 1) * sizeof **subs);
    sweep_submission_t *s = &(*subs)[(*n)++];
    s->job = dpt_strdup(f[0]);
    snprintf(s->array, sizeof s->array, "%s", f[1]);
    s->indices = dpt_strdup(f[2]);
  }
  dpt_free(text);
  return 0;
}

void sweep_submissions_free(sweep_submission_t *subs, int n) {
  for (int i = 0; i < n; i++) {
    dpt_free(subs[i].job);
    dpt_free(subs[i].indices);
  }
  dpt_free(subs);
}

int sweep_submissions_append(const char *dir, const sweep_submission_t *subs, int n) {
  char path[4200];
  snprintf(path, sizeof path, "%s/submitted.tsv", dir);
  char *old = read_file(path, 1);
  if (!old && dpt_file_exists(path)) return -1;
  buf_t b = {0};
  bputs(&b, old && *old ? old : "job\tarray\tindices\n");
  dpt_free(old);
  for (int i = 0; i < n; i++) bprintf(&b, "%s\t%s\t%s\n", subs[i].job, subs[i].array, subs[i].indices);
  int rc = write_file(path, b.s, 1, 0);
  dpt_free(b.s);
  return rc;
}

/* ---- task state ---- */

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
  char *text = read_file(path, 1);
  dpt_clear_error();
  if (text) {
    char *fld[6];
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
      if (split_tabs(line, fld, 6) < 4) continue;
      f->attempts++;
      f->last_exit = atoi(fld[3]);
    }
    dpt_free(text);
  }
}

sweep_state_t sweep_task_state(const sweep_task_files_t *f, const char *q, int submitted) {
  if (!strcmp(f->run_status, "complete")) return TASK_DONE;
  if (q) {
    static const char *const running[] = {"RUNNING", "COMPLETING", "CONFIGURING", "STAGE_OUT",
                                          "SIGNALING", "RESIZING"};
    static const char *const pending[] = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
                                          "SUSPENDED", "RESV_DEL_HOLD", "STOPPED"};
    for (size_t i = 0; i < sizeof running / sizeof running[0]; i++)
      if (!strcmp(q, running[i])) return TASK_RUNNING;
    for (size_t i = 0; i < sizeof pending / sizeof pending[0]; i++)
      if (!strcmp(q, pending[i])) return TASK_PENDING;
    /* Terminal states (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...): the files decide. */
  }
  if (f->last_exit == DPT_EXIT_REQUEUE || !strcmp(f->run_status, "interrupted"))
    return TASK_INTERRUPTED;
  if (f->last_exit > 0 || f->attempts > 0 || f->run_status[0] || submitted) return TASK_FAILED;
  return TASK_NEVER;
}
