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
#include "table.h"

static const char *const plot_names[] = {"val_acc_epoch", "val_acc_rounds", "H_epoch",
                                         "val_acc_time", "val_acc_bytes"};

int agg_plot_parse(const char *name, unsigned *set) {
  for (unsigned i = 0; i < sizeof plot_names / sizeof plot_names[0]; i++)
    if (!strcmp(plot_names[i], name)) return *set |= 1u << i, 0;
  return dpt_fail("unknown plot '%s' (val_acc_epoch, val_acc_rounds, H_epoch, val_acc_time, "
                  "val_acc_bytes)", name);
}

typedef struct {
  char *label;
  int has_rounds, has_h, dynamic, has_sim;
} group_t;

/* A run priced under a network (replay.h): the simulated seconds and the bytes one
 * participant sent by the end of epoch index e (at its last round); 0 when it has none. */
static int sim_at(const agg_run_t *r, int64_t e, double *time, double *sent) {
  if (!r->replay || !r->metric[RUN_M_EPOCH]) return 0;
  int64_t j = net_epoch_last_round(&r->file.rounds, (int64_t)r->metric[RUN_M_EPOCH][e]);
  if (j < 0 || j >= r->replay->n) return 0;
  *time = r->replay->time[j];
  *sent = r->replay->sent[j];
  return 1;
}

/* Per epoch index: mean and std of validation accuracy, mean cumulative averagings, mean
 * H, over the group's runs that reached that epoch. */
static int write_data(const char *path, const agg_run_t *const *runs, int n, const int *id,
                      int g, group_t *grp) {
  FILE *f = dpt_fopen_write(path);
  if (!f) return -1;
  int64_t maxn = 0;
  for (int i = 0; i < n; i++)
    if (id[i] == g && runs[i]->n > maxn) maxn = runs[i]->n;
  double *cum = dpt_alloc(sizeof(double) * (size_t)n);
  fprintf(f, "# %s\n# epoch val_acc_mean val_acc_std rounds_mean H_mean runs sim_time_mean "
             "bytes_mean\n", grp->label);
  for (int64_t e = 0; e < maxn; e++) {
    double s = 0, ss = 0, rounds = 0, h = 0, st = 0, sb = 0, t, b;
    int m = 0, mr = 0, mh = 0, ms = 0;
    for (int i = 0; i < n; i++) {
      const agg_run_t *r = runs[i];
      if (id[i] != g || e >= r->n) continue;
      double v = r->metric[RUN_M_VAL_ACC][e];
      s += v;
      ss += v * v;
      m++;
      if (r->metric[RUN_M_AVERAGINGS]) {
        cum[i] = (e ? cum[i] : 0) + r->metric[RUN_M_AVERAGINGS][e];
        rounds += cum[i];
        mr++;
      }
      if (r->metric[RUN_M_H]) h += r->metric[RUN_M_H][e], mh++;
      if (sim_at(r, e, &t, &b)) st += t, sb += b, ms++;
    }
    double mean = s / m, var = m > 1 ? (ss - m * mean * mean) / (m - 1) : 0;
    fprintf(f, "%lld %.10g %.10g ", (long long)e + 1, mean, var > 0 ? sqrt(var) : 0.0);
    if (mr) fprintf(f, "%.10g ", rounds / mr);
    else fputs("NaN ", f);
    if (mh) fprintf(f, "%.10g ", h / mh);
    else fputs("NaN ", f);
    fprintf(f, "%d", m);
    if (ms) fprintf(f, " %.10g %.10g\n", st / ms, sb / ms);
    else fputs(" NaN NaN\n", f);
  }
  dpt_free(cum);
  if (fclose(f) != 0) return dpt_fail("%s: cannot write", path);
  return 0;
}

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

/* gnuplot opens its outputs as they are: neither may be a symbolic link or a FIFO. */
static int check_outputs(const char *dir, const char *name) {
  static const char *const ext[] = {"svg", "png"};
  char path[4096];
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext[i]);
    if (dpt_check_absent_or_regular(path) < 0) return -1;
  }
  return 0;
}

/* One plot: x column, y column, axis labels, the groups that have the data. */
static int plot_one(const char *dir, const char *name, const char *title, const char *xlabel,
                    const char *ylabel, int xcol, int ycol, const group_t *grp, int ngroups,
                    int (*has)(const group_t *), FILE *log) {
  int any = 0;
  for (int g = 0; g < ngroups; g++) any |= has(&grp[g]);
  if (!any) return 0;
  char path[4096];
  if (check_outputs(dir, name) < 0) return -1;
  snprintf(path, sizeof path, "%s/%s.gp", dir, name);
  FILE *f = dpt_fopen_write(path);
  if (!f) return -1;
  fprintf(f, "# %s.gp - written by dpt-aggregate; rerun with: gnuplot %s.gp\n", name, name);
  fputs("set encoding utf8\nset datafile missing \"NaN\"\nset grid\n", f);
  fputs("set key below box opaque noenhanced\n", f);
  fputs("set title ", f);
  gp_quoted(f, title);
  fputs(" noenhanced\nset xlabel ", f);
  gp_quoted(f, xlabel);
  fputs("\nset ylabel ", f);
  gp_quoted(f, ylabel);
  fputs("\nset style data linespoints\nset pointsize 0.6\n", f);
  fprintf(f, "set terminal svg size 960,680 dynamic noenhanced font \"sans,12\" "
             "background \"white\"\nset output \"%s.svg\"\nplot ", name);
  /* gnuplot cycles through 8 colours: each further 8 curves get the next dash pattern,
   * so that up to 40 curves (8 colours x 5 dash patterns) all look different. */
  int drawn = 0;
  for (int g = 0; g < ngroups; g++) {
    if (!has(&grp[g])) continue;
    fprintf(f, "%s\"data/g%03d.dat\" using %d:%d lw 2 dt %d title ",
            drawn ? ", \\\n     " : "", g, xcol, ycol, 1 + drawn / 8 % 5);
    gp_quoted(f, grp[g].label);
    drawn++;
  }
  fprintf(f, "\nset output\n"
             "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
             "  set terminal pngcairo size 960,680 noenhanced font \"sans,11\" background \"white\"\n"
             "} else {\n"
             "  set terminal png size 960,680 noenhanced\n"
             "}\n"
             "set output \"%s.png\"\nreplot\nset output\n", name);
  if (fclose(f) != 0) return dpt_fail("%s: cannot write", path);
  snprintf(path, sizeof path, "%s.gp", name);
  if (run_gnuplot(dir, path) < 0) return -1;
  if (log) fprintf(log, "wrote %s/%s.svg and %s/%s.png\n", dir, name, dir, name);
  return 0;
}

