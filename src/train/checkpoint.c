/* checkpoint.c - writing and loading checkpoint.h5 (see checkpoint.h).
 *
 * Integrity: every state array carries the zlib crc32 of its bytes (worker rows in
 * /workers/crc32), checked on load; the root attribute `complete` is written last. */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../core/crc.h"
#include "../core/err.h"
#include "../core/fsutil.h"
#include "../core/strlist.h"
#include "../h5/h5util.h"
#include "../nn/kernel.h"
#include "checkpoint_mpiio.h"
#include "method.h"

/* ---------------------------------------------------------------- the fields */

/* The root attributes: every scalar of the run state. */
typedef enum { A_I64, A_INT, A_SIZE, A_F64, A_STR } attr_kind_t;
/* What loading checks: nothing, equality with this run's value (the shapes the arrays
 * are read with), a range, a field older checkpoints lack (then 0), or the data: equal
 * to this run's when present (older checkpoints lack it), never stored. */
typedef enum { A_PLAIN, A_MATCH, A_RANGE, A_OPTIONAL, A_DATA } attr_check_t;

typedef struct {
  const char *name;
  attr_kind_t kind;
  size_t off, size;             /* the field in trainer_t */
  attr_check_t check;
  int64_t lo;                   /* A_RANGE: at least lo, at most the field hi_off points */
  ptrdiff_t hi_off;             /* at (-1: INT_MAX) */
} ckpt_attr_t;

#define AT(f) offsetof(trainer_t, f), sizeof(((trainer_t *)0)->f)
#define CFG_EPOCHS (-2) /* hi_off: model.epochs */
static const ckpt_attr_t attrs[] = {
    {"nparams", A_SIZE, AT(model.nparams), A_MATCH, 0, 0},
    {"num_workers", A_INT, AT(K), A_MATCH, 0, 0},
    {"item_count", A_I64, AT(item_cap), A_MATCH, 0, 0},
    {"epoch", A_INT, AT(state.epoch), A_RANGE, 0, CFG_EPOCHS},
    {"step", A_I64, AT(state.step), A_RANGE, 0, offsetof(trainer_t, item_cap)},
    {"h", A_INT, AT(state.H), A_RANGE, 1, -1},
    {"averagings_total", A_I64, AT(state.averagings_total), A_PLAIN, 0, 0},
    {"epoch_averagings", A_I64, AT(state.epoch_averagings), A_PLAIN, 0, 0},
    {"since_best", A_INT, AT(state.since_best), A_PLAIN, 0, 0},
    {"best_epoch", A_I64, AT(state.info.best_epoch), A_PLAIN, 0, 0},
    {"stopped_early", A_I64, AT(state.info.stopped_early), A_PLAIN, 0, 0},
    {"opt_step_count", A_I64, AT(state.opt.t), A_PLAIN, 0, 0},
    {"deviation_count", A_I64, AT(state.deviation_count), A_PLAIN, 0, 0},
    /* written since the outer optimizers came; before, only SlowMo, which ignores it */
    {"outer_steps", A_I64, AT(state.outer_steps), A_OPTIONAL, 0, 0},
    {"best_val", A_F64, AT(state.best_val), A_PLAIN, 0, 0},
    {"best_val_acc", A_F64, AT(state.info.best_val_acc), A_PLAIN, 0, 0},
    {"deviation_sum", A_F64, AT(state.deviation_sum), A_PLAIN, 0, 0},
    {"wall_time", A_F64, AT(state.info.wall_time), A_PLAIN, 0, 0},
    {"start_time", A_STR, AT(state.info.start_time), A_PLAIN, 0, 0},
    /* the crc32s of the dataset trained on: a resume on other data is refused */
    {"train_images_crc32", A_I64, AT(state.info.train_images_crc32), A_DATA, 0, 0},
    {"train_labels_crc32", A_I64, AT(state.info.train_labels_crc32), A_DATA, 0, 0},
    {"test_images_crc32", A_I64, AT(state.info.test_images_crc32), A_DATA, 0, 0},
    {"test_labels_crc32", A_I64, AT(state.info.test_labels_crc32), A_DATA, 0, 0},
};
#define NATTRS ((int)(sizeof attrs / sizeof attrs[0]))

/* The state arrays every rank holds alike (the epoch's items after collecting them),
 * each with the crc32 of its bytes: the global model, then one row per state buffer the
 * knob tables declare (the centralized optimizer's, optim.c's opt_defs[]; the outer
 * step's, outer.c's outer_defs[]), then the epoch's items. A row whose buffer this run
 * does not have (the outer buffer of centralized training) is neither written nor read. */
typedef enum { G_F32, G_F64, G_I64 } global_kind_t;
typedef struct {
  const char *name;
  global_kind_t kind;
  void *data;                   /* the buffer in the trainer */
  int items;                    /* 1: item_cap long, collected across ranks; 0: nparams */
} ckpt_global_t;

#define MAX_GLOBALS (4 + OPT_MAX_STATE + OUTER_MAX_STATE)

/* This run's global rows into g[MAX_GLOBALS]; their count. */
static int globals_of(const trainer_t *t, ckpt_global_t *g) {
  const train_state_t *s = &t->state;
  const opt_def_t *opt = opt_def(t->hp.kind);
  const outer_def_t *outer = outer_def(t->outer.kind);
  int n = 0;
  g[n++] = (ckpt_global_t){"global/params", G_F32, s->params, 0};
  g[n++] = (ckpt_global_t){"global/best_params", G_F32, s->best_params, 0};
  for (int i = 0; i < opt->nstate; i++)
    g[n++] = (ckpt_global_t){opt->state[i].global_name, G_F32, s->opt.buf[i], 0};
  for (int i = 0; i < outer->nstate; i++)
    g[n++] = (ckpt_global_t){outer->state_names[i], G_F32, s->outer_bufs[i], 0};
  g[n++] = (ckpt_global_t){"epoch/item_loss", G_F64, s->item_loss, 1};
  g[n++] = (ckpt_global_t){"epoch/item_correct", G_I64, s->item_correct, 1};
  return n;
}

