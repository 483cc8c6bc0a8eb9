/* cli.c - failure reports of the binaries (see cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "exitcodes.h"

#ifndef DPT_VERSION
#define DPT_VERSION "unknown"
#endif

int cli_version_asked(int argc, char *const *argv) {
  for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
    if (!strcmp(argv[i], "--version")) return 1;
  return 0;
}

int cli_print_version(const char *prog) {
  printf("%s %s\n", prog, DPT_VERSION);
  return DPT_EXIT_OK;
}

int cli_usage_error(const char *prog, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", prog);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\ntry '%s --help'\n", prog);
  return DPT_EXIT_USAGE;
}

int cli_fail_code(const char *prog, int code) {
  fprintf(stderr, "%s: %s\n", prog, dpt_errmsg());
  return code;
}

int cli_fail(const char *prog) { return cli_fail_code(prog, DPT_EXIT_ERROR); }

int cli_fail_rank(const char *prog, int rank, cli_err_scope_t scope) {
  if (scope == CLI_ERR_RANK_LOCAL)
    fprintf(stderr, "%s: rank %d: %s\n", prog, rank, dpt_errmsg());
  else if (rank == 0)
    fprintf(stderr, "%s: %s\n", prog, dpt_errmsg());
  return DPT_EXIT_ERROR;
}
