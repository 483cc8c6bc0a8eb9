/* readfile.h - reading a whole file (or pipe) into memory, with a size cap so that a
 * hostile or mistaken input fails with a message instead of exhausting memory. */
#ifndef DPT_READFILE_H
#define DPT_READFILE_H

#include <stddef.h>

/* A cap for the text files dpt writes and reads back (templates, manifests, logs): 1 GiB
 * leaves room for the manifest of a million-task sweep yet stops a read of a device or
 * a runaway file. */
#define DPT_TEXT_MAX ((size_t)1 << 30)

/* Reads all of path into *text (NUL-terminated; dpt_free() it) and its byte count into
 * *len (len may be NULL). Fails with "PATH: cannot open: REASON", "PATH: cannot read:
 * REASON" or "PATH: larger than MAX bytes" and leaves *text NULL. */
int dpt_read_file(const char *path, size_t max, char **text, size_t *len);
/* As dpt_read_file, but a file that does not exist is no error: returns 1, *text NULL. */
int dpt_read_file_opt(const char *path, size_t max, char **text, size_t *len);
/* Reads fd to its end (retrying EINTR); more than max bytes is an error ("more than MAX
 * bytes; refusing a truncated answer"), never a silently shortened text. */
int dpt_read_fd(int fd, size_t max, char **text, size_t *len);

#endif
