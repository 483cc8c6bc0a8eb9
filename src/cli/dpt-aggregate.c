/* dpt-aggregate - comparison tables and plots from the run.h5 files of one or more
 * sweeps: reads the small run files only (never checkpoints), leaves out and names the
 * files it cannot trust, groups runs by config keys, and prints mean ± std and counts
 * as Markdown, CSV, LaTeX or JSON; with --plots, curves through gnuplot. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../agg/fixture.h"
#include "../agg/format.h"
#include "../agg/plot.h"
#include "../agg/runset.h"
#include "../agg/study.h"
#include "../agg/table.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/exitcodes.h"
#include "../core/fsutil.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: dpt-aggregate [OPTIONS] DIR|FILE...\n"
          "\n"
          "Reads every run.h5 below the given directories (and the files given), groups the\n"
          "runs by config keys and prints mean ± standard deviation and count per group.\n"
          "\n"
          "Selecting runs\n"
          "  --where COND          KEY=V[,V...]  KEY!=V  KEY<V  KEY<=V  KEY>V  KEY>=V; KEY is a\n"
          "                        config key (model.num_workers) or a field (test_acc);\n"
          "                        repeat to combine (and)\n"
          "  --include-unfinished  count running or interrupted runs too, in groups of their\n"
          "                        own (a status column)\n"
          "  --study FILE          a table definition (analysis/NAME.yaml); the options\n"
          "                        below override it\n"
          "Tables\n"
          "  --group-by KEYS       group by these keys (comma-separated); default: the keys\n"
          "                        that vary across the runs, seeds excepted\n"
          "  --rows KEYS           the same, for a pivot's rows\n"
          "  --cols KEYS           pivot: one column per value of these keys\n"
          "  --value FIELD         the pivot's value (default test_acc)\n"
          "  --values FIELDS       a group table's columns (default: accuracies, epochs,\n"
          "                        wall time, images/s, averagings and bytes when present)\n"
          "  --per-run             one row per run: the varying keys and every value\n"
          "  --sort [-]COLUMN      sort rows by a column or field; '-' descending\n"
          "  --target ACC          add epochs_to_target and rounds_to_target: the first epoch\n"
          "                        whose validation accuracy reaches ACC, and the averagings\n"
          "                        until then\n"
          "  --format FMT          md (default), csv, latex or json\n"
          "  --percent             accuracies as percentages (md, latex)\n"
          "  --digits N            decimals of accuracies and losses (md, latex)\n"
          "  --title TEXT          a title above the table\n"
          "  -o FILE               write the table to FILE instead of standard output\n"
          "Plots\n"
          "  --plots DIR           write SVG and PNG curves (gnuplot) per group into DIR:\n"
          "                        val_acc_epoch, val_acc_rounds, H_epoch\n"
          "  --plot NAME           only this plot (repeatable)\n"
          "Other\n"
          "  --fields              list the fields (values) a table can show\n"
          "  -h, --help            this text\n"
          "\n"
          "Exit status: 0 all files aggregated; 4 the table was made but some files were\n"
          "left out (named on standard error with the reason: missing, damaged, not a run\n"
          "file, unfinished); 1 error; 2 bad usage.\n"
          "\n"
          "Examples:\n"
          "  dpt-aggregate runs/demo\n"
          "  dpt-aggregate --rows model.optimizer --cols model.batch_size --value test_acc runs/lb\n"
          "  dpt-aggregate --where model.num_workers=4 --sort -test_acc --format latex runs/*\n"
          "  dpt-aggregate --study analysis/localsgd.yaml --plots plots/localsgd runs/localsgd\n"
          "  dpt-aggregate --per-run --target 0.85 runs/demo\n");
}

/* ---------------------------------------------------------------- hidden: fixtures */

/* dpt-aggregate --fixture OUT [KEY=VALUE...]: a run file for tests. Dotted keys are
 * config overrides; status, epochs, val_acc (comma list), test_acc, test_acc_best,
 * wall_time, images_per_s, averagings, H, bytes_sent (comma lists) set the numbers.
 * dpt-aggregate --fixture-sweep N DIR [EPOCHS]: the benchmark's N runs. */
static double *number_list(const char *s, int *n) {
  double *x = NULL;
  *n = 0;
  for (;;) {
    char *end;
    x = dpt_realloc(x, sizeof(double) * (size_t)(*n + 1));
    x[(*n)++] = strtod(s, &end);
    if (end == s) DPT_PANIC("--fixture: not a number list: '%s'", s);
    if (*end != ',') return x;
    s = end + 1;
  }
}

