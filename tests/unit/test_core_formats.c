/* test_core_formats.c - unit tests of crc32, CSV quoting, round-trip numbers and the
 * boolean rule (src/core/crc.c, csv.c, numfmt.c, boolword.c). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>

#include "../../src/core/boolword.h"
#include "../../src/core/crc.h"
#include "../../src/core/csv.h"
#include "../../src/core/err.h"
#include "../../src/core/numfmt.h"
#include "test.h"

TEST(core_crc32_matches_zlib_and_continues) {
  /* the check value of CRC-32: crc32("123456789") */
  CHECK(dpt_crc32(0, "123456789", 9) == 0xCBF43926u);
  CHECK(dpt_crc32(dpt_crc32(0, "1234", 4), "56789", 5) == 0xCBF43926u);
  CHECK(dpt_crc32(0, NULL, 0) == 0);
}

TEST(core_lookup3_matches_jenkins_test_vectors) {
  /* the values lookup3.c's own driver prints for hashlittle() */
  const char *q = "Four score and seven years ago";
  CHECK(dpt_lookup3("", 0, 0) == 0xdeadbeefu);
  CHECK(dpt_lookup3(q, 30, 0) == 0x17770551u);
  CHECK(dpt_lookup3(q, 30, 1) == 0xcd628161u);
}

TEST(core_crc32_of_more_than_4_GiB_is_the_crc_of_every_byte) {
  /* 2^32 + 3 zero bytes, mapped lazily (untouched pages cost no memory): a length cut to
   * zlib's 32-bit uInt would checksum 3 bytes. The oracle is zlib's crc32_combine, by
   * doubling: crc(2n zeros) = combine(crc(n zeros), crc(n zeros), n). */
  size_t n = ((size_t)1 << 32) + 3;
  void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  CHECK(p != MAP_FAILED);
  if (p == MAP_FAILED) return;
  uLong zeros = crc32(0L, p, 1); /* of 2^k zero bytes, k = 0 .. 32 */
  for (int k = 0; k < 32; k++) zeros = crc32_combine(zeros, zeros, (z_off_t)1 << k);
  uLong want = crc32_combine(zeros, crc32(0L, p, 3), 3);
  uint32_t got = dpt_crc32(0, p, n);
  CHECK(got == (uint32_t)want);
  CHECK(got != dpt_crc32(0, p, 3));
  munmap(p, n);
}

static char *csv(const char *s) {
  static char *buf;
  size_t len;
  free(buf);
  FILE *f = open_memstream(&buf, &len);
  dpt_csv_field(f, s);
  fclose(f);
  return buf;
}

/* Only plain numbers and identifiers go bare: a row can never carry $(...), a quote, a
 * space or a formula unquoted. */
TEST(core_csv_field_quotes_all_but_numbers_and_identifiers) {
  CHECK(!strcmp(csv("plain text"), "\"plain text\""));
  CHECK(!strcmp(csv(""), ""));
  CHECK(!strcmp(csv("$(touch pwned)"), "\"$(touch pwned)\""));
  CHECK(!strcmp(csv("`id`"), "\"`id`\""));
  CHECK(!strcmp(csv("data/x.h5"), "data/x.h5") && !strcmp(csv("a b.h5"), "\"a b.h5\""));
  CHECK(!strcmp(csv("=1+2"), "\"=1+2\""));
  CHECK(!strcmp(csv("inf"), "inf") && !strcmp(csv("nan"), "nan")); /* identifiers */
  CHECK(!strcmp(csv("0x10"), "0x10")); /* a word: harmless */
  CHECK(!strcmp(csv("@x"), "\"@x\"") && !strcmp(csv("+1x"), "\"+1x\""));
  CHECK(!strcmp(csv("1e-3"), "1e-3") && !strcmp(csv("-0.5"), "-0.5") && !strcmp(csv("64"), "64"));
  CHECK(!strcmp(csv("model.work.local_steps"), "model.work.local_steps"));
  CHECK(!strcmp(csv("1-2"), "1-2") && !strcmp(csv("-x"), "\"-x\""));
  CHECK(!strcmp(csv("a,b"), "\"a,b\""));
  CHECK(!strcmp(csv("say \"hi\""), "\"say \"\"hi\"\"\""));
  CHECK(!strcmp(csv("two\nlines"), "\"two\nlines\""));
  CHECK(!strcmp(csv("cr\r"), "\"cr\r\""));
}

TEST(core_format_double_is_shortest_and_round_trips) {
  char buf[DPT_DOUBLE_CHARS];
  dpt_format_double(buf, sizeof buf, 0.1);
  CHECK(!strcmp(buf, "0.1"));
  dpt_format_double(buf, sizeof buf, 1.0 / 3);
  CHECK(!strcmp(buf, "0.3333333333333333"));
  dpt_format_double(buf, sizeof buf, 64);
  CHECK(!strcmp(buf, "64"));
  const double hard[] = {2.3077505628759751, 5e-324, -1.7976931348623157e308, 0.1 + 0.2};
  for (int i = 0; i < 4; i++) {
    dpt_format_double(buf, sizeof buf, hard[i]);
    CHECK(strtod(buf, NULL) == hard[i]);
  }
  dpt_format_double(buf, sizeof buf, -1.2345678901234567e-300);
  CHECK(strlen(buf) < DPT_DOUBLE_CHARS && strtod(buf, NULL) == -1.2345678901234567e-300);
  dpt_format_double(buf, sizeof buf, NAN);
  CHECK(!strcmp(buf, "nan"));
}

TEST(core_parse_bool_takes_the_yaml_words_in_any_case_and_nothing_else) {
  const char *yes[] = {"true", "True", "TRUE", "yes", "On"}, *no[] = {"false", "False", "no", "OFF"};
  int b;
  for (int i = 0; i < 5; i++) CHECK(dpt_parse_bool(yes[i], &b) == 0 && b == 1);
  for (int i = 0; i < 4; i++) CHECK(dpt_parse_bool(no[i], &b) == 0 && b == 0);
  const char *bad[] = {"1", "0", "", "y", "truee", " true"};
  for (int i = 0; i < 6; i++) {
    b = 7;
    CHECK_FAILS(dpt_parse_bool(bad[i], &b));
    CHECK(b == 7);
  }
  CHECK(!strcmp(dpt_errmsg(), "' true': expected true or false (also yes/no, on/off; any case)"));
}

/* Byte counts for reading: decimal units, three significant digits, never "1000 kB". */
TEST(core_format_bytes_reads_in_decimal_units) {
  static const struct { double x; const char *want; } cases[] = {
      {0, "0 B"}, {999, "999 B"}, {999.6, "1.00 kB"}, {1000, "1.00 kB"}, {12716, "12.7 kB"},
      {3179072, "3.18 MB"}, {99960000, "100 MB"}, {127e9, "127 GB"}, {1.5e12, "1.50 TB"},
      {2.5e18, "2500 PB"}, {-1, "-"}, {NAN, "-"}};
  char buf[32];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dpt_format_bytes(buf, sizeof buf, cases[i].x);
    if (strcmp(buf, cases[i].want))
      test_failed(__FILE__, __LINE__, "%g: '%s', expected '%s'", cases[i].x, buf, cases[i].want);
  }
}
