/* study.h - a table definition from analysis/NAME.yaml: which runs, grouped how, showing
 * what. Every key is optional; command-line options override the file's.
 *
 *   title:   "LocalSGD: workers K x local steps H"   # printed above the table
 *   doc:     which question the table answers          # for people reading the file
 *   where:   [model.num_workers>=1]                    # filters (KEY=V1,V2 KEY!=V KEY>=V ...)
 *   rows:    [model.num_workers]                       # group keys (or pivot rows)
 *   cols:    [model.work.local_steps]                  # pivot columns: makes a pivot table
 *   value:   test_acc                                  # the pivot's value (and the
 *                                                      # value a baseline compares)
 *   values:  [best_val_acc, test_acc, averagings]      # a group table's columns
 *   sort:    -test_acc                                 # column to sort by, '-' descending
 *   baseline: [model.optimizer=SGDM]                   # paired differences to these rows
 *   best_of: model.learning_rate                       # per group, the runs of its best
 *   select_by: best_val_acc                            # value of this key (bestof.h), by
 *                                                      # this field's mean (the default)
 *   spread:  se                                        # ± sd (default) or se
 *   target:  0.85                                      # enables *_to_target
 *   percent: true                                      # accuracies as percentages
 *   digits:  2                                         # decimals of accuracies and losses
 *   format:  md                                        # md | csv | latex | json
 *   plots:   [val_acc_epoch, val_loss_epoch]           # with --plots DIR (Y_X, plot.h)
 *   facet:   model.num_workers                         # one panel per value of this key
 *   plot_format: [svg, png, pdf]                       # the figures' files (default svg, png)
 *   network: [1gbe, nets/lab.yaml]                     # price every run under each
 *   replicas: 8                                        # synchronous runs' replicas
 *   compute: 1500                                      # images/s per participant
 */
#ifndef DPT_AGG_STUDY_H
#define DPT_AGG_STUDY_H

#include <stddef.h>

#include "../core/strlist.h"
#include "format.h"
#include "plot.h"

typedef struct {
  char *title, *doc, *value, *sort, *facet;
  char *best_of;   /* a config key: each group's runs at its best value (bestof.h) */
  char *select_by; /* the field best_of chooses by; NULL: best_val_acc */
  strlist_t where, rows, cols, values;
  strlist_t baseline; /* KEY=VALUE conditions: paired differences to the rows they pick */
  unsigned plots;  /* agg_plot_parse bits; 0: the default plots */
  unsigned plot_formats; /* agg_fig_format_t bits; 0: SVG and PNG */
  agg_format_t format;
  int has_format;  /* format was given */
  double target;   /* 0: none */
  int percent;     /* -1: not set */
  int digits;      /* -1: not set */
  int se;          /* ± the standard error (1) or the standard deviation (0); -1: not set */
  strlist_t network; /* presets or network files (network.h) to price the runs under */
  long replicas;   /* synchronous runs' replicas under every network; 0: the network's */
  double compute;  /* images/s per participant for the replay; 0: the run's measured */
} agg_study_t;

void agg_study_init(agg_study_t *s);
/* Reads a study file; errors name the file, the line and the key. The format and plot
 * names are checked here, where they are written. */
int agg_study_load(agg_study_t *s, const char *path);
/* Same from text (name stands for the file in messages). */
int agg_study_parse(agg_study_t *s, const char *yaml, size_t len, const char *name);
void agg_study_free(agg_study_t *s);
/* Settles what `over` (the command line's settings) sets onto s: its strings and lists
 * replace s's, except filters, which add up; over is freed. */
void agg_study_override(agg_study_t *s, agg_study_t *over);

/* The command-line options that set a study's keys. */
typedef enum {
  AGG_OPT_WHERE, AGG_OPT_ROWS, AGG_OPT_COLS, AGG_OPT_VALUE, AGG_OPT_VALUES, AGG_OPT_SORT,
  AGG_OPT_TARGET, AGG_OPT_FORMAT, AGG_OPT_PERCENT, AGG_OPT_DIGITS, AGG_OPT_TITLE,
  AGG_OPT_PLOT, AGG_OPT_BASELINE, AGG_OPT_SPREAD, AGG_OPT_FACET, AGG_OPT_PLOT_FORMAT,
  AGG_OPT_NETWORK, AGG_OPT_REPLICAS, AGG_OPT_COMPUTE, AGG_OPT_BEST_OF, AGG_OPT_SELECT_BY,
  AGG_OPT_COUNT
} agg_study_opt_t;
/* Applies one option's value (arg; unused by --percent): lists grow with each use
 * (--where adds a filter, --rows a key, --plot a plot, --baseline a condition,
 * --network networks), a
 * setting replaces the last. Fails for a value the option does not take: --target,
 * --digits and --spread name the option, --format, --plot and --plot-format the formats or plots
 * there are. */
int agg_study_option(agg_study_t *s, agg_study_opt_t opt, const char *arg);


#endif