static int fixture_main(int argc, char **argv) {
  if (!strcmp(argv[1], "--fixture-sweep")) {
    if (argc < 4) return cli_usage_error("dpt-aggregate", "%s", "--fixture-sweep N DIR [EPOCHS]");
    if (agg_fixture_sweep(argv[3], atoi(argv[2]), argc > 4 ? atoi(argv[4]) : 150) < 0)
      return cli_fail("dpt-aggregate");
    return 0;
  }
  if (argc < 3) return cli_usage_error("dpt-aggregate", "%s", "--fixture OUT [KEY=VALUE...]");
  agg_fixture_t fx = {.epochs = 0, .has_test = 1, .wall_time = 10, .images_per_s = 1000};
  const char **sets = dpt_alloc(sizeof(char *) * (size_t)argc);
  double *lists[5] = {0};
  int n = 0, nval = 0, has_best = 0;
  for (int i = 3; i < argc; i++) {
    char *eq = strchr(argv[i], '=');
    if (!eq) return cli_usage_error("dpt-aggregate", "--fixture: expected KEY=VALUE, got '%s'", argv[i]);
    *eq = '\0';
    const char *k = argv[i], *v = eq + 1;
    if (strchr(k, '.')) {
      *eq = '=';
      sets[fx.nsets++] = argv[i];
    } else if (!strcmp(k, "status")) {
      fx.status = v;
      fx.has_test = !strcmp(v, "complete");
    } else if (!strcmp(k, "epochs")) {
      fx.epochs = atoi(v);
    } else if (!strcmp(k, "val_acc")) {
      fx.val_acc = lists[0] = number_list(v, &nval);
    } else if (!strcmp(k, "test_acc")) {
      fx.test_acc_last = atof(v);
    } else if (!strcmp(k, "test_acc_best")) {
      fx.test_acc_best = atof(v);
      has_best = 1;
    } else if (!strcmp(k, "wall_time")) {
      fx.wall_time = atof(v);
    } else if (!strcmp(k, "images_per_s")) {
      fx.images_per_s = atof(v);
    } else if (!strcmp(k, "averagings")) {
      fx.averagings = lists[1] = number_list(v, &n);
    } else if (!strcmp(k, "H")) {
      fx.h = lists[2] = number_list(v, &n);
    } else if (!strcmp(k, "bytes_sent")) {
      fx.bytes_sent = lists[3] = number_list(v, &n);
    } else {
      return cli_usage_error("dpt-aggregate", "--fixture: unknown field '%s'", k);
    }
  }
  if (!fx.epochs) fx.epochs = nval ? nval : 3;
  if (!has_best) fx.test_acc_best = fx.test_acc_last;
  fx.sets = sets;
  int rc = agg_fixture_write(argv[2], &fx) < 0 ? cli_fail("dpt-aggregate") : 0;
  for (int i = 0; i < 5; i++) dpt_free(lists[i]);
  dpt_free(sets);
  return rc;
}

/* ---------------------------------------------------------------- options */

typedef struct {
  agg_study_t st;        /* the study's settings, overridden by the command line */
  agg_list_t paths;
  int include_unfinished, per_run, fields, has_format;
  agg_format_t format;
  const char *out, *plots;
} opts_t;

static int parse_fields(const agg_list_t *names, int **fields) {
  *fields = dpt_alloc(sizeof(int) * (size_t)(names->n ? names->n : 1));
  for (int i = 0; i < names->n; i++)
    if (((*fields)[i] = agg_field_find(names->v[i])) < 0)
      return dpt_fail("unknown field '%s' (dpt-aggregate --fields lists them)", names->v[i]);
  return names->n;
}

