/* plot.h - curves through gnuplot: per group of runs (as in the table), the mean
 * validation accuracy against epoch and against communication rounds, and H against
 * epoch for dynamic strategies. Writes DIR/data/gNN.dat, DIR/NAME.gp and, by running
 * gnuplot on each script, DIR/NAME.svg and DIR/NAME.png. */
#ifndef DPT_AGG_PLOT_H
#define DPT_AGG_PLOT_H

#include <stdio.h>

#include "runset.h"
#include "study.h"

/* The plots this module knows, by name. */
extern const char *const agg_plot_names[];

/* which: plot names to draw (empty: every one the runs have data for). title: a prefix
 * for the plots' titles (NULL: none). Prints each file written to `log`. */
int agg_plots(const char *dir, const agg_run_t *const *runs, int n, const char *const *keys,
              int nkeys, const agg_list_t *which, const char *title, FILE *log);

#endif
