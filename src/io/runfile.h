/* runfile.h - run.h5, written and read here only: the resolved config (verbatim YAML and
 * one typed attribute per key), provenance, per-epoch metrics and final results. The
 * trainer rewrites it whole from memory after every epoch and publishes it atomically,
 * so it is always readable and a crash leaves the previous epoch's file. runfile_read
 * fills a runfile_t with what its readers use (the aggregator and verify, sweep status
 * and progress, inspect's summary). Layout: hdf5-schema/run.yaml. */
#ifndef DPT_RUNFILE_H
#define DPT_RUNFILE_H

#include <hdf5.h>
#include <stdint.h>

#include "../comm/ledger.h"
#include "../config/config.h"

#include "../h5/formats.h" /* RUN_SCHEMA, RUN_SCHEMA_VERSION, RUN_SCHEMA_MAJOR */

/* The per-epoch datasets of /metrics, in the order they are written and listed. */
typedef enum {
  RUN_M_EPOCH, RUN_M_LR, RUN_M_TRAIN_LOSS, RUN_M_TRAIN_ACC, RUN_M_VAL_LOSS, RUN_M_VAL_ACC,
  RUN_M_EPOCH_TIME, RUN_M_IMAGES_PER_S,
  RUN_M_H, RUN_M_AVERAGINGS, RUN_M_BYTES, RUN_M_MPI_BYTES_SENT, RUN_M_COMM_TIME,
  RUN_M_COMPUTE_TIME,
  RUN_M_COUNT
} run_metric_t;
/* Columns from this one on are optional: files written before communication accounting
 * lack them, files written before the ledger lack bytes (and hold mpi_bytes_sent as
 * bytes_sent: run_metric_stored_name). */
#define RUN_M_OPTIONAL RUN_M_H

typedef struct {
  int64_t n, cap;       /* epochs recorded */
  int64_t *epoch;       /* 1-based epoch number */
  double *lr, *train_loss, *train_acc, *val_loss, *val_acc;
  double *epoch_time;   /* s */
  double *images_per_s; /* training images per second of the epoch */
  int64_t *h;           /* LocalSGD H of the epoch (0 centralized) */
  int64_t *averagings;  /* averagings (LocalSGD) or gradient reductions (centralized) */
  int64_t *bytes;       /* payload bytes per participant of the epoch's rounds (the
                           ledger's): the algorithm's, the same on every placement */
  int64_t *mpi_bytes_sent; /* bytes rank 0 sent: measured on this placement */
  double *comm_time, *compute_time; /* s, training only */
} run_metrics_t;

/* The dataset name ("train_loss"), its units attribute ("1", "s", ...), and whether the
 * column holds int64_t (else double). */
const char *run_metric_name(run_metric_t c);
const char *run_metric_units(run_metric_t c);
int run_metric_is_int(run_metric_t c);
/* The column's values (m->n of them, int64_t or double as run_metric_is_int says). */
void *run_metrics_column(const run_metrics_t *m, run_metric_t c);
/* The name column c has in the /metrics group g: its own, or the one files written
 * before it had (bytes_sent for mpi_bytes_sent); NULL when g holds neither. */
const char *run_metric_stored_name(hid_t g, run_metric_t c);
/* Value i of column c as a double, whatever its type. */
double run_metrics_value(const run_metrics_t *m, run_metric_t c, int64_t i);
/* The numbers a reader of run.h5 or checkpoint.h5 accepts, so that a crafted or damaged
 * file never shows or resumes an impossible value: an accuracy in [0, 1] and a finite
 * loss >= 0 (both may be NaN: not measured, as without a validation split, or a diverged
 * run), an epoch number in [1, CFG_MAX_EPOCHS], a count of epochs in [0, CFG_MAX_EPOCHS],
 * a finite count or time >= 0. */
typedef enum {
  RUN_V_ANY, RUN_V_ACC, RUN_V_LOSS, RUN_V_EPOCH, RUN_V_EPOCHS, RUN_V_NONNEG
} run_range_t;
/* Fails with "WHAT is X, expected ..." when x lies outside r. */
int run_value_check(run_range_t r, double x, const char *what);
/* Fails naming the first value out of its column's range: accuracies, losses, epoch
 * numbers, H, averagings and bytes. */
int run_metrics_check(const run_metrics_t *m);
/* Reads the columns of a /metrics group (run.h5 or checkpoint.h5) into m, after checking
 * every column's size (1-D, /metrics/epoch's length, at most CFG_MAX_EPOCHS) before it
 * allocates any; bit c of has_metric says column c was there. Values are not checked. */
int runfile_read_metrics(hid_t group, run_metrics_t *m, uint32_t *has_metric);

