/* commands.h - the subcommands of dpt-sweep, one function each, in the file named after
 * it (expandcmd.c, submit.c, status.c, runlocal.c, verify.c). They print their report on
 * stdout and return 0 when done, 1 when the answer is no (a task failed or differs, a
 * run is not complete; already said on stdout), -1 with a message (err.h) on an error. */
#ifndef DPT_SWEEP_COMMANDS_H
#define DPT_SWEEP_COMMANDS_H

typedef struct {
  const char *spec;           /* the sweep spec file */
  const char *out_dir;        /* NULL: runs/NAME */
  const char *jobs_dir;       /* the job templates; NULL: $DPT_JOBS_DIR or ../jobs */
  const char *const *sets;    /* --set KEY=VALUE, for every task */
  int nsets;
  int max_array_size;         /* 0: resources.max_array_size, else the cluster's */
  int force;                  /* expand over an existing sweep that is not busy */
} sweep_expand_opts_t;

/* dpt-sweep expand: validates every task and writes the sweep directory. */
int sweep_cmd_expand(const sweep_expand_opts_t *o);

typedef struct {
  int dry_run;  /* print the sbatch commands instead */
  int force;    /* submit again what was submitted before */
  int resubmit; /* only the tasks neither done nor queued */
} sweep_submit_opts_t;

/* dpt-sweep submit and resubmit: the array jobs and the aggregation after them. */
int sweep_cmd_submit(const char *dir, const sweep_submit_opts_t *o);

/* dpt-sweep status: per task (unless summary_only) and in total. */
int sweep_cmd_status(const char *dir, int summary_only);
/* dpt-sweep results: each task's axis values and accuracies as a Markdown table. */
int sweep_cmd_results(const char *dir);
/* dpt-sweep complete: 0 when run_dir/run.h5 is a complete run, else 1. */
int sweep_cmd_complete(const char *run_dir);

/* dpt-sweep run-local: the tasks not done, one after another; 1 when one failed. */
int sweep_cmd_run_local(const char *dir, int dry_run);

typedef struct {
  int ranks;                /* 0: each task's own */
  int keep;                 /* keep the reruns' scratch directory */
  char *const *tasks;       /* task numbers or hashes; none: every task */
  int ntasks;
} sweep_verify_opts_t;

/* dpt-sweep verify: reruns tasks and compares them bitwise; 1 when one differs. */
int sweep_cmd_verify(const char *dir, const sweep_verify_opts_t *o);

#endif
