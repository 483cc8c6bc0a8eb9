/* rounds.c - the methods' record of their communication rounds (method.h): one row of
 * the ledger (comm/ledger.h) per round, in state.ledger, with this placement's measured
 * seconds beside it. The row is a function of the configuration and the step alone, the
 * same on every rank and every P; the seconds are rank-local measurements. */
#include "method.h"

void train_round_mark(trainer_t *t) {
  t->round_mark = MPI_Wtime();
  t->round_comm = t->dist.seconds;
  t->round_wait = t->dist.wait_seconds;
}

void train_round(trainer_t *t, const ledger_round_t *r) {
  double now = MPI_Wtime(), comm = t->dist.seconds - t->round_comm;
  double wait = t->dist.wait_seconds - t->round_wait;
  double compute = now - t->round_mark - comm;
  /* the wait for the slowest rank is apart only with train.measure_wait (a barrier
   * before each reduction); without it, it is part of comm and wait is 0 */
  ledger_timing_t tm = {.compute_s = compute > 0 ? compute : 0, .comm_s = comm - wait,
                        .wait_s = wait};
  ledger_push(&t->state.ledger, r, &tm);
  t->round_mark = now;
  t->round_comm = t->dist.seconds;
  t->round_wait = t->dist.wait_seconds;
}

int64_t train_payload_bytes(int64_t floats) {
  return floats * (int64_t)sizeof(float); /* dense float32 */
}
