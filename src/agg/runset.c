/* runset.c - finding and reading run.h5 files (see runset.h). Reads attributes and the
 * small per-epoch datasets only: a run file is a few kilobytes, so a thousand of them
 * take well under a second. */
#include "runset.h"

#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/err.h"
#include "../io/h5util.h"
#include "../io/runfile.h"

const char *const agg_metric_names[M_COUNT] = {
    "epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "epoch_time",
    "images_per_s", "averagings", "h", "bytes_sent", "comm_time", "compute_time"};

/* ---------------------------------------------------------------- reading one file */

typedef struct {
  agg_run_t *run;
  int cap, rc;
} cfg_ctx_t;

static herr_t config_attr(hid_t g, const char *name, const H5A_info_t *info, void *p) {
  (void)info;
  cfg_ctx_t *c = p;
  char *value = NULL;
  /* Typed (schema 1.1) and string (1.0) values alike, as config text. */
  if (runfile_config_read(g, name, &value) < 0) {
    c->rc = -1;
    return -1;
  }
  agg_run_t *r = c->run;
  if (r->ncfg == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 64;
    r->cfg_key = dpt_realloc(r->cfg_key, sizeof(char *) * (size_t)c->cap);
    r->cfg_val = dpt_realloc(r->cfg_val, sizeof(char *) * (size_t)c->cap);
  }
  r->cfg_key[r->ncfg] = dpt_strdup(name);
  r->cfg_val[r->ncfg++] = value;
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_config(hid_t file, agg_run_t *run) {
  if (H5Lexists(file, "config", H5P_DEFAULT) <= 0) return dpt_fail("no /config group");
  hid_t g = H5Gopen2(file, "config", H5P_DEFAULT);
  if (g < 0) return dpt_fail("cannot open /config");
  cfg_ctx_t c = {run, 0, 0};
  hsize_t idx = 0;
  herr_t e = H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, config_attr, &c);
  H5Gclose(g);
  if (c.rc < 0) return -1;
  if (e < 0) return dpt_fail("cannot list the attributes of /config");
  /* The name index is already sorted; make sure of it, lookups bisect. */
  for (int i = 1; i < run->ncfg; i++)
    if (strcmp(run->cfg_key[i - 1], run->cfg_key[i]) > 0) {
      /* sort pairs: indices by key */
      for (int a = 1; a < run->ncfg; a++)
        for (int b = a; b > 0 && strcmp(run->cfg_key[b - 1], run->cfg_key[b]) > 0; b--) {
          char *t = run->cfg_key[b]; run->cfg_key[b] = run->cfg_key[b - 1]; run->cfg_key[b - 1] = t;
          t = run->cfg_val[b]; run->cfg_val[b] = run->cfg_val[b - 1]; run->cfg_val[b - 1] = t;
        }
      break;
    }
  return 0;
}

static int read_metrics(hid_t file, agg_run_t *run) {
  if (H5Lexists(file, "metrics", H5P_DEFAULT) <= 0) return dpt_fail("no /metrics group");
  hid_t g = H5Gopen2(file, "metrics", H5P_DEFAULT);
  if (g < 0) return dpt_fail("cannot open /metrics");
  int rc = 0, rank;
  hsize_t dims[8];
  if (h5_dataset_dims(g, "epoch", &rank, dims) < 0 || rank != 1) {
    rc = rank != 1 ? dpt_fail("/metrics/epoch is not 1-D") : dpt_wrap("/metrics");
  } else {
    run->n = (int64_t)dims[0];
    for (int m = 0; rc == 0 && m < M_COUNT; m++) {
      const char *name = agg_metric_names[m];
      if (m >= M_REQUIRED && H5Lexists(g, name, H5P_DEFAULT) <= 0) continue;
      if (h5_dataset_dims(g, name, &rank, dims) < 0) {
        rc = dpt_wrap("/metrics");
      } else if (rank != 1 || (int64_t)dims[0] != run->n) {
        rc = dpt_fail("/metrics/%s has %lld values, /metrics/epoch %lld", name,
                      (long long)dims[0], (long long)run->n);
      } else {
        run->metric[m] = dpt_alloc(sizeof(double) * (size_t)(run->n ? run->n : 1));
        if (run->n && h5_read_array(g, name, H5T_NATIVE_DOUBLE, dims[0], run->metric[m]) < 0)
          rc = dpt_wrap("/metrics");
      }
    }
  }
  H5Gclose(g);
  return rc;
}

static int read_results(hid_t file, agg_run_t *run) {
  if (H5Lexists(file, "results", H5P_DEFAULT) <= 0) return dpt_fail("no /results group");
  hid_t g = H5Gopen2(file, "results", H5P_DEFAULT);
  if (g < 0) return dpt_fail("cannot open /results");
  int rc = 0;
  if (h5_read_attr_i64(g, "epochs_run", &run->epochs_run) < 0 ||
      h5_read_attr_i64(g, "best_epoch", &run->best_epoch) < 0 ||
      h5_read_attr_f64(g, "best_val_acc", &run->best_val_acc) < 0 ||
      h5_read_attr_i64(g, "stopped_early", &run->stopped_early) < 0 ||
      h5_read_attr_f64(g, "wall_time", &run->wall_time) < 0) {
    rc = dpt_wrap("/results");
  } else if (H5Aexists(g, "test_acc_last") > 0) {
    run->has_test = 1;
    if (h5_read_attr_f64(g, "test_loss_last", &run->test_loss_last) < 0 ||
        h5_read_attr_f64(g, "test_acc_last", &run->test_acc_last) < 0 ||
        h5_read_attr_f64(g, "test_loss_best", &run->test_loss_best) < 0 ||
        h5_read_attr_f64(g, "test_acc_best", &run->test_acc_best) < 0)
      rc = dpt_wrap("/results");
  }
  H5Gclose(g);
  return rc;
}

