/* plot.h - figures through gnuplot: per group of runs (as in the table), a curve of the
 * mean over its seeds with a band of ± the standard deviation (or error), for a y metric
 * (validation accuracy, validation or training loss, H of dynamic strategies) against an
 * x column (epochs, communication rounds; with --network the simulated time and the bytes
 * one participant sent, replay.h). A plot is named Y_X: val_acc_epoch, val_loss_rounds,
 * H_epoch, val_acc_time. Writes DIR/data/gNNN.dat, DIR/NAME.gp and, by running gnuplot
 * on each script, DIR/NAME.svg, .png and (when asked) .pdf. */
#ifndef DPT_AGG_PLOT_H
#define DPT_AGG_PLOT_H

#include <stdio.h>

#include "runset.h"

/* The file formats of the figures, as bits of a set. */
typedef enum { AGG_FIG_SVG = 1, AGG_FIG_PNG = 2, AGG_FIG_PDF = 4 } agg_fig_format_t;

/* Plot NAME (Y_X) added to *set, a bit per pair; fails naming the metrics and columns. */
int agg_plot_parse(const char *name, unsigned *set);
/* "svg", "png" or "pdf" added to *set; fails naming them. */
int agg_plot_format_parse(const char *name, unsigned *set);

typedef struct {
  unsigned which;    /* the plots to draw (agg_plot_parse's bits); 0: val_acc_epoch,
                        val_loss_epoch, val_acc_rounds, H_epoch, val_acc_time,
                        val_acc_bytes, where the runs have data */
  const char *title; /* the figures' title (NULL: none); a table title's trailing
                        parenthesis, which names the table's value, is left out */
  const char *facet; /* one panel per value of this key; NULL: past 8 curves, a key
                        chosen to fit (plotlabel.h) */
  int se;            /* bands of ± the standard error (1) or deviation (0) over seeds */
  unsigned formats;  /* agg_fig_format_t bits; 0: SVG and PNG */
} agg_plot_opts_t;

/* Fails when o asks for what the keys cannot give (a facet that is not one of them). */
int agg_plot_check(const agg_plot_opts_t *o, const char *const *keys, int nkeys);

/* Prints each file written to `log`. */
int agg_plots(const char *dir, const agg_run_t *const *runs, int n, const char *const *keys,
              int nkeys, const agg_plot_opts_t *o, FILE *log);

#endif
