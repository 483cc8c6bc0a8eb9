/* dpt-aggregate - comparison tables and plots from the run.h5 files of one or more
 * sweeps: reads the small run files only (never checkpoints), leaves out and names the
 * files it cannot trust, groups runs by config keys, and prints mean ± std and counts
 * as Markdown, CSV, LaTeX or JSON; with --plots, curves through gnuplot. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../agg/report.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/exitcodes.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: dpt-aggregate [OPTIONS] DIR|FILE...\n\n"
          "Reads every run.h5 below the given directories (and the files given), groups the\n"
          "runs by config keys and prints mean ± standard deviation and count per group.\n\n"
          "Selecting runs\n"
          "  --where COND          KEY=V[,V...]  KEY!=V  KEY<V  KEY<=V  KEY>V  KEY>=V; KEY is a\n"
          "                        config key (model.num_workers) or a field (test_acc);\n"
          "                        repeat to combine (and)\n"
          "  --include-unfinished  count running or interrupted runs too, in groups of their\n"
          "                        own (a status column)\n"
          "  --study FILE          a table definition (analysis/NAME.yaml); options override it\n"
          "Tables\n"
          "  --group-by KEYS       group by these keys (default: those that vary but seeds)\n"
          "  --rows KEYS           the same, for a pivot's rows\n"
          "  --cols KEYS           pivot: one column per value of these keys\n"
          "  --value FIELD         the value of a pivot or a baseline (default test_acc)\n"
          "  --values FIELDS       a group table's columns (default: accuracies, epochs,\n"
          "                        wall time, images/s, averagings and bytes when present)\n"
          "  --per-run             one row per run: directory, config hash, seed, keys, values\n"
          "  --long                no table: a row per run and epoch, every metric, with hash,\n"
          "                        seed, method and the varying keys (csv or json)\n"
          "  --sort [-]COLUMN      sort rows by a column or field; '-' descending\n"
          "  --baseline KEY=VALUE  each row's value minus the baseline row's, paired by seed:\n"
          "                        mean, 95%% t interval, pairs; bold if it excludes zero\n"
          "  --best-of KEY         in each group of the other keys, only the runs at the KEY\n"
          "                        value (model.learning_rate) of best mean --select-by FIELD\n"
          "                        (default best_val_acc); a tie: the smaller value\n"
          "  --spread sd|se        ± the standard deviation (default) or standard error\n"
          "  --target ACC          add epochs_to_target and rounds_to_target: the first epoch\n"
          "                        whose val accuracy reaches ACC, and the averagings so far\n"
          "  --format FMT          md (default), csv, latex or json\n"
          "  --percent             accuracies as percentages (md, latex)\n"
          "  --digits N            decimals of accuracies and losses (md, latex)\n"
          "  --title TEXT          a title above the table\n"
          "  -o FILE               write the table to FILE instead of standard output\n"
          "Networks (replay of each run's communication ledger, /rounds)\n"
          "  --network NAME|FILE   price every run under a network (1gbe, 10gbe, 25gbe, ib100,\n"
          "                        wan, a YAML file; repeatable, comma list): sim_time,\n"
          "                        comm_efficiency; --target: time_to_target, bytes_to_target\n"
          "  --replicas N          synchronous runs' replicas (default: the network's)\n"
          "  --compute IMG_PER_S   one participant's speed (default: the run's measured)\n"
          "Plots\n"
          "  --plots DIR           write figures (gnuplot) into DIR: per group the mean over\n"
          "                        seeds and a band of ± sd (--spread se: se); by default\n"
          "                        val_acc_epoch, val_loss_epoch, val_acc_rounds, H_epoch\n"
          "                        (--network: val_acc_time, val_acc_bytes)\n"
          "  --plot Y_X            only this plot (repeatable); Y: val_acc, val_loss,\n"
          "                        train_loss, H; X: epoch, rounds, time, bytes (--network)\n"
          "  --facet KEY           one panel per value of KEY (default: past 8 curves, a key\n"
          "                        that fits them)\n"
          "  --plot-format LIST    svg, png, pdf (default svg,png)\n"
          "Other\n"
          "  --fields              list the fields (values) a table can show\n"
          "  -h, --help, --version this text; the version\n\n"
          "Exit status: 0 all files aggregated; 4 the table was made but some files were\n"
          "left out (named on standard error with the reason: missing, damaged, not a run\n"
          "file, unfinished); 1 error; 2 bad usage.\n"
          "\n"
          "Examples:\n"
          "  dpt-aggregate runs/demo\n"
          "  dpt-aggregate --rows model.optimizer --cols model.batch_size --value test_acc runs/lb\n"
          "  dpt-aggregate --where model.num_workers=4 --sort -test_acc --format latex runs/*\n"
          "  dpt-aggregate --study analysis/localsgd.yaml --plots plots/localsgd runs/localsgd\n"
          "  dpt-aggregate --per-run --target 0.85 runs/demo\n"
          "  dpt-aggregate --network 1gbe,wan --target 0.85 runs/localsgd\n");
}

/* Options into req and over (the settings that override the study's); -2: bad usage. */
static int parse_args(int argc, char **argv, agg_request_t *req, agg_study_t *over,
                      int *fields) {
  enum { O_STUDY_KEY = 256, O_UNFIN = O_STUDY_KEY + AGG_OPT_COUNT, O_STUDY, O_PERRUN,
         O_LONG, O_PLOTS, O_FIELDS };
#define KEY(name, opt, arg) {name, arg, NULL, O_STUDY_KEY + AGG_OPT_##opt}
  static const struct option lo[] = {
      KEY("where", WHERE, 1), KEY("group-by", ROWS, 1), KEY("rows", ROWS, 1),
      KEY("cols", COLS, 1), KEY("value", VALUE, 1), KEY("values", VALUES, 1),
      KEY("sort", SORT, 1), KEY("target", TARGET, 1), KEY("format", FORMAT, 1),
      KEY("percent", PERCENT, 0), KEY("digits", DIGITS, 1), KEY("title", TITLE, 1),
      KEY("plot", PLOT, 1), KEY("baseline", BASELINE, 1), KEY("spread", SPREAD, 1),
      KEY("facet", FACET, 1), KEY("plot-format", PLOT_FORMAT, 1), KEY("select-by", SELECT_BY, 1),
      KEY("network", NETWORK, 1), KEY("replicas", REPLICAS, 1), KEY("compute", COMPUTE, 1),
      {"include-unfinished", no_argument, NULL, O_UNFIN},
      {"study", required_argument, NULL, O_STUDY}, {"per-run", no_argument, NULL, O_PERRUN},
      {"long", no_argument, NULL, O_LONG}, KEY("best-of", BEST_OF, 1),
      {"plots", required_argument, NULL, O_PLOTS}, {"fields", no_argument, NULL, O_FIELDS},
      {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
#undef KEY
  /* The study file goes first so that every other option overrides it. */
  for (int i = 1; i < argc - 1; i++)
    if (!strcmp(argv[i], "--study") && agg_study_load(&req->st, argv[i + 1]) < 0) return -1;
  int opt;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
    if (opt >= O_STUDY_KEY && opt < O_UNFIN) {
      if (agg_study_option(over, (agg_study_opt_t)(opt - O_STUDY_KEY), optarg) < 0) return -2;
      continue;
    }
    switch (opt) {
      case O_UNFIN: req->include_unfinished = 1; break;
      case O_STUDY: break;
      case O_PERRUN: req->per_run = 1; break;
      case O_LONG: req->long_rows = 1; break;
      case O_PLOTS: req->plots = optarg; break;
      case O_FIELDS: *fields = 1; break;
      case 'o': req->out = optarg; break;
      case 'h': usage(stdout); exit(DPT_EXIT_OK);
      default: return dpt_fail("unknown or incomplete option '%s'", argv[optind - 1]), -2;
    }
  }
  for (int i = optind; i < argc; i++) strlist_push(&req->paths, argv[i]);
  return 0;
}

int main(int argc, char **argv) {
  if (cli_version_asked(argc, argv)) return cli_print_version("dpt-aggregate");
  agg_request_t req = {0};
  agg_study_t over;
  int fields = 0;
  agg_study_init(&req.st);
  agg_study_init(&over);
  int prc = parse_args(argc, argv, &req, &over, &fields);
  if (prc == -2) return cli_usage_error("dpt-aggregate", "%s", dpt_errmsg());
  agg_study_override(&req.st, &over);
  if (prc < 0) return cli_fail("dpt-aggregate");
  if (fields) {
    agg_fields_print(stdout);
    return DPT_EXIT_OK;
  }
  if (req.paths.n == 0) return cli_usage_error("dpt-aggregate", "%s", "no DIR or FILE given");
  int skipped = agg_report(&req, stderr);
  agg_study_free(&req.st);
  strlist_free(&req.paths);
  return skipped < 0 ? cli_fail("dpt-aggregate") : skipped ? DPT_EXIT_SKIPPED : DPT_EXIT_OK;
}
