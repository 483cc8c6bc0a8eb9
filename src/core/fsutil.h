/* fsutil.h - publishing files atomically and small path helpers.
 *
 * Every file dpt writes goes to "NAME.tmp" first; dpt_publish() fsyncs it, renames it
 * onto NAME and fsyncs the directory, so a crash leaves the old file or the new one. */
#ifndef DPT_FSUTIL_H
#define DPT_FSUTIL_H

#include <stddef.h>

/* Writes "<path>.tmp" into buf (cap bytes). */
int dpt_tmp_name(char *buf, size_t cap, const char *path);
/* fsync(tmp), rename(tmp, path), fsync(dirname(path)); unlinks tmp on failure. */
int dpt_publish(const char *tmp, const char *path);
/* mkdir -p */
int dpt_mkdirs(const char *dir);
/* Directory part of path into buf ("." when none). */
void dpt_dirname(char *buf, size_t cap, const char *path);
int dpt_file_exists(const char *path);

#endif
