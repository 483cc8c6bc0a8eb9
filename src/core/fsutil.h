/* fsutil.h - publishing files atomically and small path helpers.
 *
 * Every file dpt writes goes to "NAME.tmp.HOST.PID.RANDOM" first (unique per writer, so
 * two writers never share one, and unpredictable); it is created with O_EXCL|O_NOFOLLOW
 * (dpt_create_tmp), never through a link someone planted. dpt_publish() fsyncs it, renames it onto NAME and fsyncs the
 * directory, so a crash leaves the old file or the new one. */
#ifndef DPT_FSUTIL_H
#define DPT_FSUTIL_H

#include <stddef.h>
#include <stdio.h>

/* Writes "<path>.tmp.HOST.PID.RANDOM" into buf (cap bytes). */
int dpt_tmp_name(char *buf, size_t cap, const char *path);
/* "HOST.PID.RANDOM" of this process: 32 random bits (hex), drawn once per process. */
void dpt_writer_id(char *buf, size_t cap);
/* Temporary names use this writer id instead of the process's own: MPI ranks that
 * write one file together must agree on its temporary name. */
void dpt_set_tmp_writer(const char *id);
/* Removes "<path>.tmp.*": what writers killed mid-write left. Only for a caller that
 * holds the lock of the directory's run (no live writer uses those names). */
int dpt_remove_stale_tmps(const char *path);
/* Takes DIR/.lock (flock, not blocking; a symbolic link, FIFO or hard-linked file there is
 * refused, never followed or truncated) and records "host H, pid P, Slurm job J" in it;
 * *fd keeps the lock until the process exits. When another process holds it, fails
 * naming that holder. */
int dpt_lock_dir(const char *dir, int *fd);
/* The same with the lock file DIR/name, "in use by another USER" when held. */
int dpt_lock_named(const char *dir, const char *name, const char *user, int *fd);
/* 0 when path is a regular file (after links); else fails naming what it is (a FIFO, a
 * directory) without opening it, so a FIFO cannot block the reader. */
int dpt_check_regular(const char *path);
/* Opens path for writing (O_CREAT | flags: O_TRUNC or O_APPEND), mode 0644, without
 * following a symbolic link or blocking on a FIFO, and only when it is a regular file
 * with no other hard link: a descriptor, or -1 with the reason. */
int dpt_open_write(const char *path, int flags);
/* Opens base/rel (flags, with O_NOFOLLOW and O_NONBLOCK; mode 0644 when created) when
 * no component of rel is a symbolic link and the file is regular with one name: a
 * descriptor, or -1 naming what stood in the way. rel is relative, without "..". */
int dpt_open_below(const char *base, const char *rel, int flags);
/* Creates tmp anew (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0644), first removing whatever held
 * the name: a descriptor, or -1. dpt_fopen_tmp is the same as a stream (NULL on failure). */
int dpt_create_tmp(const char *tmp);
FILE *dpt_fopen_tmp(const char *tmp);
/* dpt_open_write(path, O_TRUNC) as a stream (NULL on failure). */
FILE *dpt_fopen_write(const char *path);
/* 0 when nothing or a regular file stands at path (not following a link): for a file
 * another program (gnuplot) will write. */
int dpt_check_absent_or_regular(const char *path);
/* 0 when path is a directory itself, not a symbolic link to one. */
int dpt_check_real_dir(const char *path);
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
