/* report.h - inside src/train: the progress line and run.h5 of a run (report.c). */
#ifndef DPT_TRAIN_REPORT_H
#define DPT_TRAIN_REPORT_H

#include "trainer.h"

/* Rank 0: the line of the epoch just finished; elapsed: the run's seconds so far. */
void train_print_progress(const trainer_t *t, double elapsed);
/* Rank 0 writes run.h5 from the state's info and metrics; the others return 0. */
int train_write_run(trainer_t *t);

#endif