/* The workers' (K, nparams) rows, each rank writing and reading its own workers' rows:
 * the parameters, then the state buffers the workers' optimizer row declares. */
#define MAX_ROWS (1 + OPT_MAX_STATE)
static int worker_rows(const trainer_t *t, const char **names) {
  const opt_def_t *opt = opt_def(t->local_hp.kind);
  names[0] = "workers/params";
  for (int i = 0; i < opt->nstate; i++) names[1 + i] = opt->state[i].worker_name;
  return 1 + opt->nstate;
}
/* Row r of worker w: its parameters, then its optimizer's buffers in the row's order. */
static float *worker_row(const worker_t *w, int r) {
  return r == 0 ? w->params : w->opt.buf[r - 1];
}

/* The workers' counters, gathered to rank 0; the last is the crc32 of the worker's rows. */
static const struct { const char *name; size_t off; } counters[] = {
    {"workers/step_count", offsetof(worker_t, opt.t)},
    {"workers/pos", offsetof(worker_t, pos)},
    {"workers/pass", offsetof(worker_t, pass)},
};
#define NCOUNTERS ((int)(sizeof counters / sizeof counters[0]))
#define NCOLUMNS (NCOUNTERS + 1)

static void *field(const void *base, size_t off) { return (char *)base + off; }
static int64_t *counter(const worker_t *w, int c) { return field(w, counters[c].off); }

static size_t global_len(const trainer_t *t, const ckpt_global_t *g) {
  return g->items ? (size_t)t->item_cap : t->model.nparams;
}
static size_t global_elem(const ckpt_global_t *g) { return g->kind == G_F32 ? 4 : 8; }

static int64_t worker_crc(const worker_t *w, int nrows, size_t np) {
  uint32_t crc = 0;
  for (int r = 0; r < nrows; r++) crc = dpt_crc32(crc, worker_row(w, r), sizeof(float) * np);
  return (int64_t)crc;
}

static int64_t crc_of(const void *data, size_t bytes) { return (int64_t)dpt_crc32(0, data, bytes); }

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

typedef struct ckpt_writer {
  hid_t file, dxpl;
  int rank, nranks;
  MPI_Comm comm;
  const char *path;
  char tmp[4096];         /* path.tmp.HOST.PID */
  uint32_t no_collective; /* OR of every transfer's global no-collective cause */
} writer_t;

/* Every step of the write is collective: a rank whose step failed (ENOSPC, EIO) would
 * skip the next collective calls and leave the other ranks waiting in them until the
 * wall-time limit. So with several ranks a failed step stops the job, as a failed
 * MPI-IO call does (checkpoint_mpiio.h); the previous checkpoint stays as it was. */
