/* report.c - from paths to a published table and plots (see report.h). */
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "bestof.h"
#include "long.h"
#include "plot.h"
#include "replay.h"
#include "runset.h"
#include "table.h"

void agg_fields_print(FILE *out) {
  fprintf(out, "Fields (values a table can show; --values, --value, --sort, --where):\n");
  for (int i = 0; i < agg_nfields; i++)
    fprintf(out, "  %-17s %s%s\n", agg_fields[i].name, agg_fields[i].doc,
            agg_fields[i].better > 0 ? " (higher is better)"
            : agg_fields[i].better < 0 ? " (lower is better)" : "");
  fprintf(out, "Keys: any dotted config key (model.optimizer), run (the run directory), "
               "status, network (with --network).\n");
}

/* ---------------------------------------------------------------- keys and fields */

static int key_known(const agg_run_t *const *runs, int n, const char *key) {
  if (!strcmp(key, "run") || !strcmp(key, "status") || !strcmp(key, "method")) return 1;
  if (!strcmp(key, "network")) return n > 0 && runs[0]->net;
  for (int i = 0; i < n; i++)
    if (agg_run_config(runs[i], key)) return 1;
  return 0;
}

static int check_keys(const agg_run_t *const *runs, int n, const strlist_t *keys,
                      const char *what) {
  for (int i = 0; i < keys->n; i++)
    if (!key_known(runs, n, keys->v[i]))
      return dpt_fail("%s: no run has the config key '%s'", what, keys->v[i]);
  return 0;
}

static int field_named(const char *name) {
  int f = agg_field_find(name);
  if (f < 0) return dpt_fail("unknown field '%s' (dpt-aggregate --fields lists them)", name);
  return f;
}

/* Default columns: what the per-run summary names, when any run has it. */
static int default_fields(const agg_run_t *const *runs, int n, double target, int *fields) {
  static const char *const base[] = {"val_acc", "best_val_acc", "test_acc", "test_acc_best",
                                     "epochs", "wall_time", "images_per_s"};
  int m = 0, avg = 0, bytes = 0, central = 0, net = 0;
  for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) fields[m++] = agg_field_find(base[i]);
  for (int i = 0; i < n; i++) {
    avg |= runs[i]->metric[RUN_M_AVERAGINGS] != NULL;
    bytes |= runs[i]->metric[RUN_M_BYTES] != NULL || (runs[i]->file.has & RUNFILE_HAS_ROUNDS);
    central += agg_run_centralized(runs[i]);
    net |= runs[i]->net != NULL;
  }
  /* the rounds by their name: reductions (all centralized), averagings (all local) */
  if (avg) fields[m++] = agg_field_find(central == n ? "reductions" : central ? "rounds"
                                                                               : "averagings");
  if (bytes) fields[m++] = agg_field_find("payload_bytes");
  if (net) fields[m++] = agg_field_find("sim_time");
  if (net) fields[m++] = agg_field_find("comm_efficiency");
  if (target > 0) {
    fields[m++] = agg_field_find("epochs_to_target");
    if (avg) fields[m++] = agg_field_find("rounds_to_target");
    if (net) fields[m++] = agg_field_find("time_to_target");
    if (net) fields[m++] = agg_field_find("bytes_to_target");
  }
  return m;
}

/* ---------------------------------------------------------------- the steps */

static void report_skips(const agg_runset_t *set, FILE *log) {
  if (set->nskips == 0) return;
  fprintf(log, "dpt-aggregate: warning: %d file%s left out of the numbers:\n", set->nskips,
          set->nskips == 1 ? "" : "s");
  for (int i = 0; i < set->nskips; i++)
    fprintf(log, "  %s: %s\n", set->skips[i].path, set->skips[i].reason);
}

/* The runs of from[0..nfrom) (the set's, or their copies priced under networks) that
 * pass every filter, into runs[] (room for all); returns their count. A filter on a key
 * no run has and no field fails: it is a typo, not an empty set. */
