/* cli.c - failure reports of the binaries (see cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

#include "err.h"
#include "exitcodes.h"

int cli_usage_error(const char *prog, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", prog);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\ntry '%s --help'\n", prog);
  return DPT_EXIT_USAGE;
}

int cli_fail(const char *prog) {
  fprintf(stderr, "%s: %s\n", prog, dpt_errmsg());
  return DPT_EXIT_ERROR;
}