static int parse_args(int argc, char **argv, opts_t *o) {
  enum { O_WHERE = 256, O_UNFIN, O_STUDY, O_GROUP, O_ROWS, O_COLS, O_VALUE, O_VALUES,
         O_PERRUN, O_SORT, O_TARGET, O_FORMAT, O_PERCENT, O_DIGITS, O_TITLE, O_PLOTS,
         O_PLOT, O_FIELDS };
  static const struct option lo[] = {
      {"where", required_argument, NULL, O_WHERE},
      {"include-unfinished", no_argument, NULL, O_UNFIN},
      {"study", required_argument, NULL, O_STUDY},
      {"group-by", required_argument, NULL, O_GROUP},
      {"rows", required_argument, NULL, O_ROWS},
      {"cols", required_argument, NULL, O_COLS},
      {"value", required_argument, NULL, O_VALUE},
      {"values", required_argument, NULL, O_VALUES},
      {"per-run", no_argument, NULL, O_PERRUN},
      {"sort", required_argument, NULL, O_SORT},
      {"target", required_argument, NULL, O_TARGET},
      {"format", required_argument, NULL, O_FORMAT},
      {"percent", no_argument, NULL, O_PERCENT},
      {"digits", required_argument, NULL, O_DIGITS},
      {"title", required_argument, NULL, O_TITLE},
      {"plots", required_argument, NULL, O_PLOTS},
      {"plot", required_argument, NULL, O_PLOT},
      {"fields", no_argument, NULL, O_FIELDS},
      {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  /* The study file goes first so that every other option overrides it. */
  for (int i = 1; i < argc - 1; i++)
    if (!strcmp(argv[i], "--study") && agg_study_load(&o->st, argv[i + 1]) < 0) return -1;
  agg_list_t where = {0}, rows = {0}, cols = {0}, values = {0}, plots = {0};
  int opt;
  char *end;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
    switch (opt) {
      case O_WHERE: agg_list_push(&where, optarg); break;
      case O_UNFIN: o->include_unfinished = 1; break;
      case O_STUDY: break;
      case O_GROUP:
      case O_ROWS: agg_list_push_split(&rows, optarg); break;
      case O_COLS: agg_list_push_split(&cols, optarg); break;
      case O_VALUE:
        dpt_free(o->st.value);
        o->st.value = dpt_strdup(optarg);
        break;
      case O_VALUES: agg_list_push_split(&values, optarg); break;
      case O_PERRUN: o->per_run = 1; break;
      case O_SORT:
        dpt_free(o->st.sort);
        o->st.sort = dpt_strdup(optarg);
        break;
      case O_TARGET:
        errno = 0;
        o->st.target = strtod(optarg, &end);
        if (errno || *end || !(o->st.target > 0 && o->st.target <= 1))
          return dpt_fail("--target wants an accuracy in (0, 1], not '%s'", optarg), -2;
        break;
      case O_FORMAT:
        if (agg_format_parse(optarg, &o->format) < 0) return -2;
        o->has_format = 1;
        break;
      case O_PERCENT: o->st.percent = 1; break;
      case O_DIGITS:
        o->st.digits = (int)strtol(optarg, &end, 10);
        if (*end || end == optarg || o->st.digits < 0 || o->st.digits > 12)
          return dpt_fail("--digits wants 0 to 12, not '%s'", optarg), -2;
        break;
      case O_TITLE:
        dpt_free(o->st.title);
        o->st.title = dpt_strdup(optarg);
        break;
      case O_PLOTS: o->plots = optarg; break;
      case O_PLOT: agg_list_push(&plots, optarg); break;
      case O_FIELDS: o->fields = 1; break;
      case 'o': o->out = optarg; break;
      case 'h': usage(stdout); exit(0);
      default:
        return dpt_fail("unknown or incomplete option '%s'", argv[optind - 1]), -2;
    }
  }
  /* Command-line lists replace the study's, except filters, which add up. */
  for (int i = 0; i < where.n; i++) agg_list_push(&o->st.where, where.v[i]);
  agg_list_free(&where);
  agg_list_t *mine[] = {&rows, &cols, &values, &plots};
  agg_list_t *theirs[] = {&o->st.rows, &o->st.cols, &o->st.values, &o->st.plots};
  for (int i = 0; i < 4; i++) {
    if (mine[i]->n) {
      agg_list_free(theirs[i]);
      *theirs[i] = *mine[i];
    }
  }
  if (!o->has_format && o->st.format) {
    if (agg_format_parse(o->st.format, &o->format) < 0) return dpt_wrap("study"), -1;
  }
  for (int i = optind; i < argc; i++) agg_list_push(&o->paths, argv[i]);
  return 0;
}

static void list_fields(void) {
  printf("Fields (values a table can show; --values, --value, --sort, --where):\n");
  for (int i = 0; i < agg_nfields; i++)
    printf("  %-17s %s%s\n", agg_fields[i].name, agg_fields[i].doc,
           agg_fields[i].better > 0 ? " (higher is better)"
           : agg_fields[i].better < 0 ? " (lower is better)" : "");
  printf("Keys: any dotted config key (model.optimizer), run (the run directory), status.\n");
}

/* ---------------------------------------------------------------- the story */

static int key_known(const agg_run_t *const *runs, int n, const char *key) {
  if (!strcmp(key, "run") || !strcmp(key, "status") || !strcmp(key, "method")) return 1;
  for (int i = 0; i < n; i++)
    if (agg_run_config(runs[i], key)) return 1;
  return 0;
}

static int check_keys(const agg_run_t *const *runs, int n, const agg_list_t *keys,
                      const char *what) {
  for (int i = 0; i < keys->n; i++)
    if (!key_known(runs, n, keys->v[i]))
      return dpt_fail("%s: no run has the config key '%s'", what, keys->v[i]);
  return 0;
}

static void report_skips(const agg_runset_t *set) {
  if (set->nskips == 0) return;
  fprintf(stderr, "dpt-aggregate: warning: %d file%s left out of the numbers:\n", set->nskips,
          set->nskips == 1 ? "" : "s");
  for (int i = 0; i < set->nskips; i++)
    fprintf(stderr, "  %s: %s\n", set->skips[i].path, set->skips[i].reason);
}

/* Default columns: what the per-run summary names, when any run has it. */
static int default_fields(const agg_run_t *const *runs, int n, double target, int *fields) {
  static const char *const base[] = {"val_acc", "best_val_acc", "test_acc", "test_acc_best",
                                     "epochs", "wall_time", "images_per_s"};
  int m = 0, avg = 0, bytes = 0;
  for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) fields[m++] = agg_field_find(base[i]);
  for (int i = 0; i < n; i++) {
    avg |= runs[i]->metric[M_AVERAGINGS] != NULL;
    bytes |= runs[i]->metric[M_BYTES_SENT] != NULL;
  }
  if (avg) fields[m++] = agg_field_find("averagings");
  if (bytes) fields[m++] = agg_field_find("bytes_sent");
  if (target > 0) {
    fields[m++] = agg_field_find("epochs_to_target");
    if (avg) fields[m++] = agg_field_find("rounds_to_target");
  }
  return m;
}

