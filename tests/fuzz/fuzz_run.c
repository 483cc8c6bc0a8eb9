/* fuzz_run.c - target "run": a run.h5 through the aggregator's reader (agg_run_read)
 * and dpt-inspect. Input: see h5edit.h (base: the run.h5 of fuzz_base_file). */
#include "../../src/agg/runset.h"
#include "base.h"
#include "fuzz.h"
#include "h5edit.h"

FUZZ_TARGET(run) {
  char path[4096];
  fuzz_h5_file(data, size, fuzz_base_file("run"), path);
  agg_run_t run;
  if (agg_run_read(path, &run) == 0) agg_run_free(&run);
  fuzz_inspect(path);
  return 0;
}
