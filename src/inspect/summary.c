/* summary.c - a readable page about any dpt file: for a run what ran, with which config,
 * how far it got and what it reached; for a dataset what it holds; for a checkpoint where
 * it stands and how much state it carries. Reads only what it prints; anything missing
 * shows as "?" rather than stopping the summary. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/err.h"
#include "../core/numfmt.h"
#include "../core/printable.h"
#include "../data/dataset.h"
#include "../h5/h5util.h"
#include "../io/runfile.h"
#include "../train/checkpoint_head.h"
#include "inspect.h"
#include "schema.h"

/* --- reading with defaults -------------------------------------------------------- */

/* A string attribute of the object at path, control characters escaped, or NULL;
 * dpt_free() it. */
static char *str_at(hid_t file, const char *path, const char *name) {
  if (strcmp(path, "/") && H5Lexists(file, path, H5P_DEFAULT) <= 0) return NULL;
  hid_t obj = H5Oopen(file, path, H5P_DEFAULT);
  if (obj < 0) return NULL;
  char *v = NULL, *safe = NULL;
  if (H5Aexists(obj, name) > 0 && h5_read_attr_str(obj, name, &v) == 0)
    safe = dpt_printable_dup(v);
  dpt_free(v);
  H5Oclose(obj);
  dpt_clear_error();
  return safe;
}

static int num_at(hid_t file, const char *path, const char *name, double *v) {
  if (strcmp(path, "/") && H5Lexists(file, path, H5P_DEFAULT) <= 0) return 0;
  hid_t obj = H5Oopen(file, path, H5P_DEFAULT);
  if (obj < 0) return 0;
  int ok = H5Aexists(obj, name) > 0 && h5_read_attr_f64(obj, name, v) == 0;
  H5Oclose(obj);
  dpt_clear_error();
  return ok;
}

/* Holds one string while printing: "?" when missing. */
typedef struct {
  char *s[32];
  int n;
} strs_t;

static const char *keep(strs_t *k, char *s) {
  if (!s) return "?";
  if (k->n == 32) {
    dpt_free(s);
    return "?";
  }
  return k->s[k->n++] = s;
}

static void strs_free(strs_t *k) {
  for (int i = 0; i < k->n; i++) dpt_free(k->s[i]);
  k->n = 0;
}

static void header(FILE *out, hid_t file, const char *path, const char *kind,
                   const char *schema, const char *version) {
  strs_t k = {0};
  char safe[64];
  fprintf(out, "%s\n", path);
  fprintf(out, "  %-11s %s (%s %s), written by %s %s at %s\n", "kind", kind, schema,
          dpt_printable(safe, sizeof safe, version, 0),
          keep(&k, str_at(file, "/", "creator")), keep(&k, str_at(file, "/", "creator_version")),
          keep(&k, str_at(file, "/", "file_time")));
  double complete = 0;
  if (!num_at(file, "/", "complete", &complete) || complete != 1)
    fprintf(out, "  %-11s no 'complete' = 1: the writer never finished this file\n",
            "WARNING");
  strs_free(&k);
}

/* The summation order the writing build's kernels used: root sum_block, 0 when absent,
 * -1 when not a positive count. */
static void sum_order(FILE *out, int64_t sum_block) {
  if (sum_block < 0)
    fprintf(out, "  %-11s unknown: sum_block is not a positive integer (a damaged or "
            "crafted file)\n", "sums");
  else if (sum_block > 0)
    fprintf(out, "  %-11s blocks of %lld terms per FMA chain (sum_block)\n", "sums",
            (long long)sum_block);
  else
    fprintf(out, "  %-11s one FMA chain per output (no sum_block: a build before blocked "
            "sums)\n", "sums");
}

/* --- run -------------------------------------------------------------------------- */

/* A /config value as text (typed or string attributes alike); "?" when absent. */
static const char *cfg(const runfile_t *r, const char *key) {
  const char *v = runfile_config(r, key);
  return v ? v : "?";
}