/* Reads /rounds and /rounds_measured (run.h5 or checkpoint.h5) into l: every column's
 * size checked before any is allocated (1-D, as many rows as /rounds/step), the values
 * by ledger_check. 1 when the file has /rounds, 0 when not (written before the ledger:
 * l empty), -1 when it is unreadable or wrong (l empty). */
int runfile_read_rounds(hid_t file, ledger_t *l);
/* "rounds/NAME" or "rounds_measured/NAME": where column c lives in both files. */
void runfile_rounds_path(char *buf, size_t cap, ledger_column_t c);
/* 1 when ledger column c is optional (ledger_column_optional) and absent from file: its
 * values are zeros. */
int runfile_rounds_absent(hid_t file, ledger_column_t c);
/* ---------------------------------------------------------------- between epochs */

/* The records between epochs, each a table of 1-D columns in a group of its own, written
 * when the config asks for them (optional on read: older files lack them):
 *   /intervals (metrics.every_steps: N): one row per interval of N global steps and per
 *     epoch's last, shorter interval: the mean training loss and accuracy over the
 *     interval's images, and the learning rate of its last step;
 *   /evals (eval.every_rounds: M): one row per M communication rounds: the global
 *     model's validation loss and accuracy after that round.
 * Both start with the point they were taken at: step, the global step (optimizer steps
 * of the run so far, 1-based), epoch (1-based), rounds_total (communication rounds so
 * far), bytes_total (algorithmic bytes so far: payload per participant, the ledger's)
 * and images_total (training images so far, all participants together). Like /metrics,
 * the same on every P. */
typedef enum { RUN_SERIES_INTERVALS, RUN_SERIES_EVALS, RUN_SERIES_COUNT } run_series_kind_t;
/* The columns every series starts with, then those of each. */
enum { RUN_S_STEP, RUN_S_EPOCH, RUN_S_ROUNDS, RUN_S_BYTES, RUN_S_IMAGES, RUN_S_FIRST };
enum { RUN_I_LR = RUN_S_FIRST, RUN_I_TRAIN_LOSS, RUN_I_TRAIN_ACC, RUN_I_COUNT };
enum { RUN_E_VAL_LOSS = RUN_S_FIRST, RUN_E_VAL_ACC, RUN_E_COUNT };
#define RUN_SERIES_MAX_COLS 8

/* One cell: int64_t or double as its column says (an array of cells is stored as either). */
typedef union { int64_t i; double d; } run_cell_t;

typedef struct {
  int64_t n, cap;
  run_cell_t *col[RUN_SERIES_MAX_COLS];
} run_series_t;

/* Both series of a run, indexed by run_series_kind_t. */
typedef struct {
  run_series_t s[RUN_SERIES_COUNT];
} run_curves_t;

/* The group name ("intervals", "evals"), the number of columns, and column c's name,
 * units and type (int64_t when is_int, else double). */
const char *run_series_group(run_series_kind_t k);
int run_series_ncols(run_series_kind_t k);
const char *run_series_col_name(run_series_kind_t k, int c);
const char *run_series_col_units(run_series_kind_t k, int c);
int run_series_col_is_int(run_series_kind_t k, int c);
/* Value i of column c as a double, whatever its type. */
double run_series_value(const run_curves_t *cv, run_series_kind_t k, int c, int64_t i);
/* Appends one row of run_series_ncols(k) cells. */
void run_curves_push(run_curves_t *cv, run_series_kind_t k, const run_cell_t *row);
/* Room for n rows of series k, n of them counted (for a reader that fills the columns). */
void run_curves_resize(run_curves_t *cv, run_series_kind_t k, int64_t n);
void run_curves_free(run_curves_t *cv);
/* Fails naming the first impossible value of either series: a step, round, byte or image
 * count below 0 or going backwards, an epoch out of [1, CFG_MAX_EPOCHS], an accuracy
 * outside [0, 1], a negative loss (NaN stays allowed, as in /metrics). */
int run_curves_check(const run_curves_t *cv);
/* fn(ctx, "intervals/step", units, is_int, column, n) for every column of both series
 * (the checkpoint's writer and reader); stops at the first failure. */
int run_curves_each(run_curves_t *cv,
                    int (*fn)(void *ctx, const char *path, const char *units, int is_int,
                              void *column, int64_t n),
                    void *ctx);
/* Writes series k's group into file (run.h5) when `on` or when it has rows. */
int run_curves_write(hid_t file, const run_curves_t *cv, const int on[RUN_SERIES_COUNT]);
/* Reads every series group present (an absent one leaves 0 rows; *has gets bit k for
 * each present), sizes checked before allocating (1-D, equal lengths, at most
 * RUN_SERIES_MAX_ROWS rows), values checked by run_curves_check. */
#define RUN_SERIES_MAX_ROWS 100000000
int run_curves_read(hid_t file, run_curves_t *cv, unsigned *has);

