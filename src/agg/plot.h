/* plot.h - curves through gnuplot: per group of runs (as in the table), the mean
 * validation accuracy against epoch and against communication rounds, H against epoch
 * for dynamic strategies, and with --network accuracy against simulated time and bytes.
 * Writes DIR/data/gNN.dat, DIR/NAME.gp and, by running gnuplot on each script,
 * DIR/NAME.svg and DIR/NAME.png. */
#ifndef DPT_AGG_PLOT_H
#define DPT_AGG_PLOT_H

#include <stdio.h>

#include "runset.h"

/* The plots this module knows, as bits of a set. The last two need runs priced under a
 * network (replay.h): accuracy at each epoch's end against the simulated time and the
 * bytes one participant sent by then. */
typedef enum {
  AGG_PLOT_VAL_ACC_EPOCH = 1, AGG_PLOT_VAL_ACC_ROUNDS = 2, AGG_PLOT_H_EPOCH = 4,
  AGG_PLOT_VAL_ACC_TIME = 8, AGG_PLOT_VAL_ACC_BYTES = 16
} agg_plot_t;

/* "val_acc_epoch", "val_acc_rounds", "H_epoch", "val_acc_time" or "val_acc_bytes" added
 * to *set; fails naming them. */
int agg_plot_parse(const char *name, unsigned *set);

/* which: the plots to draw (0: every one the runs have data for). title: a prefix for
 * the plots' titles (NULL: none). Prints each file written to `log`. */
int agg_plots(const char *dir, const agg_run_t *const *runs, int n, const char *const *keys,
              int nkeys, unsigned which, const char *title, FILE *log);

#endif
