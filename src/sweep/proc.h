/* proc.h - child processes of dpt-sweep: the Slurm commands (sbatch, squeue, scontrol),
 * whose answer is read whole or not used at all, and the trainer runs of run-local and
 * verify, logged to a file. */
#ifndef DPT_SWEEP_PROC_H
#define DPT_SWEEP_PROC_H

#include <stddef.h>

/* The most output one command may print before the answer is refused. */
#define SWEEP_MAX_OUTPUT ((size_t)256 << 20)

/* Runs argv (found on PATH); with out, its whole stdout lands in *out (NUL-terminated,
 * the caller frees it) and its stderr goes to log_path (appended) when given; without
 * out, its stdout goes to log_path (appended, with stderr) when given; else to ours. Returns the exit status, 128+N for a signal, or -1 (with a message) when it
 * could not start or printed more than max_output bytes (0: SWEEP_MAX_OUTPUT). */
int sweep_run_cmd(char *const argv[], char **out, size_t max_output, const char *log_path);

#endif
