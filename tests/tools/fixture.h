/* fixture.h - run files with chosen metrics, for tests and the benchmark (tests/tools/:
 * not part of the product; build/run-fixture is its command line). Written by the
 * trainer's own writer (runfile_write) from a config built by the config loader, so they
 * are real run.h5 files in the current layout. */
#ifndef DPT_TEST_FIXTURE_H
#define DPT_TEST_FIXTURE_H

#include <stdint.h>

typedef struct {
  const char *const *sets;  /* config overrides "dotted.key=value" */
  int nsets;
  const char *status;       /* NULL: "complete" */
  int epochs;               /* epochs recorded (>= 1) */
  const double *val_acc;    /* per epoch; NULL: a made-up rising curve */
  int has_test;             /* test results (a complete run has them) */
  double test_acc_last, test_acc_best;
  double wall_time;         /* s */
  double images_per_s;      /* every epoch's */
  const double *averagings; /* per epoch, or NULL: zeros */
  const double *h;          /* per epoch, or NULL: zeros */
  const double *bytes;      /* payload bytes per epoch (/metrics/bytes), or NULL: zeros */
  /* A communication ledger (/rounds) when every > 0: a round every `every` steps over
   * epochs of steps_per_epoch steps of images_per_step images (all participants
   * together), `floats` floats per participant; participants K > 0 (LocalSGD-like
   * averagings), 0 (synchronous gradient reductions). */
  struct {
    int every, steps_per_epoch;
    int64_t participants;    /* < 0: model.num_workers */
    int64_t floats, images_per_step; /* images_per_step 0: 64 x max(K, 1) */
    int collective;          /* ledger_collective_t of every row: 0 allreduce */
  } rounds;
} agg_fixture_t;

/* Creates path's directory and writes the run file. */
int agg_fixture_write(const char *path, const agg_fixture_t *fx);
/* `run-fixture PATH WORD...`: each WORD is KEY=VALUE; a dotted
 * KEY is a config override, else one of status, epochs, val_acc (a comma list),
 * test_acc, test_acc_best, wall_time, images_per_s, averagings, H, bytes (comma
 * lists), rounds (a ledger's steps between rounds, H), steps_per_epoch (default 100),
 * images_per_step (default 64 x K), rounds_floats (default 62006), rounds_participants
 * (default K, model.num_workers), rounds_collective (allreduce, allgather or broadcast:
 * every row's; default allreduce). Unset numbers take defaults; fails naming a word it
 * cannot use. */
int agg_fixture_from_words(const char *path, char *const *words, int n);
/* The benchmark's sweep: n runs DIR/tNNNN/run.h5 of 150 epochs each over optimizers,
 * batch sizes, workers, H and seeds, with communication datasets. */
int agg_fixture_sweep(const char *dir, int n, int epochs);

#endif
