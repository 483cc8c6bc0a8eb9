/* textio.c - the sweep directory's text files (see textio.h). */
#include "textio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/fsutil.h"

void strbuf_put(strbuf_t *b, const char *text, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = 2 * (b->len + n + 1) + 256;
    b->s = dpt_realloc(b->s, b->cap);
  }
  memcpy(b->s + b->len, text, n);
  b->len += n;
  b->s[b->len] = 0;
}
void strbuf_puts(strbuf_t *b, const char *text) { strbuf_put(b, text, strlen(text)); }
void strbuf_printf(strbuf_t *b, const char *fmt, ...) {
  char tmp[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof tmp) DPT_PANIC("strbuf_printf: line too long");
  strbuf_put(b, tmp, (size_t)n);
}
char *sweep_read_text(const char *path, int missing_ok) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (!(missing_ok && errno == ENOENT)) dpt_fail("%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  strbuf_t b = {0};
  char chunk[65536];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) strbuf_put(&b, chunk, got);
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    dpt_free(b.s);
    dpt_fail("%s: cannot read", path);
    return NULL;
  }
  if (!b.s) strbuf_puts(&b, "");
  return b.s;
}

int sweep_write_text(const char *path, const char *text, sweep_publish_t how, int mode) {
  char tmp[4200];
  TRY(dpt_tmp_name(tmp, sizeof tmp, path));
  FILE *f = fopen(tmp, "wb");
  if (!f) return dpt_fail("cannot create %s: %s", tmp, strerror(errno));
  size_t n = strlen(text);
  int bad = fwrite(text, 1, n, f) != n;
  bad |= fclose(f) != 0;
  if (bad) {
    unlink(tmp);
    return dpt_fail("cannot write %s: %s", tmp, strerror(errno));
  }
  if (mode) chmod(tmp, (mode_t)mode);
  if (how == SWEEP_DURABLE) return dpt_publish(tmp, path);
  if (rename(tmp, path) != 0) {
    unlink(tmp);
    return dpt_fail("cannot rename %s to %s: %s", tmp, path, strerror(errno));
  }
  return 0;
fail:
  return -1;
}

int sweep_split_tabs(char *line, char **f, int max) {
  int n = 0;
  for (char *p = line; n < max;) {
    f[n++] = p;
    char *t = strchr(p, '\t');
    if (!t) break;
    *t = 0;
    p = t + 1;
  }
  return n;
}
