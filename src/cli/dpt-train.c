/* dpt-train - the MPI trainer: reads a run config, trains, writes run.h5.
 *   mpirun -np P dpt-train -c task.yaml [--set key=value]...   (or srun, or no launcher) */
#include <cblas.h>
#include <getopt.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../core/err.h"
#include "../core/exitcodes.h"
#include "../core/fsutil.h"
#include "../data/dataset.h"
#include "../io/csvrow.h"
#include "../train/checkpoint.h"
#include "../train/trainer.h"

#define MAX_SETS 256

static void usage(FILE *out) {
  fprintf(out,
"usage: dpt-train -c CONFIG.yaml [options]\n"
"       mpirun -np P dpt-train -c CONFIG.yaml [options]\n"
"\n"
"Trains the config's model (the seed project's YAML layout, extended; see the README's\n"
"config reference or --config-reference) and writes RUN_DIR/run.h5.\n"
"\n"
"options:\n"
"  -c, --config FILE     run configuration (YAML)\n"
"  --set KEY=VALUE       override a key by its dotted path, e.g.\n"
"                        --set model.work.local_steps=16 (repeatable)\n"
"  --data PATH           dataset file (same as --set data.path=PATH)\n"
"  --limit N             use only the first N train and test images (data.limit)\n"
"  --run-dir DIR         where run.h5 goes (default runs/NAME-vVERSION from experiment:)\n"
"  --resume MODE         auto: continue from RUN_DIR/checkpoint.h5 when it exists, else\n"
"                        start fresh; never: start fresh; PATH: continue from that\n"
"                        checkpoint (default: auto when experiment.resume is true)\n"
"  --check-config        validate, print the resolved config and exit\n"
"  --config-reference    print every config key with its default and meaning\n"
"  -h, --help            this help\n"
"  --version             print the version\n"
"\n"
"examples:\n"
"  dpt-data fashion-mnist\n"
"  dpt-train -c tests/fixtures/seed/centralized.yaml --data data/fashion-mnist.h5 \\\n"
"            --set model.epochs=3\n"
"signals: SIGUSR1 or SIGTERM (Slurm's --signal, preemption) finish the current step on\n"
"every rank, write the checkpoint, mark run.h5 interrupted and exit with status 3.\n"
"exit status: 0 done, 1 error, 2 bad usage, 3 checkpointed after a signal: requeue\n");
}

/* Every rank reports its own failure; the job stops only when all agree, so no rank
 * waits in a collective for one that already left. Only failing ranks print. */
static int all_ok(int rc, int rank) {
  int ok = rc == 0, all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  if (rc < 0) fprintf(stderr, "dpt-train: rank %d: %s\n", rank, dpt_errmsg());
  return all;
}

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig) {
  (void)sig;
  stop_requested = 1; /* a second signal only sets it again: the checkpoint goes on */
}

/* Installed before main, as soon as the libraries are loaded (OpenBLAS has started its
 * threads by then, so blocking the signals in main's thread would not keep them away):
 * a signal during MPI start-up, data loading or restore only sets the flag. */
__attribute__((constructor)) static void install_signal_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

/* Collective: did any rank get a stop signal during start-up? Then the run ends before
 * it writes anything, with the requeue status; the next attempt starts or resumes. */
static int stop_at_startup(int rank, const char *phase) {
  int mine = stop_requested, any = 0;
  MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (any && rank == 0)
    printf("dpt-train: stop requested during start-up (%s): nothing written; exit %d to "
           "requeue\n", phase, DPT_EXIT_REQUEUE);
  return any;
}

/* Rank 0's "HOST.PID" names the temporary files of every rank: ranks write the
 * checkpoint together and must open one file. */
static void agree_writer_id(void) {
  char id[320];
  dpt_writer_id(id, sizeof id);
  MPI_Bcast(id, sizeof id, MPI_CHAR, 0, MPI_COMM_WORLD);
  dpt_set_tmp_writer(id);
}

/* Starting weights and the resume decision. resume: NULL (from experiment.resume),
 * "auto", "never" or a checkpoint path. */
