/* textio.h - the sweep directory's text files (manifest.tsv, arrays.tsv, submitted.tsv,
 * configs, scripts): reading one whole, writing one through a temporary name, splitting
 * a TSV line, and a growable string to build them in. */
#ifndef DPT_SWEEP_TEXTIO_H
#define DPT_SWEEP_TEXTIO_H

#include <stddef.h>

typedef struct {
  char *s;
  size_t len, cap;
} strbuf_t;

void strbuf_put(strbuf_t *b, const char *text, size_t n);
void strbuf_puts(strbuf_t *b, const char *text);
void strbuf_printf(strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The whole file (dpt_free() it), or NULL: with a message, or without one when
 * missing_ok and the file does not exist. */
char *sweep_read_text(const char *path, int missing_ok);

/* How sweep_write_text publishes. */
typedef enum {
  SWEEP_RENAME_ONLY, /* rename into place; the caller syncs the file system once */
  SWEEP_DURABLE      /* fsync, rename, fsync the directory (dpt_publish) */
} sweep_publish_t;

/* Writes text to path through a temporary name; mode 0 keeps the default permissions. */
int sweep_write_text(const char *path, const char *text, sweep_publish_t how, int mode);

/* Splits line (modified) at tabs into at most max fields; returns how many. */
int sweep_split_tabs(char *line, char **f, int max);

#endif
