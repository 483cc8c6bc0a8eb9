/* verify.h - how `dpt-sweep verify` compares a rerun of a task with its recorded run.h5
 * (the command itself: sweep_cmd_verify in commands.h).
 * A run is a function of its config and seed, so the rerun must agree bitwise in every
 * per-epoch metric that does not measure time or this rank's traffic, in the final
 * results, and in the crc32 of the final weights. */
#ifndef DPT_SWEEP_VERIFY_H
#define DPT_SWEEP_VERIFY_H

#include <stddef.h>

/* Compares the run files `recorded` and `rerun`: 0 when they match, 1 when they differ
 * (diff then names the first difference: what, which epoch, both values; and when the
 * two builds summed in different orders, their root sum_block, a second line saying
 * so), -1 when a file cannot be read or lacks what is compared. */
int sweep_verify_compare(const char *recorded, const char *rerun, char *diff, size_t cap);

#endif