static double last(const runfile_t *r, run_metric_t c) {
  return r->has_metric & (1u << c) && r->metrics.n > 0
             ? run_metrics_value(&r->metrics, c, r->metrics.n - 1)
             : NAN;
}

static void run_setup(FILE *out, runfile_t *r) {
  const run_info_t *in = &r->info;
  fprintf(out, "  %-11s %s v%s, status %s\n", "experiment", cfg(r, "experiment.name"),
          cfg(r, "experiment.version"), in->status != RUN_STATUS_NONE ? r->status_word : "?");
  fprintf(out, "  %-11s %s, %s, lr %s, batch %s, %s, weight decay %s\n", "model",
          cfg(r, "model.name"), cfg(r, "model.optimizer"), cfg(r, "model.learning_rate"),
          cfg(r, "model.batch_size"), cfg(r, "model.scheduler"), cfg(r, "model.weight_decay"));
  /* A config that does not load (a damaged file) shows its values as text. */
  const dpt_config_t *c = r->has & RUNFILE_HAS_TYPED_CONFIG ? &r->config : NULL; /* loaded */
  if (c && c->num_workers == 0)
    fprintf(out, "  %-11s K = 0 (centralized: one model, gradients reduced every step)\n",
            "workers");
  else
    fprintf(out, "  %-11s K = %s %s workers, H = %s local steps, worker batch %s\n",
            "workers", cfg(r, "model.num_workers"), runfile_method(r),
            cfg(r, "model.work.local_steps"), cfg(r, "model.work.batch_size"));
  fprintf(out, "  %-11s %s:", "data", cfg(r, "data.path"));
  const int64_t sizes[] = {in->train_images, in->val_images, in->test_images};
  const char *splits[] = {"train", "val", "test"};
  for (int i = 0; i < 3; i++) {
    if (r->has & RUNFILE_HAS_PROVENANCE)
      fprintf(out, "%s %lld %s", i ? "," : "", (long long)sizes[i], splits[i]);
    else
      fprintf(out, "%s ? %s", i ? "," : "", splits[i]);
  }
  fprintf(out, " images\n");
}

static void run_progress(FILE *out, const runfile_t *r) {
  const run_info_t *in = &r->info;
  int results = (r->has & RUNFILE_HAS_RESULTS) != 0;
  int64_t n = r->has_metric & (1u << RUN_M_EPOCH) ? r->metrics.n : 0;
  fprintf(out, "  %-11s %lld / %s epochs", "progress", (long long)n, cfg(r, "model.epochs"));
  if (results && in->stopped_early == 1) fprintf(out, " (stopped early)");
  fprintf(out, "\n");
  if (n > 0)
    fprintf(out, "  %-11s %.0f: lr %.6g, train loss %.4f acc %.4f, val loss %.4f acc %.4f, "
            "%.0f images/s\n", "last epoch", last(r, RUN_M_EPOCH), last(r, RUN_M_LR),
            last(r, RUN_M_TRAIN_LOSS), last(r, RUN_M_TRAIN_ACC), last(r, RUN_M_VAL_LOSS),
            last(r, RUN_M_VAL_ACC), last(r, RUN_M_IMAGES_PER_S));
  if (results)
    fprintf(out, "  %-11s epoch %lld, val acc %.4f\n", "best", (long long)in->best_epoch,
            in->best_val_acc);
  if (results && in->has_test)
    fprintf(out, "  %-11s last model loss %.4f acc %.4f; best model loss %.4f acc %.4f\n",
            "test", in->test_loss_last, in->test_acc_last, in->test_loss_best,
            in->test_acc_best);
  else if (in->status == RUN_STATUS_COMPLETE)
    fprintf(out, "  %-11s ? (/results unreadable or out of range: see dpt-aggregate)\n",
            "test");
  else
    fprintf(out, "  %-11s not yet (written when the run completes)\n", "test");
}