static int restore(trainer_t *t, const dpt_config_t *cfg, const char *resume) {
  if (cfg->pretrained[0] || cfg->test_only) {
    if (!cfg->pretrained[0])
      return dpt_fail("experiment.test_only needs model.pretrained (a checkpoint.h5)");
    if (trainer_load_weights(t, cfg->pretrained) < 0) return dpt_wrap("model.pretrained");
    if (cfg->test_only) return 0;
  }
  const char *mode = resume ? resume : cfg->resume ? "auto" : "never";
  if (strcmp(mode, "never") == 0) return 0;
  const char *path = strcmp(mode, "auto") == 0 ? t->ckpt_path : mode;
  if (strcmp(mode, "auto") == 0 && !dpt_file_exists(path)) return 0;
  if (ckpt_load(t, path) < 0) return dpt_wrap("--resume");
  if (t->rank == 0)
    printf("resuming from %s at epoch %d, step %lld\n", path, t->epoch + 1, (long long)t->step);
  return 0;
}

/* Under srun, each task must be one rank of one MPI world. Without PMIx (srun --mpi=none
 * or pmi2 with Debian's OpenMPI) every task starts as a singleton world of 1 and would
 * silently train alone; mpirun-started ranks carry OMPI_COMM_WORLD_SIZE instead. */