static int ck(writer_t *w, int rc) {
  if (rc == 0) return rc;
  if (w->nranks > 1) ckpt_stop_every_rank(w->rank, w->path, w->tmp, w->comm, dpt_errmsg());
  /* MPI-IO keeps no errno: the usual cause is worth naming */
  if (!ckpt_fs_full(w->tmp) || strstr(dpt_errmsg(), "(its file system is full)")) return rc;
  char cause[512];
  snprintf(cause, sizeof cause, "%s", dpt_errmsg());
  return dpt_fail("%s (its file system is full)", cause);
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

static hid_t file_type(global_kind_t k) {
  return k == G_F32 ? H5T_IEEE_F32LE : k == G_F64 ? H5T_IEEE_F64LE : H5T_STD_I64LE;
}
static hid_t mem_type(global_kind_t k) {
  return k == G_F32 ? H5T_NATIVE_FLOAT : k == G_F64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64;
}

/* A state array every rank holds identically: rank 0 writes it, all call. */
static int put_global(writer_t *w, const char *name, global_kind_t kind, hsize_t n,
                      const void *data, size_t bytes) {
  hid_t dset = make_dataset(w, name, file_type(kind), n, 0);
  if (dset < 0) return -1;
  int rc = put_rows(w, dset, mem_type(kind), 0, w->rank == 0 ? n : 0, 0, data);
  if (rc == 0) rc = ck(w, h5_attr_i64(dset, "crc32", crc_of(data, bytes)));
  H5Dclose(dset);
  return rc < 0 ? dpt_wrap("%s", name) : 0;
}

static int put_globals(writer_t *w, trainer_t *t) {
  ckpt_global_t globals[MAX_GLOBALS];
  int nglobals = globals_of(t, globals);
  for (int i = 0; i < nglobals; i++) {
    const ckpt_global_t *g = &globals[i];
    const void *data = g->data;
    if (!data) continue;
    size_t n = global_len(t, g), bytes = global_elem(g) * n;
    void *copy = NULL;
    if (g->items) { /* the epoch's items so far: each rank's are its own, so collect */
      copy = dpt_alloc(bytes + 1);
      memcpy(copy, data, bytes);
      if (g->kind == G_F64) comm_collect_f64(&t->dist, copy, n);
      else comm_sum_i64(&t->dist, copy, n);
      data = copy;
    }
    int rc = put_global(w, g->name, g->kind, (hsize_t)n, data, bytes);
    dpt_free(copy);
    if (rc < 0) return -1;
  }
  return 0;
}

/* A 1-D column of n values every rank holds (rank 0's are written: timings differ
 * between ranks), with its units and the crc32 of rank 0's values. */
static int put_column(writer_t *w, const char *path, const char *units, int is_int,
                      hsize_t n, const void *column) {
  int64_t crc = crc_of(column, 8 * (size_t)n);
  MPI_Bcast(&crc, 1, MPI_INT64_T, 0, w->comm);
  hid_t dset = make_dataset(w, path, is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE, n, 0);
  if (dset < 0) return -1;
  int rc = put_rows(w, dset, is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, 0,
                    w->rank == 0 ? n : 0, 0, column);
  if (rc == 0) rc = ck(w, h5_attr_str(dset, "units", units));
  if (rc == 0) rc = ck(w, h5_attr_i64(dset, "crc32", crc));
  H5Dclose(dset);
  return rc;
}

static int put_metric(void *ctx, const char *name, const char *units, int is_int,
                      void *column) {
  writer_t *w = ((void **)ctx)[0];
  const trainer_t *t = ((void **)ctx)[1];
  char path[64];
  snprintf(path, sizeof path, "metrics/%s", name);
  return put_column(w, path, units, is_int, (hsize_t)t->state.metrics.n, column);
}

/* The communication ledger so far, so that a resume continues it row for row. */
static int put_rounds(writer_t *w, const trainer_t *t) {
  const ledger_t *l = &t->state.ledger;
  for (int c = 0; c < LEDGER_C_COUNT; c++) {
    char path[64];
    if (ledger_column_optional((ledger_column_t)c) && ledger_column_zero(l, (ledger_column_t)c))
      continue;
    runfile_rounds_path(path, sizeof path, (ledger_column_t)c);
    if (put_column(w, path, ledger_column_units((ledger_column_t)c), c < LEDGER_C_MEASURED,
                   (hsize_t)l->n, ledger_column(l, (ledger_column_t)c)) < 0)
      return -1;
  }
  return 0;
}

/* A column of the records between epochs (run_curves_each's callback). */
static int put_curve(void *ctx, const char *path, const char *units, int is_int,
                     void *column, int64_t n) {
  return put_column(ctx, path, units, is_int, (hsize_t)n, column);
}

/* Each rank writes its workers' rows: every rank hosts the same number of workers, so
 * the collective calls pair up. */
static int put_worker_rows(writer_t *w, trainer_t *t) {
  size_t np = t->model.nparams;
  const char *names[MAX_ROWS];
  int nrows = worker_rows(t, names), rc = 0;
  hid_t dsets[MAX_ROWS];
  for (int r = 0; r < nrows; r++) {
    dsets[r] = make_dataset(w, names[r], H5T_IEEE_F32LE, (hsize_t)t->K, np);
    if (dsets[r] < 0) rc = -1;
  }
  for (int i = 0; rc == 0 && i < t->nlocal; i++) {
    const worker_t *wk = &t->workers[i];
    for (int r = 0; rc == 0 && r < nrows; r++)
      rc = put_rows(w, dsets[r], H5T_NATIVE_FLOAT, (hsize_t)wk->id, 1, np, worker_row(wk, r));
  }
  for (int r = 0; r < nrows; r++)
    if (dsets[r] > 0) H5Dclose(dsets[r]);
  return rc;
}

/* The small per-worker counters and crc32s, gathered to rank 0 (a few bytes each). */
static int put_worker_counters(writer_t *w, trainer_t *t) {
  const char *names[MAX_ROWS];
  int nrows = worker_rows(t, names);
  int64_t *mine = dpt_alloc(sizeof(int64_t) * NCOLUMNS * (t->nlocal + 1));
  int64_t *all = dpt_alloc(sizeof(int64_t) * NCOLUMNS * t->K);
  for (int i = 0; i < t->nlocal; i++) {
    for (int c = 0; c < NCOUNTERS; c++) mine[NCOLUMNS * i + c] = *counter(&t->workers[i], c);
    mine[NCOLUMNS * i + NCOUNTERS] = worker_crc(&t->workers[i], nrows, t->model.nparams);
  }
  MPI_Gather(mine, NCOLUMNS * t->nlocal, MPI_INT64_T, all, NCOLUMNS * t->nlocal, MPI_INT64_T,
             0, t->dist.comm);
  int64_t *col = dpt_alloc(sizeof(int64_t) * t->K);
  hsize_t K = (hsize_t)t->K;
  int rc = 0;
  for (int c = 0; rc == 0 && c < NCOLUMNS; c++) {
    for (int k = 0; k < t->K; k++) col[k] = all[NCOLUMNS * k + c];
    hid_t dset = make_dataset(w, c < NCOUNTERS ? counters[c].name : "workers/crc32",
                              H5T_STD_I64LE, K, 0);
    rc = dset < 0 ? -1 : put_rows(w, dset, H5T_NATIVE_INT64, 0, w->rank == 0 ? K : 0, 0, col);
    if (dset >= 0) H5Dclose(dset);
  }
  dpt_free(col);
  dpt_free(mine);
  dpt_free(all);
  return rc;
}

static int make_group(writer_t *w, const char *name);

/* ---------------------------------------------------------------- compressors */

/* A compressed exchange's state (method.h's train_exchange_*), in the group named after
 * its config key: per state buffer the row declares (comm/compress.h) a dataset named
 * after the buffer, (K, len) rows for a per-participant one (each rank writes and reads
 * its participants' rows) or one shared vector; the participants' crc32s; the counters
 * (rounds, q_ready). */
#define X_COUNTERS 2

static const char *xbuf_name(const comm_compressor_t *row, int i, const char *group,
                             char *buf, size_t cap) {
  const char *base = strrchr(row->state[i].name, '/');
  snprintf(buf, cap, "%s/%s", group, base ? base + 1 : row->state[i].name);
  return buf;
}

static int64_t peer_crc(const train_exchange_t *x, const comm_peer_t *p) {
  uint32_t crc = 0;
  for (int i = 0; i < COMM_MAX_STATE; i++)
    if (p->buf[i]) crc = dpt_crc32(crc, p->buf[i], sizeof(float) * comm_state_len(&x->ctx.plan, i));
  return (int64_t)crc;
}

/* The participants' crc32s, gathered to rank 0 (every rank holds as many). */
static int put_peer_crcs(writer_t *w, trainer_t *t, const train_exchange_t *x,
                         const char *group) {
  int64_t *mine = dpt_alloc(sizeof(int64_t) * (size_t)(x->nlocal + 1));
  int64_t *all = dpt_alloc(sizeof(int64_t) * (size_t)x->K);
  for (int i = 0; i < x->nlocal; i++) mine[i] = peer_crc(x, &x->peers[i]);
  MPI_Gather(mine, x->nlocal, MPI_INT64_T, all, x->nlocal, MPI_INT64_T, 0, t->dist.comm);
  char name[96];
  snprintf(name, sizeof name, "%s/crc32", group);
  hid_t dset = make_dataset(w, name, H5T_STD_I64LE, (hsize_t)x->K, 0);
  hsize_t rows = w->rank == 0 ? (hsize_t)x->K : 0;
  int rc = dset < 0 ? -1 : put_rows(w, dset, H5T_NATIVE_INT64, 0, rows, 0, all);
  if (dset >= 0) H5Dclose(dset);
  dpt_free(mine);
  dpt_free(all);
  return rc;
}

static int put_exchange(writer_t *w, trainer_t *t, const train_exchange_t *x, const char *group) {
  const comm_compressor_t *row = x->ctx.plan.row;
  char name[96];
  if (make_group(w, group) < 0) return -1;
  int64_t counters[X_COUNTERS] = {x->ctx.rounds, x->ctx.q_ready};
  snprintf(name, sizeof name, "%s/counters", group);
  if (put_global(w, name, G_I64, X_COUNTERS, counters, sizeof counters) < 0) return -1;
  for (int b = 0; b < row->nstate; b++) {
    size_t len = comm_state_len(&x->ctx.plan, b);
    xbuf_name(row, b, group, name, sizeof name);
    if (row->state[b].scope == COMM_SCOPE_SHARED) {
      if (put_global(w, name, G_F32, (hsize_t)len, x->ctx.buf[b], sizeof(float) * len) < 0)
        return -1;
      continue;
    }
    hid_t dset = make_dataset(w, name, H5T_IEEE_F32LE, (hsize_t)x->K, (hsize_t)len);
    int rc = dset < 0 ? -1 : 0;
    for (int i = 0; rc == 0 && i < x->nlocal; i++)
      rc = put_rows(w, dset, H5T_NATIVE_FLOAT, (hsize_t)(x->first + i), 1, (hsize_t)len,
                    x->peers[i].buf[b]);
    if (dset >= 0) H5Dclose(dset);
    if (rc < 0) return -1;
  }
  return put_peer_crcs(w, t, x, group);
}

static int put_exchanges(writer_t *w, trainer_t *t) {
  for (int i = 0; i < TRAIN_NX; i++)
    if (t->state.xch[i].on && put_exchange(w, t, &t->state.xch[i], train_exchange_group(i)) < 0)
      return -1;
  return 0;
}

static int put_attrs(hid_t file, const trainer_t *t) {
  for (int i = 0; i < NATTRS; i++) {
    const ckpt_attr_t *a = &attrs[i];
    const void *f = field(t, a->off);
    int rc = a->kind == A_I64    ? h5_attr_i64(file, a->name, *(const int64_t *)f)
             : a->kind == A_INT  ? h5_attr_i64(file, a->name, *(const int *)f)
             : a->kind == A_SIZE ? h5_attr_i64(file, a->name, (int64_t)*(const size_t *)f)
             : a->kind == A_F64  ? h5_attr_f64(file, a->name, *(const double *)f)
                                 : h5_attr_str(file, a->name, (const char *)f);
    if (rc < 0) return -1;
  }
  char *yaml = config_to_yaml(t->cfg);
  int rc = h5_attr_str(file, "config", yaml);
  dpt_free(yaml);
  return rc;
}

static int make_group(writer_t *w, const char *name) {
  hid_t g = H5Gcreate2(w->file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) return ck(w, dpt_fail("cannot create group /%s", name));
  H5Gclose(g);
  return 0;
}

/* Streaming DiLoCo (model.outer.fragments > 1 or model.outer.delay > 0): /stream holds
 * the fragments' averaged parameters in flight (pending) and, past fragment 0 (whose are
 * /outer_steps and /outer_compress/counters), each fragment's outer steps and
 * compressed rounds (counters: F - 1 of each), every array with its crc32. Where each
 * fragment is in its schedule follows from the step. */
static int streaming(const trainer_t *t) { return t->stream.F > 1 || t->stream.tau > 0; }

static int put_stream(writer_t *w, trainer_t *t) {
  const train_state_t *s = &t->state;
  int F = t->stream.F;
  size_t np = t->model.nparams;
  if (!streaming(t)) return 0;
  if (make_group(w, "stream") < 0 ||
      put_global(w, "stream/pending", G_F32, np, s->pending, sizeof(float) * np) < 0)
    return -1;
  if (F == 1) return 0;
  int64_t *c = dpt_alloc(sizeof(int64_t) * 2 * (size_t)(F - 1));
  for (int f = 1; f < F; f++) {
    c[f - 1] = s->frag_steps[f - 1];
    c[F - 1 + f - 1] = s->frag_xch[f - 1].ctx.rounds;
  }
  int rc = put_global(w, "stream/counters", G_I64, 2 * (hsize_t)(F - 1), c,
                      sizeof(int64_t) * 2 * (size_t)(F - 1));
  dpt_free(c);
  return rc;
}

int ckpt_put_workers(writer_t *w, trainer_t *t) {
  if (make_group(w, "workers") < 0) return -1;
  return put_worker_rows(w, t) < 0 || put_worker_counters(w, t) < 0 || put_stream(w, t) < 0
             ? -1 : 0;
}

static int write_all(writer_t *w, trainer_t *t) {
  const char *groups[] = {"global", "epoch", "metrics", "rounds", "rounds_measured",
                          "intervals", "evals"};
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
    if (make_group(w, groups[i]) < 0) return -1;
  if (ck(w, put_attrs(w->file, t)) < 0 || put_globals(w, t) < 0 || put_exchanges(w, t) < 0)
    return -1;
  if (t->method->ckpt_put && t->method->ckpt_put(w, t) < 0) return -1;
  void *ctx[2] = {w, t};
  if (put_rounds(w, t) < 0) return -1;
  if (run_metrics_each(&t->state.metrics, put_metric, ctx) < 0) return -1;
  return run_curves_each(&t->state.curves, put_curve, w);
}

/* Creates w->tmp and writes the whole state into it; 0 when every step succeeded. */
static int write_file(writer_t *w, trainer_t *t) {
  char now[32];
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0 || H5Pset_fapl_mpio(fapl, t->dist.comm, MPI_INFO_NULL) < 0) {
    if (fapl >= 0) H5Pclose(fapl);
    return ck(w, dpt_fail("cannot set up MPI-IO file access: %s", h5_error_cause()));
  }
  w->file = h5_create_tmp(w->path, w->tmp, sizeof w->tmp, CKPT_SCHEMA,
                          CKPT_SCHEMA_VERSION, "dpt-train", fapl);
  H5Pclose(fapl);
  if (w->file < 0) return ck(w, -1);
  /* attributes must be identical on all ranks: rank 0's clock decides */
  h5_iso_time(now, sizeof now);
  MPI_Bcast(now, sizeof now, MPI_CHAR, 0, t->dist.comm);
  w->dxpl = H5Pcreate(H5P_DATASET_XFER);
  int rc = w->dxpl < 0 || H5Pset_dxpl_mpio(w->dxpl, H5FD_MPIO_COLLECTIVE) < 0
               ? ck(w, dpt_fail("cannot set up collective transfers: %s", h5_error_cause()))
               : 0;
  if (rc == 0) rc = ck(w, h5_attr_str(w->file, "file_time", now));
  if (rc == 0) rc = ck(w, h5_attr_i64(w->file, "sum_block", nn_sum_block()));
  if (rc == 0) rc = write_all(w, t);
  if (rc == 0) rc = ck(w, h5_attr_i64(w->file, "io_no_collective_cause", (int64_t)w->no_collective));
  if (rc == 0) rc = ck(w, h5_attr_i64(w->file, "complete", 1)); /* last */
  if (w->dxpl >= 0) H5Pclose(w->dxpl);
  /* Closing flushes the metadata, collectively. A failed close leaves HDF5 1.10 with a
   * half-destroyed file that its clean-up in MPI_Finalize crashes on (exit 139), on any
   * number of ranks: the job stops here instead, naming the first failure. */
  if (H5Fclose(w->file) < 0) {
    if (rc == 0) dpt_fail("cannot flush and close the file: %s", h5_error_cause());
    ckpt_stop_every_rank(w->rank, w->path, w->tmp, w->comm, dpt_errmsg());
  }
  return rc;
}

