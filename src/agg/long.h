/* long.h - every run's per-epoch metrics as one long table (dpt-aggregate --long), ready
 * for pandas or R: a row per run and epoch, with the run's directory, config hash
 * (runset.h: the name of a sweep task's directory), seed and method, the config keys
 * given, then each metric of /metrics (run_metric_name: epoch, lr, train_loss, ...).
 * When some run has records between epochs (run.h5 /intervals, /evals), their rows
 * follow each run's epochs, and the table gains the columns granularity (epoch,
 * interval or eval) and step, rounds_total, bytes_total, images_total (empty on epoch
 * rows); an interval or eval row fills the metric columns of the same name (epoch, lr,
 * train_loss, train_acc; epoch, val_loss, val_acc) and leaves the others empty.
 * CSV (RFC 4180, numbers that read back to the same double, empty where a run lacks a
 * value) or JSON (an array of records, null for no value; key texts as strings). */
#ifndef DPT_AGG_LONG_H
#define DPT_AGG_LONG_H

#include <stdio.h>

#include "format.h"
#include "runset.h"

/* Writes the rows of runs[0..n) with the columns run, hash, experiment.seed, method and
 * keys[0..nkeys) (those four not again). Fails for a format other than CSV or JSON. */
int agg_long_write(FILE *out, const agg_run_t *const *runs, int n, const char *const *keys,
                   int nkeys, agg_format_t f);

#endif
