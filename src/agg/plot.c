/* plot.c - data files and gnuplot scripts (see plot.h). gnuplot runs as a child process
 * in the plot directory, so the scripts name their files relatively and can be rerun
 * by hand (`cd DIR && gnuplot val_acc_epoch.gp`) after editing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "../core/strbuf.h"
#include "plot.h"
#include "plotlabel.h"
#include "table.h"

/* ---------------------------------------------------------------- what a plot shows */

/* The x columns a curve can be drawn against: a per-epoch metric, as it is or summed
 * over the epochs so far, or a network replay's simulated seconds or bytes sent. A new
 * column is one row here. */
typedef enum { X_METRIC, X_SIM_TIME, X_SIM_BYTES } x_source_t;
typedef struct {
  const char *name, *label;
  run_metric_t metric;
  int cumulative; /* the sum over the epochs up to this one */
  int integer;    /* whole numbers: ticks at integer steps */
  x_source_t source; /* the metric, or the network replay's (replay.h) at the epoch's end */
} x_axis_t;

static const x_axis_t x_axes[] = {
    {"epoch", "epoch", RUN_M_EPOCH, 0, 1, X_METRIC},
    {"rounds", "communication rounds (averagings, cumulative)", RUN_M_AVERAGINGS, 1, 1, X_METRIC},
    {"time", "simulated time under the network (s)", RUN_M_EPOCH, 0, 0, X_SIM_TIME},
    {"bytes", "bytes sent per participant under the network", RUN_M_EPOCH, 0, 0, X_SIM_BYTES},
};
#define NX ((int)(sizeof x_axes / sizeof x_axes[0]))

/* The y metrics: mean over a group's runs, with a band of their spread. */
typedef struct {
  const char *name, *label;
  run_metric_t metric;
  int dynamic_only; /* only groups of a dynamic-H strategy */
} y_axis_t;

static const y_axis_t y_axes[] = {
    {"val_acc", "validation accuracy", RUN_M_VAL_ACC, 0},
    {"val_loss", "validation loss", RUN_M_VAL_LOSS, 0},
    {"train_loss", "training loss", RUN_M_TRAIN_LOSS, 0},
    {"H", "local steps H", RUN_M_H, 1},
};
#define NY ((int)(sizeof y_axes / sizeof y_axes[0]))

static const char *const default_plots[] = {"val_acc_epoch", "val_loss_epoch",
                                            "val_acc_rounds", "H_epoch", "val_acc_time",
                                            "val_acc_bytes"};

/* Data file columns (1-based): the first NX_FIRST x columns, then a mean and a spread per
 * y metric, the count of runs, and the network replay's x columns (after the count, so
 * that the other columns keep their places in files read by hand). */
#define NX_FIRST 2
static int x_column(int x) {
  return x < NX_FIRST ? 1 + x : 2 + NX_FIRST + 2 * NY + (x - NX_FIRST);
}
static int y_column(int y) { return 1 + NX_FIRST + 2 * y; }

static int plot_bit(const char *name, unsigned *set) {
  for (int y = 0; y < NY; y++)
    for (int x = 0; x < NX; x++) {
      size_t ly = strlen(y_axes[y].name);
      if (!strncmp(name, y_axes[y].name, ly) && name[ly] == '_' &&
          !strcmp(name + ly + 1, x_axes[x].name))
        return *set |= 1u << (y * NX + x), 0;
    }
  return -1;
}

int agg_plot_parse(const char *name, unsigned *set) {
  if (plot_bit(name, set) == 0) return 0;
  strbuf_t ys = {0}, xs = {0};
  for (int y = 0; y < NY; y++) strbuf_printf(&ys, "%s%s", y ? ", " : "", y_axes[y].name);
  for (int x = 0; x < NX; x++) strbuf_printf(&xs, "%s%s", x ? ", " : "", x_axes[x].name);
  dpt_fail("unknown plot '%s' (Y_X: Y one of %s; X one of %s; e.g. val_acc_epoch)", name,
           ys.s, xs.s);
  strbuf_free(&ys);
  strbuf_free(&xs);
  return -1;
}

/* The file formats by extension, in agg_fig_format_t's bit order (write_terminal). */
static const char *const fig_ext[] = {"svg", "png", "pdf"};
#define NFMT 3