/* Every rank but 0 (whose dpt_publish does it) flushes what its node wrote of the
 * closed file to disk: on Lustre or NFS each node's writes sit in its own cache, and a
 * node crash after the rename would otherwise lose the new checkpoint and the old. */
static int sync_my_writes(const writer_t *w) {
  if (w->rank == 0) return 0;
  int fd = open(w->tmp, O_RDONLY);
  if (fd < 0 || fsync(fd) != 0) {
    int err = errno;
    if (fd >= 0) close(fd);
    return dpt_fail("cannot flush %s to disk: %s", w->tmp, strerror(err));
  }
  return close(fd) == 0 ? 0 : dpt_fail("cannot close %s: %s", w->tmp, strerror(errno));
}

int ckpt_write(trainer_t *t, const char *path) {
  writer_t w = {.rank = t->rank, .nranks = t->nranks, .comm = t->dist.comm, .file = -1,
                .dxpl = -1, .path = path};
  /* one rank: a failed MPI-IO call returns to HDF5, which reports it (no rank waits) */
  if (w.nranks > 1) ckpt_mpiio_watch(w.rank, path, w.tmp, w.comm);
  int rc = write_file(&w, t);
  ckpt_mpiio_unwatch();
  if (rc == 0) rc = sync_my_writes(&w);
  /* all ranks agree before anyone publishes or gives up */
  int ok = rc == 0, all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, t->dist.comm);
  int published = 0;
  if (t->rank == 0) {
    if (all) published = dpt_publish(w.tmp, path) == 0;
    else if (w.tmp[0]) unlink(w.tmp);
  }
  MPI_Bcast(&published, 1, MPI_INT, 0, t->dist.comm);
  if (!published) return rc < 0 ? dpt_wrap("%s", path) : dpt_fail("%s: checkpoint not written", path);
  return 0;
}