/* The records between epochs, when the file has them: how many, how often, the last. */
static void run_between(FILE *out, const runfile_t *r) {
  const run_curves_t *cv = &r->curves;
  const run_series_t *iv = &cv->s[RUN_SERIES_INTERVALS], *ev = &cv->s[RUN_SERIES_EVALS];
  if (r->has & RUNFILE_HAS_INTERVALS) {
    fprintf(out, "  %-11s %lld rows, every %s steps (metrics.every_steps)", "intervals",
            (long long)iv->n, cfg(r, "metrics.every_steps"));
    if (iv->n)
      fprintf(out, "; last: step %lld, lr %.6g, train loss %.4f acc %.4f",
              (long long)iv->col[RUN_S_STEP][iv->n - 1].i, iv->col[RUN_I_LR][iv->n - 1].d,
              iv->col[RUN_I_TRAIN_LOSS][iv->n - 1].d, iv->col[RUN_I_TRAIN_ACC][iv->n - 1].d);
    fprintf(out, "\n");
  }
  if (r->has & RUNFILE_HAS_EVALS) {
    fprintf(out, "  %-11s %lld rows, every %s rounds (eval.every_rounds)", "evals",
            (long long)ev->n, cfg(r, "eval.every_rounds"));
    if (ev->n)
      fprintf(out, "; last: round %lld (step %lld), val loss %.4f acc %.4f",
              (long long)ev->col[RUN_S_ROUNDS][ev->n - 1].i,
              (long long)ev->col[RUN_S_STEP][ev->n - 1].i, ev->col[RUN_E_VAL_LOSS][ev->n - 1].d,
              ev->col[RUN_E_VAL_ACC][ev->n - 1].d);
    fprintf(out, "\n");
  }
}

static void run_host(FILE *out, const runfile_t *r) {
  const run_info_t *in = &r->info;
  int prov = (r->has & RUNFILE_HAS_PROVENANCE) != 0;
  double wall = r->has & RUNFILE_HAS_RESULTS ? in->wall_time : NAN;
  fprintf(out, "  %-11s host %s, %.0f MPI rank(s), %.0f BLAS thread(s), Slurm job %s\n",
          "ran on", prov ? in->hostname : "?", prov ? (double)in->mpi_ranks : 0.0,
          prov ? (double)in->blas_threads : 0.0,
          !prov ? "?" : *in->slurm_job_id ? in->slurm_job_id : "-");
  fprintf(out, "  %-11s %s to %s (wall %.1f s)\n", "time", prov ? in->start_time : "?",
          prov ? in->end_time : "?", wall);
}

/* The communication ledger: rounds by kind, payload per participant. */
static void run_rounds(FILE *out, const runfile_t *r) {
  const ledger_t *l = &r->rounds;
  if (!(r->has & RUNFILE_HAS_ROUNDS)) {
    fprintf(out, "  %-11s ? (no /rounds: written before the ledger, or unreadable)\n", "rounds");
    return;
  }
  int64_t count[LEDGER_KIND_COUNT] = {0};
  for (int64_t i = 0; i < l->n; i++) count[l->kind[i]]++;
  char kinds[128] = "", bytes[32];
  size_t len = 0;
  for (int k = 0; k < LEDGER_KIND_COUNT && len < sizeof kinds; k++)
    if (count[k])
      len += (size_t)snprintf(kinds + len, sizeof kinds - len, "%s%s", len ? ", " : "",
                              ledger_kind_names[k]);
  dpt_format_bytes(bytes, sizeof bytes, (double)ledger_bytes(l, 0, l->n));
  fprintf(out, "  %-11s %lld (%s), %s per %s\n", "rounds", (long long)l->n,
          l->n ? kinds : "none yet", bytes,
          l->n && l->participants[0] == 0 ? "replica" : "worker");
}

