/* checkpoint.c - writing and loading checkpoint.h5 (see checkpoint.h).
 *
 * Integrity: every state array carries the zlib crc32 of its bytes (worker rows in
 * /workers/crc32), checked on load; the root attribute `complete` is written last. */
#include "checkpoint.h"

#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "../io/h5util.h"

static int64_t crc_of(const void *data, size_t bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const Bytef *p = data;
  while (bytes > 0) { /* crc32 takes uInt lengths */
    uInt chunk = bytes > (1u << 30) ? (1u << 30) : (uInt)bytes;
    crc = crc32(crc, p, chunk);
    p += chunk;
    bytes -= chunk;
  }
  return (int64_t)crc;
}

static int64_t worker_crc(const worker_t *w, size_t np) {
  uLong crc = (uLong)crc_of(w->params, sizeof(float) * np);
  crc = crc32(crc, (const Bytef *)w->opt.m, (uInt)(sizeof(float) * np));
  if (w->opt.v) crc = crc32(crc, (const Bytef *)w->opt.v, (uInt)(sizeof(float) * np));
  return (int64_t)crc;
}

int ckpt_path_for(const dpt_config_t *cfg, const char *run_dir, char *buf, size_t cap) {
  if (!cfg->checkpoint_dir[0]) {
    if ((size_t)snprintf(buf, cap, "%s/checkpoint.h5", run_dir) >= cap)
      return dpt_fail("%s: path too long", run_dir);
    return 0;
  }
  char *real = realpath(run_dir, NULL), dir[4096];
  if (!real) return dpt_fail("%s: cannot resolve the run directory", run_dir);
  const char *name = strrchr(real, '/');
  name = name && name[1] ? name + 1 : "run";
  int n = snprintf(dir, sizeof dir, "%s/%s-%08llx", cfg->checkpoint_dir, name,
                   (unsigned long long)crc_of(real, strlen(real)));
  free(real);
  if ((size_t)n >= sizeof dir || (size_t)snprintf(buf, cap, "%s/checkpoint.h5", dir) >= cap)
    return dpt_fail("experiment.checkpoint_dir: path too long");
  return dpt_mkdirs(dir) < 0 ? dpt_wrap("experiment.checkpoint_dir") : 0;
}

/* ---------------------------------------------------------------- writing */

typedef struct {
  hid_t file, dxpl;
  int rank, nranks;
  MPI_Comm comm;
  const char *tmp, *path;
  uint32_t no_collective; /* OR of every transfer's global no-collective cause */
} writer_t;

/* Every step of the write is collective: a rank whose step failed (ENOSPC, EIO) would
 * skip the next collective calls and leave the other ranks waiting in them until the
 * wall-time limit. So with several ranks it reports, removes the temporary file and
 * takes the whole job down; the previous checkpoint stays as it was. */
static int ck(writer_t *w, int rc) {
  if (rc == 0 || w->nranks == 1) return rc;
  /* MPI-IO keeps no errno: the usual cause is worth naming */
  struct statvfs fs;
  int full = statvfs(w->tmp, &fs) == 0 && fs.f_bavail == 0;
  fprintf(stderr, "dpt-train: rank %d: writing %s: %s%s; stopping every rank (the previous "
          "checkpoint is kept)\n", w->rank, w->path, dpt_errmsg(),
          full ? " (its file system is full)" : "");
  fflush(stderr);
  unlink(w->tmp);
  MPI_Abort(w->comm, 1);
  return rc;
}

/* One collective transfer into rows [row, row + rows) of a 2-D (or 1-D when cols = 0)
 * dataset; rows = 0 for a rank that contributes nothing to this call. */