/* ---------------------------------------------------------------- loading */

/* Checks a dataset's values (bytes of data) against its crc32 attribute, which an
 * optional one may lack (metrics of checkpoints written before they had one). */
static int check_crc(hid_t file, const char *name, const void *data, size_t bytes,
                     int optional) {
  hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
  int64_t crc = -1;
  int rc = optional && H5Aexists(dset, "crc32") <= 0 ? 1 : h5_read_attr_i64(dset, "crc32", &crc);
  H5Dclose(dset);
  if (rc < 0) return dpt_wrap("%s", name);
  if (rc == 0 && crc != crc_of(data, bytes))
    return dpt_fail("%s: checksum mismatch (the file is damaged)", name);
  return 0;
}

/* Reads a whole 1-D dataset and checks it against its crc32 attribute. */
static int get_checked(hid_t file, const char *name, hid_t memtype, void *out, size_t n,
                       size_t elem, int optional) {
  if (h5_read_array(file, name, memtype, n, out) < 0) return -1;
  return check_crc(file, name, out, n * elem, optional);
}

static int get_global(hid_t file, const char *name, hid_t memtype, void *out, size_t n,
                      size_t elem) {
  return get_checked(file, name, memtype, out, n, elem, 0);
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

typedef struct { strlist_t keys, values; } keylist_t;

static void collect_key(void *ctx, const char *key, const char *value) {
  keylist_t *l = ctx;
  strlist_push(&l->keys, key);
  strlist_push(&l->values, value);
}

static void keylist_free(keylist_t *l) {
  strlist_free(&l->keys);
  strlist_free(&l->values);
}

int ckpt_same_run(const char *path, const char *yaml, const dpt_config_t *cfg) {
  dpt_config_t old;
  if (config_load_string(&old, yaml, path, NULL, 0) < 0)
    return dpt_wrap("%s: the stored config does not load", path);
  keylist_t a = {0}, b = {0};
  config_each(&old, collect_key, &a);
  config_each(cfg, collect_key, &b);
  char msg[2048] = "";
  size_t len = 0;
  for (int i = 0; i < a.keys.n && i < b.keys.n; i++) {
    const char *key = a.keys.v[i], *there = a.values.v[i], *here = b.values.v[i];
    if (!key_may_differ(key) && strcmp(there, here) != 0 && len < sizeof msg - 200)
      len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s is %s there, %s here",
                              len ? "; " : "", key, there[0] ? there : "(empty)",
                              here[0] ? here : "(empty)");
  }
  keylist_free(&a);
  keylist_free(&b);
  if (len) return dpt_fail("%s belongs to a different run: %s", path, msg);
  return 0;
}

