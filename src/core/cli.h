/* cli.h - how every binary's main reports a failure: "PROG: message" on stderr and the
 * exit status of exitcodes.h. */
#ifndef DPT_CLI_H
#define DPT_CLI_H

/* Prints "PROG: <fmt ...>" and a pointer to --help; returns DPT_EXIT_USAGE. */
int cli_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "PROG: <the current dpt error>"; returns DPT_EXIT_ERROR. */
int cli_fail(const char *prog);

#endif
