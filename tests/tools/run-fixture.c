/* run-fixture.c - writes run files with chosen metrics for the bats tests and the
 * benchmark (fixture.h); a test tool, not part of dpt.
 *
 *   run-fixture OUT [KEY=VALUE...]        one run file (fixture.h names the keys)
 *   run-fixture --sweep N DIR [EPOCHS]    the benchmark's N runs DIR/tNNNN/run.h5
 *
 * Exit 0 when written, 1 on an error (named on standard error), 2 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/cli.h"
#include "../../src/core/exitcodes.h"
#include "fixture.h"

int main(int argc, char **argv) {
  int sweep = argc > 1 && !strcmp(argv[1], "--sweep");
  if (argc < 2 + 2 * sweep)
    return cli_usage_error("run-fixture", "%s",
                           "run-fixture OUT [KEY=VALUE...] | --sweep N DIR [EPOCHS]");
  int rc = sweep ? agg_fixture_sweep(argv[3], atoi(argv[2]), argc > 4 ? atoi(argv[4]) : 150)
                 : agg_fixture_from_words(argv[1], argv + 2, argc - 2);
  return rc < 0 ? cli_fail("run-fixture") : DPT_EXIT_OK;
}
