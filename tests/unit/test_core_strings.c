/* test_core_strings.c - unit tests of growable strings and string lists
 * (src/core/strbuf.c, src/core/strlist.c). */
#include <string.h>

#include "../../src/core/err.h"
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