typedef struct { hid_t file, group; hsize_t n; } metric_src_t;

/* A column as stored: under its own name, or the one older checkpoints gave it; an
 * optional column older checkpoints lack (bytes, before the ledger) stays zeros. */
static int get_metric(void *ctx, const char *name, const char *units, int is_int, void *column) {
  (void)units;
  if (!column) return 0;
  const metric_src_t *src = ctx;
  int c = 0;
  while (c < RUN_M_COUNT && strcmp(run_metric_name((run_metric_t)c), name)) c++;
  const char *stored = c < RUN_M_COUNT ? run_metric_stored_name(src->group, (run_metric_t)c) : NULL;
  if (!stored && c >= RUN_M_OPTIONAL && c < RUN_M_COUNT) {
    memset(column, 0, 8 * (size_t)src->n);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "metrics/%s", stored ? stored : name);
  return get_checked(src->file, path, is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE,
                     column, src->n, 8, 1);
}

/* An interval or evaluation column, sized already (get_curves). */
static int get_curve(void *ctx, const char *path, const char *units, int is_int, void *column,
                     int64_t n) {
  (void)units;
  if (!n) return 0;
  return get_checked(*(hid_t *)ctx, path, is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE,
                     column, (size_t)n, 8, 0);
}

/* /intervals and /evals, as run.h5 has them (checked alike); checkpoints written before
 * them have neither, which leaves them empty. */
static int get_curves(trainer_t *t, hid_t file, const char *path) {
  unsigned has = 0;
  run_curves_t *cv = &t->state.curves;
  if (run_curves_read(file, cv, &has) < 0 || run_curves_each(cv, get_curve, &file) < 0)
    return dpt_wrap("%s", path);
  return 0;
}

/* An attribute as read, before it is checked and stored. */
typedef union { int64_t i; double d; char *s; } attr_value_t;

static int attr_index(const char *name) {
  for (int i = 0; i < NATTRS; i++)
    if (!strcmp(attrs[i].name, name)) return i;
  DPT_PANIC("no checkpoint attribute %s", name);
}

static int read_attrs(hid_t file, attr_value_t *v) {
  for (int i = 0; i < NATTRS; i++) {
    const ckpt_attr_t *a = &attrs[i];
    if ((a->check == A_OPTIONAL || a->check == A_DATA) && H5Aexists(file, a->name) <= 0) {
      v[i].i = a->check == A_DATA ? -1 : 0; /* A_DATA: not recorded, not checked */
      continue;
    }
    int rc = a->kind == A_F64   ? h5_read_attr_f64(file, a->name, &v[i].d)
             : a->kind == A_STR ? h5_read_attr_str(file, a->name, &v[i].s)
                                : h5_read_attr_i64(file, a->name, &v[i].i);
    if (rc < 0) return -1;
  }
  return 0;
}

static int64_t int_field(const trainer_t *t, const ckpt_attr_t *a) {
  const void *f = field(t, a->off);
  return a->kind == A_INT ? *(const int *)f : a->kind == A_SIZE ? (int64_t)*(const size_t *)f
                                                                : *(const int64_t *)f;
}

/* The shapes must be this run's; the counters must lie in their ranges. */
static int check_attrs(const trainer_t *t, const attr_value_t *v, const char *path) {
  for (int i = 0; i < NATTRS; i++) {
    const ckpt_attr_t *a = &attrs[i];
    if (a->check == A_MATCH && v[i].i != int_field(t, a))
      return dpt_fail("%s: holds %s = %lld; this run has %lld", path, a->name,
                      (long long)v[i].i, (long long)int_field(t, a));
    if (a->check == A_DATA && v[i].i != -1 && v[i].i != int_field(t, a))
      return dpt_fail("%s was written on other data: its %s is %08llx, that of %s "
                      "(data.path) %08llx", path, a->name, (unsigned long long)v[i].i,
                      t->cfg->data_path, (unsigned long long)int_field(t, a));
    if (a->check != A_RANGE) continue;
    int64_t hi = a->hi_off == -1           ? INT_MAX
                 : a->hi_off == CFG_EPOCHS ? t->cfg->epochs
                                           : *(const int64_t *)field(t, (size_t)a->hi_off);
    if (v[i].i < a->lo || v[i].i > hi)
      return dpt_fail("%s: %s %lld out of range [%lld, %lld]", path, a->name,
                      (long long)v[i].i, (long long)a->lo, (long long)hi);
  }
  return 0;
}

