/* strbuf.h - a growable NUL-terminated string with printf-append, and dpt_strf(), a
 * printf into a new string. Out of memory panics (err.h), so appends cannot fail. */
#ifndef DPT_STRBUF_H
#define DPT_STRBUF_H

#include <stddef.h>

typedef struct {
  char *s;         /* NULL until the first append; then always NUL-terminated */
  size_t len, cap; /* bytes used (without the NUL), bytes allocated */
} strbuf_t;

void strbuf_put(strbuf_t *b, const char *text, size_t n);
void strbuf_puts(strbuf_t *b, const char *text);
void strbuf_printf(strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text ("" when nothing was appended), owned by the caller (dpt_free()); b is empty
 * again afterwards. */
char *strbuf_take(strbuf_t *b);
void strbuf_free(strbuf_t *b);

/* A new string (dpt_free() it) holding the formatted text. */
char *dpt_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
