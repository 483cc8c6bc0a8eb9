/* test_progress.c - dpt-sweep status's estimates (src/sweep/progress.c): a task's ETA at
 * its mean epoch time, the sweep's over the tasks running now, and the printed line with
 * "-" for what is not known. Expected values are worked out by hand in the comments. */
#include <math.h>
#include <string.h>

#include "../../src/sweep/progress.h"
#include "test.h"

TEST(progress_task_eta_and_line) {
  /* 2 of 5 epochs in 30 s: 15 s each, 3 left = 45 s */
  sweep_progress_t p = {1, 2, 5, 0.875, 30};
  CHECK(sweep_progress_eta(&p) == 45);
  char line[128];
  sweep_progress_line(&p, line, sizeof line);
  CHECK(!strcmp(line, "epoch 2/5  val acc 0.8750  ETA 45s"));
  p.val_acc = NAN; /* no validation split */
  sweep_progress_line(&p, line, sizeof line);
  CHECK(!strcmp(line, "epoch 2/5  val acc -  ETA 45s"));
  sweep_progress_t none = {1, 0, 5, NAN, 0};
  CHECK(sweep_progress_eta(&none) == -1);
  sweep_progress_line(&none, line, sizeof line);
  CHECK(!strcmp(line, "epoch 0/5  val acc -  ETA -"));
  sweep_format_seconds(line, sizeof line, 7384); /* 2 h 3 min 4 s */
  CHECK(!strcmp(line, "2h03m"));
  sweep_format_seconds(line, sizeof line, 185);
  CHECK(!strcmp(line, "3m05s"));
}

TEST(progress_sweep_eta_over_running_tasks) {
  sweep_progress_t p[5] = {
      {1, 4, 4, 0.9, 400},  /* done: a 400 s task */
      {1, 1, 4, 0.8, 50},   /* running: 3 x 50 = 150 s left; length 200 s */
      {1, 3, 4, 0.8, 90},   /* running: 1 x 30 = 30 s left; length 120 s */
      {0, 0, 0, NAN, 0},    /* pending, never ran: the mean length (400+200+120)/3 = 240 s */
      {0, 0, 0, NAN, 0},    /* never started: not queued, not counted */
  };
  sweep_state_t st[5] = {TASK_DONE, TASK_RUNNING, TASK_RUNNING, TASK_PENDING, TASK_NEVER};
  /* (150 + 30 + 240) s of work over 2 running tasks */
  CHECK_NEAR(sweep_progress_total_eta(p, st, 5), 210, 1e-12);
  /* Nothing measured yet and work whose length is unknown: no estimate. */
  sweep_progress_t q[2] = {{1, 0, 4, NAN, 0}, {0, 0, 0, NAN, 0}};
  sweep_state_t qs[2] = {TASK_RUNNING, TASK_PENDING};
  CHECK(sweep_progress_total_eta(q, qs, 2) == -1);
  /* Only an interrupted task left: it waits for a resubmit, no estimate. */
  sweep_state_t is[3] = {TASK_DONE, TASK_INTERRUPTED, TASK_NEVER};
  CHECK(sweep_progress_total_eta(p, is, 3) == -1);
  /* All done: nothing left. */
  CHECK(sweep_progress_total_eta(p, st, 1) == 0);
}