static int write_table(const opts_t *o, const agg_table_t *t) {
  agg_style_t style = {o->st.percent > 0, o->st.digits};
  if (!o->out) return agg_table_write(stdout, t, o->format, &style);
  char tmp[4096];
  if (dpt_tmp_name(tmp, sizeof tmp, o->out) < 0) return -1;
  FILE *f = fopen(tmp, "w");
  if (!f) return dpt_fail("%s: cannot create: %s", tmp, strerror(errno));
  int rc = agg_table_write(f, t, o->format, &style);
  if (fclose(f) != 0 && rc == 0) rc = dpt_fail("%s: cannot write", tmp);
  if (rc < 0) {
    remove(tmp);
    return dpt_wrap("%s", o->out);
  }
  return dpt_publish(tmp, o->out);
}

static int aggregate(opts_t *o, agg_runset_t *set) {
  agg_study_t *st = &o->st;
  agg_where_t *where = dpt_alloc(sizeof(agg_where_t) * (size_t)(st->where.n + 1));
  const agg_run_t **runs = dpt_alloc(sizeof(agg_run_t *) * (size_t)(set->nruns + 1));
  const char **keys = NULL, **varying = NULL;
  int *fields = NULL, nkeys = 0, nruns = 0, rc = -1, nw = 0;
  agg_table_t t = {0};
  for (; nw < st->where.n; nw++)
    if (agg_where_parse(st->where.v[nw], &where[nw]) < 0) goto done;
  const agg_run_t **all = dpt_alloc(sizeof(agg_run_t *) * (size_t)(set->nruns + 1));
  for (int i = 0; i < set->nruns; i++) all[i] = &set->runs[i];
  for (int w = 0; w < nw; w++)
    if (agg_field_find(where[w].key) < 0 && !key_known(all, set->nruns, where[w].key)) {
      dpt_free(all);
      dpt_fail("--where %s: no run has the config key '%s', and it is not a field",
               st->where.v[w], where[w].key);
      goto done;
    }
  dpt_free(all);
  for (int i = 0; i < set->nruns; i++) {
    int ok = 1;
    for (int w = 0; w < nw && ok; w++) ok = agg_where_match(&where[w], &set->runs[i], st->target);
    if (ok) runs[nruns++] = &set->runs[i];
  }
  if (nruns == 0) {
    dpt_fail(set->nruns ? "no run matches the filters (%d runs read)"
                        : "no run to aggregate (%d runs read)", set->nruns);
    goto done;
  }
  if (check_keys(runs, nruns, &st->rows, "--rows/--group-by") < 0 ||
      check_keys(runs, nruns, &st->cols, "--cols") < 0)
    goto done;

  /* Group keys: as asked, or those that vary; per run, the run itself first; unfinished
   * runs apart from complete ones. */
  int nvary = agg_varying_keys(runs, nruns, &varying);
  keys = dpt_alloc(sizeof(char *) * (size_t)(st->rows.n + nvary + 2));
  if (o->per_run) keys[nkeys++] = "run";
  if (st->rows.n) {
    for (int i = 0; i < st->rows.n; i++) keys[nkeys++] = st->rows.v[i];
  } else {
    /* A pivot's column keys are not row keys. */
    for (int i = 0; i < nvary; i++) {
      int in_cols = 0;
      for (int c = 0; c < st->cols.n; c++) in_cols |= !strcmp(st->cols.v[c], varying[i]);
      if (!in_cols) keys[nkeys++] = varying[i];
    }
  }
  if (set->nunfinished) keys[nkeys++] = "status";

  if (st->cols.n) {
    int field = agg_field_find(st->value ? st->value : "test_acc");
    if (field < 0) {
      dpt_fail("unknown field '%s' (dpt-aggregate --fields lists them)", st->value);
      goto done;
    }
    if (agg_table_pivot(&t, runs, nruns, keys, nkeys, (const char *const *)st->cols.v,
                        st->cols.n, field, st->target) < 0)
      goto done;
  } else {
    int nf;
    if (st->values.n) {
      if ((nf = parse_fields(&st->values, &fields)) < 0) goto done;
    } else {
      fields = dpt_alloc(sizeof(int) * 16);
      nf = default_fields(runs, nruns, st->target, fields);
    }
    if (agg_table_group(&t, runs, nruns, keys, nkeys, fields, nf, st->target) < 0) goto done;
  }
  if (st->title) t.title = dpt_strdup(st->title);
  if (st->sort && agg_table_sort(&t, st->sort) < 0) goto done;
  agg_table_mark_best(&t);
  if (write_table(o, &t) < 0) goto done;
  fprintf(stderr, "dpt-aggregate: %d run%s in %d row%s", nruns, nruns == 1 ? "" : "s",
          t.nrows, t.nrows == 1 ? "" : "s");
  if (set->nunfinished) fprintf(stderr, " (%d unfinished, marked by status)", set->nunfinished);
  fprintf(stderr, "\n");

  if (o->plots) {
    /* Curves per group of the table: a pivot's rows and columns together. */
    const char **pkeys = dpt_alloc(sizeof(char *) * (size_t)(nkeys + st->cols.n + 1));
    int np = 0;
    for (int i = 0; i < nkeys; i++)
      if (strcmp(keys[i], "run") != 0) pkeys[np++] = keys[i];
    for (int i = 0; i < st->cols.n; i++) pkeys[np++] = st->cols.v[i];
    int prc = agg_plots(o->plots, runs, nruns, pkeys, np, &st->plots, st->title, stderr);
    dpt_free(pkeys);
    if (prc < 0) goto done;
  }
  rc = 0;
done:
  for (int w = 0; w < nw; w++) agg_where_free(&where[w]);
  dpt_free(where);
  dpt_free(runs);
  dpt_free(keys);
  dpt_free(varying);
  dpt_free(fields);
  agg_table_free(&t);
  return rc;
}

int main(int argc, char **argv) {
  if (argc > 1 && (!strcmp(argv[1], "--fixture") || !strcmp(argv[1], "--fixture-sweep")))
    return fixture_main(argc, argv);
  opts_t o;
  memset(&o, 0, sizeof o);
  agg_study_init(&o.st);
  int prc = parse_args(argc, argv, &o);
  if (prc == -2) return cli_usage_error("dpt-aggregate", "%s", dpt_errmsg());
  if (prc < 0) return cli_fail("dpt-aggregate");
  if (o.fields) {
    list_fields();
    return 0;
  }
  if (o.paths.n == 0) return cli_usage_error("dpt-aggregate", "%s", "no DIR or FILE given");

  agg_runset_t set = {0};
  agg_runset_collect(&set, (const char *const *)o.paths.v, o.paths.n, o.include_unfinished);
  report_skips(&set);
  int rc = aggregate(&o, &set) < 0 ? cli_fail("dpt-aggregate")
           : set.nskips ? AGG_EXIT_SKIPPED
                        : DPT_EXIT_OK;
  agg_runset_free(&set);
  agg_study_free(&o.st);
  agg_list_free(&o.paths);
  return rc;
}
