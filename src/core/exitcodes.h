/* exitcodes.h - the exit statuses of every dpt binary; job scripts depend on them. */
#ifndef DPT_EXITCODES_H
#define DPT_EXITCODES_H

enum {
  DPT_EXIT_OK = 0,      /* done */
  DPT_EXIT_ERROR = 1,   /* bad input or a failure; the message says which */
  DPT_EXIT_USAGE = 2,   /* bad command line */
  DPT_EXIT_REQUEUE = 3, /* dpt-train: stopped by SIGUSR1/SIGTERM after writing a
                           checkpoint: requeue the task and it resumes where it stopped */
  DPT_EXIT_SKIPPED = 4, /* dpt-aggregate: the tables are made, but some files were left
                           out of the numbers (each named on stderr) */
};

#endif