int agg_plot_format_parse(const char *name, unsigned *set) {
  for (int i = 0; i < NFMT; i++)
    if (!strcmp(fig_ext[i], name)) return *set |= 1u << i, 0;
  return dpt_fail("unknown figure format '%s' (svg, png, pdf)", name);
}

/* ---------------------------------------------------------------- data files */

typedef struct {
  int has_x[NX], has_y[NY]; /* some run of the group has the column */
  int dynamic;              /* a dynamic-H strategy */
  double lo[NY], hi[NY];    /* extent of mean ± spread */
  double xmax[NX];          /* largest x */
} group_t;

/* Run r's x value of axis x at epoch index e into *v; 0 when it has none. A run priced
 * under a network has its simulated seconds and bytes sent at the epoch's last round. */
static int x_value(const agg_run_t *r, int x, int64_t e, double *v) {
  const x_axis_t *xa = &x_axes[x];
  if (xa->source == X_METRIC) {
    if (!r->metric[xa->metric]) return 0;
    *v = r->metric[xa->metric][e];
    return 1;
  }
  if (!r->replay) return 0;
  int64_t j = net_epoch_last_round(r->replay, (int64_t)r->metric[RUN_M_EPOCH][e]);
  if (j < 0 || j >= r->replay->n) return 0;
  *v = xa->source == X_SIM_TIME ? r->replay->time[j] : r->replay->sent[j];
  return 1;
}

/* The x values of axes [x0, x1) at epoch e: means over the group's runs that reached it;
 * cum[i * NX + x] carries run i's running sums. Each value is followed by a space, or
 * after the first axes (x0 > 0) preceded by one. */
static void write_x(FILE *f, const agg_run_t *const *runs, int n, const int *id, int g,
                    int64_t e, double *cum, group_t *grp, int x0, int x1) {
  for (int x = x0; x < x1; x++) {
    double s = 0;
    int m = 0;
    for (int i = 0; i < n; i++) {
      double v;
      if (id[i] != g || e >= runs[i]->n || !x_value(runs[i], x, e, &v)) continue;
      if (x_axes[x].cumulative) v = cum[i * NX + x] += v;
      s += v;
      m++;
    }
    if (x0) fputc(' ', f);
    if (m) fprintf(f, "%.10g", s / m);
    else fputs("NaN", f);
    if (!x0) fputc(' ', f);
    if (m && s / m > grp->xmax[x]) grp->xmax[x] = s / m;
  }
}

/* The y metrics of epoch e: mean and spread over the group's runs with a finite value. */
static void write_y(FILE *f, const agg_run_t *const *runs, int n, const int *id, int g,
                    int64_t e, int se, group_t *grp) {
  for (int y = 0; y < NY; y++) {
    double s = 0, ss = 0;
    int m = 0;
    for (int i = 0; i < n; i++) {
      const double *col = runs[i]->metric[y_axes[y].metric];
      if (id[i] != g || e >= runs[i]->n || !col || !isfinite(col[e])) continue;
      s += col[e];
      ss += col[e] * col[e];
      m++;
    }
    if (!m) {
      fputs("NaN NaN ", f);
      continue;
    }
    double mean = s / m, var = m > 1 ? (ss - m * mean * mean) / (m - 1) : 0;
    double spread = var > 0 ? sqrt(var) : 0.0;
    if (se) spread /= sqrt(m);
    fprintf(f, "%.10g %.10g ", mean, spread);
    if (mean - spread < grp->lo[y]) grp->lo[y] = mean - spread;
    if (mean + spread > grp->hi[y]) grp->hi[y] = mean + spread;
  }
}

/* Per epoch index: the x columns, each y metric's mean and spread, the runs that reached
 * that epoch. The first line names the group. */