/* What ran, with which config, how far it got and what it reached. */
static int summary_run(FILE *out, const char *path) {
  runfile_t r;
  if (runfile_read_partial(path, &r) < 0) return -1;
  runfile_typed_config(&r);
  run_setup(out, &r);
  run_progress(out, &r);
  run_rounds(out, &r);
  run_between(out, &r);
  run_host(out, &r);
  sum_order(out, r.sum_block);
  runfile_free(&r);
  return 0;
}

/* --- dataset ---------------------------------------------------------------------- */

/* What the dataset holds, read through its owner's head reader. */
static void summary_dataset(FILE *out, hid_t file) {
  dataset_head_t h;
  dataset_head_read(file, &h, 0);
  char safe[4 * 4096];
  fprintf(out, "  %-11s %s\n", "name",
          h.name ? dpt_printable(safe, sizeof safe, h.name, 0) : "?");
  fprintf(out, "  %-11s %lld train + %lld test, %lld x %lld x %lld (channels x height x "
          "width), uint8\n", "images", (long long)h.train_n, (long long)h.test_n,
          (long long)h.channels, (long long)h.height, (long long)h.width);
  fprintf(out, "  %-11s %lld", "classes", (long long)h.num_classes);
  for (int64_t i = 0; i < h.n_class_names && i < 12; i++) {
    char name[4096];
    snprintf(name, sizeof name, "%.*s", (int)h.class_name_width,
             h.class_names + h.class_name_width * (size_t)i);
    fprintf(out, "%s%s", i ? ", " : ": ", dpt_printable(safe, sizeof safe, name, 0));
  }
  if (h.n_class_names > 12) fprintf(out, ", ...");
  if (h.has & DS_HEAD_COARSE)
    fprintf(out, " (%lld coarse classes)", (long long)h.num_coarse_classes);
  fprintf(out, "\n");
  if (h.has & DS_HEAD_NORM) {
    fprintf(out, "  %-11s", "mean, std");
    for (int i = 0; i < h.channels; i++) fprintf(out, " %.4f", h.mean[i]);
    fprintf(out, ";");
    for (int i = 0; i < h.channels; i++) fprintf(out, " %.4f", h.std[i]);
    fprintf(out, " (per channel, of pixel/255 over the training split)\n");
  }
  fprintf(out, "  %-11s %s (%lld files)\n", "source",
          h.source_dir ? dpt_printable(safe, sizeof safe, h.source_dir, 0) : "?",
          (long long)h.n_source_files);
  dataset_head_free(&h);
}

/* --- checkpoint and other kinds: generic ----------------------------------------- */

typedef struct {
  long long datasets, groups;
  double bytes, stored;
} tally_t;

static void tally(hid_t group, tally_t *t, int depth) {
  H5G_info_t info;
  if (depth > 32 || H5Gget_info(group, &info) < 0) return;
  for (hsize_t i = 0; i < info.nlinks && t->datasets + t->groups < 100000; i++) {
    char name[512];
    H5L_info_t li;
    if (H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                           H5P_DEFAULT) < 0 ||
        H5Lget_info(group, name, &li, H5P_DEFAULT) < 0 || li.type != H5L_TYPE_HARD)
      continue;
    hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj < 0) continue;
    if (H5Iget_type(obj) == H5I_GROUP) {
      t->groups++;
      tally(obj, t, depth + 1);
    } else if (H5Iget_type(obj) == H5I_DATASET) {
      hid_t type = H5Dget_type(obj), sp = H5Dget_space(obj);
      hssize_t n = H5Sget_simple_extent_npoints(sp);
      t->datasets++;
      if (n > 0) t->bytes += (double)n * (double)H5Tget_size(type);
      t->stored += (double)H5Dget_storage_size(obj);
      H5Sclose(sp);
      H5Tclose(type);
    }
    H5Oclose(obj);
  }
}

/* Where the checkpoint stands, read through its owner's head reader: what the file
 * lacks shows as "?". */
