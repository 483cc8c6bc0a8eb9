/* cli.h - the failure report of dpt's binaries: "PROG: message" on stderr (the
 * err.h chain: each caller's context, then the cause) and the exit status of
 * exitcodes.h, which the report returns so that main can `return cli_fail(...)`. */
#ifndef DPT_CLI_H
#define DPT_CLI_H

/* Whether "--version" is among the arguments (before a "--"): every binary answers it
 * first, through cli_print_version, whatever else the line holds. */
int cli_version_asked(int argc, char *const *argv);
/* Prints "PROG VERSION" (the `git describe` the build embedded) on stdout; returns
 * DPT_EXIT_OK. */
int cli_print_version(const char *prog);

/* Prints "PROG: <fmt ...>" and a pointer to --help; returns DPT_EXIT_USAGE. */
int cli_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "PROG: <the current dpt error>"; returns DPT_EXIT_ERROR. */
int cli_fail(const char *prog);
/* As cli_fail, returning `code` (an exitcodes.h status) instead. */
int cli_fail_code(const char *prog, int code);

/* Whether an MPI program's error happened on every rank alike (a bad config, which each
 * rank read) or on some ranks only (a file one rank could not write). */
typedef enum { CLI_ERR_SHARED, CLI_ERR_RANK_LOCAL } cli_err_scope_t;
/* For dpt-train, called by every failing rank: a shared error is printed once, by rank
 * 0, as "PROG: message"; a rank-local one by each rank that has it, as "PROG: rank R:
 * message". Returns DPT_EXIT_ERROR on every rank. */
int cli_fail_rank(const char *prog, int rank, cli_err_scope_t scope);

#endif