static int write_data(const char *path, const agg_run_t *const *runs, int n, const int *id,
                      int g, const char *label, int se, group_t *grp) {
  FILE *f = dpt_fopen_write(path);
  if (!f) return -1;
  int64_t maxn = 0;
  for (int i = 0; i < n; i++)
    if (id[i] == g && runs[i]->n > maxn) maxn = runs[i]->n;
  double *cum = dpt_alloc(sizeof(double) * (size_t)(n * NX));
  memset(cum, 0, sizeof(double) * (size_t)(n * NX));
  fprintf(f, "# %s\n#", label);
  for (int x = 0; x < NX_FIRST; x++) fprintf(f, " %s", x_axes[x].name);
  for (int y = 0; y < NY; y++)
    fprintf(f, " %s_mean %s_%s", y_axes[y].name, y_axes[y].name, se ? "se" : "sd");
  fputs(" runs", f);
  for (int x = NX_FIRST; x < NX; x++) fprintf(f, " %s", x_axes[x].name);
  fputc('\n', f);
  for (int y = 0; y < NY; y++) grp->lo[y] = INFINITY, grp->hi[y] = -INFINITY;
  for (int x = 0; x < NX; x++) grp->xmax[x] = 0;
  for (int64_t e = 0; e < maxn; e++) {
    int m = 0;
    write_x(f, runs, n, id, g, e, cum, grp, 0, NX_FIRST);
    write_y(f, runs, n, id, g, e, se, grp);
    for (int i = 0; i < n; i++) m += id[i] == g && e < runs[i]->n;
    fprintf(f, "%d", m);
    write_x(f, runs, n, id, g, e, cum, grp, NX_FIRST, NX);
    fputc('\n', f);
  }
  dpt_free(cum);
  if (fclose(f) != 0) return dpt_fail("%s: cannot write", path);
  return 0;
}

/* ---------------------------------------------------------------- scripts */

static int is_control(char c) { return (unsigned char)c < 0x20 || c == 0x7f; }

/* Labels and titles come from run configs and studies other people wrote. gnuplot runs
 * backquoted commands inside double-quoted strings, so every text goes single-quoted (no
 * substitution, no escapes; a quote is doubled), and a control character (a newline
 * would end the command) becomes a space. */
static void gp_quoted(FILE *f, const char *s) {
  fputc('\'', f);
  for (; *s; s++) {
    if (*s == '\'') fputc('\'', f);
    fputc(is_control(*s) ? ' ' : *s, f);
  }
  fputc('\'', f);
}

/* The label also heads a data file, as one comment line. */
static char *one_line(char *s) {
  for (char *p = s; *p; p++)
    if (is_control(*p)) *p = ' ';
  return s;
}

static int run_gnuplot(const char *dir, const char *script) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) return dpt_fail("cannot start gnuplot: fork failed");
  if (pid == 0) {
    if (chdir(dir) != 0) _exit(126);
    execlp("gnuplot", "gnuplot", script, (char *)NULL);
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) < 0) return dpt_fail("cannot wait for gnuplot");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return dpt_fail("gnuplot not found: install gnuplot-nox (bash env/install-deps.sh)");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return dpt_fail("gnuplot failed on %s/%s (its message is above)", dir, script);
  return 0;
}

/* gnuplot opens its outputs as they are: none may be a symbolic link or a FIFO. */
static int check_outputs(const char *dir, const char *name, unsigned formats) {
  char path[4096];
  for (int i = 0; i < NFMT; i++) {
    if (!(formats & (1u << i))) continue;
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, fig_ext[i]);
    if (dpt_check_absent_or_regular(path) < 0) return -1;
  }
  return 0;
}

/* Everything one figure needs: the groups, their key texts, what the options ask. */
typedef struct {
  const char *dir;
  const agg_plot_opts_t *o;
  const char *const *keys;
  int nkeys, ngroups;
  const char **val;  /* ngroups x nkeys key texts (plotlabel.h) */
  group_t *grp;
  char *title;       /* the figures' title, or NULL */
  FILE *log;
} figs_t;

/* One figure: its curves (groups), their labels, colours and panels. */
typedef struct {
  int x, y;
  int n, *g;         /* the groups drawn */
  char **label;      /* per curve */
  int *colour;       /* per curve: 0-based, the same label the same colour in every panel */
  int *panel;        /* per curve */
  int npanels, facet;
  char **panel_title;
  double lo, hi;     /* a y range every panel shares */
  double xmax;       /* the largest x */
} fig_t;

/* Colour-blind-safe colours (Okabe and Ito) for gnuplot's first eight line types. */
static const char *const colours[8] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                       "#e69f00", "#56b4e9", "#000000", "#999999"};