static int put_rows(writer_t *w, hid_t dset, hid_t memtype, hsize_t row, hsize_t rows,
                    hsize_t cols, const void *buf) {
  hid_t fspace = H5Dget_space(dset);
  if (H5Sget_simple_extent_npoints(fspace) == 0) { /* e.g. metrics before epoch 1 */
    H5Sclose(fspace);
    return 0;
  }
  int rank = cols ? 2 : 1;
  hsize_t start[2] = {row, 0}, count[2] = {rows, cols};
  hid_t mspace = H5Screate_simple(rank, count, NULL);
  if (rows) {
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  herr_t rc = H5Dwrite(dset, memtype, mspace, fspace, w->dxpl, buf);
  if (rc < 0) dpt_fail("collective write failed: %s", h5_error_cause()); /* before more calls */
  uint32_t local = 0, global = 0;
  H5Pget_mpio_no_collective_cause(w->dxpl, &local, &global);
  w->no_collective |= global;
  H5Sclose(mspace);
  H5Sclose(fspace);
  return ck(w, rc < 0 ? -1 : 0);
}

static hid_t make_dataset(writer_t *w, const char *name, hid_t filetype, hsize_t rows,
                          hsize_t cols) {
  hsize_t dims[2] = {rows, cols};
  hid_t space = H5Screate_simple(cols ? 2 : 1, dims, NULL);
  hid_t dset = H5Dcreate2(w->file, name, filetype, space, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT);
  H5Sclose(space);
  if (dset < 0) ck(w, dpt_fail("cannot create dataset %s: %s", name, h5_error_cause()));
  return dset;
}

/* A state array every rank holds identically: rank 0 writes it, all call. */
static int put_global(writer_t *w, const char *name, hid_t filetype, hid_t memtype,
                      hsize_t n, const void *data, size_t elem) {
  hid_t dset = make_dataset(w, name, filetype, n, 0);
  if (dset < 0) return -1;
  int rc = put_rows(w, dset, memtype, 0, w->rank == 0 ? n : 0, 0, data);
  if (rc == 0) rc = ck(w, h5_attr_i64(dset, "crc32", crc_of(data, elem * n)));
  H5Dclose(dset);
  return rc < 0 ? dpt_wrap("%s", name) : 0;
}

static int put_metric(void *ctx, const char *name, const char *units, int is_int,
                      void *column) {
  writer_t *w = ((void **)ctx)[0];
  const trainer_t *t = ((void **)ctx)[1];
  char path[64];
  snprintf(path, sizeof path, "metrics/%s", name);
  hid_t dset = make_dataset(w, path, is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE,
                            (hsize_t)t->metrics.n, 0);
  if (dset < 0) return -1;
  int rc = put_rows(w, dset, is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, 0,
                    w->rank == 0 ? (hsize_t)t->metrics.n : 0, 0, column);
  if (rc == 0) rc = ck(w, h5_attr_str(dset, "units", units));
  H5Dclose(dset);
  return rc;
}

static int put_workers(writer_t *w, trainer_t *t) {
  size_t np = t->model.nparams;
  hsize_t K = (hsize_t)t->K;
  hid_t params = make_dataset(w, "workers/params", H5T_IEEE_F32LE, K, np);
  hid_t momentum = make_dataset(w, "workers/momentum", H5T_IEEE_F32LE, K, np);
  /* AdamW and LAMB workers: the second moment (every worker has the same optimizer) */
  int has_v = t->workers[0].opt.v != NULL;
  hid_t second = has_v ? make_dataset(w, "workers/second_moment", H5T_IEEE_F32LE, K, np) : 0;
  int rc = params < 0 || momentum < 0 || second < 0 ? -1 : 0;
  /* every rank hosts the same number of workers, so the collective calls pair up */
  for (int i = 0; rc == 0 && i < t->nlocal; i++) {
    const worker_t *wk = &t->workers[i];
    rc = put_rows(w, params, H5T_NATIVE_FLOAT, (hsize_t)wk->id, 1, np, wk->params);
    if (rc == 0) rc = put_rows(w, momentum, H5T_NATIVE_FLOAT, (hsize_t)wk->id, 1, np, wk->opt.m);
    if (rc == 0 && has_v) rc = put_rows(w, second, H5T_NATIVE_FLOAT, (hsize_t)wk->id, 1, np, wk->opt.v);
  }
  if (has_v && second >= 0) H5Dclose(second);
  if (params >= 0) H5Dclose(params);
  if (momentum >= 0) H5Dclose(momentum);
  /* small per-worker counters: gathered to rank 0 (a few bytes each) */
  int64_t *mine = dpt_alloc(sizeof(int64_t) * 4 * (t->nlocal + 1));
  int64_t *all = dpt_alloc(sizeof(int64_t) * 4 * t->K);
  for (int i = 0; i < t->nlocal; i++) {
    const worker_t *wk = &t->workers[i];
    int64_t row[4] = {wk->opt.t, wk->pos, wk->pass, worker_crc(wk, np)};
    memcpy(mine + 4 * i, row, sizeof row);
  }
  MPI_Gather(mine, 4 * t->nlocal, MPI_INT64_T, all, 4 * t->nlocal, MPI_INT64_T, 0,
             t->dist.comm);
  static const char *names[4] = {"workers/step_count", "workers/pos", "workers/pass",
                                 "workers/crc32"};
  int64_t *col = dpt_alloc(sizeof(int64_t) * t->K);
  for (int c = 0; rc == 0 && c < 4; c++) {
    for (int k = 0; k < t->K; k++) col[k] = all[4 * k + c];
    hid_t dset = make_dataset(w, names[c], H5T_STD_I64LE, K, 0);
    rc = dset < 0 ? -1 : put_rows(w, dset, H5T_NATIVE_INT64, 0, w->rank == 0 ? K : 0, 0, col);
    if (dset >= 0) H5Dclose(dset);
  }
  dpt_free(col);
  dpt_free(mine);
  dpt_free(all);
  return rc;
}

static int put_scalars(hid_t file, const trainer_t *t) {
  struct { const char *name; int64_t v; } ints[] = {
      {"nparams", (int64_t)t->model.nparams}, {"num_workers", t->K},
      {"epoch", t->epoch}, {"step", t->step}, {"h", t->H},
      {"averagings_total", t->averagings_total}, {"epoch_averagings", t->epoch_averagings},
      {"since_best", t->since_best}, {"best_epoch", t->info.best_epoch},
      {"stopped_early", t->info.stopped_early}, {"opt_step_count", t->opt.t},
      {"deviation_count", t->deviation_count}, {"item_count", t->item_cap},
      {"outer_steps", t->outer_steps}};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
    if (h5_attr_i64(file, ints[i].name, ints[i].v) < 0) return -1;
  if (h5_attr_f64(file, "best_val", t->best_val) < 0 ||
      h5_attr_f64(file, "best_val_acc", t->info.best_val_acc) < 0 ||
      h5_attr_f64(file, "deviation_sum", t->deviation_sum) < 0 ||
      h5_attr_f64(file, "wall_time", t->info.wall_time) < 0 ||
      h5_attr_str(file, "start_time", t->info.start_time) < 0)
    return -1;
  char *yaml = config_to_yaml(t->cfg);
  int rc = h5_attr_str(file, "config", yaml);
  dpt_free(yaml);
  return rc;
}

static int write_all(writer_t *w, trainer_t *t) {
  size_t np = t->model.nparams;
  const char *groups[] = {"global", "workers", "epoch", "metrics"};
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
    if (i == 1 && !t->K) continue;
    hid_t g = H5Gcreate2(w->file, groups[i], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return ck(w, dpt_fail("cannot create group /%s", groups[i]));
    H5Gclose(g);
  }
  if (ck(w, put_scalars(w->file, t)) < 0 ||
      put_global(w, "global/params", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, np, t->params, 4) < 0 ||
      put_global(w, "global/best_params", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, np, t->best_params, 4) < 0 ||
      put_global(w, "global/opt_m", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, np, t->opt.m, 4) < 0 ||
      (t->opt.v && put_global(w, "global/opt_v", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, np, t->opt.v, 4) < 0) ||
      (t->K && put_global(w, "global/slow_u", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, np, t->outer_buf, 4) < 0) ||
      (t->K && put_workers(w, t) < 0))
    return -1;
  /* the epoch's per-item results so far: each rank's items are its own, so collect */
  double *loss = dpt_alloc(sizeof(double) * t->item_cap);
  int64_t *correct = dpt_alloc(sizeof(int64_t) * t->item_cap);
  memcpy(loss, t->item_loss, sizeof(double) * t->item_cap);
  memcpy(correct, t->item_correct, sizeof(int64_t) * t->item_cap);
  dist_collect_f64(&t->dist, loss, (size_t)t->item_cap);
  dist_sum_i64(&t->dist, correct, (size_t)t->item_cap);
  int rc = put_global(w, "epoch/item_loss", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, t->item_cap, loss, 8);
  if (rc == 0)
    rc = put_global(w, "epoch/item_correct", H5T_STD_I64LE, H5T_NATIVE_INT64, t->item_cap, correct, 8);
  dpt_free(loss);
  dpt_free(correct);
  void *ctx[2] = {w, t};
  if (rc == 0) rc = run_metrics_each(&t->metrics, put_metric, ctx);
  return rc;
}

int ckpt_write(trainer_t *t, const char *path) {
  char tmp[4096], now[32];
  writer_t w = {.rank = t->rank, .nranks = t->nranks, .comm = t->dist.comm, .file = -1,
                .dxpl = -1, .tmp = tmp, .path = path};
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, t->dist.comm, MPI_INFO_NULL);
  w.file = h5_create_tmp(path, tmp, sizeof tmp, "dpt-checkpoint", CKPT_SCHEMA_VERSION,
                         "dpt-train", fapl);
  H5Pclose(fapl);
  int rc = w.file < 0 ? -1 : 0;
  if (rc == 0) {
    /* attributes must be identical on all ranks: rank 0's clock decides */
    h5_iso_time(now, sizeof now);
    MPI_Bcast(now, sizeof now, MPI_CHAR, 0, t->dist.comm);
    w.dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(w.dxpl, H5FD_MPIO_COLLECTIVE);
    rc = ck(&w, h5_attr_str(w.file, "file_time", now));
    if (rc == 0) rc = write_all(&w, t);
    if (rc == 0) rc = ck(&w, h5_attr_i64(w.file, "io_no_collective_cause", (int64_t)w.no_collective));
    if (rc == 0) rc = ck(&w, h5_attr_i64(w.file, "complete", 1)); /* last */
    H5Pclose(w.dxpl);
  }
  /* closing flushes the metadata, collectively: a rank that fails it stops the job too */
  if (w.file >= 0 && H5Fclose(w.file) < 0 && rc == 0)
    rc = ck(&w, dpt_fail("cannot flush and close the file: %s", h5_error_cause()));
  /* all ranks agree before anyone publishes or gives up */
  int ok = rc == 0, all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, t->dist.comm);
  int published = 0;
  if (t->rank == 0) {
    if (all) published = dpt_publish(tmp, path) == 0;
    else unlink(tmp);
  }
  MPI_Bcast(&published, 1, MPI_INT, 0, t->dist.comm);
  if (!published) return rc < 0 ? dpt_wrap("%s", path) : dpt_fail("%s: checkpoint not written", path);
  return 0;
}

