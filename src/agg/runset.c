/* runset.c - finding run.h5 files and reading each through the run-file module (see
 * runset.h): a run file is a few kilobytes plus its ledger (/rounds, a row of 88 bytes
 * in memory per communication round, kept with the run). */
#include "runset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/err.h"
#include "../core/strlist.h"
#include "../sweep/sweep.h"

/* ---------------------------------------------------------------- reading one file */

static char *run_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return dpt_strdup(".");
  size_t n = (size_t)(slash - path);
  char *d = dpt_alloc(n + 2);
  memcpy(d, path, n ? n : 1);
  return d;
}

/* The run file's view for tables: every column the file holds as doubles, the rest of
 * the file kept. */
static void take_runfile(agg_run_t *run, runfile_t *f) {
  const run_info_t *in = &f->info;
  run->n = f->metrics.n;
  for (int c = 0; c < RUN_M_COUNT; c++) {
    if (!(f->has_metric & (1u << c))) continue;
    run->metric[c] = dpt_alloc(sizeof(double) * (size_t)(run->n ? run->n : 1));
    for (int64_t i = 0; i < run->n; i++)
      run->metric[c][i] = run_metrics_value(&f->metrics, (run_metric_t)c, i);
  }
  run->epochs_run = in->epochs_run;
  run->best_epoch = in->best_epoch;
  run->stopped_early = in->stopped_early;
  run->best_val_acc = in->best_val_acc;
  run->wall_time = in->wall_time;
  run->has_test = in->has_test;
  run->test_loss_last = in->test_loss_last;
  run->test_acc_last = in->test_acc_last;
  run->test_loss_best = in->test_loss_best;
  run->test_acc_best = in->test_acc_best;
  run_metrics_free(&f->metrics);
  run->file = *f;
  snprintf(run->method, sizeof run->method, "%s", runfile_method(&run->file));
  if (run->file.config_yaml) sweep_hash(run->file.config_yaml, run->hash);
}

int agg_run_read(const char *path, agg_run_t *run) {
  memset(run, 0, sizeof *run);
  runfile_t f;
  if (runfile_read(path, &f) < 0) {
    /* The caller names the file; keep only the reason. */
    const char *msg = dpt_errmsg();
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') {
      char *reason = dpt_strdup(msg + n + 2);
      dpt_fail("%s", reason);
      dpt_free(reason);
    }
    return -1;
  }
  run->path = dpt_strdup(path);
  run->dir = run_dir(path);
  take_runfile(run, &f);
  return 0;
}

void agg_run_free(agg_run_t *run) {
  runfile_free(&run->file);
  for (int m = 0; m < RUN_M_COUNT; m++) dpt_free(run->metric[m]);
  dpt_free(run->path);
  dpt_free(run->dir);
  memset(run, 0, sizeof *run);
}

const char *agg_run_config(const agg_run_t *run, const char *key) {
  return runfile_config(&run->file, key);
}

/* ---------------------------------------------------------------- finding files */

/* Appends every file named run.h5 below dir. Symbolic links to directories are not
 * followed (no cycles); a link named run.h5 is read like a file. */
static void walk(const char *dir, strlist_t *out) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    size_t n = strlen(dir) + strlen(e->d_name) + 2;
    char *p = dpt_alloc(n);
    snprintf(p, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
    struct stat st;
    if (!strcmp(e->d_name, "run.h5")) {
      strlist_push(out, p);
    } else if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
      walk(p, out);
    }
    dpt_free(p);
  }
  closedir(d);
}

static void add_skip(agg_runset_t *set, const char *path, const char *reason) {
  if (set->nskips == set->capskips) {
    set->capskips = set->capskips ? 2 * set->capskips : 16;
    set->skips = dpt_realloc(set->skips, sizeof(agg_skip_t) * (size_t)set->capskips);
  }
  set->skips[set->nskips++] = (agg_skip_t){dpt_strdup(path), dpt_strdup(reason)};
}

void agg_runset_collect(agg_runset_t *set, const char *const *paths, int npaths,
                        int include_unfinished) {
  strlist_t files = {0};
  for (int i = 0; i < npaths; i++) {
    struct stat st;
    if (stat(paths[i], &st) != 0) {
      add_skip(set, paths[i], strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
      int before = files.n;
      walk(paths[i], &files);
      strlist_sort(&files, before);
      if (files.n == before) add_skip(set, paths[i], "no run.h5 below this directory");
    } else {
      strlist_push(&files, paths[i]);
    }
  }
  for (int i = 0; i < files.n; i++) {
    agg_run_t run;
    if (agg_run_read(files.v[i], &run) < 0) {
      add_skip(set, files.v[i], dpt_errmsg());
    } else if (run.file.info.status != RUN_STATUS_COMPLETE && !include_unfinished) {
      char reason[96];
      snprintf(reason, sizeof reason, "%s, %lld epoch%s recorded (--include-unfinished counts it)",
               run.file.status_word, (long long)run.n, run.n == 1 ? "" : "s");
      add_skip(set, files.v[i], reason);
      agg_run_free(&run);
    } else {
      if (run.file.info.status != RUN_STATUS_COMPLETE) set->nunfinished++;
      if (set->nruns == set->capruns) {
        set->capruns = set->capruns ? 2 * set->capruns : 64;
        set->runs = dpt_realloc(set->runs, sizeof(agg_run_t) * (size_t)set->capruns);
      }
      set->runs[set->nruns++] = run;
    }
  }
  strlist_free(&files);
  dpt_clear_error();
}

void agg_runset_free(agg_runset_t *set) {
  for (int i = 0; i < set->nruns; i++) agg_run_free(&set->runs[i]);
  for (int i = 0; i < set->nskips; i++) {
    dpt_free(set->skips[i].path);
    dpt_free(set->skips[i].reason);
  }
  dpt_free(set->runs);
  dpt_free(set->skips);
  memset(set, 0, sizeof *set);
}