static void checkpoint_head(FILE *out, hid_t file) {
  ckpt_head_t h;
  ckpt_head_read(file, &h, 0);
  const struct { unsigned bit; const char *label; int64_t v; } pos[] = {
      {CKPT_HEAD_EPOCH, "epoch", h.epoch},
      {CKPT_HEAD_STEP, "step", h.step},
      {CKPT_HEAD_K, "K", h.num_workers}};
  fprintf(out, "  %-11s", "position");
  for (int i = 0; i < 3; i++)
    if (h.has & pos[i].bit)
      fprintf(out, "%s%s %lld", i ? ", " : " ", pos[i].label, (long long)pos[i].v);
    else
      fprintf(out, "%s%s ?", i ? ", " : " ", pos[i].label);
  fprintf(out, "\n");
  if (h.has & CKPT_HEAD_NPARAMS)
    fprintf(out, "  %-11s %lld parameters\n", "model", (long long)h.nparams);
  sum_order(out, h.sum_block);
  if (h.has & CKPT_HEAD_BEST) {
    /* a crafted value is named, not shown as the best */
    if (run_value_check(RUN_V_EPOCHS, (double)h.best_epoch, "best_epoch") < 0 ||
        run_value_check(RUN_V_ACC, h.best_val_acc, "best_val_acc") < 0)
      fprintf(out, "  %-11s ? (%s)\n", "best", dpt_errmsg());
    else
      fprintf(out, "  %-11s epoch %lld, val acc %.4f\n", "best", (long long)h.best_epoch,
              h.best_val_acc);
    dpt_clear_error();
  }
  ckpt_head_free(&h);
}

static void summary_generic(FILE *out, hid_t file, const char *path, int checkpoint) {
  if (checkpoint) checkpoint_head(out, file);
  tally_t t = {0};
  tally(file, &t, 0);
  struct stat st;
  fprintf(out, "  %-11s %lld datasets in %lld groups, %.1f MB of values (%.1f MB stored, "
          "file %.1f MB)\n", checkpoint ? "state" : "contents", t.datasets, t.groups,
          t.bytes / 1e6, t.stored / 1e6, stat(path, &st) == 0 ? (double)st.st_size / 1e6 : 0.0);
}

/* --- entry ------------------------------------------------------------------------ */

int insp_summary(FILE *out, const char *path, const char *schema_dir) {
  char *schema = NULL, *version = NULL;
  hid_t file = insp_open(path, 0, &schema, &version);
  if (file < 0) return -1;
  /* The newest major understood is the schema file's; 1 when it cannot be found. */
  int known = 1, rc = 0;
  char yaml[4096];
  insp_schema_t s;
  if (schema_dir && insp_schema_path(yaml, sizeof yaml, schema_dir, schema) == 0 &&
      insp_schema_load(&s, yaml) == 0) {
    known = insp_version_major(s.version);
    insp_schema_free(&s);
  }
  dpt_clear_error();
  if (insp_version_major(version) > known) {
    rc = dpt_fail("%s: a %s file of schema version %s, newer than this dpt understands "
                  "(major %d); upgrade dpt to read it", path, schema, version, known);
  } else if (!strcmp(schema, RUN_SCHEMA)) {
    header(out, file, path, "run", schema, version);
    rc = summary_run(out, path);
  } else if (!strcmp(schema, DATASET_SCHEMA)) {
    header(out, file, path, "dataset", schema, version);
    summary_dataset(out, file);
  } else if (!strcmp(schema, CKPT_SCHEMA)) {
    header(out, file, path, "checkpoint", schema, version);
    summary_generic(out, file, path, 1);
  } else {
    rc = dpt_fail("%s: a '%s' file, a kind this dpt does not know (" DATASET_SCHEMA ", "
                  RUN_SCHEMA ", " CKPT_SCHEMA ")", path, schema);
  }
  dpt_free(schema);
  dpt_free(version);
  H5Fclose(file);
  return rc;
}