static void write_panel(FILE *f, const fig_t *fg, int p) {
  if (fg->npanels > 1) {
    fputs("  set title ", f);
    gp_quoted(f, fg->panel_title[p]);
    fputs("\n", f);
  }
  fputs("  plot ", f);
  int drawn = 0, mc = y_column(fg->y), sc = mc + 1, xc = x_column(fg->x);
  /* the bands first, so that no band covers a line */
  for (int c = 0; c < fg->n; c++)
    if (fg->panel[c] == p)
      fprintf(f, "%s\"data/g%03d.dat\" using %d:($%d-$%d):($%d+$%d) with filledcurves "
                 "fs transparent solid 0.18 noborder lc %d notitle",
              drawn++ ? ", \\\n     " : "", fg->g[c], xc, mc, sc, mc, sc, 1 + fg->colour[c] % 8);
  /* 8 colours (the line types set above): each further 8 labels get the next dash pattern */
  for (int c = 0; c < fg->n; c++) {
    if (fg->panel[c] != p) continue;
    fprintf(f, ", \\\n     \"data/g%03d.dat\" using %d:%d with linespoints pt 7 lc %d lw 2 dt %d title ",
            fg->g[c], xc, mc, 1 + fg->colour[c] % 8, 1 + fg->colour[c] / 8 % 5);
    gp_quoted(f, fg->label[c]);
  }
  fputs("\n", f);
}

/* The terminal of output format i (fig_ext's order), given the size in pixels; a PDF's
 * size in inches is pixels / 120. */
static void write_terminal(FILE *f, int i, int w, int h) {
  if (i == 0)
    fprintf(f, "    set terminal svg size %d,%d dynamic noenhanced font \"sans,12\" "
               "background \"white\"\n", w, h);
  if (i == 1)
    fprintf(f, "    if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
               "      set terminal pngcairo size %d,%d noenhanced font \"sans,11\" "
               "background \"white\"\n"
               "    } else {\n      set terminal png size %d,%d noenhanced\n    }\n",
            w, h, w, h);
  if (i == 2)
    fprintf(f, "    if (strstrt(GPVAL_TERMINALS, \"pdfcairo\") == 0) {\n"
               "      print \"this gnuplot has no pdfcairo terminal: no PDF\"\n"
               "      exit status 1\n    }\n"
               "    set terminal pdfcairo size %.2fin,%.2fin noenhanced font \"sans,8\"\n",
            w / 120.0, h / 120.0);
}

/* The figure, drawn once per output format by a loop over them. */
static void write_outputs(FILE *f, const figs_t *fs, const fig_t *fg, const char *name) {
  int cols = fg->npanels <= 3 ? fg->npanels : fg->npanels == 4 ? 2 : 3;
  int rows = (fg->npanels + cols - 1) / cols;
  int pw = fg->npanels > 1 ? 600 : 960, ph = fg->npanels > 1 ? 420 : 640;
  int w = cols * pw, h = rows * ph + (fs->title ? 50 : 30);
  fputs("do for [fmt in \"", f);
  for (int i = 0, n = 0; i < NFMT; i++)
    if (fs->o->formats & (1u << i)) fprintf(f, "%s%s", n++ ? " " : "", fig_ext[i]);
  fputs("\"] {\n", f);
  for (int i = 0; i < NFMT; i++) {
    if (!(fs->o->formats & (1u << i))) continue;
    fprintf(f, "  if (fmt eq \"%s\") {\n", fig_ext[i]);
    write_terminal(f, i, w, h);
    fputs("  }\n", f);
  }
  fprintf(f, "  set output \"%s.\".fmt\n  set multiplot layout %d,%d title ", name, rows, cols);
  if (fs->title) {
    gp_quoted(f, fs->title);
    fputs(".\"\\n\".", f);
  }
  fprintf(f, "'lines: mean over seeds; bands: ± %s'\n",
          fs->o->se ? "standard error" : "standard deviation");
  for (int p = 0; p < fg->npanels; p++) write_panel(f, fg, p);
  fputs("  unset multiplot\n  set output\n}\n", f);
}

