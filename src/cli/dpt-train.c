/* dpt-train - the MPI trainer: reads a run config, trains, writes run.h5.
 *   mpirun -np P dpt-train -c task.yaml [--set key=value]...   (or srun, or no launcher) */
#include <getopt.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../core/cli.h"
#include "../core/err.h"
#include "../core/exitcodes.h"
#include "../train/session.h"

#define MAX_SETS 256

static void usage(FILE *out) {
  fprintf(out,
"usage: dpt-train -c CONFIG.yaml [options]\n"
"       mpirun -np P dpt-train -c CONFIG.yaml [options]\n"
"\n"
"Trains the config's model (the seed project's YAML layout, extended; see\n"
"docs/config.md or --config-reference) and writes RUN_DIR/run.h5.\n"
"\n"
"options:\n"
"  -c, --config FILE     run configuration (YAML)\n"
"  --set KEY=VALUE       override a key by its dotted path, e.g.\n"
"                        --set model.work.local_steps=16 (repeatable)\n"
"  --data PATH           dataset file (same as --set data.path=PATH)\n"
"  --limit N             use only the first N train and test images (data.limit)\n"
"  --run-dir DIR         where run.h5 goes (default runs/NAME-vVERSION from experiment:)\n"
"  --resume MODE         auto: continue from RUN_DIR/checkpoint.h5 when it exists (none:\n"
"                        start fresh; a finished run: nothing to do); never: start fresh;\n"
"                        PATH: continue from it (default: auto if experiment.resume)\n"
"  --force               train even over a finished run in RUN_DIR (else refused)\n"
"  --check-config        validate, print the resolved config and exit\n"
"  --print-checkpoint-path  print where the checkpoint goes (experiment.checkpoint_dir)\n"
"  --config-reference    print every config key with its default and meaning\n"
"  -h, --help, --version  this help; the version\n"
"\n"
"examples:\n"
"  dpt-data fashion-mnist\n"
"  dpt-train -c tests/fixtures/seed/centralized.yaml --data data/fashion-mnist.h5 \\\n"
"            --set model.epochs=3\n"
"signals: SIGUSR1 or SIGTERM (Slurm's --signal, preemption) finish the current step on\n"
"every rank, write the checkpoint, mark run.h5 interrupted and exit with status 3.\n"
"exit status: 0 done (or already complete), 1 error, 2 bad usage, 3 requeue\n");
}

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig) {
  (void)sig;
  stop_requested = 1; /* a second signal only sets it again: the checkpoint goes on */
}

/* Installed before main, as soon as the libraries are loaded (threads a library starts
 * would not inherit a mask that main's thread set later): a signal during MPI start-up,
 * data loading or restore only sets the flag. */
__attribute__((constructor)) static void install_signal_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

/* --data and --limit as the --set they stand for ("key=value", owned by the caller). */
static char *set_of(const char *key, const char *value) {
  char *set = NULL;
  if (asprintf(&set, "%s=%s", key, value) < 0) DPT_PANIC("out of memory");
  return set;
}

/* Rank 0 says what is wrong with the command line (arg: the word at fault, or NULL). */
static int usage_error(int rank, const char *msg, const char *arg) {
  if (rank != 0) return DPT_EXIT_USAGE;
  return arg ? cli_usage_error("dpt-train", "%s '%s'", msg, arg)
             : cli_usage_error("dpt-train", "%s", msg);
}

/* Parses argv into s; returns -1 to run, else the exit status (help, errors). */
static int parse(int argc, char **argv, int rank, train_session_t *s, const char **sets,
                 char **owned, int *nowned) {
  enum { OPT_SET = 256, OPT_DATA, OPT_LIMIT, OPT_RUN_DIR, OPT_RESUME, OPT_FORCE, OPT_CHECK,
         OPT_REF, OPT_VERSION, OPT_CKPT_PATH };
  static const struct option longopts[] = {
      {"config", required_argument, 0, 'c'}, {"set", required_argument, 0, OPT_SET},
      {"data", required_argument, 0, OPT_DATA}, {"limit", required_argument, 0, OPT_LIMIT},
      {"run-dir", required_argument, 0, OPT_RUN_DIR}, {"resume", required_argument, 0, OPT_RESUME},
      {"force", no_argument, 0, OPT_FORCE}, {"check-config", no_argument, 0, OPT_CHECK},
      {"config-reference", no_argument, 0, OPT_REF},
      {"print-checkpoint-path", no_argument, 0, OPT_CKPT_PATH},
      {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, OPT_VERSION}, {0, 0, 0, 0}};
  int c, n = 0, status = -1;
  opterr = 0;
  while (status < 0 && (c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
    if (n >= MAX_SETS - 2 && (c == OPT_SET || c == OPT_DATA || c == OPT_LIMIT)) c = '?';
    switch (c) {
      case 'c': s->config_path = optarg; break;
      case OPT_SET: sets[n++] = optarg; break;
      case OPT_DATA: sets[n++] = owned[(*nowned)++] = set_of("data.path", optarg); break;
      case OPT_LIMIT: sets[n++] = owned[(*nowned)++] = set_of("data.limit", optarg); break;
      case OPT_RUN_DIR: s->run_dir = optarg; break;
      case OPT_RESUME: s->resume = optarg; break;
      case OPT_FORCE: s->force = 1; break;
      case OPT_CHECK: s->check_only = 1; break;
      case OPT_CKPT_PATH: s->print_checkpoint = 1; break;
      case OPT_REF: if (rank == 0) config_print_reference(); status = DPT_EXIT_OK; break;
      case 'h': if (rank == 0) usage(stdout); status = DPT_EXIT_OK; break;
      case OPT_VERSION: status = rank == 0 ? cli_print_version("dpt-train") : DPT_EXIT_OK; break;
      default:
        status = n >= MAX_SETS - 2 ? usage_error(rank, "too many --set options", NULL)
                 : usage_error(rank, "unknown or incomplete option", argv[optind - 1]);
    }
  }
  s->sets = sets;
  s->nsets = n;
  if (status < 0 && optind < argc)
    status = usage_error(rank, "unexpected argument", argv[optind]);
  if (status < 0 && !s->config_path)
    status = usage_error(rank, "no config given (-c FILE)", NULL);
  return status;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const char *sets[MAX_SETS];
  char *owned[MAX_SETS];
  int nowned = 0;
  train_session_t s = {.stop_flag = &stop_requested};
  int status = parse(argc, argv, rank, &s, sets, owned, &nowned);
  if (status < 0) {
    train_outcome_t out = train_session(&s);
    status = out.result == TRAIN_FINISHED  ? DPT_EXIT_OK
             : out.result == TRAIN_STOPPED ? DPT_EXIT_REQUEUE
             : out.failed_here             ? cli_fail_rank("dpt-train", rank, out.scope)
                                           : DPT_EXIT_ERROR;
  }
  for (int i = 0; i < nowned; i++) free(owned[i]);
  MPI_Finalize();
  return status;
}
