/* dpt-sweep - expands sweep specs into Slurm array jobs; submits, reports, resubmits, or
 * runs them here without Slurm. Each subcommand is one function of src/sweep/commands.h. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/cli.h"
#include "../core/exitcodes.h"
#include "../sweep/commands.h"

static const char usage[] =
"usage: dpt-sweep expand SPEC.yaml [-o DIR] [--set KEY=VALUE]... [--force]\n"
"                        [--max-array-size N] [--jobs DIR]\n"
"       dpt-sweep submit DIR [--dry-run] [--force]\n"
"       dpt-sweep status DIR [--summary]\n"
"       dpt-sweep resubmit DIR [--dry-run]\n"
"       dpt-sweep run-local DIR [--dry-run]\n"
"       dpt-sweep results DIR\n"
"       dpt-sweep complete RUN_DIR\n"
"       dpt-sweep verify DIR [TASK...] [--ranks P] [--keep]\n"
"\n"
"expand     validates every task of a sweep spec (sweeps/*.yaml) as dpt-train would and\n"
"           writes DIR (default runs/NAME): one resolved config per task in\n"
"           tasks/HASH/ (the hash of the config, so one config is one run), manifest.tsv,\n"
"           and one Slurm array script per resource shape in jobs/. --set applies to\n"
"           every task; --force expands over an existing sweep, keeping finished runs\n"
"           (refused while tasks of it are queued or running: squeue).\n"
"submit     submits the array jobs (tasks already done are left out) and the\n"
"           aggregation job after them (--dependency=afterany); records the job ids.\n"
"status     per task and in total: done, running, pending, interrupted, failed,\n"
"           never started, from the run files and squeue; per running task its epoch\n"
"           of E, last validation accuracy (- without a validation split) and ETA,\n"
"           and the sweep's ETA (as of each run's last finished epoch).\n"
"resubmit   submits only the tasks that are neither done nor queued, as index lists.\n"
"run-local  runs the tasks not done one after another with mpirun, no Slurm needed.\n"
"results    each task's axis values and final accuracies (Markdown).\n"
"complete   exits 0 when RUN_DIR/run.h5 is a complete run, else 1 (the job scripts'\n"
"           check; no HDF5 tools needed).\n"
"verify     reruns the given tasks (number or hash; default every task) from their\n"
"           configs on P ranks (default the task's own) in a scratch directory under\n"
"           $TMPDIR, and compares metrics, results and weights_crc32 bitwise with the\n"
"           recorded run.h5: prints match or the first difference (exit status 1).\n"
"\n"
"--dry-run prints the commands instead of running them.\n"
"exit status: 0 ok, 1 error (run-local: a task failed), 2 bad usage\n";

typedef struct {
  sweep_expand_opts_t expand;
  sweep_submit_opts_t submit;
  sweep_verify_opts_t verify;
  int summary;
  const char **sets, *dir; /* room for every --set; the first operand */
} args_t;

static int run_expand(args_t *a) { a->expand.spec = a->dir; return sweep_cmd_expand(&a->expand); }
static int run_submit(args_t *a) { return sweep_cmd_submit(a->dir, &a->submit); }
static int run_resubmit(args_t *a) { a->submit.resubmit = 1; return run_submit(a); }
static int run_status(args_t *a) { return sweep_cmd_status(a->dir, a->summary); }
static int run_local(args_t *a) { return sweep_cmd_run_local(a->dir, a->submit.dry_run); }
static int run_results(args_t *a) { return sweep_cmd_results(a->dir); }
static int run_complete(args_t *a) { return sweep_cmd_complete(a->dir); }
static int run_verify(args_t *a) { return sweep_cmd_verify(a->dir, &a->verify); }

