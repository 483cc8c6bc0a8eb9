/* textio.h - the sweep directory's text files (manifest.tsv, arrays.tsv, submitted.tsv,
 * configs, scripts): writing one through a temporary name and splitting a TSV line;
 * they are read with dpt_read_file (core/readfile.h) and built in a strbuf_t. */
#ifndef DPT_SWEEP_TEXTIO_H
#define DPT_SWEEP_TEXTIO_H

#include <stddef.h>

/* How sweep_write_text publishes. */
typedef enum {
  SWEEP_RENAME_ONLY, /* rename into place; the caller syncs the file system once */
  SWEEP_DURABLE      /* fsync, rename, fsync the directory (dpt_publish) */
} sweep_publish_t;

/* Writes text to path through a temporary name; mode 0 keeps the default permissions. */
int sweep_write_text(const char *path, const char *text, sweep_publish_t how, int mode);

/* Splits line (modified) at tabs into at most max fields; returns how many. */
int sweep_split_tabs(char *line, char **f, int max);
/* Takes DIR/.sweep.lock for a subcommand that changes the sweep (submit, resubmit,
 * run-local, expand --force): its descriptor (close it when done), or -1 when another
 * holds it, naming that one. */
int sweep_lock(const char *dir);

#endif
