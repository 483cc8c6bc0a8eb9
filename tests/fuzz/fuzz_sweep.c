/* fuzz_sweep.c - target "sweep": a sweep spec through sweep_spec_load (beside a copy of
 * sweeps/base/, so the repository's `base: base/x.yaml` resolve), then expanded with its
 * resource expressions when it has at most MAX_TASKS combinations. Run from the
 * repository's root. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/sweep/sweep.h"
#include "fuzz.h"

enum { MAX_TASKS = 64 };

FUZZ_TARGET(sweep) {
  static int ready;
  char dir[4096], base[4200], path[4096];
  snprintf(dir, sizeof dir, "%s/sweeps", fuzz_dir());
  if (!ready) {
    char real[PATH_MAX];
    mkdir(dir, 0700);
    snprintf(base, sizeof base, "%s/base", dir);
    /* left from an earlier run in the same directory: kept */
    if (realpath("sweeps/base", real) && symlink(real, base) != 0 && errno != EEXIST)
      perror(base);
    ready = 1;
  }
  fuzz_write(path, "sweeps/spec.yaml", data, size);
  sweep_spec_t spec;
  if (sweep_spec_load(&spec, path, NULL, 0) < 0) {
    sweep_spec_free(&spec);
    return 0;
  }
  long combos = 1;
  for (int d = 0; d < spec.ndims && combos <= MAX_TASKS; d++) combos *= spec.dims[d].nvalues;
  if (combos <= MAX_TASKS) {
    sweep_plan_t plan;
    if (sweep_expand(&spec, 1001, &plan) == 0) sweep_plan_free(&plan);
  }
  sweep_spec_free(&spec);
  return 0;
}
