/* fuzz_checkpoint.c - target "checkpoint": a checkpoint.h5 restored into a trainer of
 * the base run's config (ckpt_load, as --resume does), read for model.pretrained
 * (ckpt_read_params), and given to dpt-inspect. Input: see h5edit.h. */
#include "../../src/core/err.h"
#include "../../src/train/checkpoint.h"
#include "../../src/train/trainer.h"
#include "base.h"
#include "fuzz.h"
#include "h5edit.h"

FUZZ_TARGET(checkpoint) {
  static dataset_import_t imp;
  static int ready;
  char path[4096];
  const char *base = fuzz_base_file("checkpoint");
  if (!ready) fuzz_base_dataset(&imp), ready = 1;
  fuzz_h5_file(data, size, base, path);
  trainer_t t;
  if (trainer_init(&t, fuzz_base_config(), &imp.ds, fuzz_dir(), MPI_COMM_WORLD) < 0)
    DPT_PANIC("trainer_init: %s", dpt_errmsg());
  ckpt_load(&t, path);
  ckpt_read_params(path, "params", t.state.params, t.model.nparams);
  trainer_free(&t);
  fuzz_inspect(path);
  return 0;
}
