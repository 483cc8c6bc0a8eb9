/* checkpoint_head.h - the head of a checkpoint.h5 without its state arrays: where the run
 * stands (epoch, step, K), the model size, the best epoch so far, the stored config and
 * the writing build's summation order.
 * For the readers outside training (dpt-inspect's summary and PyTorch export); the
 * trainer loads the whole file with ckpt_load (checkpoint.h). */
#ifndef DPT_CHECKPOINT_HEAD_H
#define DPT_CHECKPOINT_HEAD_H

#include <hdf5.h>
#include <stdint.h>

#include "../h5/formats.h"

/* The fields of ckpt_head_t a read found, as bits of `has`. */
enum {
  CKPT_HEAD_EPOCH = 1 << 0,
  CKPT_HEAD_STEP = 1 << 1,
  CKPT_HEAD_K = 1 << 2,
  CKPT_HEAD_NPARAMS = 1 << 3,
  CKPT_HEAD_BEST = 1 << 4,     /* best_epoch and best_val_acc */
  CKPT_HEAD_CONFIG = 1 << 5,
  CKPT_HEAD_COMPLETE = 1 << 6, /* the root attribute complete = 1 */
  CKPT_HEAD_SUM_BLOCK = 1 << 7, /* sum_block (absent in files of builds before blocked sums) */
};

typedef struct {
  unsigned has;               /* CKPT_HEAD_* of the fields read */
  int64_t epoch, step;        /* epochs done, optimizer steps taken */
  int64_t num_workers;        /* K (0: centralized) */
  int64_t nparams;
  int64_t best_epoch;
  double best_val_acc;
  int64_t sum_block;          /* terms per FMA chain of the writing build's blocked sums;
                                 0 when absent (one chain per output), -1 when there
                                 but not a positive integer (damaged or crafted) */
  char *config;               /* the run's config, YAML (ckpt_head_free frees it) */
} ckpt_head_t;

/* Reads the head fields of an open checkpoint. Fields in `need` must be there (else -1,
 * naming the attribute); any other that is absent or unreadable is left out of `has`. */
int ckpt_head_read(hid_t file, ckpt_head_t *h, unsigned need);
/* Opens path as a checkpoint (schema CKPT_SCHEMA, major at most CKPT_SCHEMA_MAJOR) and
 * reads its head as ckpt_head_read does; errors name the path. */
int ckpt_head_open(const char *path, ckpt_head_t *h, unsigned need);
void ckpt_head_free(ckpt_head_t *h);

#endif