/* The root attribute `status`: the one vocabulary of a run's state. The trainer sets it,
 * runfile_write spells it (run_status_names[] holds the words, in this order) and
 * runfile_read parses it once; the sweep's task states and the aggregator read it. */
typedef enum {
  RUN_STATUS_NONE,      /* absent or unreadable */
  RUN_STATUS_RUNNING, RUN_STATUS_COMPLETE, RUN_STATUS_INTERRUPTED,
  RUN_STATUS_OTHER      /* a word this dpt does not know */
} run_status_t;
extern const char *const run_status_names[];
/* The status a word spells: RUN_STATUS_NONE for "", RUN_STATUS_OTHER for an unknown one. */
run_status_t run_status_parse(const char *word);

typedef struct {
  run_status_t status;  /* written: running, complete or interrupted */
  char hostname[256];
  char start_time[32], end_time[32];
  int64_t mpi_ranks, blas_threads;
  char slurm_job_id[32], slurm_array_job_id[32], slurm_array_task_id[32];
  int64_t train_images, val_images, test_images;
  /* the training method (config_method_name: "centralized", "LocalSGD", "DiLoCo", ...),
   * computed once by its writer; absent ("") in files written before it was recorded:
   * runfile_method computes it from the config then */
  char method[64];
  /* the crc32 of the data trained and tested on (dpt_split_t's); absent (0) in files
   * written before they were recorded */
  int64_t train_images_crc32, train_labels_crc32, test_images_crc32, test_labels_crc32;
  int64_t epochs_run;
  int64_t best_epoch;   /* 1-based; 0 = none yet */
  double best_val_acc;
  int64_t stopped_early;
  int has_test;         /* the test_* values below are set */
  double test_loss_last, test_acc_last, test_loss_best, test_acc_best;
  double wall_time;     /* s */
  int64_t num_workers, num_classes;
  const int64_t *class_hist; /* (num_workers, num_classes) images per worker and class */
  int64_t averagings_total;
  int64_t weights_crc32;  /* zlib crc32 of the final global parameters (float32) */
  /* the communication ledger, written as /rounds and /rounds_measured when not NULL;
   * NULL on read (runfile_read fills runfile_t.rounds) */
  const ledger_t *rounds;
  /* the records between epochs, their groups written when the config asks for them
   * (metrics.every_steps, eval.every_rounds) or when they hold rows; NULL on read
   * (runfile_read fills runfile_t.curves) */
  const run_curves_t *curves;
} run_info_t;

/* The learning and timing figures of one epoch, as run_metrics_push appends them. */
typedef struct {
  int64_t epoch;
  double lr;
  double train_loss, train_acc;
  double val_loss, val_acc;   /* NAN without a validation split */
  double seconds;             /* the epoch's wall time, evaluation included */
  double images_per_s;        /* training images per second of training */
} run_epoch_t;

/* Appends one epoch (its communication columns 0 until run_metrics_comm). */
void run_metrics_push(run_metrics_t *m, const run_epoch_t *e);
/* The communication columns of the epoch just pushed. */
void run_metrics_comm(run_metrics_t *m, int64_t h, int64_t averagings, int64_t bytes,
                      int64_t mpi_bytes_sent, double comm_time, double compute_time);
void run_metrics_free(run_metrics_t *m);
/* Room for n epochs, n of them counted (for a reader that fills the columns); columns
 * grown here are zero beyond what they held. */
void run_metrics_resize(run_metrics_t *m, int64_t n);
/* fn(ctx, name, units, is_int, column) for every per-epoch column, in table order;
 * stops at the first failure. Columns hold m->n int64_t or double values. */
int run_metrics_each(run_metrics_t *m,
                     int (*fn)(void *ctx, const char *name, const char *units, int is_int,
                               void *column),
                     void *ctx);
/* Fills hostname, ranks, start time and Slurm ids from the environment; status running. */
void run_info_init(run_info_t *info, int64_t mpi_ranks);

/* How /config stores a key (the key table's type): I64LE, U64LE (the seed), F64LE, the
 * h5py bool enum, or a string; a key left at `auto` is the string "auto". */
typedef enum {
  RUNCFG_INT, RUNCFG_UINT, RUNCFG_FLOAT, RUNCFG_BOOL, RUNCFG_STRING, RUNCFG_UNKNOWN
} runfile_kind_t;
runfile_kind_t runfile_config_kind(const char *key);
/* 1 when an attribute of HDF5 type `type` is how a 1.1 file stores `key`, 0 when not
 * (*expected names the type wanted), -1 for a key this dpt does not know. */
int runfile_config_type_ok(const char *key, hid_t type, const char **expected);
/* The /config attribute `key` of `group` as config text ("64", "0.01", "true", "SGDM"),
 * from a typed (1.1) or a string (1.0) file alike; dpt_free() it. */