static int select_runs(const agg_study_t *st, const agg_runset_t *set, const agg_run_t *from,
                       int nfrom, const agg_run_t **runs) {
  const agg_run_t **all = dpt_alloc(sizeof(agg_run_t *) * (size_t)(nfrom + 1));
  agg_where_t *where = dpt_alloc(sizeof(agg_where_t) * (size_t)(st->where.n + 1));
  int nw = 0, n = -1;
  for (int i = 0; i < nfrom; i++) all[i] = &from[i];
  for (; nw < st->where.n; nw++)
    if (agg_where_parse(st->where.v[nw], &where[nw]) < 0) goto done;
  for (int w = 0; w < nw; w++)
    if (agg_field_find(where[w].key) < 0 && !key_known(all, nfrom, where[w].key)) {
      dpt_fail("--where %s: no run has the config key '%s', and it is not a field",
               st->where.v[w], where[w].key);
      goto done;
    }
  n = 0;
  for (int i = 0; i < nfrom; i++) {
    int ok = 1;
    for (int w = 0; w < nw && ok; w++) ok = agg_where_match(&where[w], all[i], st->target);
    if (ok) runs[n++] = all[i];
  }
  if (n == 0)
    n = dpt_fail(set->nruns ? "no run matches the filters (%d runs read)"
                            : "no run to aggregate (%d runs read)", set->nruns);
done:
  for (int w = 0; w < nw; w++) agg_where_free(&where[w]);
  dpt_free(where);
  dpt_free(all);
  return n;
}

/* The keys --per-run puts first. */
static const char *const per_run_keys[] = {"run", "hash", "experiment.seed"};
#define PER_RUN_KEYS ((int)(sizeof per_run_keys / sizeof per_run_keys[0]))

/* Group keys: as asked, or those that vary (without a pivot's column keys and the
 * --best-of key); per run, the run, its hash and seed first; unfinished runs apart from
 * complete ones. */
static const char **table_keys(const agg_request_t *req, const agg_run_t *const *runs, int n,
                               int unfinished, int *nkeys) {
  const agg_study_t *st = &req->st;
  const char **varying = NULL;
  int nvary = agg_varying_keys(runs, n, &varying), k = 0;
  const char **keys = dpt_alloc(sizeof(char *) * (size_t)(st->rows.n + nvary + 5));
  if (req->per_run)
    for (int i = 0; i < PER_RUN_KEYS; i++) keys[k++] = per_run_keys[i];
  for (int i = 0; i < st->rows.n; i++) keys[k++] = st->rows.v[i];
  for (int i = 0; i < nvary && !st->rows.n; i++) {
    int in_cols = 0;
    for (int c = 0; c < st->cols.n; c++) in_cols |= !strcmp(st->cols.v[c], varying[i]);
    if (!in_cols && !(st->best_of && !strcmp(st->best_of, varying[i]))) keys[k++] = varying[i];
  }
  if (n > 0 && runs[0]->net && strlist_find(&st->rows, "network") < 0 &&
      strlist_find(&st->cols, "network") < 0)
    keys[k++] = "network";
  if (unfinished) keys[k++] = "status";
  dpt_free(varying);
  *nkeys = k;
  return keys;
}

/* keys[0..nkeys), then more[0..nmore), in a new array of *n. */
static const char **concat_keys(const char *const *keys, int nkeys, const char *const *more,
                                int nmore, int *n) {
  const char **all = dpt_alloc(sizeof(char *) * (size_t)(nkeys + nmore + 1));
  *n = 0;
  for (int i = 0; i < nkeys; i++) all[(*n)++] = keys[i];
  for (int i = 0; i < nmore; i++) all[(*n)++] = more[i];
  return all;
}

/* The table's keys, then the study's column keys (a pivot's), in a new array of *n. */
static const char **keys_and_cols(const char *const *keys, int nkeys, const agg_study_t *st,
                                  int *n) {
  return concat_keys(keys, nkeys, (const char *const *)st->cols.v, st->cols.n, n);
}

/* The keys, then the --best-of key (its chosen value: a group table's column, a key of
 * the long rows and the figures), in a new array of *n. */
static const char **with_best_of(const char *const *keys, int nkeys, const agg_study_t *st,
                                 int *n) {
  const char *const more[] = {st->best_of};
  return concat_keys(keys, nkeys, more, st->best_of != NULL, n);
}

/* A pivot when the study has column keys, else a group table of its values (with the
 * --best-of key as a column). */
static int build_table(agg_table_t *t, const agg_study_t *st, const agg_run_t *const *runs,
                       int n, const char *const *keys, int nkeys) {
  if (st->cols.n) {
    int field = field_named(st->value ? st->value : "test_acc");
    return field < 0 ? -1
                     : agg_table_pivot(t, runs, n, keys, nkeys, (const char *const *)st->cols.v,
                                       st->cols.n, field, st->target);
  }
  int nf = st->values.n, *fields = dpt_alloc(sizeof(int) * (size_t)(nf > 16 ? nf : 16)), rc = -1;
  for (int i = 0; i < st->values.n; i++)
    if ((fields[i] = field_named(st->values.v[i])) < 0) goto done;
  if (!nf) nf = default_fields(runs, n, st->target, fields);
  int nshown;
  const char **shown = with_best_of(keys, nkeys, st, &nshown);
  rc = agg_table_group(t, runs, n, shown, nshown, fields, nf, st->target);
  dpt_free(shown);
done:
  dpt_free(fields);
  return rc;
}

