/* test_core_cli.c - unit tests of the binaries' failure report (src/core/cli.c): what
 * reaches stderr, from which rank, and the exit status returned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/cli.h"
#include "../../src/core/err.h"
#include "../../src/core/exitcodes.h"
#include "test.h"

/* stderr goes to a temporary file between capture_start and capture_end, which returns
 * what was written (static buffer). */
static int saved_fd = -1;
static FILE *capture;

static void capture_start(void) {
  fflush(stderr);
  capture = tmpfile();
  saved_fd = dup(2);
  dup2(fileno(capture), 2);
}

static const char *capture_end(void) {
  static char buf[4096];
  fflush(stderr);
  dup2(saved_fd, 2);
  close(saved_fd);
  rewind(capture);
  size_t n = fread(buf, 1, sizeof buf - 1, capture);
  buf[n] = 0;
  fclose(capture);
  return buf;
}

TEST(core_cli_fail_prints_the_error_chain_and_returns_the_status) {
  dpt_fail("no such key 'x'");
  dpt_wrap("run.yaml:3");
  capture_start();
  int rc = cli_fail("dpt-test");
  CHECK(!strcmp(capture_end(), "dpt-test: run.yaml:3: no such key 'x'\n"));
  CHECK(rc == DPT_EXIT_ERROR);
  capture_start();
  rc = cli_fail_code("dpt-aggregate", DPT_EXIT_SKIPPED);
  CHECK(!strcmp(capture_end(), "dpt-aggregate: run.yaml:3: no such key 'x'\n") && rc == 4);
  capture_start();
  rc = cli_usage_error("dpt-test", "unknown option '%s'", "-q");
  CHECK(!strcmp(capture_end(), "dpt-test: unknown option '-q'\ntry 'dpt-test --help'\n"));
  CHECK(rc == DPT_EXIT_USAGE);
}

TEST(core_cli_fail_rank_prints_shared_errors_once_and_local_ones_per_rank) {
  dpt_fail("cannot open data/x.h5");
  capture_start();
  int r0 = cli_fail_rank("dpt-train", 0, CLI_ERR_SHARED);
  int r1 = cli_fail_rank("dpt-train", 1, CLI_ERR_SHARED);
  CHECK(!strcmp(capture_end(), "dpt-train: cannot open data/x.h5\n"));
  CHECK(r0 == DPT_EXIT_ERROR && r1 == DPT_EXIT_ERROR);
  capture_start();
  r1 = cli_fail_rank("dpt-train", 1, CLI_ERR_RANK_LOCAL);
  CHECK(!strcmp(capture_end(), "dpt-train: rank 1: cannot open data/x.h5\n"));
  CHECK(r1 == DPT_EXIT_ERROR);
}
