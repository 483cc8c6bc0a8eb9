/* checkpoint_mpiio.h - while several ranks write a checkpoint, one rank's failed MPI-IO
 * call stops the whole job at once, naming the rank and the cause.
 *
 * Why here and not in HDF5's error returns: H5Fclose flushes the metadata with each rank
 * writing its share between collective calls; a rank whose write fails leaves H5Fclose
 * early and its partners wait in a barrier and a broadcast for good (Open MPI's ompio
 * does not even call the file's error handler: a failed pwritev is a short count). So
 * the MPI-IO calls HDF5 makes are checked where they return, through the MPI profiling
 * interface: this module defines MPI_File_open, _write_at, _write_at_all, _set_size,
 * _sync and _close over their PMPI_ twins. Outside a watch they only pass through. */
#ifndef DPT_CHECKPOINT_MPIIO_H
#define DPT_CHECKPOINT_MPIIO_H

#include <mpi.h>

/* From now until ckpt_mpiio_unwatch, a failed or short MPI-IO call on this rank prints
 * "dpt-train: rank R: writing PATH: CAUSE; stopping every rank ...", removes tmp and
 * calls MPI_Abort on comm. The strings must outlive the watch. */
void ckpt_mpiio_watch(int rank, const char *path, const char *tmp, MPI_Comm comm);
void ckpt_mpiio_unwatch(void);

/* That report and abort, for any failure of a checkpoint write that would leave the
 * other ranks waiting; a full file system is named as the likely cause. */
_Noreturn void ckpt_stop_every_rank(int rank, const char *path, const char *tmp,
                                    MPI_Comm comm, const char *cause);
/* Whether the file system holding path has no space left for ordinary users. */
int ckpt_fs_full(const char *path);

#endif
