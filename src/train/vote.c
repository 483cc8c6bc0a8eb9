/* vote.c - the stop vote (method.h): after a step every rank learns whether any rank's
 * signal flag is set, so all stop after the same step. */
#include "method.h"

/* The vote on the signal flag runs in the background for one step (MPI_Iallreduce), so
 * it adds no synchronisation point to the step; every rank reads the same vote after
 * the same step. */
int train_stop_now(trainer_t *t) {
  if (t->nranks == 1) return t->stop_flag && *t->stop_flag;
  int any = 0;
  if (t->vote_pending) {
    MPI_Wait(&t->vote_request, MPI_STATUS_IGNORE);
    t->vote_pending = 0;
    any = t->vote_any;
  }
  if (!any) {
    t->vote_mine = t->stop_flag && *t->stop_flag;
    MPI_Iallreduce(&t->vote_mine, &t->vote_any, 1, MPI_INT, MPI_MAX, t->dist.comm,
                   &t->vote_request);
    t->vote_pending = 1;
  }
  return any;
}

void train_vote_finish(trainer_t *t) {
  if (t->vote_pending) MPI_Wait(&t->vote_request, MPI_STATUS_IGNORE);
  t->vote_pending = 0;
}
