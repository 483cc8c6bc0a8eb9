/* checkpoint_mpiio.c - one rank's MPI-IO failure stops every rank (see checkpoint_mpiio.h). */
#include "checkpoint_mpiio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../core/exitcodes.h"

/* The checkpoint being written: the wrappers have no other way to learn it. */
static struct {
  int on, rank;
  const char *path, *tmp;
  MPI_Comm comm;
} watch;

void ckpt_mpiio_watch(int rank, const char *path, const char *tmp, MPI_Comm comm) {
  watch.rank = rank;
  watch.path = path;
  watch.tmp = tmp;
  watch.comm = comm;
  watch.on = 1;
}

void ckpt_mpiio_unwatch(void) { watch.on = 0; }

int ckpt_fs_full(const char *path) {
  struct statvfs fs;
  return statvfs(path, &fs) == 0 && fs.f_bavail == 0;
}

_Noreturn void ckpt_stop_every_rank(int rank, const char *path, const char *tmp,
                                    MPI_Comm comm, const char *cause) {
  fprintf(stderr, "dpt-train: rank %d: writing %s: %s%s; stopping every rank (the previous "
          "checkpoint is kept)\n", rank, path, cause,
          ckpt_fs_full(tmp) && !strstr(cause, "(its file system is full)")
              ? " (its file system is full)" : "");
  fflush(stderr);
  unlink(tmp);
  MPI_Abort(comm, DPT_EXIT_ERROR);
  abort(); /* MPI_Abort does not return */
}

/* The verdict on one call: rc from the PMPI call and, for a transfer (st not NULL),
 * whether it moved count elements of type. errno was cleared before the call. */
static int check(const char *call, int rc, const MPI_Status *st, MPI_Datatype type, int count) {
  if (!watch.on) return rc;
  int err = errno;
  char cause[MPI_MAX_ERROR_STRING + 256] = "";
  if (rc != MPI_SUCCESS) {
    char mpi[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, mpi, &len);
    snprintf(cause, sizeof cause, "%s failed: %s", call, mpi);
  } else if (st) {
    MPI_Count size = 0, done = 0;
    MPI_Type_size_x(type, &size);
    MPI_Get_elements_x(st, MPI_BYTE, &done);
    if (done != size * count)
      snprintf(cause, sizeof cause, "%s wrote %lld of %lld bytes", call, (long long)done,
               (long long)(size * count));
  }
  if (!cause[0]) return rc;
  if (err) {
    size_t n = strlen(cause);
    snprintf(cause + n, sizeof cause - n, " (last system error: %s)", strerror(err));
  }
  ckpt_stop_every_rank(watch.rank, watch.path, watch.tmp, watch.comm, cause);
}

/* ---------------------------------------------------------------- the wrappers */

int MPI_File_open(MPI_Comm comm, const char *name, int amode, MPI_Info info, MPI_File *fh) {
  errno = 0;
  return check("MPI_File_open", PMPI_File_open(comm, name, amode, info, fh), NULL, MPI_DATATYPE_NULL, 0);
}

int MPI_File_write_at(MPI_File fh, MPI_Offset off, const void *buf, int count,
                      MPI_Datatype type, MPI_Status *status) {
  MPI_Status own;
  if (status == MPI_STATUS_IGNORE) status = &own;
  errno = 0;
  int rc = PMPI_File_write_at(fh, off, buf, count, type, status);
  return check("MPI_File_write_at", rc, status, type, count);
}

int MPI_File_write_at_all(MPI_File fh, MPI_Offset off, const void *buf, int count,
                          MPI_Datatype type, MPI_Status *status) {
  MPI_Status own;
  if (status == MPI_STATUS_IGNORE) status = &own;
  errno = 0;
  int rc = PMPI_File_write_at_all(fh, off, buf, count, type, status);
  return check("MPI_File_write_at_all", rc, status, type, count);
}

int MPI_File_set_size(MPI_File fh, MPI_Offset size) {
  errno = 0;
  return check("MPI_File_set_size", PMPI_File_set_size(fh, size), NULL, MPI_DATATYPE_NULL, 0);
}

int MPI_File_sync(MPI_File fh) {
  errno = 0;
  return check("MPI_File_sync", PMPI_File_sync(fh), NULL, MPI_DATATYPE_NULL, 0);
}

int MPI_File_close(MPI_File *fh) {
  errno = 0;
  return check("MPI_File_close", PMPI_File_close(fh), NULL, MPI_DATATYPE_NULL, 0);
}
