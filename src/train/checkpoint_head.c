/* checkpoint_head.c - reading the head of a checkpoint.h5 (see checkpoint_head.h). The
 * attribute names are those checkpoint.c writes (its root attribute table, sum_block). */
#include "checkpoint_head.h"

#include <string.h>

#include "../core/err.h"
#include "../h5/h5util.h"

/* One number field (into *i when i, else *f): read when present; a failure counts only
 * when it is needed, else the field is left out of has. */
static int head_num(hid_t file, const char *name, int64_t *i, double *f, unsigned bit,
                    ckpt_head_t *h, unsigned need) {
  if ((need & bit) || H5Aexists(file, name) > 0) {
    if ((i ? h5_read_attr_i64(file, name, i) : h5_read_attr_f64(file, name, f)) == 0) return 0;
    if (need & bit) return -1;
  }
  h->has &= ~bit;
  dpt_clear_error();
  return 0;
}

int ckpt_head_read(hid_t file, ckpt_head_t *h, unsigned need) {
  memset(h, 0, sizeof *h);
  h->has = CKPT_HEAD_EPOCH | CKPT_HEAD_STEP | CKPT_HEAD_K | CKPT_HEAD_NPARAMS |
           CKPT_HEAD_BEST | CKPT_HEAD_CONFIG | CKPT_HEAD_COMPLETE | CKPT_HEAD_SUM_BLOCK;
  int64_t complete = 0;
  if (head_num(file, "epoch", &h->epoch, NULL, CKPT_HEAD_EPOCH, h, need) < 0 ||
      head_num(file, "step", &h->step, NULL, CKPT_HEAD_STEP, h, need) < 0 ||
      head_num(file, "num_workers", &h->num_workers, NULL, CKPT_HEAD_K, h, need) < 0 ||
      head_num(file, "nparams", &h->nparams, NULL, CKPT_HEAD_NPARAMS, h, need) < 0 ||
      head_num(file, "best_epoch", &h->best_epoch, NULL, CKPT_HEAD_BEST, h, need) < 0 ||
      head_num(file, "best_val_acc", NULL, &h->best_val_acc, CKPT_HEAD_BEST, h, need) < 0 ||
      head_num(file, "complete", &complete, NULL, CKPT_HEAD_COMPLETE, h, need) < 0 ||
      head_num(file, "sum_block", &h->sum_block, NULL, CKPT_HEAD_SUM_BLOCK, h, need) < 0)
    return -1;
  if (!(h->has & CKPT_HEAD_SUM_BLOCK) || h->sum_block < 1) { /* absent, or not a count */
    h->sum_block = H5Aexists(file, "sum_block") > 0 ? -1 : 0;
    h->has &= ~CKPT_HEAD_SUM_BLOCK;
  }
  if ((h->has & CKPT_HEAD_COMPLETE) && complete != 1) {
    if (need & CKPT_HEAD_COMPLETE) return dpt_fail("incomplete checkpoint (no 'complete' mark)");
    h->has &= ~CKPT_HEAD_COMPLETE;
  }
  if (((need & CKPT_HEAD_CONFIG) || H5Aexists(file, "config") > 0) &&
      h5_read_attr_str(file, "config", &h->config) == 0)
    return 0;
  if (need & CKPT_HEAD_CONFIG) return -1;
  h->has &= ~CKPT_HEAD_CONFIG;
  dpt_clear_error();
  return 0;
}

/* On failure ckpt_head_read holds nothing to free: the config is read last. */
static int read_head(hid_t file, void *h, unsigned need) {
  return ckpt_head_read(file, h, need);
}

int ckpt_head_open(const char *path, ckpt_head_t *h, unsigned need) {
  memset(h, 0, sizeof *h);
  return h5_read_file(path, CKPT_SCHEMA, CKPT_SCHEMA_MAJOR, read_head, h, need);
}

void ckpt_head_free(ckpt_head_t *h) {
  dpt_free(h->config);
  h->config = NULL;
}
