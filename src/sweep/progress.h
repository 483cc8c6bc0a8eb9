/* progress.h - how far each task of a sweep has got and how long the rest should take,
 * from the task's run.h5 (dpt-train rewrites it after every epoch), for dpt-sweep status.
 * Estimates are as of each run's last finished epoch: they move when an epoch ends. */
#ifndef DPT_SWEEP_PROGRESS_H
#define DPT_SWEEP_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sweep.h"
#include "taskstate.h"

typedef struct {
  int has_file;       /* a readable run.h5 */
  int64_t epoch;      /* epochs finished */
  int64_t epochs;     /* model.epochs (0 = unknown) */
  double val_acc;     /* last validation accuracy; NaN without a validation split or epoch */
  double seconds;     /* training time so far: the sum of the epochs' times */
} sweep_progress_t;

/* Reads sweep_dir/row->run_dir/run.h5; a missing or unreadable file is no progress. */
void sweep_progress_read(const char *sweep_dir, const sweep_row_t *row, sweep_progress_t *p);
/* Seconds the task still needs at its mean epoch time; -1 before its first epoch. */
double sweep_progress_eta(const sweep_progress_t *p);
/* "epoch 2/3  val acc 0.8770  ETA 1m26s", "-" for what is not known. */
void sweep_progress_line(const sweep_progress_t *p, char *buf, size_t cap);
/* The sweep's ETA in seconds, -1 when nothing has finished an epoch yet or only
 * interrupted tasks are left (they wait for a resubmit): what the running and queued
 * (pending, interrupted) tasks still need, at the mean task length of the runs seen so
 * far for those without an epoch, over the tasks running now. */
double sweep_progress_total_eta(const sweep_progress_t *p, const sweep_state_t *state, int n);
/* For dpt-sweep status: prints one line per running or interrupted task of the manifest
 * ("task 2  demo[1]  running  epoch 2/3  val acc 0.8770  ETA 1m26s"; an interrupted one
 * says "stopped (resubmit continues it)" instead of an ETA) and writes the sweep's ETA
 * ("3m10s" or "-") into eta. */
void sweep_progress_report(FILE *out, const char *sweep_dir, const sweep_manifest_t *m,
                           const sweep_state_t *state, char *eta, size_t cap);
/* dpt_format_duration (src/core/numfmt.h): "45s", "3m05s", "2h04m". */
void sweep_format_seconds(char *buf, size_t cap, double s);

#endif
