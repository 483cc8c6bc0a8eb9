/* err.c - error messages, panics and checked allocation (see err.h). */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "printable.h"

static char errbuf[4096];

/* Messages quote strings from files: their control characters (a terminal's escape
 * codes) are escaped once, here, for every binary that prints them. */
int dpt_fail(const char *fmt, ...) {
  char raw[sizeof errbuf];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  dpt_printable(errbuf, sizeof errbuf, raw, 1);
  return -1;
}

int dpt_wrap(const char *fmt, ...) {
  char prefix[1024], old[sizeof errbuf];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, errbuf, sizeof old);
  char safe[sizeof prefix];
  dpt_printable(safe, sizeof safe, prefix, 1);
  memcpy(prefix, safe, sizeof prefix);
  /* Truncation of a very long chain of context is acceptable. */
  size_t n = strlen(prefix);
  if (n > sizeof errbuf - 3) n = sizeof errbuf - 3;
  memcpy(errbuf, prefix, n);
  memcpy(errbuf + n, ": ", 2);
  size_t rest = sizeof errbuf - n - 3;
  strncpy(errbuf + n + 2, old, rest);
  errbuf[sizeof errbuf - 1] = 0;
  return -1;
}

const char *dpt_errmsg(void) { return errbuf[0] ? errbuf : "unknown error"; }

void dpt_clear_error(void) { errbuf[0] = 0; }

void dpt_panic(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "dpt: internal error at %s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

void *dpt_alloc(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  void *p = aligned_alloc(64, rounded ? rounded : 64);
  if (!p) DPT_PANIC("out of memory allocating %zu bytes", bytes);
  memset(p, 0, rounded ? rounded : 64);
  return p;
}

void *dpt_realloc(void *p, size_t bytes) {
  void *q = realloc(p, bytes ? bytes : 1);
  if (!q) DPT_PANIC("out of memory reallocating %zu bytes", bytes);
  return q;
}

char *dpt_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = dpt_realloc(NULL, n);
  memcpy(d, s, n);
  return d;
}

void dpt_free(void *p) { free(p); }