/* Ticks at whole steps (1, 2, 5, 10, 20, ...) for an integer column: at most 10. */
static long integer_step(double max) {
  static const int mult[] = {1, 2, 5};
  for (long mag = 1;; mag *= 10)
    for (int i = 0; i < 3; i++)
      if (max / (double)(mult[i] * mag) <= 10 || mag > 1000000000000L) return mult[i] * mag;
}

static int write_script(const char *path, const figs_t *fs, const fig_t *fg, const char *name) {
  FILE *f = dpt_fopen_write(path);
  if (!f) return -1;
  const x_axis_t *xa = &x_axes[fg->x];
  fprintf(f, "# %s.gp - written by dpt-aggregate; rerun with: gnuplot %s.gp\n", name, name);
  fputs("set encoding utf8\nset datafile missing \"NaN\"\nset grid\n", f);
  for (int c = 0; c < 8; c++) fprintf(f, "set linetype %d lc rgb \"%s\"\n", c + 1, colours[c]);
  /* outside the plot area, right of it: the legend covers no curve, axis or label */
  fputs("set key outside right top vertical Left reverse noenhanced\n", f);
  fputs("set xlabel ", f);
  gp_quoted(f, xa->label);
  fputs("\nset ylabel ", f);
  gp_quoted(f, y_axes[fg->y].label);
  fputs("\nset pointsize 0.6\n", f);
  if (xa->integer) fprintf(f, "set xtics %ld\nset mxtics 1\n", integer_step(fg->xmax));
  /* one epoch is a point, not a range: room on either side of it */
  if (xa->integer && fg->xmax <= 1) fputs("set xrange [0:2]\n", f);
  if (fg->npanels > 1 && fg->lo < fg->hi) {
    double pad = (fg->hi - fg->lo) * 0.04;
    fprintf(f, "set yrange [%.10g:%.10g]\n", fg->lo - pad, fg->hi + pad);
  }
  write_outputs(f, fs, fg, name);
  if (fclose(f) != 0) return dpt_fail("%s: cannot write", path);
  return 0;
}

/* ---------------------------------------------------------------- one figure */

static void fig_free(fig_t *fg) {
  for (int c = 0; c < fg->n; c++) dpt_free(fg->label[c]);
  for (int p = 0; p < fg->npanels; p++) dpt_free(fg->panel_title[p]);
  dpt_free(fg->g);
  dpt_free(fg->label);
  dpt_free(fg->colour);
  dpt_free(fg->panel);
  dpt_free(fg->panel_title);
}

static const char *facet_text(const figs_t *fs, const fig_t *fg, int c) {
  const char *v = fg->facet < 0 ? NULL : fs->val[fg->g[c] * fs->nkeys + fg->facet];
  return v ? v : "";
}

/* Panels: the facet key's values in natural order, each titled by its label. */
static void assign_panels(const figs_t *fs, fig_t *fg) {
  int *first = dpt_alloc(sizeof(int) * (size_t)(fg->n + 1)); /* a curve per panel */
  fg->npanels = 0;
  for (int c = 0; c < fg->n; c++) {
    int p = 0;
    while (p < fg->npanels && strcmp(facet_text(fs, fg, first[p]), facet_text(fs, fg, c))) p++;
    if (p == fg->npanels) first[fg->npanels++] = c;
  }
  for (int i = 1; i < fg->npanels; i++)
    for (int j = i; j > 0 && agg_natural_cmp(facet_text(fs, fg, first[j - 1]),
                                             facet_text(fs, fg, first[j])) > 0; j--) {
      int t = first[j];
      first[j] = first[j - 1];
      first[j - 1] = t;
    }
  for (int c = 0; c < fg->n; c++)
    for (int p = 0; p < fg->npanels; p++)
      if (!strcmp(facet_text(fs, fg, first[p]), facet_text(fs, fg, c))) fg->panel[c] = p;
  int *only = dpt_alloc(sizeof(int) * (size_t)(fs->nkeys + 1));
  for (int k = 0; k < fs->nkeys; k++) only[k] = k == fg->facet;
  fg->panel_title = dpt_alloc(sizeof(char *) * (size_t)(fg->npanels + 1));
  for (int p = 0; p < fg->npanels; p++)
    fg->panel_title[p] = one_line(agg_label_text(fs->keys, fs->val, fs->nkeys, fg->g[first[p]], only));
  dpt_free(only);
  dpt_free(first);
}

