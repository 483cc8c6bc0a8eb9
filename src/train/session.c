/* session.c - a dpt-train invocation from the parsed command line (see session.h). */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/exitcodes.h"
#include "../core/fsutil.h"
#include "../io/csvrow.h"
#include "../io/runfile.h"
#include "checkpoint.h"

/* Every rank learns whether any failed; this rank's own failure is remembered for the
 * report. Returns 0 when all succeeded. */
static int all_agree(train_outcome_t *out, int rc, cli_err_scope_t scope) {
  if (comm_agree(MPI_COMM_WORLD, rc) == 0) return 0;
  *out = (train_outcome_t){TRAIN_FAILED, rc < 0, scope};
  return -1;
}

/* Collective: did any rank get a stop signal during start-up? Then the run ends before
 * it writes anything, with the requeue status; the next attempt starts or resumes. */
static int stop_at_startup(const train_session_t *s, const char *phase) {
  int any = comm_any(MPI_COMM_WORLD, *s->stop_flag);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (any && rank == 0)
    printf("dpt-train: stop requested during start-up (%s): nothing written; exit %d to "
           "requeue\n", phase, DPT_EXIT_REQUEUE);
  return any;
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

/* One trainer per run directory, refused before the data is read: rank 0 holds
 * RUN_DIR/.lock until the process exits (the descriptor is never closed). */
static int lock_run_dir(const char *run_dir, int rank) {
  int lock_fd = -1;
  if (rank == 0 && (dpt_mkdirs(run_dir) < 0 || dpt_lock_dir(run_dir, &lock_fd) < 0)) return -1;
  return 0;
}

/* experiment.resume as --resume overrides it: "auto", "never" or a checkpoint path. */
static const char *resume_mode(const train_session_t *s, const dpt_config_t *cfg) {
  return s->resume ? s->resume : cfg->resume ? "auto" : "never";
}

/* --force over a finished run trains afresh: its last checkpoint goes first, so that
 * neither this run (resume "auto") nor a later resume of it continues from there. */
static int drop_checkpoint(const dpt_config_t *cfg, const char *run_dir) {
  char ckpt[4200];
  if (ckpt_path_for(cfg, run_dir, ckpt, sizeof ckpt) < 0) return -1;
  if (unlink(ckpt) < 0 && errno != ENOENT)
    return dpt_fail("%s: cannot remove the finished run's checkpoint: %s", ckpt,
                    strerror(errno));
  return 0;
}

/* A finished run in the run directory (a regular run.h5 whose writer completed it) is
 * never replaced unasked. Without --force: a resume "auto" of the same config has
 * nothing left to do (1), of another config it is refused naming the keys; a fresh
 * start is refused (-1); a checkpoint path given to --resume continues from it (0). */
static int finished_run_verdict(const train_session_t *s, const dpt_config_t *cfg,
                                const char *run_dir) {
  char path[4200];
  struct stat st;
  snprintf(path, sizeof path, "%s/run.h5", run_dir);
  const char *mode = resume_mode(s, cfg);
  int by_path = strcmp(mode, "auto") != 0 && strcmp(mode, "never") != 0;
  if (by_path || lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) return 0;
  runfile_t r;
  if (runfile_read_partial(path, &r) < 0) {
    dpt_clear_error(); /* a damaged or unfinished file is no finished run */
    return 0;
  }
  int finished = r.info.status == RUN_STATUS_COMPLETE && r.complete, rc = 0;
  if (finished && s->force)
    rc = drop_checkpoint(cfg, run_dir);
  else if (finished && strcmp(mode, "never") == 0)
    rc = dpt_fail("%s holds a finished run (its run.h5 is complete): pass --force to "
                  "replace it, or --resume auto to keep it", run_dir);
  else if (finished)
    rc = ckpt_same_run(path, r.config_yaml ? r.config_yaml : "", cfg) == 0
             ? 1
             : dpt_wrap("%s holds a finished run of another config (--force replaces it)",
                        run_dir);
  runfile_free(&r);
  return rc;
}

/* The verdict above, on rank 0 after it took the lock; every rank learns it. Returns 1
 * when the session ends here (already complete, or refused: then out says so). */
static int keep_finished_run(const train_session_t *s, const dpt_config_t *cfg,
                             const char *run_dir, int rank, train_outcome_t *out) {
  int rc = rank == 0 ? finished_run_verdict(s, cfg, run_dir) : 0;
  if (all_agree(out, rc < 0 ? -1 : 0, CLI_ERR_RANK_LOCAL) < 0) return 1;
  if (rc == 1)
    printf("dpt-train: %s: already complete; nothing to do (--force trains it again)\n",
           run_dir);
  return comm_any(MPI_COMM_WORLD, rc == 1);
}

/* Rank 0's "HOST.PID" names the temporary files of every rank: ranks write the
 * checkpoint together and must open one file. */
static void agree_writer_id(void) {
  char id[320];
  dpt_writer_id(id, sizeof id);
  MPI_Bcast(id, sizeof id, MPI_CHAR, 0, MPI_COMM_WORLD);
  dpt_set_tmp_writer(id);
}

static int load_data(dpt_dataset_t *ds, const dpt_config_t *cfg) {
  memset(ds, 0, sizeof *ds);
  int rc = dataset_load(ds, cfg->data_path, cfg->limit);
  if (rc < 0 && !dpt_file_exists(cfg->data_path)) {
    char near[1024];
    dataset_siblings(cfg->data_path, near, sizeof near);
    dpt_fail("%s: dataset not found (%s). Import CIFAR-100 from its binary files with\n"
             "  dpt-data cifar100 --src DIR -o %s\n"
             "or train on Fashion-MNIST (Debian's dataset-fashion-mnist package) with\n"
             "  dpt-data fashion-mnist && dpt-train ... --data data/fashion-mnist.h5",
             cfg->data_path, near, cfg->data_path);
  }
  return rc;
}

/* --print-checkpoint-path: where this run's checkpoint.h5 lives, for the job scripts
 * (experiment.checkpoint_dir moves it out of the run directory). */
static train_outcome_t print_checkpoint_path(const dpt_config_t *cfg, const char *run_dir,
                                             int rank) {
  train_outcome_t out = {TRAIN_FINISHED, 0, CLI_ERR_RANK_LOCAL};
  char path[4096];
  int rc = rank == 0 ? ckpt_path_for(cfg, run_dir, path, sizeof path) : 0;
  if (all_agree(&out, rc, CLI_ERR_RANK_LOCAL) == 0 && rank == 0) printf("%s\n", path);
  return out;
}

/* Starting weights and the resume decision. */
static int restore(trainer_t *t, const dpt_config_t *cfg, const char *mode) {
  if (cfg->pretrained[0] || cfg->test_only) {
    if (!cfg->pretrained[0])
      return dpt_fail("experiment.test_only needs model.pretrained (a checkpoint.h5)");
    if (trainer_load_weights(t, cfg->pretrained) < 0) return dpt_wrap("model.pretrained");
    if (cfg->test_only) return 0;
  }
  if (strcmp(mode, "never") == 0) return 0;
  int is_auto = strcmp(mode, "auto") == 0;
  const char *path = is_auto ? t->ckpt_path : mode;
  if (is_auto && !dpt_file_exists(path)) return 0;
  if (ckpt_load(t, path) < 0) return dpt_wrap("--resume");
  if (t->rank == 0)
    printf("resuming from %s at epoch %d, step %lld\n", path, t->state.epoch + 1,
           (long long)t->state.step);
  return 0;
}

static int set_up(trainer_t *t, const dpt_config_t *cfg, const dpt_dataset_t *ds,
                  const char *run_dir) {
  if (trainer_init(t, cfg, ds, run_dir, MPI_COMM_WORLD) < 0) return -1;
  /* named once: the banner, run.h5 and every reader of it show this name */
  config_method_name(cfg, t->state.info.method, sizeof t->state.info.method);
  if (t->rank == 0 && (dpt_remove_stale_tmps(t->run_path) < 0 ||
                       dpt_remove_stale_tmps(t->ckpt_path) < 0))
    return -1;
  return 0;
}

static void print_banner(const trainer_t *t, const dpt_config_t *cfg, const char *run_dir) {
  char method[96];
  config_method_label(cfg, t->state.info.method, method, sizeof method);
  if (t->rank == 0)
    printf("dpt-train: %s on %s (%lld train, %lld val, %lld test images, %d classes), "
           "%zu parameters, %s, %d epochs, batch %d, %d rank(s) -> %s\n",
           nn_model_name(cfg->model), t->ds->name, (long long)t->ntrain,
           (long long)t->nval, (long long)t->ntest, t->ds->num_classes, t->model.nparams,
           method, cfg->epochs, cfg->batch_size, t->nranks, run_dir);
  fflush(stdout); /* the start-up line tells a log's reader that training begins */
}

/* From the set-up trainer to the end of the run. */
static train_outcome_t train(const train_session_t *s, trainer_t *t, const dpt_config_t *cfg,
                             const char *run_dir) {
  train_outcome_t out = {TRAIN_FINISHED, 0, CLI_ERR_RANK_LOCAL};
  const train_outcome_t stopped = {TRAIN_STOPPED, 0, CLI_ERR_RANK_LOCAL};
  print_banner(t, cfg, run_dir);
  if (all_agree(&out, restore(t, cfg, resume_mode(s, cfg)), CLI_ERR_RANK_LOCAL) < 0)
    return out;
  if (stop_at_startup(s, "model set up")) return stopped;
  t->stop_flag = s->stop_flag;
  int rc = cfg->test_only ? trainer_test_only(t) : (int)trainer_run(t);
  if (rc == TRAIN_STOPPED) return stopped;
  if (rc == 0 && t->rank == 0 && cfg->output[0])
    rc = csv_append_run(run_dir, cfg->output, cfg, &t->state.info);
  all_agree(&out, rc, CLI_ERR_RANK_LOCAL);
  return out;
}

train_outcome_t train_session(const train_session_t *s) {
  train_outcome_t out = {TRAIN_FINISHED, 0, CLI_ERR_RANK_LOCAL};
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  dpt_config_t cfg;
  if (all_agree(&out, check_world(), CLI_ERR_SHARED) < 0 ||
      all_agree(&out, config_load(&cfg, s->config_path, s->sets, s->nsets), CLI_ERR_SHARED) < 0)
    return out;
  if (s->check_only) {
    if (rank == 0) {
      char *yaml = config_to_yaml(&cfg);
      fputs(yaml, stdout);
      dpt_free(yaml);
    }
    return out;
  }
  char run_dir[4096];
  if (s->run_dir)
    snprintf(run_dir, sizeof run_dir, "%s", s->run_dir);
  else
    snprintf(run_dir, sizeof run_dir, "runs/%s-v%g", cfg.exp_name, cfg.version);
  if (s->print_checkpoint) return print_checkpoint_path(&cfg, run_dir, rank);
  if (all_agree(&out, lock_run_dir(run_dir, rank), CLI_ERR_RANK_LOCAL) < 0) return out;
  if (keep_finished_run(s, &cfg, run_dir, rank, &out) != 0) return out;
  agree_writer_id();
  if (all_agree(&out, trainer_check_paths(&cfg, run_dir), CLI_ERR_SHARED) < 0) return out;
  dpt_dataset_t ds;
  if (all_agree(&out, load_data(&ds, &cfg), CLI_ERR_RANK_LOCAL) < 0) return out;
  if (stop_at_startup(s, "data loaded")) {
    out.result = TRAIN_STOPPED;
  } else {
    trainer_t t;
    if (all_agree(&out, set_up(&t, &cfg, &ds, run_dir), CLI_ERR_RANK_LOCAL) == 0)
      out = train(s, &t, &cfg, run_dir);
    trainer_free(&t);
  }
  dataset_free(&ds);
  return out;
}
