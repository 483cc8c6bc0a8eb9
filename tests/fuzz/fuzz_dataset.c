/* fuzz_dataset.c - target "dataset": a dataset file (data/NAME.h5) through dataset_load
 * and dpt-inspect's check and summary. Input: see h5edit.h (base: fuzz_base_file). */
#include "../../src/data/dataset.h"
#include "base.h"
#include "fuzz.h"
#include "h5edit.h"

FUZZ_TARGET(dataset) {
  char path[4096];
  fuzz_h5_file(data, size, fuzz_base_file("dataset"), path);
  dpt_dataset_t ds;
  if (dataset_load(&ds, path, 0) == 0) dataset_free(&ds);
  if (dataset_load(&ds, path, 3) == 0) dataset_free(&ds);
  fuzz_inspect(path);
  return 0;
}
