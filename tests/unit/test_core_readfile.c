/* test_core_readfile.c - unit tests of whole-file reads with a size cap
 * (src/core/readfile.c): contents with NULs, the cap, missing and unreadable files. */
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/err.h"
#include "../../src/core/readfile.h"
#include "test.h"

/* Writes n bytes to path; a template ending in XXXXXX becomes a new file first. */
static void write_bytes(char *path, const char *bytes, size_t n) {
  if (strstr(path, "XXXXXX")) {
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
  }
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f) return;
  CHECK(fwrite(bytes, 1, n, f) == n);
  fclose(f);
}

TEST(core_read_file_reads_every_byte_and_terminates) {
  char path[] = "/tmp/dpt-test-read-XXXXXX";
  /* past the first 4096-byte buffer, with a NUL inside */
  static char big[10000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + i % 26);
  big[5000] = 0;
  write_bytes(path, big, sizeof big);
  char *text = NULL;
  size_t len = 0;
  CHECK_OK(dpt_read_file(path, sizeof big, &text, &len));
  CHECK(text && len == sizeof big && !memcmp(text, big, sizeof big) && text[len] == 0);
  dpt_free(text);
  /* an empty file is an empty string, not NULL */
  write_bytes(path, "", 0);
  CHECK_OK(dpt_read_file(path, 10, &text, NULL));
  CHECK(text && text[0] == 0);
  dpt_free(text);
  unlink(path);
}

TEST(core_read_file_refuses_a_file_over_the_cap) {
  char path[] = "/tmp/dpt-test-read-XXXXXX";
  write_bytes(path, "12345678901", 11);
  char *text = (char *)1;
  CHECK_FAILS(dpt_read_file(path, 10, &text, NULL));
  CHECK(text == NULL);
  char want[128];
  snprintf(want, sizeof want, "%s: larger than 10 bytes", path);
  CHECK(!strcmp(dpt_errmsg(), want));
  CHECK_OK(dpt_read_file(path, 11, &text, NULL)); /* exactly the cap is fine */
  dpt_free(text);
  unlink(path);
}

TEST(core_read_file_names_a_missing_or_unreadable_file) {
  char *text;
  CHECK_FAILS(dpt_read_file("/tmp/dpt-test-no-such-file", 100, &text, NULL));
  CHECK(!strcmp(dpt_errmsg(), "/tmp/dpt-test-no-such-file: cannot open: No such file or directory"));
  CHECK(dpt_read_file_opt("/tmp/dpt-test-no-such-file", 100, &text, NULL) == 1 && !text);
  /* a directory opens but cannot be read: the _opt form still fails */
  CHECK_FAILS(dpt_read_file_opt("/tmp", 100, &text, NULL));
  CHECK(!strcmp(dpt_errmsg(), "/tmp: cannot read: Is a directory"));
}

TEST(core_read_fd_refuses_a_truncated_answer) {
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "abcdef", 6) == 6);
  close(p[1]);
  char *text = (char *)1;
  CHECK_FAILS(dpt_read_fd(p[0], 5, &text, NULL));
  CHECK(text == NULL && strstr(dpt_errmsg(), "more than 5 bytes; refusing a truncated answer"));
  close(p[0]);
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "abcdef", 6) == 6);
  close(p[1]);
  size_t len;
  CHECK_OK(dpt_read_fd(p[0], 6, &text, &len));
  CHECK(len == 6 && !strcmp(text, "abcdef"));
  dpt_free(text);
  close(p[0]);
}
