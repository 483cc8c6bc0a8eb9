/* launch.h - where dpt's binaries are and the command line that trains one task's config:
 * dpt-train beside dpt-sweep (or $DPT_TRAIN), under mpirun when it is on PATH. */
#ifndef DPT_SWEEP_LAUNCH_H
#define DPT_SWEEP_LAUNCH_H

#include <stddef.h>

/* The directory of the running binary ("." when /proc/self/exe is unreadable). */
void sweep_bin_dir(char *buf, size_t cap);
/* dpt-train beside this binary, or $DPT_TRAIN. */
void sweep_train_path(char *buf, size_t cap);

/* Room in a sweep_train_args() array: the command takes at most SWEEP_TRAIN_ARGS_USED,
 * the caller adds its own options and the terminating NULL. */
#define SWEEP_TRAIN_ARGS 16
#define SWEEP_TRAIN_ARGS_USED 10

/* The command that trains config cfg into run_dir on np ranks, into args; returns its
 * length, or -1 when it needs mpirun (np is not "1") and use_mpirun is 0. */
int sweep_train_args(char *args[SWEEP_TRAIN_ARGS], int use_mpirun, char *np, char *train,
                     char *cfg, char *run_dir);

#endif
