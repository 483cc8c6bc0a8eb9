/* printable.h - strings from files made safe to print: a crafted run.h5 or dataset could
 * carry terminal escape codes (ESC [ ...) in any string attribute. Control characters
 * (C0, DEL, and C1 as UTF-8 encodes them) become the text \xHH; everything else,
 * including valid UTF-8, is kept. */
#ifndef DPT_PRINTABLE_H
#define DPT_PRINTABLE_H

#include <stddef.h>

/* Copies src into dst (cap bytes, always NUL-terminated; truncated to fit, never in the
 * middle of an escape) with control characters escaped; keep_lines keeps '\n' and '\t'
 * (multi-line messages). Returns dst. */
char *dpt_printable(char *dst, size_t cap, const char *src, int keep_lines);
/* The same into a new string (dpt_free() it). */
char *dpt_printable_dup(const char *src);

#endif