/* Labels from the keys that tell the curves apart (the facet key left out), and a colour
 * per distinct label. */
static void assign_labels(const figs_t *fs, fig_t *fg) {
  int *keep = dpt_alloc(sizeof(int) * (size_t)(fs->nkeys + 1));
  agg_label_keys(fs->val, fs->nkeys, fg->g, fg->n, fg->facet, keep);
  int ncolours = 0;
  for (int c = 0; c < fg->n; c++) {
    fg->label[c] = one_line(agg_label_text(fs->keys, fs->val, fs->nkeys, fg->g[c], keep));
    fg->colour[c] = ncolours;
    for (int d = 0; d < c; d++)
      if (!strcmp(fg->label[d], fg->label[c])) {
        fg->colour[c] = fg->colour[d];
        break;
      }
    if (fg->colour[c] == ncolours) ncolours++;
  }
  dpt_free(keep);
}

/* The groups with data for plot (y, x), or 0 when none has. */
static int select_curves(const figs_t *fs, fig_t *fg) {
  fg->g = dpt_alloc(sizeof(int) * (size_t)(fs->ngroups + 1));
  fg->n = 0;
  fg->lo = INFINITY;
  fg->hi = -INFINITY;
  for (int g = 0; g < fs->ngroups; g++) {
    const group_t *gr = &fs->grp[g];
    if (!gr->has_x[fg->x] || !gr->has_y[fg->y] || (y_axes[fg->y].dynamic_only && !gr->dynamic))
      continue;
    fg->g[fg->n++] = g;
    if (gr->lo[fg->y] < fg->lo) fg->lo = gr->lo[fg->y];
    if (gr->hi[fg->y] > fg->hi) fg->hi = gr->hi[fg->y];
    if (gr->xmax[fg->x] > fg->xmax) fg->xmax = gr->xmax[fg->x];
  }
  size_t sz = sizeof(int) * (size_t)(fg->n + 1);
  fg->label = dpt_alloc(sizeof(char *) * (size_t)(fg->n + 1));
  fg->colour = dpt_alloc(sz);
  fg->panel = dpt_alloc(sz);
  return fg->n;
}

static int plot_one(const figs_t *fs, int y, int x) {
  fig_t fg = {.x = x, .y = y};
  char name[64], path[4200];
  snprintf(name, sizeof name, "%s_%s", y_axes[y].name, x_axes[x].name);
  int rc = 0;
  if (!select_curves(fs, &fg)) goto done;
  rc = -1;
  if (agg_facet_key(fs->keys, fs->val, fs->nkeys, fg.g, fg.n, fs->o->facet, &fg.facet) < 0)
    goto done;
  assign_labels(fs, &fg);
  assign_panels(fs, &fg);
  snprintf(path, sizeof path, "%s/%s.gp", fs->dir, name);
  if (check_outputs(fs->dir, name, fs->o->formats) < 0 ||
      write_script(path, fs, &fg, name) < 0)
    goto done;
  snprintf(path, sizeof path, "%s.gp", name);
  if (run_gnuplot(fs->dir, path) < 0) goto done;
  if (fs->log) {
    fprintf(fs->log, "wrote");
    for (int i = 0; i < NFMT; i++)
      if (fs->o->formats & (1u << i)) fprintf(fs->log, " %s/%s.%s", fs->dir, name, fig_ext[i]);
    fprintf(fs->log, "\n");
  }
  rc = 0;
done:
  fig_free(&fg);
  return rc;
}

/* ---------------------------------------------------------------- all figures */

/* The study's title without a trailing parenthesis ("(test accuracy, last model)" names
 * the table's value, not a figure's); NULL for none. */
static char *figure_title(const char *title) {
  if (!title) return NULL;
  size_t len = strlen(title);
  const char *open = strrchr(title, '(');
  if (len && title[len - 1] == ')' && open && open > title) {
    len = (size_t)(open - title);
    while (len && title[len - 1] == ' ') len--;
  }
  char *t = dpt_alloc(len + 1);
  memcpy(t, title, len);
  t[len] = 0;
  return t;
}