/* What goes to the output: a table, or the long table of the runs. */
typedef struct {
  const agg_table_t *t;
  const agg_run_t *const *runs;
  int n, nkeys;
  const char *const *keys;
} output_t;

static int write_output(FILE *out, const agg_request_t *req, const output_t *o) {
  agg_style_t style = {req->st.percent > 0, req->st.digits, req->st.se > 0};
  if (req->long_rows)
    return agg_long_write(out, o->runs, o->n, o->keys, o->nkeys,
                          req->st.has_format ? req->st.format : AGG_CSV);
  return agg_table_write(out, o->t, req->st.format, &style);
}

/* To standard output, or published atomically at req->out. */
static int publish(const agg_request_t *req, const output_t *o) {
  if (!req->out) return write_output(stdout, req, o);
  char tmp[4096];
  if (dpt_tmp_name(tmp, sizeof tmp, req->out) < 0) return -1;
  FILE *f = dpt_fopen_tmp(tmp);
  if (!f) return -1;
  int rc = write_output(f, req, o);
  if (fclose(f) != 0 && rc == 0) rc = dpt_fail("%s: cannot write", tmp);
  if (rc < 0) {
    remove(tmp);
    return dpt_wrap("%s", req->out);
  }
  return dpt_publish(tmp, req->out);
}

/* The value a baseline compares: a pivot's; the study's `value`; else test_acc when the
 * group table shows it, else its first value column. */
static int compared_field(const agg_table_t *t, const agg_study_t *st) {
  if (t->pivot_field >= 0) return t->pivot_field;
  if (st->value) return field_named(st->value);
  int acc = agg_field_find("test_acc"), first = -1;
  for (int c = t->nkeys; c < t->ncols; c++) {
    if (t->field[c] == acc) return acc;
    if (first < 0 && t->field[c] >= 0) first = t->field[c];
  }
  return first >= 0 ? first : acc;
}

/* Paired differences to the study's baseline, on compared_field; without a baseline,
 * the best marks. */
static int compare_or_mark(agg_table_t *t, const agg_study_t *st, const char *const *keys,
                           int nkeys) {
  if (!st->baseline.n) {
    agg_table_mark_best(t);
    return 0;
  }
  int field = compared_field(t, st), n;
  const char **all = keys_and_cols(keys, nkeys, st, &n);
  int rc = field < 0 ? -1
                     : agg_table_baseline(t, (const char *const *)st->baseline.v, st->baseline.n,
                                          all, n, field, st->target);
  dpt_free(all);
  return rc;
}

/* The keys of the figures' groups, and of the groups --best-of chooses in: a pivot's
 * rows and columns together, never per run (--per-run's run, hash and seed name runs,
 * not groups). */
static const char **plot_keys(const agg_request_t *req, const char *const *keys, int nkeys,
                              int *np) {
  const agg_study_t *st = &req->st;
  const char **pkeys = dpt_alloc(sizeof(char *) * (size_t)(nkeys + st->cols.n + 1));
  *np = 0;
  for (int i = req->per_run ? PER_RUN_KEYS : 0; i < nkeys; i++)
    if (strcmp(keys[i], "run") != 0) pkeys[(*np)++] = keys[i];
  for (int i = 0; i < st->cols.n; i++) pkeys[(*np)++] = st->cols.v[i];
  return pkeys;
}

static agg_plot_opts_t plot_opts(const agg_study_t *st) {
  return (agg_plot_opts_t){st->plots, st->title, st->facet, st->se > 0, st->plot_formats};
}

/* What the figures need of the keys (a facet among them), checked before any output. */
static int check_plots(const agg_request_t *req, const char *const *keys, int nkeys) {
  int np;
  const char **pkeys = plot_keys(req, keys, nkeys, &np);
  agg_plot_opts_t o = plot_opts(&req->st);
  int rc = agg_plot_check(&o, pkeys, np);
  dpt_free(pkeys);
  return rc;
}