int runfile_config_read(hid_t group, const char *key, char **text);
/* Writes the root attribute `config` (config_to_yaml) and the group /config. */
int runfile_config_write(hid_t file, const dpt_config_t *cfg);

int runfile_write(const char *path, const dpt_config_t *cfg, const run_info_t *info,
                  const run_metrics_t *m);

/* ---------------------------------------------------------------- reading */

/* Which parts of the file runfile_read found (runfile_t.has). */
enum {
  RUNFILE_HAS_CONFIG = 1 << 0,      /* /config (and ncfg keys) */
  RUNFILE_HAS_CONFIG_YAML = 1 << 1, /* the root attribute `config` */
  RUNFILE_HAS_PROVENANCE = 1 << 2,  /* every /provenance attribute */
  RUNFILE_HAS_METRICS = 1 << 3,     /* /metrics with every required column */
  RUNFILE_HAS_RESULTS = 1 << 4,     /* the /results attributes every run has */
  RUNFILE_HAS_WORKERS = 1 << 5,     /* /results num_workers and averagings_total */
  RUNFILE_HAS_CRC = 1 << 6,         /* /results weights_crc32 (with the test results) */
  RUNFILE_HAS_TYPED_CONFIG = 1 << 7, /* runfile_t.config: the run's config, loaded */
  RUNFILE_HAS_DATA_CRC = 1 << 8,    /* /provenance train_images_crc32 and the other three */
  RUNFILE_HAS_ROUNDS = 1 << 9,      /* /rounds, the communication ledger */
  RUNFILE_HAS_INTERVALS = 1 << 10,  /* /intervals (metrics.every_steps) */
  RUNFILE_HAS_EVALS = 1 << 11,      /* /evals (eval.every_rounds) */
};

typedef struct {
  char schema_version[16];
  char creator[64], creator_version[64], file_time[32]; /* "" when absent */
  int64_t sum_block;         /* root sum_block: terms per FMA chain of the writing build's
                                blocked sums; 0 when absent (a build before them summed
                                each output in one chain), -1 when present but not a
                                positive integer (a damaged or crafted file) */
  int complete;              /* the completeness mark is 1: the writer finished the file */
  char *config_yaml;         /* the resolved config as YAML; NULL when absent */
  int ncfg;
  char **cfg_key, **cfg_val; /* /config as config text ("64", "true"), sorted by key */
  /* The config loaded by the config module from config_yaml or, without it, from the
   * /config values, by runfile_typed_config (only readers that need it pay for it); set
   * when `has` says RUNFILE_HAS_TYPED_CONFIG (not when neither loads, as for a file of
   * another version with keys this dpt does not know). */
  dpt_config_t config;
  int config_tried;          /* runfile_typed_config ran */
  char status_word[16];      /* the status as written, for messages ("" when absent) */
  run_info_t info;           /* status parsed, /provenance, /results; class_hist and
                                curves stay NULL */
  run_metrics_t metrics;     /* /metrics; a column the file lacks is all zeros */
  uint32_t has_metric;       /* bit c: the file holds column c (run_metric_t) */
  ledger_t rounds;           /* /rounds and /rounds_measured (comm/ledger.h); n = 0 in
                                files written before the ledger (RUNFILE_HAS_ROUNDS) */
  run_curves_t curves;       /* /intervals and /evals; 0 rows when absent */
  unsigned has;              /* RUNFILE_HAS_* */
} runfile_t;

/* Reads a run file whole, for the aggregator and verify. Fails with "PATH: REASON" when
 * the file is missing, not HDF5, not a dpt-run file, of a newer major version, lacks the
 * completeness mark ("no completeness mark: written by a writer that died, not
 * trusted"), its status, /config, /metrics (or a required column, or columns of unequal
 * length) or the /results every run has. Optional parts (provenance, the communication
 * columns, the test results, crc, workers) are read when present; `has` says which. */
int runfile_read(const char *path, runfile_t *out);
/* As runfile_read, for a summary or a status of a file that may be unfinished or
 * damaged: only opening it (missing, not HDF5, wrong schema, newer major) can fail;
 * every part missing or unreadable is left out of `has` (an empty status when absent). */
int runfile_read_partial(const char *path, runfile_t *out);
/* The run's typed config (runfile_t.config), loaded on the first call; NULL when the
 * file has no /config or neither the YAML nor the values load. Never fails. */
const dpt_config_t *runfile_typed_config(runfile_t *r);
void runfile_free(runfile_t *r);
/* The run's method name: /provenance method, or for a file without it config_method_name
 * of its typed config, or "?" when that does not load (then kept in r->info.method). */
const char *runfile_method(runfile_t *r);
/* The /config value of a dotted key as config text, or NULL when the file has none. */
const char *runfile_config(const runfile_t *r, const char *key);

#endif
