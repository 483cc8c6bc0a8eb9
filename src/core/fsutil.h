/* fsutil.h - publishing files atomically and small path helpers.
 *
 * Every file dpt writes goes to "NAME.tmp.HOST.PID" first (unique per writer, so two
 * writers never share one); dpt_publish() fsyncs it, renames it onto NAME and fsyncs the
 * directory, so a crash leaves the old file or the new one. */
#ifndef DPT_FSUTIL_H
#define DPT_FSUTIL_H

#include <stddef.h>

/* Writes "<path>.tmp.HOST.PID" into buf (cap bytes). */
int dpt_tmp_name(char *buf, size_t cap, const char *path);
/* "HOST.PID" of this process. */
void dpt_writer_id(char *buf, size_t cap);
/* Temporary names use this writer id instead of the process's own: MPI ranks that
 * write one file together must agree on its temporary name. */
void dpt_set_tmp_writer(const char *id);
/* Removes "<path>.tmp.*": what writers killed mid-write left. Only for a caller that
 * holds the lock of the directory's run (no live writer uses those names). */
int dpt_remove_stale_tmps(const char *path);
/* Takes DIR/.lock (flock, not blocking) and records "host H, pid P, Slurm job J" in it;
 * *fd keeps the lock until the process exits. When another process holds it, fails
 * naming that holder. */
int dpt_lock_dir(const char *dir, int *fd);
/* Writes n bytes of buf to the new file tmp (mode 0644); removes it and names the cause
 * (a full file system by name) when a write fails. */
int dpt_write_tmp(const char *tmp, const void *buf, size_t n);
/* fsync(tmp), rename(tmp, path), fsync(dirname(path)); unlinks tmp on failure. */
int dpt_publish(const char *tmp, const char *path);
/* mkdir -p */
int dpt_mkdirs(const char *dir);
/* Directory part of path into buf ("." when none). */
void dpt_dirname(char *buf, size_t cap, const char *path);
int dpt_file_exists(const char *path);

#endif
