/* runfile.h - run.h5: the small file the aggregator reads. Resolved config (verbatim YAML
 * and one attribute per key), provenance, per-epoch metrics and final results. It is
 * rewritten whole from memory after every epoch and published atomically, so it is
 * always readable and a crash leaves the previous epoch's file. Layout:
 * hdf5-schema/run.yaml. */
#ifndef DPT_RUNFILE_H
#define DPT_RUNFILE_H

#include <hdf5.h>
#include <stdint.h>

#include "../config/config.h"

/* 1.1: /config attributes carry their type (1.0: strings). */
#define RUN_SCHEMA_VERSION "1.1"

typedef struct {
  int64_t n, cap;       /* epochs recorded */
  int64_t *epoch;       /* 1-based epoch number */
  double *lr, *train_loss, *train_acc, *val_loss, *val_acc;
  double *epoch_time;   /* s */
  double *images_per_s; /* training images per second of the epoch */
  int64_t *h;           /* LocalSGD H of the epoch (0 centralized) */
  int64_t *averagings;  /* averagings (LocalSGD) or gradient reductions (centralized) */
  int64_t *bytes_sent;  /* bytes this rank (rank 0) sent */
  double *comm_time, *compute_time; /* s, training only */
} run_metrics_t;

typedef struct {
  char status[16];      /* running | complete | interrupted */
  char hostname[256];
  char start_time[32], end_time[32];
  int64_t mpi_ranks, blas_threads;
  char slurm_job_id[32], slurm_array_job_id[32], slurm_array_task_id[32];
  int64_t train_images, val_images, test_images;
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
} run_info_t;

void run_metrics_push(run_metrics_t *m, int64_t epoch, double lr, double train_loss,
                      double train_acc, double val_loss, double val_acc, double seconds,
                      double images_per_s);
/* The communication columns of the epoch just pushed. */
void run_metrics_comm(run_metrics_t *m, int64_t h, int64_t averagings, int64_t bytes_sent,
                      double comm_time, double compute_time);
void run_metrics_free(run_metrics_t *m);
/* Room for n epochs, n of them counted (for a reader that fills the columns). */
void run_metrics_resize(run_metrics_t *m, int64_t n);
/* fn(ctx, name, units, is_int, column) for every per-epoch column, in table order;
 * stops at the first failure. Columns hold m->n int64_t or double values. */
int run_metrics_each(run_metrics_t *m,
                     int (*fn)(void *ctx, const char *name, const char *units, int is_int,
                               void *column),
                     void *ctx);
/* Fills hostname, ranks, start time and Slurm ids from the environment. */
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

int runfile_write(const char *path, const dpt_config_t *cfg, const run_info_t *info,
                  const run_metrics_t *m);

#endif