/* Every option; a subcommand takes those whose letters its `longs` names. */
static const struct option all_opts[] = {
    {"output", required_argument, 0, 'o'}, {"set", required_argument, 0, 'S'},
    {"force", no_argument, 0, 'f'},        {"max-array-size", required_argument, 0, 'M'},
    {"jobs", required_argument, 0, 'J'},   {"dry-run", no_argument, 0, 'n'},
    {"summary", no_argument, 0, 's'},      {"ranks", required_argument, 0, 'p'},
    {"keep", no_argument, 0, 'k'},         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

static const struct {
  const char *name, *longs, *shorts, *operand; /* operand NULL: a sweep directory, tasks */
  int (*run)(args_t *a);
} commands[] = {
    {"expand", "oSfMJh", "o:h", "one spec file", run_expand},
    {"submit", "nfh", "nfh", "one sweep directory", run_submit},
    {"resubmit", "nh", "nh", "one sweep directory", run_resubmit},
    {"status", "sh", "sh", "one sweep directory", run_status},
    {"run-local", "nh", "nh", "one sweep directory", run_local},
    {"results", "h", "h", "one sweep directory", run_results},
    {"complete", "h", "h", "one run directory", run_complete},
    {"verify", "pkh", "p:kh", NULL, run_verify}};

enum { TAKEN = -1 }; /* an option taken; else the exit status to end with */

/* optarg as an integer in [1, max] into *out. */
static int count_arg(const char *cmd, const char *opt, long max, int *out) {
  char *end;
  long v = strtol(optarg, &end, 10);
  if (end == optarg || *end || v < 1 || v > max)
    return cli_usage_error("dpt-sweep", "%s: %s: expected an integer in [1, %ld], got '%s'",
                           cmd, opt, max, optarg);
  *out = (int)v;
  return TAKEN;
}

/* Takes option c of subcommand cmd into a. */
static int take_option(args_t *a, int c, const char *cmd) {
  switch (c) {
    case 'o': a->expand.out_dir = optarg; return TAKEN;
    case 'S': a->sets[a->expand.nsets++] = optarg; return TAKEN;
    case 'f': a->expand.force = a->submit.force = 1; return TAKEN;
    case 'M': return count_arg(cmd, "--max-array-size", INT_MAX, &a->expand.max_array_size);
    case 'J': a->expand.jobs_dir = optarg; return TAKEN;
    case 'n': a->submit.dry_run = 1; return TAKEN;
    case 's': a->summary = 1; return TAKEN;
    case 'p': return count_arg(cmd, "--ranks", 1024, &a->verify.ranks);
    case 'k': a->verify.keep = 1; return TAKEN;
    case 'h': fputs(usage, stdout); return DPT_EXIT_OK;
    default: return cli_usage_error("dpt-sweep", "%s: bad option", cmd);
  }
}

/* Parses the options and operands of commands[k] and runs it. */
static int dispatch(int k, int argc, char **argv) {
  struct option opts[sizeof all_opts / sizeof *all_opts] = {{0}};
  const char *sets[argc + 1];
  args_t a = {.sets = sets, .expand.sets = sets};
  int n = 0, c, rc;
  for (size_t i = 0; all_opts[i].name; i++)
    if (strchr(commands[k].longs, all_opts[i].val)) opts[n++] = all_opts[i];
  while ((c = getopt_long(argc, argv, commands[k].shorts, opts, NULL)) != -1)
    if ((rc = take_option(&a, c, commands[k].name)) != TAKEN) return rc;
  n = argc - optind;
  if (commands[k].operand ? n != 1 : n < 1)
    return cli_usage_error("dpt-sweep", "%s: expected %s", commands[k].name,
                           commands[k].operand ? commands[k].operand : "a sweep directory");
  a.dir = argv[optind];
  a.verify = (sweep_verify_opts_t){a.verify.ranks, a.verify.keep, argv + optind + 1, n - 1};
  rc = commands[k].run(&a);
  return rc < 0 ? cli_fail("dpt-sweep") : rc > 0 ? DPT_EXIT_ERROR : DPT_EXIT_OK;
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : "";
  int help = !strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help");
  if (help) { fputs(usage, stdout); return DPT_EXIT_OK; }
  if (cli_version_asked(argc, argv)) return cli_print_version("dpt-sweep");
  for (size_t k = 0; argc > 1 && k < sizeof commands / sizeof commands[0]; k++)
    if (!strcmp(cmd, commands[k].name)) return dispatch((int)k, argc - 1, argv + 1);
  if (argc < 2) fputs(usage, stderr);
  else cli_usage_error("dpt-sweep", "unknown command '%s' (expand, submit, status, resubmit, "
                       "run-local, results, complete, verify)", cmd);
  return DPT_EXIT_USAGE;
}