/* ---------------------------------------------------------------- loading */

static int get_global(hid_t file, const char *name, hid_t memtype, void *out, size_t n,
                      size_t elem) {
  if (h5_read_array(file, name, memtype, n, out) < 0) return -1;
  hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
  int64_t crc = -1;
  int rc = h5_read_attr_i64(dset, "crc32", &crc);
  H5Dclose(dset);
  if (rc < 0) return dpt_wrap("%s", name);
  if (crc != crc_of(out, n * elem))
    return dpt_fail("%s: checksum mismatch (the file is damaged)", name);
  return 0;
}

/* Row `row` of a (K, np) dataset whose shape load_state checked. */
static int get_worker_row(hid_t file, const char *name, hsize_t row, size_t np, float *out) {
  hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
  if (dset < 0) return dpt_fail("missing dataset %s", name);
  hid_t fspace = H5Dget_space(dset);
  hsize_t start[2] = {row, 0}, count[2] = {1, np};
  H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
  hid_t mspace = H5Screate_simple(2, count, NULL);
  herr_t rc = H5Dread(dset, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, out);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(dset);
  return rc < 0 ? dpt_fail("cannot read %s row %llu (damaged file?)", name, (unsigned long long)row) : 0;
}

/* Keys a resumed run may change without changing the run. */
static int key_may_differ(const char *key) {
  static const char *free_keys[] = {"experiment.resume", "experiment.output",
                                    "experiment.checkpoint_dir", "data.path",
                                    "checkpoint.every_epochs", NULL};
  for (int i = 0; free_keys[i]; i++)
    if (strcmp(key, free_keys[i]) == 0) return 1;
  return 0;
}

