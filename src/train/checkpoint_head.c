/* checkpoint_head.c - reading the head of a checkpoint.h5 (see checkpoint_head.h). The
 * attribute names are those of the root attribute table in checkpoint.c. */
#include "checkpoint_head.h"

#include <string.h>

#include "../core/err.h"
#include "../h5/h5util.h"

/* One integer field: read when present; a failure counts only when it is needed. */
static int head_i64(hid_t file, const char *name, int64_t *v, unsigned bit, ckpt_head_t *h,
                    unsigned need) {
  if ((need & bit) || H5Aexists(file, name) > 0) {
    if (h5_read_attr_i64(file, name, v) == 0) return 0;
    if (need & bit) return -1;
  }
  h->has &= ~bit;
  dpt_clear_error();
  return 0;
}

int ckpt_head_read(hid_t file, ckpt_head_t *h, unsigned need) {
  memset(h, 0, sizeof *h);
  h->has = CKPT_HEAD_EPOCH | CKPT_HEAD_STEP | CKPT_HEAD_K | CKPT_HEAD_NPARAMS |
           CKPT_HEAD_BEST | CKPT_HEAD_CONFIG | CKPT_HEAD_COMPLETE;
  int64_t complete = 0;
  if (head_i64(file, "epoch", &h->epoch, CKPT_HEAD_EPOCH, h, need) < 0 ||
      head_i64(file, "step", &h->step, CKPT_HEAD_STEP, h, need) < 0 ||
      head_i64(file, "num_workers", &h->num_workers, CKPT_HEAD_K, h, need) < 0 ||
      head_i64(file, "nparams", &h->nparams, CKPT_HEAD_NPARAMS, h, need) < 0 ||
      head_i64(file, "best_epoch", &h->best_epoch, CKPT_HEAD_BEST, h, need) < 0 ||
      head_i64(file, "complete", &complete, CKPT_HEAD_COMPLETE, h, need) < 0)
    return -1;
  if ((h->has & CKPT_HEAD_COMPLETE) && complete != 1) {
    if (need & CKPT_HEAD_COMPLETE) return dpt_fail("incomplete checkpoint (no 'complete' mark)");
    h->has &= ~CKPT_HEAD_COMPLETE;
  }
  if ((h->has & CKPT_HEAD_BEST) &&
      (H5Aexists(file, "best_val_acc") <= 0 ||
       h5_read_attr_f64(file, "best_val_acc", &h->best_val_acc) < 0)) {
    if (need & CKPT_HEAD_BEST) return h5_read_attr_f64(file, "best_val_acc", &h->best_val_acc);
    h->has &= ~CKPT_HEAD_BEST;
    dpt_clear_error();
  }
  if (((need & CKPT_HEAD_CONFIG) || H5Aexists(file, "config") > 0) &&
      h5_read_attr_str(file, "config", &h->config) == 0)
    return 0;
  if (need & CKPT_HEAD_CONFIG) return -1;
  h->has &= ~CKPT_HEAD_CONFIG;
  dpt_clear_error();
  return 0;
}

typedef struct {
  ckpt_head_t *h;
  unsigned need;
} head_ctx_t;

static int read_head(hid_t file, void *ctx) {
  head_ctx_t *c = ctx;
  if (ckpt_head_read(file, c->h, c->need) == 0) return 0;
  ckpt_head_free(c->h);
  return -1;
}

int ckpt_head_open(const char *path, ckpt_head_t *h, unsigned need) {
  memset(h, 0, sizeof *h);
  head_ctx_t c = {h, need};
  return h5_read_file(path, CKPT_SCHEMA, CKPT_SCHEMA_MAJOR, read_head, &c);
}

void ckpt_head_free(ckpt_head_t *h) {
  dpt_free(h->config);
  h->config = NULL;
}