static int has_all(const group_t *g) { (void)g; return 1; }
static int has_rounds(const group_t *g) { return g->has_rounds; }
static int has_dynamic_h(const group_t *g) { return g->has_h && g->dynamic; }
static int has_sim(const group_t *g) { return g->has_sim; }

int agg_plots(const char *dir, const agg_run_t *const *runs, int n, const char *const *keys,
              int nkeys, unsigned which, const char *title, FILE *log) {
  if (n < 1) return dpt_fail("no runs to plot");
  if (!which)
    which = AGG_PLOT_VAL_ACC_EPOCH | AGG_PLOT_VAL_ACC_ROUNDS | AGG_PLOT_H_EPOCH |
            AGG_PLOT_VAL_ACC_TIME | AGG_PLOT_VAL_ACC_BYTES;
  char data[4096], path[4200];
  snprintf(data, sizeof data, "%s/data", dir);
  if (dpt_mkdirs(data) < 0 || dpt_check_real_dir(data) < 0) return -1;
  int *id = dpt_alloc(sizeof(int) * (size_t)n), *first = dpt_alloc(sizeof(int) * (size_t)n);
  int ngroups = agg_group_runs(runs, n, keys, nkeys, id, first);
  group_t *grp = dpt_alloc(sizeof(group_t) * (size_t)ngroups);
  int rc = 0;
  for (int g = 0; g < ngroups; g++) {
    /* Legend: KEY=VALUE pairs without the "model." every key shares. */
    strbuf_t label = {0};
    for (int k = 0; k < nkeys; k++) {
      const char *key = keys[k], *v = agg_key_text(runs[first[g]], key);
      if (!strncmp(key, "model.", 6)) key += 6;
      strbuf_printf(&label, "%s%s=%s", k ? ", " : "", key, v && *v ? v : "(none)");
    }
    if (!nkeys) strbuf_puts(&label, "all runs");
    grp[g].label = one_line(strbuf_take(&label));
    for (int i = 0; i < n; i++) {
      if (id[i] != g) continue;
      const char *strategy = agg_run_config(runs[i], "model.work.dynamic.strategy");
      grp[g].has_rounds |= runs[i]->metric[RUN_M_AVERAGINGS] != NULL;
      grp[g].has_h |= runs[i]->metric[RUN_M_H] != NULL;
      grp[g].dynamic |= !strategy || *strategy;
      grp[g].has_sim |= runs[i]->replay != NULL;
    }
    snprintf(path, sizeof path, "%s/g%03d.dat", data, g);
    if (rc == 0) rc = write_data(path, runs, n, id, g, &grp[g]);
  }
  char t[512];
  const char *pre = title ? title : "", *sep = title ? ": " : "";
  if (rc == 0 && (which & AGG_PLOT_VAL_ACC_EPOCH)) {
    snprintf(t, sizeof t, "%s%svalidation accuracy by epoch", pre, sep);
    rc = plot_one(dir, "val_acc_epoch", t, "epoch", "validation accuracy", 1, 2, grp, ngroups,
                  has_all, log);
  }
  if (rc == 0 && (which & AGG_PLOT_VAL_ACC_ROUNDS)) {
    snprintf(t, sizeof t, "%s%svalidation accuracy by communication rounds", pre, sep);
    rc = plot_one(dir, "val_acc_rounds", t, "communication rounds (averagings, cumulative)",
                  "validation accuracy", 4, 2, grp, ngroups, has_rounds, log);
  }
  if (rc == 0 && (which & AGG_PLOT_H_EPOCH)) {
    snprintf(t, sizeof t, "%s%slocal steps H by epoch (dynamic strategies)", pre, sep);
    rc = plot_one(dir, "H_epoch", t, "epoch", "local steps H", 1, 5, grp, ngroups,
                  has_dynamic_h, log);
  }
  if (rc == 0 && (which & AGG_PLOT_VAL_ACC_TIME)) {
    snprintf(t, sizeof t, "%s%svalidation accuracy by simulated time", pre, sep);
    rc = plot_one(dir, "val_acc_time", t, "simulated time under the network (s)",
                  "validation accuracy", 7, 2, grp, ngroups, has_sim, log);
  }
  if (rc == 0 && (which & AGG_PLOT_VAL_ACC_BYTES)) {
    snprintf(t, sizeof t, "%s%svalidation accuracy by bytes sent", pre, sep);
    rc = plot_one(dir, "val_acc_bytes", t, "bytes sent per participant under the network",
                  "validation accuracy", 8, 2, grp, ngroups, has_sim, log);
  }
  for (int g = 0; g < ngroups; g++) dpt_free(grp[g].label);
  dpt_free(grp);
  dpt_free(id);
  dpt_free(first);
  return rc;
}