static char *run_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return dpt_strdup(".");
  size_t n = (size_t)(slash - path);
  char *d = dpt_alloc(n + 2);
  memcpy(d, path, n ? n : 1);
  return d;
}

int agg_run_read(const char *path, agg_run_t *run) {
  memset(run, 0, sizeof *run);
  run->path = dpt_strdup(path);
  run->dir = run_dir(path);
  hid_t file = h5_open_checked(path, "dpt-run", 1);
  if (file < 0) {
    /* The caller names the file; keep only the reason. */
    const char *msg = dpt_errmsg();
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') {
      char *reason = dpt_strdup(msg + n + 2);
      dpt_fail("%s", reason);
      dpt_free(reason);
    }
    agg_run_free(run);
    return -1;
  }
  int64_t complete = 0;
  char *status = NULL;
  int rc = 0;
  if (H5Aexists(file, "complete") <= 0 || h5_read_attr_i64(file, "complete", &complete) < 0 ||
      complete != 1)
    rc = dpt_fail("no completeness mark: written by a writer that died, not trusted");
  else if (h5_read_attr_str(file, "status", &status) < 0)
    rc = -1;
  else {
    snprintf(run->status, sizeof run->status, "%s", status);
    dpt_free(status);
    if (read_config(file, run) < 0 || read_metrics(file, run) < 0 ||
        read_results(file, run) < 0)
      rc = -1;
    else
      agg_run_method(run, run->method, sizeof run->method);
  }
  H5Fclose(file);
  if (rc < 0) {
    agg_run_free(run);
    return -1;
  }
  return 0;
}

void agg_run_free(agg_run_t *run) {
  for (int i = 0; i < run->ncfg; i++) {
    dpt_free(run->cfg_key[i]);
    dpt_free(run->cfg_val[i]);
  }
  dpt_free(run->cfg_key);
  dpt_free(run->cfg_val);
  for (int m = 0; m < M_COUNT; m++) dpt_free(run->metric[m]);
  dpt_free(run->path);
  dpt_free(run->dir);
  memset(run, 0, sizeof *run);
}

const char *agg_run_config(const agg_run_t *run, const char *key) {
  int lo = 0, hi = run->ncfg - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2, c = strcmp(run->cfg_key[mid], key);
    if (c == 0) return run->cfg_val[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return NULL;
}

/* ---------------------------------------------------------------- finding files */

typedef struct {
  char **v;
  int n, cap;
} strlist_t;

static void strlist_push(strlist_t *l, const char *s) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 256;
    l->v = dpt_realloc(l->v, sizeof(char *) * (size_t)l->cap);
  }
  l->v[l->n++] = dpt_strdup(s);
}

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
      qsort(files.v + before, (size_t)(files.n - before), sizeof(char *), cmp_str);
      if (files.n == before) add_skip(set, paths[i], "no run.h5 below this directory");
    } else {
      strlist_push(&files, paths[i]);
    }
  }
  for (int i = 0; i < files.n; i++) {
    agg_run_t run;
    if (agg_run_read(files.v[i], &run) < 0) {
      add_skip(set, files.v[i], dpt_errmsg());
    } else if (strcmp(run.status, "complete") != 0 && !include_unfinished) {
      char reason[96];
      snprintf(reason, sizeof reason, "%s, %lld epoch%s recorded (--include-unfinished counts it)",
               run.status, (long long)run.n, run.n == 1 ? "" : "s");
      add_skip(set, files.v[i], reason);
      agg_run_free(&run);
    } else {
      if (strcmp(run.status, "complete") != 0) set->nunfinished++;
      if (set->nruns == set->capruns) {
        set->capruns = set->capruns ? 2 * set->capruns : 64;
        set->runs = dpt_realloc(set->runs, sizeof(agg_run_t) * (size_t)set->capruns);
      }
      set->runs[set->nruns++] = run;
    }
    dpt_free(files.v[i]);
  }
  dpt_free(files.v);
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

static const char *config_or(const agg_run_t *run, const char *key, const char *dflt) {
  const char *v = agg_run_config(run, key);
  return v ? v : dflt;
}

void agg_run_method(const agg_run_t *run, char *buf, size_t cap) {
  const char *workers = config_or(run, "model.num_workers", "0");
  if (!strcmp(workers, "0")) {
    snprintf(buf, cap, "centralized"); /* its optimizer is a key of its own */
    return;
  }
  const char *outer = config_or(run, "model.outer.type",
                                !strcmp(config_or(run, "model.slowmo.enabled", "false"), "true")
                                    ? "slowmo" : "none");
  const char *inner = config_or(run, "model.work.optimizer", "SGDM"), *own = "SGDM";
  const char *name = "LocalSGD";
  if (!strcmp(outer, "slowmo")) {
    name = "SlowMo";
  } else if (!strcmp(outer, "nesterov")) {
    int diloco = !strcmp(inner, "AdamW");
    name = diloco ? "DiLoCo" : "LocalSGD+Nesterov";
    own = diloco ? "AdamW" : own;
  }
  int post = strcmp(config_or(run, "model.work.local_from_epoch", "0"), "0") != 0;
  int n = snprintf(buf, cap, "%s%s", post ? "post-local " : "", name);
  if (strcmp(inner, own) && n >= 0 && (size_t)n < cap)
    snprintf(buf + n, cap - (size_t)n, " (%s)", inner);
}