static void store_attrs(trainer_t *t, const attr_value_t *v) {
  for (int i = 0; i < NATTRS; i++) {
    const ckpt_attr_t *a = &attrs[i];
    void *f = field(t, a->off);
    if (a->check == A_DATA) continue; /* equal already, or not recorded */
    switch (a->kind) {
      case A_I64: *(int64_t *)f = v[i].i; break;
      case A_INT: *(int *)f = (int)v[i].i; break;
      case A_F64: *(double *)f = v[i].d; break;
      case A_STR: snprintf(f, a->size, "%s", v[i].s); break;
      case A_SIZE: break; /* A_MATCH: equal already */
    }
  }
}

static int get_globals(trainer_t *t, hid_t file) {
  ckpt_global_t globals[MAX_GLOBALS];
  int nglobals = globals_of(t, globals);
  for (int i = 0; i < nglobals; i++) {
    const ckpt_global_t *g = &globals[i];
    void *data = g->data;
    if (data && get_global(file, g->name, mem_type(g->kind), data, global_len(t, g),
                           global_elem(g)) < 0)
      return -1;
  }
  return 0;
}

/* /stream back (put_stream). */
static int get_stream(trainer_t *t, hid_t file) {
  train_state_t *s = &t->state;
  int F = t->stream.F, rc = 0;
  if (!streaming(t)) return 0;
  if (get_global(file, "stream/pending", H5T_NATIVE_FLOAT, s->pending, t->model.nparams, 4) < 0)
    return -1;
  if (F == 1) return 0;
  int64_t *c = dpt_alloc(sizeof(int64_t) * 2 * (size_t)(F - 1));
  rc = get_global(file, "stream/counters", H5T_NATIVE_INT64, c, 2 * (size_t)(F - 1), 8);
  for (int i = 0; rc == 0 && i < 2 * (F - 1); i++)
    if (c[i] < 0)
      rc = dpt_fail("stream/counters[%d] is %lld, expected a count >= 0", i, (long long)c[i]);
  for (int f = 1; rc == 0 && f < F; f++) {
    s->frag_steps[f - 1] = c[f - 1];
    s->frag_xch[f - 1].ctx.rounds = c[F - 1 + f - 1];
  }
  dpt_free(c);
  return rc;
}

/* This rank's workers: their rows, counters and crc32s. */
int ckpt_get_workers(trainer_t *t, hid_t file) {
  size_t np = t->model.nparams;
  int64_t *cols[NCOLUMNS];
  hsize_t dims[2] = {(hsize_t)t->K, (hsize_t)np};
  const char *names[MAX_ROWS];
  int nrows = worker_rows(t, names), rc = 0;
  for (int c = 0; c < NCOLUMNS; c++) cols[c] = dpt_alloc(sizeof(int64_t) * t->K);
  for (int c = 0; c < NCOLUMNS && rc == 0; c++)
    rc = h5_read_array(file, c < NCOUNTERS ? counters[c].name : "workers/crc32",
                       H5T_NATIVE_INT64, dims[0], cols[c]);
  for (int r = 0; r < nrows && rc == 0; r++) rc = h5_check_dims(file, names[r], 2, dims);
  for (int i = 0; rc == 0 && i < t->nlocal; i++) {
    worker_t *w = &t->workers[i];
    for (int r = 0; rc == 0 && r < nrows; r++)
      rc = get_worker_row(file, names[r], (hsize_t)w->id, np, worker_row(w, r));
    for (int c = 0; c < NCOUNTERS; c++) *counter(w, c) = cols[c][w->id];
    /* pos indexes the worker's shard on resume */
    if (rc == 0 && (w->pos < 0 || w->pos > w->nshard || w->pass < 0))
      rc = dpt_fail("worker %d: position %lld, pass %lld outside its shard of %lld images",
                    w->id, (long long)w->pos, (long long)w->pass, (long long)w->nshard);
    if (rc == 0 && worker_crc(w, nrows, np) != cols[NCOUNTERS][w->id])
      rc = dpt_fail("worker %d: checksum mismatch (the file is damaged)", w->id);
  }
  for (int c = 0; c < NCOLUMNS; c++) dpt_free(cols[c]);
  return rc < 0 ? -1 : get_stream(t, file);
}

/* A compressed exchange's state back: the counters, the shared buffers, this rank's
 * participants' rows, each checked against its crc32. */
static int get_exchange(hid_t file, train_exchange_t *x, const char *group) {
  const comm_compressor_t *row = x->ctx.plan.row;
  char name[96];
  int64_t counters[X_COUNTERS], *crcs = dpt_alloc(sizeof(int64_t) * (size_t)x->K);
  snprintf(name, sizeof name, "%s/counters", group);
  int rc = get_global(file, name, H5T_NATIVE_INT64, counters, X_COUNTERS, 8);
  if (rc == 0 && (counters[0] < 0 || counters[1] < 0 || counters[1] > 1))
    rc = dpt_fail("%s: rounds %lld, q_ready %lld (expected rounds >= 0, q_ready 0 or 1)",
                  name, (long long)counters[0], (long long)counters[1]);
  snprintf(name, sizeof name, "%s/crc32", group);
  if (rc == 0) rc = h5_read_array(file, name, H5T_NATIVE_INT64, (hsize_t)x->K, crcs);
  for (int b = 0; rc == 0 && b < row->nstate; b++) {
    size_t len = comm_state_len(&x->ctx.plan, b);
    xbuf_name(row, b, group, name, sizeof name);
    if (row->state[b].scope == COMM_SCOPE_SHARED) {
      rc = get_global(file, name, H5T_NATIVE_FLOAT, x->ctx.buf[b], len, 4);
      continue;
    }
    hsize_t dims[2] = {(hsize_t)x->K, (hsize_t)len};
    rc = h5_check_dims(file, name, 2, dims);
    for (int i = 0; rc == 0 && i < x->nlocal; i++)
      rc = get_worker_row(file, name, (hsize_t)(x->first + i), len, x->peers[i].buf[b]);
  }
  for (int i = 0; rc == 0 && i < x->nlocal; i++)
    if (peer_crc(x, &x->peers[i]) != crcs[x->first + i])
      rc = dpt_fail("/%s: participant %d: checksum mismatch (the file is damaged)", group,
                    x->first + i);
  dpt_free(crcs);
  if (rc < 0) return -1;
  x->ctx.rounds = counters[0];
  x->ctx.q_ready = counters[1];
  return 0;
}

