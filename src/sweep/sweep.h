/* sweep.h - sweep specs (the YAML files in sweeps/), their expansion into tasks, and the sweep
 * directory that `dpt-sweep expand` writes (sweepdir.c) and the other subcommands read
 * back (manifest.c).
 *
 * A spec names a base run config, axes by dotted config key (a grid: the cartesian
 * product; zip groups: axes that move together), exclude rules, seeds or replicates, and
 * the resources of a task. Every task's config is loaded and validated as dpt-train would
 * (config_load_string) before anything is written; its resolved YAML (config_to_yaml)
 * is hashed, and the hash names the task's run directory, so one configuration is one
 * run. Tasks are grouped by resource shape (ranks, time, memory, CPUs) into Slurm array
 * jobs of at most max_array_size tasks.
 *
 * The sweep directory:
 *   sweep.yaml           the spec, as given
 *   manifest.tsv         one row per task: task array index ranks time_min run_dir hash,
 *                        then one column per axis (written last, atomically)
 *   arrays.tsv           one row per array job: array ranks time_min mem_per_cpu_mb
 *                        cpus_per_rank throttle ntasks
 *   jobs/ARRAY.sbatch    the batch script of each array (from jobs/array.sbatch.in)
 *   jobs/aggregate.sbatch  the aggregation job (from jobs/aggregate.sbatch.in)
 *   tasks/HASH/config.yaml the task's resolved config; dpt-train writes run.h5 there
 *   tasks/HASH/attempts.tsv  one line per finished attempt: job, index, restart, exit
 *                        status, time
 *   logs/JOB_INDEX.out   per-task logs (Slurm --output, append mode; run-local writes
 *                        logs/local_TASK.out)
 *   submitted.tsv        job ids of every submission: job array indices
 *   local.pid            "PID TASK" while run-local runs that task
 *   results.md           the aggregation job's table */
#ifndef DPT_SWEEP_H
#define DPT_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "../core/strlist.h"

/* ---- the spec ---- */

/* The most combinations a spec may have (and so values in one axis and tasks), checked
 * before anything is allocated for them: 100 arrays at Slurm's default MaxArraySize, and
 * about 1 GB of memory and 1.2 GB of task configs (each task's config is about 6.5 KB in
 * memory and 12 KB on disk); a million took 6.5 GB and more than 5 minutes. */
#define SWEEP_MAX_COMBOS 100000L
/* replicates: N, at most this many seeds of each configuration. */
#define SWEEP_MAX_REPLICATES 1000

typedef struct {
  char *text;   /* for the manifest and exclude rules: the scalar, or a map in flow style */
  strlist_t sets; /* the "dotted.key=value" overrides this value means */
  int line;
} sweep_value_t;

typedef struct {
  char *key;    /* dotted config key */
  sweep_value_t *values;
  int nvalues;
  int dim;      /* the dimension it belongs to (zip groups share one) */
  int line;
} sweep_axis_t;

typedef struct {
  int nvalues;  /* every axis of the dimension has this many values */
  int first_axis, naxes;
} sweep_dim_t;

typedef struct {
  int axis;
  strlist_t values; /* matches when the task's value equals any of these */
} sweep_cond_t;

typedef struct {
  sweep_cond_t *conds; /* all must match to drop the task */
  int nconds;
  int line;
} sweep_rule_t;

typedef struct {
  char *ranks;        /* integer or expression; default "1" */
  char *time;         /* Slurm time (MM, HH:MM:SS, D-HH:MM) or expression in minutes */
  char *partition;    /* "" = cluster default */
  char *account;      /* "" = none */
  int cpus_per_rank;  /* default 1 */
  int mem_per_rank_mb;/* 0 = cluster default */
  int throttle;       /* array throttle %N; 0 = none */
  int signal_lead;    /* seconds before the time limit that USR1 comes; default 120 */
  int max_array_size; /* 0 = ask the cluster (scontrol), else Slurm's default 1001 */
  int max_requeues;   /* requeues of one task after its time-limit signal; default 10 */
} sweep_resources_t;

typedef struct {
  char *path;       /* the spec file */
  char *name;       /* `name:`, default the file's base name */
  char *base_name;  /* the base config file, for messages ("inline" when inline) */
  char *base_text;  /* its YAML text ("{}" when inline: then in sets) */
  char *text;       /* the spec file's text, as read (written to sweep.yaml) */
  strlist_t sets;   /* inline base, `set:` and command-line overrides, in that order */
  sweep_axis_t *axes;
  int naxes;
  sweep_dim_t *dims;
  int ndims;
  sweep_rule_t *rules;
  int nrules;
  sweep_resources_t res;
} sweep_spec_t;

