/* printable.c - see printable.h. */
#include "printable.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

/* Bytes of the control character at s (1, or 2 for a UTF-8 C1), 0 when s is printable. */
static size_t control_at(const unsigned char *s, int keep_lines) {
  if (keep_lines && (*s == '\n' || *s == '\t')) return 0;
  if (*s < 0x20 || *s == 0x7f) return 1;
  if (*s == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f) return 2;
  return 0;
}

char *dpt_printable(char *dst, size_t cap, const char *src, int keep_lines) {
  size_t n = 0;
  if (!cap) return dst;
  for (const unsigned char *s = (const unsigned char *)src; *s;) {
    size_t k = control_at(s, keep_lines);
    if (!k) {
      if (n + 1 >= cap) break;
      dst[n++] = (char)*s++;
      continue;
    }
    if (n + 4 * k >= cap) break;
    for (size_t i = 0; i < k; i++, n += 4) snprintf(dst + n, 5, "\\x%02x", *s++);
  }
  dst[n] = 0;
  return dst;
}

char *dpt_printable_dup(const char *src) {
  size_t cap = 4 * strlen(src) + 1;
  char *dst = dpt_alloc(cap);
  return dpt_printable(dst, cap, src, 0);
}