static int check_world(void) {
  const char *step_tasks = getenv("SLURM_STEP_NUM_TASKS");
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (!step_tasks || getenv("OMPI_COMM_WORLD_SIZE") || atoi(step_tasks) == size) return 0;
  return dpt_fail("this Slurm job step has %s tasks but the MPI world has %d rank(s): the "
                  "tasks started as separate singletons. Launch with 'srun --mpi=pmix' (or "
                  "mpirun)", step_tasks, size);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  openblas_set_num_threads(1);

  const char *config_path = NULL, *run_dir_opt = NULL;
  const char *sets[MAX_SETS];
  char *owned[MAX_SETS]; /* --data and --limit as "key=value", in sets[] too */
  int nowned = 0;
  int nsets = 0, check_only = 0, status = 1, rc = 0;
  enum { OPT_SET = 256, OPT_DATA, OPT_LIMIT, OPT_RUN_DIR, OPT_RESUME, OPT_CHECK, OPT_REF,
         OPT_VERSION };
  const char *resume = NULL;
  static const struct option longopts[] = {
      {"config", required_argument, 0, 'c'}, {"set", required_argument, 0, OPT_SET},
      {"data", required_argument, 0, OPT_DATA}, {"limit", required_argument, 0, OPT_LIMIT},
      {"run-dir", required_argument, 0, OPT_RUN_DIR},
      {"resume", required_argument, 0, OPT_RESUME},
      {"check-config", no_argument, 0, OPT_CHECK},
      {"config-reference", no_argument, 0, OPT_REF}, {"help", no_argument, 0, 'h'},
      {"version", no_argument, 0, OPT_VERSION}, {0, 0, 0, 0}};
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
    if (nsets >= MAX_SETS - 2 && (c == OPT_SET || c == OPT_DATA || c == OPT_LIMIT)) {
      fprintf(stderr, "dpt-train: too many --set options\n");
      goto usage_error;
    }
    switch (c) {
      case 'c': config_path = optarg; break;
      case OPT_SET: sets[nsets++] = optarg; break;
      case OPT_DATA:
        if (asprintf(&owned[nowned], "data.path=%s", optarg) < 0) DPT_PANIC("out of memory");
        sets[nsets++] = owned[nowned++];
        break;
      case OPT_LIMIT:
        if (asprintf(&owned[nowned], "data.limit=%s", optarg) < 0) DPT_PANIC("out of memory");
        sets[nsets++] = owned[nowned++];
        break;
      case OPT_RUN_DIR: run_dir_opt = optarg; break;
      case OPT_RESUME: resume = optarg; break;
      case OPT_CHECK: check_only = 1; break;
      case OPT_REF:
        if (rank == 0) config_print_reference();
        status = 0;
        goto done;
      case 'h':
        if (rank == 0) usage(stdout);
        status = 0;
        goto done;
      case OPT_VERSION:
        if (rank == 0) printf("dpt-train %s\n", DPT_VERSION);
        status = 0;
        goto done;
      default:
        if (rank == 0)
          fprintf(stderr, "dpt-train: unknown or incomplete option '%s'\n", argv[optind - 1]);
        goto usage_error;
    }
  }
  if (optind < argc) {
    if (rank == 0) fprintf(stderr, "dpt-train: unexpected argument '%s'\n", argv[optind]);
    goto usage_error;
  }
  if (!config_path) {
    if (rank == 0) fprintf(stderr, "dpt-train: no config given (-c FILE)\n");
    goto usage_error;
  }

  if (!all_ok(check_world(), rank)) goto done;
  dpt_config_t cfg;
  if (!all_ok(config_load(&cfg, config_path, sets, nsets), rank)) goto done;
  if (check_only) {
    if (rank == 0) {
      char *yaml = config_to_yaml(&cfg);
      fputs(yaml, stdout);
      dpt_free(yaml);
    }
    status = 0;
    goto done;
  }

  char run_dir[4096];
  if (run_dir_opt)
    snprintf(run_dir, sizeof run_dir, "%s", run_dir_opt);
  else
    snprintf(run_dir, sizeof run_dir, "runs/%s-v%g", cfg.exp_name, cfg.version);
  /* one trainer per run directory, refused before the data is read: rank 0 holds
   * RUN_DIR/.lock until the process exits */
  int lock_fd = -1;
  rc = rank == 0 ? dpt_mkdirs(run_dir) : 0;
  if (rc == 0 && rank == 0) rc = dpt_lock_dir(run_dir, &lock_fd);
  if (!all_ok(rc, rank)) goto done;
  agree_writer_id();

  dpt_dataset_t ds;
  memset(&ds, 0, sizeof ds);
  rc = dataset_load(&ds, cfg.data_path, cfg.limit);
  if (rc < 0 && !dpt_file_exists(cfg.data_path))
    dpt_fail("%s: dataset not found. Import CIFAR-100 from its binary files with\n"
             "  dpt-data cifar100 --src DIR -o %s\n"
             "or train on Fashion-MNIST (Debian's dataset-fashion-mnist package) with\n"
             "  dpt-data fashion-mnist && dpt-train ... --data data/fashion-mnist.h5",
             cfg.data_path, cfg.data_path);
  if (!all_ok(rc, rank)) goto done;
  if (stop_at_startup(rank, "data loaded")) {
    dataset_free(&ds);
    status = DPT_EXIT_REQUEUE;
    goto done;
  }

  trainer_t t;
  rc = trainer_init(&t, &cfg, &ds, run_dir, MPI_COMM_WORLD);
  if (rc == 0 && rank == 0) rc = dpt_remove_stale_tmps(t.run_path);
  if (rc == 0 && rank == 0) rc = dpt_remove_stale_tmps(t.ckpt_path);
  if (!all_ok(rc, rank)) {
    dataset_free(&ds);
    goto done;
  }
  if (rank == 0)
    printf("dpt-train: %s on %s (%lld train, %lld val, %lld test images, %d classes), "
           "%zu parameters, %s, %d epochs, batch %d, %d rank(s) -> %s\n",
           cfg.model_name, ds.name, (long long)t.ntrain, (long long)t.nval,
           (long long)t.ntest, ds.num_classes, t.model.nparams,
           opt_name(cfg.optimizer), cfg.epochs, cfg.batch_size, t.nranks,
           run_dir);
  fflush(stdout); /* the start-up line tells a log's reader that training begins */
  if (!all_ok(restore(&t, &cfg, resume), rank)) {
    trainer_free(&t);
    dataset_free(&ds);
    goto done;
  }
  if (stop_at_startup(rank, "model set up")) {
    trainer_free(&t);
    dataset_free(&ds);
    status = DPT_EXIT_REQUEUE;
    goto done;
  }
  t.stop_flag = &stop_requested;
  rc = cfg.test_only ? trainer_test_only(&t) : trainer_run(&t);
  if (rc == 1) {
    trainer_free(&t);
    dataset_free(&ds);
    status = DPT_EXIT_REQUEUE;
    goto done;
  }
  if (rc == 0 && rank == 0 && cfg.output[0]) rc = csv_append_run(cfg.output, &cfg, &t.info);
  if (all_ok(rc, rank)) status = 0;
  trainer_free(&t);
  dataset_free(&ds);
  goto done;

usage_error:
  if (rank == 0) fprintf(stderr, "run 'dpt-train --help' for usage\n");
  status = 2;
done:
  for (int i = 0; i < nowned; i++) free(owned[i]);
  MPI_Finalize();
  return status;
}