static int get_exchanges(trainer_t *t, hid_t file) {
  for (int i = 0; i < TRAIN_NX; i++)
    if (t->state.xch[i].on && get_exchange(file, &t->state.xch[i], train_exchange_group(i)) < 0)
      return -1;
  return 0;
}

/* One row of metrics per finished epoch. */
static int get_metrics(trainer_t *t, hid_t file, int64_t epoch, const char *path) {
  int rank;
  hsize_t dims[8];
  if (h5_dataset_dims(file, "metrics/epoch", &rank, dims) < 0) return -1;
  int64_t n = (int64_t)dims[0];
  if (n != epoch)
    return dpt_fail("%s: %lld epochs of metrics for epoch %lld", path, (long long)n,
                    (long long)epoch);
  run_metrics_resize(&t->state.metrics, n);
  hid_t g = H5Gopen2(file, "metrics", H5P_DEFAULT);
  if (g < 0) return dpt_fail("%s: cannot open /metrics", path);
  metric_src_t src = {file, g, (hsize_t)n};
  int rc = n ? run_metrics_each(&t->state.metrics, get_metric, &src) : 0;
  H5Gclose(g);
  if (rc < 0) return -1;
  return run_metrics_check(&t->state.metrics) < 0 ? dpt_wrap("%s", path) : 0;
}

/* The ledger up to the checkpoint's point: sizes and values as run.h5's are read
 * (runfile_read_rounds), each column against its crc32, and no round after that point.
 * Checkpoints written before the ledger lack /rounds: the ledger then starts empty at the
 * resume point. */
static int get_rounds(trainer_t *t, hid_t file, int64_t epoch) {
  ledger_t *l = &t->state.ledger;
  int got = runfile_read_rounds(file, l);
  for (int c = 0; got > 0 && c < LEDGER_C_COUNT; c++) {
    char path[64];
    if (runfile_rounds_absent(file, (ledger_column_t)c)) continue;
    runfile_rounds_path(path, sizeof path, (ledger_column_t)c);
    if (check_crc(file, path, ledger_column(l, (ledger_column_t)c), 8 * (size_t)l->n, 0) < 0)
      got = -1;
  }
  if (got > 0 && l->n && l->epoch[l->n - 1] > epoch + 1)
    got = dpt_fail("/rounds/epoch[%lld] is %lld, after the checkpoint's epoch %lld",
                   (long long)(l->n - 1), (long long)l->epoch[l->n - 1], (long long)(epoch + 1));
  if (got < 0) ledger_truncate(l, 0);
  return got < 0 ? -1 : 0;
}

static int load_state(trainer_t *t, hid_t file, const char *path) {
  int64_t complete = 0;
  char *yaml = NULL;
  if (h5_read_attr_i64(file, "complete", &complete) < 0 || complete != 1)
    return dpt_fail("%s: incomplete checkpoint (no 'complete' mark)", path);
  if (h5_read_attr_str(file, "config", &yaml) < 0) return -1;
  int rc = ckpt_same_run(path, yaml, t->cfg);
  dpt_free(yaml);
  if (rc < 0) return -1;
  attr_value_t v[NATTRS];
  memset(v, 0, sizeof v);
  rc = read_attrs(file, v) < 0 ? dpt_wrap("%s", path) : check_attrs(t, v, path);
  int64_t epoch = v[attr_index("epoch")].i;
  if (rc == 0 && (get_globals(t, file) < 0 || get_exchanges(t, file) < 0 ||
                  (t->method->ckpt_get && t->method->ckpt_get(t, file) < 0) ||
                  get_metrics(t, file, epoch, path) < 0 || get_rounds(t, file, epoch) < 0 ||
                  get_curves(t, file, path) < 0))
    rc = dpt_wrap("%s", path);
  if (rc == 0) store_attrs(t, v);
  for (int i = 0; i < NATTRS; i++)
    if (attrs[i].kind == A_STR) dpt_free(v[i].s);
  if (rc < 0) return -1;
  t->dyn.h = t->state.H;
  t->state.info.epochs_run = t->state.epoch;
  /* items collect across ranks by summing: the restored ones must live on one rank */
  if (t->rank != 0) {
    memset(t->state.item_loss, 0, sizeof(double) * t->item_cap);
    memset(t->state.item_correct, 0, sizeof(int64_t) * t->item_cap);
  }
  return 0;
}

int ckpt_load(trainer_t *t, const char *path) {
  hid_t file = h5_open_checked(path, CKPT_SCHEMA, CKPT_SCHEMA_MAJOR);
  int rc = file < 0 ? -1 : load_state(t, file, path);
  if (file >= 0) H5Fclose(file);
  return rc;
}

int ckpt_read_params(const char *path, const char *which, float *out, size_t nparams) {
  hid_t file = h5_open_checked(path, CKPT_SCHEMA, CKPT_SCHEMA_MAJOR);
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
