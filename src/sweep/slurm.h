/* slurm.h - what dpt-sweep asks Slurm, through proc.c: sbatch for submissions, squeue for
 * the queue (accounting may be off, so never sacct), scontrol for MaxArraySize, and the
 * index lists and state words those commands speak. */
#ifndef DPT_SWEEP_SLURM_H
#define DPT_SWEEP_SLURM_H

#include <stddef.h>

#include "sweep.h"
#include "taskstate.h"

/* name is an executable on PATH. */
int sweep_have_cmd(const char *name);

/* Slurm's MaxArraySize when a cluster is configured and answers, else 0. */
int sweep_cluster_max_array_size(void);

/* sbatch --parsable [option] script: the job id into job, or -1 naming what went wrong.
 * option (may be NULL) is one word such as "--array=0-3" or "--dependency=afterany:12". */
int sweep_sbatch(const char *option, const char *script, char *job, size_t cap);

/* Calls fn for every index of a Slurm index list ("0-5%2", "1,3-4", "7"); the throttle
 * after '%' is no index. */
void sweep_index_each(const char *list, void (*fn)(void *ctx, int index), void *ctx);

/* The queue state of squeue's state word ("RUNNING", "PENDING", ...). */
sweep_queue_t sweep_queue_parse(const char *state_word);

/* Calls fn(job id, index list, queue state) for every line squeue prints about this
 * user's jobs of sweep m (Slurm names NAME-aN and NAME-aggregate); the index list is
 * one index, or the list of tasks not started yet. 0, or -1 when squeue cannot be run,
 * fails, or prints more than proc.c accepts. */
int sweep_squeue(const sweep_manifest_t *m,
                 void (*fn)(void *ctx, const char *job, const char *indices, sweep_queue_t q),
                 void *ctx);

#endif
