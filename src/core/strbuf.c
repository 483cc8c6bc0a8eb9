/* strbuf.c - growable strings (see strbuf.h). */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static void reserve(strbuf_t *b, size_t more) {
  if (b->len + more + 1 <= b->cap) return;
  b->cap = 2 * (b->len + more + 1);
  b->s = dpt_realloc(b->s, b->cap);
}

void strbuf_put(strbuf_t *b, const char *text, size_t n) {
  reserve(b, n);
  memcpy(b->s + b->len, text, n);
  b->len += n;
  b->s[b->len] = 0;
}

void strbuf_puts(strbuf_t *b, const char *text) { strbuf_put(b, text, strlen(text)); }

static void strbuf_vprintf(strbuf_t *b, const char *fmt, va_list ap) {
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  if (n < 0) DPT_PANIC("strbuf_printf: bad format '%s'", fmt);
  reserve(b, (size_t)n);
  vsnprintf(b->s + b->len, b->cap - b->len, fmt, again);
  va_end(again);
  b->len += (size_t)n;
}

void strbuf_printf(strbuf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  strbuf_vprintf(b, fmt, ap);
  va_end(ap);
}

char *strbuf_take(strbuf_t *b) {
  if (!b->s) {
    reserve(b, 0);
    b->s[0] = 0;
  }
  char *s = b->s;
  *b = (strbuf_t){0};
  return s;
}

void strbuf_free(strbuf_t *b) {
  dpt_free(b->s);
  *b = (strbuf_t){0};
}

char *dpt_strf(const char *fmt, ...) {
  strbuf_t b = {0};
  va_list ap;
  va_start(ap, fmt);
  strbuf_vprintf(&b, fmt, ap);
  va_end(ap);
  return strbuf_take(&b);
}