/* Which columns group g's runs have, and whether it runs a dynamic-H strategy. */
static void group_flags(const agg_run_t *const *runs, int n, const int *id, int g,
                        group_t *grp) {
  memset(grp, 0, sizeof *grp);
  for (int i = 0; i < n; i++) {
    if (id[i] != g) continue;
    const char *strategy = agg_run_config(runs[i], "model.work.dynamic.strategy");
    for (int x = 0; x < NX; x++)
      grp->has_x[x] |= x_axes[x].source == X_METRIC
                           ? runs[i]->metric[x_axes[x].metric] != NULL
                           : runs[i]->replay != NULL;
    for (int y = 0; y < NY; y++) grp->has_y[y] |= runs[i]->metric[y_axes[y].metric] != NULL;
    grp->dynamic |= !strategy || *strategy;
  }
}

/* Per group: its flags and its data file, headed by its label among all groups. */
static int write_groups(const figs_t *fs, const agg_run_t *const *runs, int n, const int *id) {
  int *all = dpt_alloc(sizeof(int) * (size_t)(fs->ngroups + 1));
  int *keep = dpt_alloc(sizeof(int) * (size_t)(fs->nkeys + 1)), rc = 0;
  for (int g = 0; g < fs->ngroups; g++) all[g] = g;
  agg_label_keys(fs->val, fs->nkeys, all, fs->ngroups, -1, keep);
  for (int g = 0; rc == 0 && g < fs->ngroups; g++) {
    char path[4200];
    group_flags(runs, n, id, g, &fs->grp[g]);
    char *label = one_line(agg_label_text(fs->keys, fs->val, fs->nkeys, g, keep));
    snprintf(path, sizeof path, "%s/data/g%03d.dat", fs->dir, g);
    rc = write_data(path, runs, n, id, g, label, fs->o->se, &fs->grp[g]);
    /* a count that stays 0 (a file's column of zeros) is no axis to draw against */
    for (int x = 0; x < NX; x++)
      if (x_axes[x].cumulative && !(fs->grp[g].xmax[x] > 0)) fs->grp[g].has_x[x] = 0;
    dpt_free(label);
  }
  dpt_free(all);
  dpt_free(keep);
  return rc;
}

int agg_plot_check(const agg_plot_opts_t *o, const char *const *keys, int nkeys) {
  int facet;
  return o->facet ? agg_facet_key(keys, NULL, nkeys, NULL, 0, o->facet, &facet) : 0;
}

int agg_plots(const char *dir, const agg_run_t *const *runs, int n, const char *const *keys,
              int nkeys, const agg_plot_opts_t *o, FILE *log) {
  if (n < 1) return dpt_fail("no runs to plot");
  agg_plot_opts_t opts = *o;
  if (!opts.formats) opts.formats = AGG_FIG_SVG | AGG_FIG_PNG;
  if (!opts.which)
    for (size_t i = 0; i < sizeof default_plots / sizeof default_plots[0]; i++)
      plot_bit(default_plots[i], &opts.which);
  char data[4096];
  snprintf(data, sizeof data, "%s/data", dir);
  if (dpt_mkdirs(data) < 0 || dpt_check_real_dir(data) < 0) return -1;
  int *id = dpt_alloc(sizeof(int) * (size_t)n), *first = dpt_alloc(sizeof(int) * (size_t)n);
  int ngroups = agg_group_runs(runs, n, keys, nkeys, id, first);
  figs_t fs = {dir, &opts, keys, nkeys, ngroups, NULL, NULL, figure_title(opts.title), log};
  fs.val = dpt_alloc(sizeof(char *) * (size_t)(ngroups * nkeys + 1));
  for (int g = 0; g < ngroups; g++)
    for (int k = 0; k < nkeys; k++) fs.val[g * nkeys + k] = agg_key_text(runs[first[g]], keys[k]);
  fs.grp = dpt_alloc(sizeof(group_t) * (size_t)(ngroups + 1));
  int rc = write_groups(&fs, runs, n, id);
  for (int y = 0; rc == 0 && y < NY; y++)
    for (int x = 0; rc == 0 && x < NX; x++)
      if (opts.which & (1u << (y * NX + x))) rc = plot_one(&fs, y, x);
  dpt_free(fs.title);
  dpt_free(fs.val);
  dpt_free(fs.grp);
  dpt_free(id);
  dpt_free(first);
  return rc;
}