typedef struct { char **keys, **values; int n, cap; } keylist_t;

static void collect_key(void *ctx, const char *key, const char *value) {
  keylist_t *l = ctx;
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 64;
    l->keys = dpt_realloc(l->keys, sizeof(char *) * l->cap);
    l->values = dpt_realloc(l->values, sizeof(char *) * l->cap);
  }
  l->keys[l->n] = dpt_strdup(key);
  l->values[l->n++] = dpt_strdup(value);
}

static void keylist_free(keylist_t *l) {
  for (int i = 0; i < l->n; i++) {
    free(l->keys[i]);
    free(l->values[i]);
  }
  free(l->keys);
  free(l->values);
}

/* Refuses a checkpoint of another run, naming every key that differs. */
static int same_run(const char *path, const char *yaml, const dpt_config_t *cfg) {
  dpt_config_t old;
  if (config_load_string(&old, yaml, path, NULL, 0) < 0)
    return dpt_wrap("%s: the stored config does not load", path);
  keylist_t a = {0}, b = {0};
  config_each(&old, collect_key, &a);
  config_each(cfg, collect_key, &b);
  char msg[2048] = "";
  size_t len = 0;
  for (int i = 0; i < a.n && i < b.n; i++)
    if (!key_may_differ(a.keys[i]) && strcmp(a.values[i], b.values[i]) != 0 && len < sizeof msg - 200)
      len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s is %s there, %s here",
                              len ? "; " : "", a.keys[i], a.values[i][0] ? a.values[i] : "(empty)",
                              b.values[i][0] ? b.values[i] : "(empty)");
  keylist_free(&a);
  keylist_free(&b);
  if (len) return dpt_fail("%s belongs to a different run: %s", path, msg);
  return 0;
}

