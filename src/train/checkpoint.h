/* checkpoint.h - checkpoint.h5: the whole state of a training run, written by all ranks
 * together through MPI-IO with collective transfers (each rank writes the rows of the
 * workers it hosts), published atomically, and read back on any number of ranks.
 * Layout: hdf5-schema/checkpoint.yaml. */
#ifndef DPT_CHECKPOINT_H
#define DPT_CHECKPOINT_H

#include <hdf5.h>

#include "trainer.h"

#include "../h5/formats.h" /* CKPT_SCHEMA, CKPT_SCHEMA_VERSION */

/* RUN_DIR/checkpoint.h5, or with experiment.checkpoint_dir DIR
 * DIR/NAME-HASH/checkpoint.h5 (NAME the run directory's last component, HASH the crc32
 * of its real path): one directory per run, so the tasks of a sweep never share one.
 * Creates that directory; run_dir must exist. */
int ckpt_path_for(const dpt_config_t *cfg, const char *run_dir, char *buf, size_t cap);
/* Collective. Writes path.tmp.HOST.PID (rank 0's); every rank fsyncs what it wrote, then
 * rank 0 publishes it onto path. A write that fails where other ranks would wait for it
 * (any rank's with P > 1; a failed close with any P) stops the job: MPI_Abort, exit 1. */
int ckpt_write(trainer_t *t, const char *path);
/* Collective. Restores t (already set up by trainer_init for the same config) from path:
 * refuses a damaged or foreign file, a future schema, and a checkpoint of another run
 * (naming the config keys that differ). */
int ckpt_load(trainer_t *t, const char *path);
/* A checkpoint being written (checkpoint.c), for a method's ckpt_put hook. */
typedef struct ckpt_writer ckpt_writer_t;
/* The local workers' part (/workers: rows and counters): writing, collective; reading
 * this rank's workers back. The local methods' checkpoint hooks. */
int ckpt_put_workers(ckpt_writer_t *w, trainer_t *t);
int ckpt_get_workers(trainer_t *t, hid_t file);
/* Refuses a file of another run ("PATH belongs to a different run: KEY is A there, B
 * here; ..."): yaml is the config that PATH stores, compared with cfg on every key but
 * those a resumed run may change (experiment.resume, .output, .checkpoint_dir, data.path,
 * checkpoint.every_epochs). */
int ckpt_same_run(const char *path, const char *yaml, const dpt_config_t *cfg);
/* Reads one parameter vector ("params" = last, "best_params") of nparams floats from a
 * checkpoint, for model.pretrained and experiment.test_only. */
int ckpt_read_params(const char *path, const char *which, float *out, size_t nparams);

#endif
