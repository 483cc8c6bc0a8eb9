/* test_core_strings.c - unit tests of growable strings, string lists and printable
 * strings (src/core/strbuf.c, src/core/strlist.c, src/core/printable.c). */
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/core/printable.h"
#include "../../src/core/strbuf.h"
#include "../../src/core/strlist.h"
#include "test.h"

TEST(core_strbuf_appends_past_every_reallocation) {
  strbuf_t b = {0};
  char want[20000];
  size_t n = 0;
  for (int i = 0; i < 2000; i++) {
    strbuf_printf(&b, "%d,", i);
    n += (size_t)snprintf(want + n, sizeof want - n, "%d,", i);
    CHECK(b.len == n && b.s[b.len] == 0);
  }
  strbuf_put(&b, "x\0y", 3); /* bytes, NUL included */
  CHECK(b.len == n + 3 && b.s[n + 1] == 0 && b.s[n + 2] == 'y');
  b.len = n, b.s[n] = 0;
  strbuf_puts(&b, "end");
  memcpy(want + n, "end", 4);
  char *s = strbuf_take(&b);
  CHECK(!strcmp(s, want) && b.s == NULL && b.len == 0);
  dpt_free(s);
  s = strbuf_take(&b); /* nothing appended: "" */
  CHECK(s && !*s);
  dpt_free(s);
  s = dpt_strf("%s-%03d-%.1f", "run", 7, 0.5);
  CHECK(!strcmp(s, "run-007-0.5"));
  dpt_free(s);
}

TEST(core_strlist_pushes_finds_and_sorts) {
  strlist_t l = {0};
  char word[16];
  for (int i = 99; i >= 0; i--) {
    snprintf(word, sizeof word, "w%02d", i);
    strlist_push(&l, word);
  }
  word[0] = 'x'; /* the list holds copies */
  strlist_push_owned(&l, dpt_strdup("a"));
  CHECK(l.n == 101 && !strcmp(l.v[0], "w99") && !strcmp(l.v[100], "a"));
  CHECK(strlist_find(&l, "w42") == 57 && strlist_find(&l, "nope") == -1);
  strlist_sort(&l, 1); /* keeps the first */
  CHECK(!strcmp(l.v[0], "w99") && !strcmp(l.v[1], "a") && !strcmp(l.v[2], "w00") &&
        !strcmp(l.v[100], "w98"));
  strlist_free(&l);
  CHECK(l.n == 0 && l.v == NULL);
}

TEST(core_printable_escapes_control_characters_only) {
  char buf[64];
  /* ESC, BEL, DEL and a UTF-8 C1 (CSI) are escaped; UTF-8 text and backslashes kept */
  CHECK(!strcmp(dpt_printable(buf, sizeof buf, "a\x1b[2J\a\x7f\xc2\x9b \xc3\xa9\\", 0),
                "a\\x1b[2J\\x07\\x7f\\xc2\\x9b \xc3\xa9\\"));
  CHECK(!strcmp(dpt_printable(buf, sizeof buf, "l1\nl2\t", 1), "l1\nl2\t"));
  CHECK(!strcmp(dpt_printable(buf, sizeof buf, "l1\nl2\t", 0), "l1\\x0al2\\x09"));
  /* truncated to fit, never inside an escape */
  CHECK(!strcmp(dpt_printable(buf, 6, "ab\x1b[c", 0), "ab"));
  CHECK(!strcmp(dpt_printable(buf, 7, "ab\x1b[c", 0), "ab\\x1b"));
  CHECK(!strcmp(dpt_printable(buf, 8, "ab\x1b[c", 0), "ab\\x1b["));
  char *d = dpt_printable_dup("\x1b\x1b");
  CHECK(!strcmp(d, "\\x1b\\x1b"));
  dpt_free(d);
  /* every error message is made printable once */
  dpt_fail("value '%s'", "x\x1b[31m");
  CHECK(!strcmp(dpt_errmsg(), "value 'x\\x1b[31m'"));
  dpt_wrap("file \x1b");
  CHECK(!strcmp(dpt_errmsg(), "file \\x1b: value 'x\\x1b[31m'"));
  dpt_clear_error();
}