static int get_i64(hid_t file, const char *name, int64_t *v) { return h5_read_attr_i64(file, name, v); }

typedef struct { hid_t file; hsize_t n; } metric_src_t;

static int get_metric(void *ctx, const char *name, const char *units, int is_int, void *column) {
  (void)units;
  if (!column) return 0;
  const metric_src_t *src = ctx;
  char path[64];
  snprintf(path, sizeof path, "metrics/%s", name);
  return h5_read_array(src->file, path, is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE,
                       src->n, column);
}

static int load_state(trainer_t *t, hid_t file, const char *path) {
  size_t np = t->model.nparams;
  int64_t complete = 0, nparams = 0, K = -1, epoch, step, h, items, n_metrics = 0;
  char *yaml = NULL, *start = NULL;
  if (h5_read_attr_i64(file, "complete", &complete) < 0 || complete != 1)
    return dpt_fail("%s: incomplete checkpoint (no 'complete' mark)", path);
  if (h5_read_attr_str(file, "config", &yaml) < 0) return -1;
  int rc = same_run(path, yaml, t->cfg);
  dpt_free(yaml);
  if (rc < 0) return -1;
  if (get_i64(file, "nparams", &nparams) < 0 || get_i64(file, "num_workers", &K) < 0 ||
      get_i64(file, "epoch", &epoch) < 0 || get_i64(file, "step", &step) < 0 ||
      get_i64(file, "h", &h) < 0 || get_i64(file, "item_count", &items) < 0)
    return -1;
  if ((size_t)nparams != np || K != t->K || items != t->item_cap)
    return dpt_fail("%s: holds %lld parameters, %lld workers and %lld epoch items; this run "
                    "has %zu, %d and %lld", path, (long long)nparams, (long long)K,
                    (long long)items, np, t->K, (long long)t->item_cap);
  if (epoch < 0 || epoch > t->cfg->epochs || step < 0 || step > t->item_cap || h < 1 ||
      h > INT_MAX)
    return dpt_fail("%s: epoch %lld, step %lld, h %lld out of range", path, (long long)epoch,
                    (long long)step, (long long)h);
  if (get_global(file, "global/params", H5T_NATIVE_FLOAT, t->params, np, 4) < 0 ||
      get_global(file, "global/best_params", H5T_NATIVE_FLOAT, t->best_params, np, 4) < 0 ||
      get_global(file, "global/opt_m", H5T_NATIVE_FLOAT, t->opt.m, np, 4) < 0 ||
      (t->opt.v && get_global(file, "global/opt_v", H5T_NATIVE_FLOAT, t->opt.v, np, 4) < 0) ||
      (t->K && get_global(file, "global/slow_u", H5T_NATIVE_FLOAT, t->outer_buf, np, 4) < 0) ||
      get_global(file, "epoch/item_loss", H5T_NATIVE_DOUBLE, t->item_loss, items, 8) < 0 ||
      get_global(file, "epoch/item_correct", H5T_NATIVE_INT64, t->item_correct, items, 8) < 0)
    return dpt_wrap("%s", path);
  if (t->K) {
    int64_t *cols[4];
    static const char *names[4] = {"workers/step_count", "workers/pos", "workers/pass", "workers/crc32"};
    hsize_t rows[2] = {(hsize_t)t->K, (hsize_t)np};
    for (int c = 0; c < 4; c++) cols[c] = dpt_alloc(sizeof(int64_t) * t->K);
    for (int c = 0; c < 4 && rc == 0; c++)
      rc = h5_read_array(file, names[c], H5T_NATIVE_INT64, rows[0], cols[c]);
    if (rc == 0) rc = h5_check_dims(file, "workers/params", 2, rows);
    if (rc == 0) rc = h5_check_dims(file, "workers/momentum", 2, rows);
    int has_v = t->workers[0].opt.v != NULL;
    if (rc == 0 && has_v) rc = h5_check_dims(file, "workers/second_moment", 2, rows);
    for (int i = 0; rc == 0 && i < t->nlocal; i++) {
      worker_t *w = &t->workers[i];
      rc = get_worker_row(file, "workers/params", (hsize_t)w->id, np, w->params);
      if (rc == 0) rc = get_worker_row(file, "workers/momentum", (hsize_t)w->id, np, w->opt.m);
      if (rc == 0 && has_v)
        rc = get_worker_row(file, "workers/second_moment", (hsize_t)w->id, np, w->opt.v);
      w->opt.t = cols[0][w->id];
      w->pos = cols[1][w->id];
      w->pass = cols[2][w->id];
      /* pos indexes the worker's shard on resume */
      if (rc == 0 && (w->pos < 0 || w->pos > w->nshard || w->pass < 0))
        rc = dpt_fail("worker %d: position %lld, pass %lld outside its shard of %lld images",
                      w->id, (long long)w->pos, (long long)w->pass, (long long)w->nshard);
      if (rc == 0 && worker_crc(w, np) != cols[3][w->id])
        rc = dpt_fail("worker %d: checksum mismatch (the file is damaged)", w->id);
    }
    for (int c = 0; c < 4; c++) dpt_free(cols[c]);
    if (rc < 0) return dpt_wrap("%s", path);
  }
  int64_t since_best, best_epoch, stopped, opt_t, dev_count;
  if (get_i64(file, "averagings_total", &t->averagings_total) < 0 ||
      get_i64(file, "epoch_averagings", &t->epoch_averagings) < 0 ||
      get_i64(file, "since_best", &since_best) < 0 || get_i64(file, "best_epoch", &best_epoch) < 0 ||
      get_i64(file, "stopped_early", &stopped) < 0 || get_i64(file, "opt_step_count", &opt_t) < 0 ||
      get_i64(file, "deviation_count", &dev_count) < 0 ||
      h5_read_attr_f64(file, "best_val", &t->best_val) < 0 ||
      h5_read_attr_f64(file, "best_val_acc", &t->info.best_val_acc) < 0 ||
      h5_read_attr_f64(file, "deviation_sum", &t->deviation_sum) < 0 ||
      h5_read_attr_f64(file, "wall_time", &t->info.wall_time) < 0 ||
      h5_read_attr_str(file, "start_time", &start) < 0)
    return dpt_wrap("%s", path);
  snprintf(t->info.start_time, sizeof t->info.start_time, "%s", start);
  dpt_free(start);
  int rank;
  hsize_t dims[8];
  if (h5_dataset_dims(file, "metrics/epoch", &rank, dims) < 0) return dpt_wrap("%s", path);
  n_metrics = (int64_t)dims[0];
  if (n_metrics != epoch) return dpt_fail("%s: %lld epochs of metrics for epoch %lld", path,
                                          (long long)n_metrics, (long long)epoch);
  run_metrics_resize(&t->metrics, n_metrics);
  metric_src_t src = {file, (hsize_t)n_metrics};
  if (n_metrics && run_metrics_each(&t->metrics, get_metric, &src) < 0) return dpt_wrap("%s", path);
  t->epoch = (int)epoch;
  t->step = step;
  t->H = (int)h;
  t->dyn.h = (int)h;
  t->since_best = (int)since_best;
  t->info.best_epoch = best_epoch;
  t->info.stopped_early = stopped;
  t->info.epochs_run = epoch;
  t->opt.t = opt_t;
  t->deviation_count = dev_count;
  /* written since the outer optimizers came; before, only SlowMo, which ignores it */
  t->outer_steps = 0;
  if (H5Aexists(file, "outer_steps") > 0 && get_i64(file, "outer_steps", &t->outer_steps) < 0)
    return dpt_wrap("%s", path);
  /* items collect across ranks by summing: the restored ones must live on one rank */
  if (t->rank != 0) {
    memset(t->item_loss, 0, sizeof(double) * t->item_cap);
    memset(t->item_correct, 0, sizeof(int64_t) * t->item_cap);
  }
  return 0;
}

int ckpt_load(trainer_t *t, const char *path) {
  hid_t file = h5_open_checked(path, "dpt-checkpoint", 1);
  int rc = file < 0 ? -1 : load_state(t, file, path);
  if (file >= 0) H5Fclose(file);
  return rc;
}

int ckpt_read_params(const char *path, const char *which, float *out, size_t nparams) {
  hid_t file = h5_open_checked(path, "dpt-checkpoint", 1);
  if (file < 0) return -1;
  char name[64];
  snprintf(name, sizeof name, "global/%s", which);
  int64_t complete = 0;
  int rc = h5_read_attr_i64(file, "complete", &complete) < 0 || complete != 1
               ? dpt_fail("incomplete checkpoint")
               : get_global(file, name, H5T_NATIVE_FLOAT, out, nparams, 4);
  H5Fclose(file);
  return rc < 0 ? dpt_wrap("%s", path) : 0;
}