static int write_plots(const agg_request_t *req, const agg_run_t *const *runs, int n,
                       const char *const *keys, int nkeys, FILE *log) {
  int np;
  const char **pkeys = plot_keys(req, keys, nkeys, &np);
  agg_plot_opts_t o = plot_opts(&req->st);
  int rc = agg_plots(req->plots, runs, n, pkeys, np, &o, log);
  dpt_free(pkeys);
  return rc;
}

/* The chosen value's column of a group table says so; a pivot's cells carry it. */
static void mark_best_of(agg_table_t *t, const agg_study_t *st) {
  if (!st->best_of) return;
  t->best_of = dpt_strdup(st->best_of);
  t->select_field = agg_best_of_field(st->select_by ? st->select_by : "best_val_acc");
  for (int c = 0; c < t->nkeys; c++)
    if (!strcmp(t->name[c], st->best_of)) {
      dpt_free(t->label[c]);
      size_t len = strlen(st->best_of) + sizeof " (chosen)";
      t->label[c] = dpt_alloc(len);
      snprintf(t->label[c], len, "%s (chosen)", st->best_of);
    }
}

/* A note, once, for columns relative to a baseline (payload_ratio, vs_dense_bytes) in a
 * table without one: their cells stay empty. */
static void relative_note(const agg_table_t *t, const agg_study_t *st, FILE *log) {
  if (st->baseline.n) return;
  for (int c = t->nkeys; c < t->ncols; c++)
    if (t->field[c] >= 0 && agg_field_relative(t->field[c], NULL) >= 0) {
      fprintf(log, "dpt-aggregate: note: %s compares each row with the baseline row (the "
                   "uncompressed runs, e.g. --baseline comm.compress=none), and there is "
                   "none: its cells are empty\n", agg_fields[t->field[c]].name);
      return;
    }
}

/* The table of the runs, to the output; counts its rows on log. */
static int tabulate(const agg_request_t *req, const agg_run_t *const *runs, int n,
                    const char *const *keys, int nkeys, FILE *log) {
  const agg_study_t *st = &req->st;
  agg_table_t t = {0};
  int rc = -1;
  if (build_table(&t, st, runs, n, keys, nkeys) < 0) goto done;
  if (st->title) t.title = dpt_strdup(st->title);
  mark_best_of(&t, st);
  relative_note(&t, st, log);
  output_t o = {.t = &t};
  /* sorted after the baseline, which gives the relative fields their values */
  if (compare_or_mark(&t, st, keys, nkeys) < 0) goto done;
  if ((st->sort && agg_table_sort(&t, st->sort) < 0) || publish(req, &o) < 0) goto done;
  fprintf(log, "dpt-aggregate: %d run%s in %d row%s", n, n == 1 ? "" : "s", t.nrows,
          t.nrows == 1 ? "" : "s");
  rc = 0;
done:
  agg_table_free(&t);
  return rc;
}

/* The long table of the runs' epochs (with the table's keys and a pivot's column keys),
 * to the output; counts its rows on log. */
static int write_long(const agg_request_t *req, const agg_run_t *const *runs, int n,
                      const char *const *keys, int nkeys, FILE *log) {
  int nall;
  const char **all = keys_and_cols(keys, nkeys, &req->st, &nall);
  output_t o = {.runs = runs, .n = n, .keys = all, .nkeys = nall};
  int rc = publish(req, &o);
  dpt_free(all);
  if (rc < 0) return -1;
  int64_t rows = 0, between = 0;
  for (int i = 0; i < n; i++) {
    rows += runs[i]->n;
    for (int k = 0; k < RUN_SERIES_COUNT; k++) between += runs[i]->file.curves.s[k].n;
  }
  fprintf(log, "dpt-aggregate: %d run%s in %lld row%s (one per epoch", n, n == 1 ? "" : "s",
          (long long)(rows + between), rows + between == 1 ? "" : "s");
  if (between) fprintf(log, ", and %lld between epochs: intervals and evals", (long long)between);
  fprintf(log, ")");
  return 0;
}

/* What --best-of and --select-by cannot mean: a key no run has, one that tells
 * replicates apart, one the table groups by, a baseline on it, a choice without a key. */