/* Reads and checks a spec: unknown top-level or resource keys, unknown config keys as
 * axes, empty axes, zip groups of unequal lengths, exclude rules on keys that are no
 * axis. extra_sets ("dotted.key=value") apply to every task after the spec's own. */
int sweep_spec_load(sweep_spec_t *spec, const char *path, const char *const *extra_sets,
                    int nextra);
void sweep_spec_free(sweep_spec_t *spec);

/* ---- expansion ---- */

typedef struct {
  int *vi;          /* per dimension: the value index */
  char hash[17];    /* FNV-1a 64 of the resolved config, hex */
  char *yaml;       /* the resolved config */
  int ranks, time_min;
  int array, index; /* array job and index in it */
  /* of the resolved config, for expand's estimate and dataset check (which would
   * otherwise parse every task's yaml again): data.path, model.name (an
   * nn_model_kind_t), model.epochs, data.limit, data.val_fraction */
  char *data_path;
  int model, epochs, limit;
  double val_fraction;
} sweep_task_t;

typedef struct {
  int ranks, time_min, mem_per_cpu_mb, cpus_per_rank;
  int ntasks;
  int *tasks;       /* task ids, in index order */
} sweep_array_t;

typedef struct {
  sweep_task_t *tasks;
  int ntasks;
  int ncombos;      /* combinations before exclusion */
  int nexcluded, nduplicates;
  sweep_array_t *arrays;
  int narrays;
} sweep_plan_t;

/* Expands the spec: product of the dimensions (first axis slowest), minus excluded
 * combinations, each task's config loaded, validated and resolved, duplicates (same
 * resolved config) kept once, resources evaluated, arrays formed. Fails naming the task
 * and its axis values when a config or resource is invalid, or when no task is left. */
int sweep_expand(const sweep_spec_t *spec, int max_array_size, sweep_plan_t *plan);
void sweep_plan_free(sweep_plan_t *plan);
/* "model.optimizer=AdamW, model.batch_size=256" for task t (into buf). */
void sweep_task_label(const sweep_spec_t *spec, const sweep_task_t *t, char *buf,
                      size_t cap);
/* "0-99%4" or "1,3,7-9" from sorted indices (throttle 0 = none); the caller frees it. */
char *sweep_index_list(const int *indices, int n, int throttle);
/* 64-bit FNV-1a as 16 hex digits. */
void sweep_hash(const char *text, char out[17]);
/* Parses Slurm time ("30", "1:30:00", "2-00", "1-12:00:00") into minutes, rounded up. */
int sweep_parse_time(const char *text, int *minutes);

/* ---- the sweep directory ---- */

typedef struct {
  const char *jobs_dir;   /* the templates: array.sbatch.in, aggregate.sbatch.in */
  const char *bin_dir;    /* where dpt-train and dpt-aggregate are (absolute) */
  const char *workdir;    /* jobs start here, so relative data paths resolve (absolute) */
  int force;              /* write over an existing sweep (finished runs are kept) */
} sweep_write_opts_t;

/* Writes the sweep directory (layout above). Refuses an existing sweep directory unless
 * force, and any non-empty directory that is not a sweep. Never touches a task's run
 * files; the manifest is published last. */
int sweep_write(const sweep_spec_t *spec, const sweep_plan_t *plan, const char *dir,
                const sweep_write_opts_t *opts);

/* ---- reading a sweep back ---- */

typedef struct {
  int task, array_id, index, ranks, time_min;
  char array[16];
  char *run_dir;  /* relative to the sweep directory */
  char *hash;
  strlist_t values; /* per axis column */
} sweep_row_t;

typedef struct {
  char array[16];
  int ranks, time_min, mem_per_cpu_mb, cpus_per_rank, throttle, ntasks;
} sweep_array_row_t;

typedef struct {
  char *dir;
  char *name;           /* the sweep's name (its Slurm jobs are NAME-aN, NAME-aggregate) */
  strlist_t axes;       /* axis column names */
  sweep_row_t *rows;
  int nrows;
  sweep_array_row_t *arrays;
  int narrays;
} sweep_manifest_t;

int sweep_manifest_read(const char *dir, sweep_manifest_t *m);
void sweep_manifest_free(sweep_manifest_t *m);

/* ---- what was submitted ---- */

typedef struct {
  char *job;      /* Slurm job id of the array ("123") */
  char array[16]; /* array name, or "aggregate" */
  char *indices;  /* index list as submitted */
} sweep_submission_t;

/* submitted.tsv; an absent file is zero submissions. */
int sweep_submissions_read(const char *dir, sweep_submission_t **subs, int *n);
void sweep_submissions_free(sweep_submission_t *subs, int n);
/* Appends records to submitted.tsv (rewritten and published atomically). */
int sweep_submissions_append(const char *dir, const sweep_submission_t *subs, int n);

#endif