static int check_best_of(const agg_study_t *st, const agg_run_t *const *runs, int n) {
  const char *key = st->best_of;
  if (!key)
    return st->select_by ? dpt_fail("--select-by %s needs --best-of KEY (the key whose best "
                                    "value it chooses)", st->select_by) : 0;
  if (!strcmp(key, "run") || !strcmp(key, "hash") || !strncmp(key, "experiment.", 11))
    return dpt_fail("--best-of %s: it tells runs or replicates apart, and the best of those is "
                    "the luckiest, not a setting (choose a config key such as "
                    "model.learning_rate)", key);
  if (!key_known(runs, n, key))
    return dpt_fail("--best-of: no run has the config key '%s'", key);
  if (strlist_find(&st->rows, key) >= 0 || strlist_find(&st->cols, key) >= 0)
    return dpt_fail("--best-of %s is also a row or column key: it chooses one value of it "
                    "within each group of the other keys", key);
  for (int i = 0; i < st->baseline.n; i++) {
    size_t len = strcspn(st->baseline.v[i], "=");
    if (!strncmp(st->baseline.v[i], key, len) && key[len] == '\0')
      return dpt_fail("--baseline %s: the --best-of key is chosen per group, so it cannot "
                      "pick the baseline", st->baseline.v[i]);
  }
  return 0;
}

/* The runs of each group at its best value of the --best-of key (bestof.h) into runs[];
 * returns their count, or -1. Counts them on log, with a note for a key that leaves
 * nothing to choose and for a choice made on the test set. */
static int choose_best(const agg_request_t *req, const agg_run_t **runs, int n,
                       const char *const *keys, int nkeys, FILE *log) {
  const agg_study_t *st = &req->st;
  if (check_best_of(st, runs, n) < 0) return -1;
  if (!st->best_of) return n;
  int field = agg_best_of_field(st->select_by ? st->select_by : "best_val_acc"), ng, nchoice;
  if (field < 0) return -1;
  const char **groups = plot_keys(req, keys, nkeys, &ng);
  int all = n;
  n = agg_best_of(runs, n, groups, ng, st->best_of, field, st->target, &nchoice);
  dpt_free(groups);
  if (n >= 0)
    fprintf(log, "dpt-aggregate: --best-of %s by mean %s: %d of %d runs chosen\n", st->best_of,
            agg_fields[field].name, n, all);
  if (n >= 0 && nchoice == 0)
    fprintf(log, "dpt-aggregate: note: --best-of %s: no group has more than one value of it, "
                 "nothing to choose\n", st->best_of);
  if (n >= 0 && !strncmp(agg_fields[field].name, "test_", 5))
    fprintf(log, "dpt-aggregate: note: --select-by %s chooses on the test set, so the test "
                 "values of the chosen runs are optimistic (best_val_acc chooses on "
                 "validation)\n", agg_fields[field].name);
  return n;
}

static int aggregate(const agg_request_t *req, const agg_runset_t *set, FILE *log) {
  const agg_study_t *st = &req->st;
  agg_priced_t priced = {0};
  const agg_run_t **runs = NULL;
  const char **keys = NULL, **shown = NULL;
  int nkeys = 0, nshown = 0, rc = -1, n = -1;
  if (st->network.n) {
    if (agg_price_runs(&priced, set, st) < 0) goto done;
    agg_priced_notes(&priced, log);
  }
  runs = dpt_alloc(sizeof(agg_run_t *) * (size_t)(set->nruns * (priced.nnets + 1) + 1));
  n = st->network.n ? select_runs(st, set, priced.views, priced.nviews, runs)
                    : select_runs(st, set, set->runs, set->nruns, runs);
  if (n < 0 || check_keys(runs, n, &st->rows, "--rows/--group-by") < 0 ||
      check_keys(runs, n, &st->cols, "--cols") < 0)
    goto done;
  keys = table_keys(req, runs, n, set->nunfinished, &nkeys);
  if ((n = choose_best(req, runs, n, keys, nkeys, log)) < 0) goto done;
  shown = with_best_of(keys, nkeys, st, &nshown);
  if (req->plots && check_plots(req, shown, nshown) < 0) goto done;
  if ((req->long_rows ? write_long(req, runs, n, shown, nshown, log)
                      : tabulate(req, runs, n, keys, nkeys, log)) < 0)
    goto done;
  if (set->nunfinished) fprintf(log, " (%d unfinished, marked by status)", set->nunfinished);
  fprintf(log, "\n");
  rc = req->plots ? write_plots(req, runs, n, shown, nshown, log) : 0;
done:
  dpt_free(runs);
  dpt_free(keys);
  dpt_free(shown);
  agg_priced_free(&priced);
  return rc;
}

int agg_report(const agg_request_t *req, FILE *log) {
  agg_runset_t set = {0};
  agg_runset_collect(&set, (const char *const *)req->paths.v, req->paths.n,
                     req->include_unfinished);
  report_skips(&set, log);
  int rc = aggregate(req, &set, log) < 0 ? -1 : set.nskips;
  agg_runset_free(&set);
  return rc;
}
