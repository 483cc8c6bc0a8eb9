/* test_ledger.c - the communication ledger in memory (src/comm/ledger.c): rows pushed
 * and read back through growth, sums, truncation for a resume, and the checks a reader
 * of a hostile file relies on. */
#include <math.h>
#include <string.h>

#include "../../src/comm/ledger.h"
#include "../../src/core/err.h"
#include "test.h"

static ledger_round_t row_of(int64_t i) {
  return (ledger_round_t){.step = i + 1, .epoch = 1 + i / 391, .kind = LEDGER_GRADIENT,
                          .collective = LEDGER_ALLREDUCE, .participants = 0, .floats = 100 + i,
                          .bytes = 4 * (100 + i), .images = i % 391 == 390 ? 80 : 128};
}

TEST(ledger_keeps_every_row_through_growth_and_sums_bytes) {
  ledger_t l = {0};
  for (int64_t i = 0; i < 1000; i++) {
    ledger_round_t r = row_of(i);
    ledger_push(&l, &r, &(ledger_timing_t){0.001 * (double)i, 0.5, 0});
  }
  CHECK(l.n == 1000 && l.cap >= 1000);
  for (int64_t i = 0; i < 1000; i++) {
    ledger_round_t r = ledger_row(&l, i), want = row_of(i);
    CHECK(!memcmp(&r, &want, sizeof r));
    CHECK(l.compute_s[i] == 0.001 * (double)i && l.comm_s[i] == 0.5);
  }
  /* bytes of rows [from, to): 4 * sum(100 + i) */
  CHECK(ledger_bytes(&l, 0, 1000) == 4 * (100 * 1000 + 999 * 1000 / 2));
  CHECK(ledger_bytes(&l, 391, 782) == 4 * (100 * 391 + (391 + 781) * 391 / 2));
  CHECK(ledger_bytes(&l, 990, 5000) == 4 * (100 * 10 + (990 + 999) * 10 / 2));
  CHECK_OK(ledger_check(&l));
  /* a resume from an earlier point drops the rows after it; pushing continues there */
  ledger_truncate(&l, 391);
  CHECK(l.n == 391);
  ledger_truncate(&l, 5000);
  CHECK(l.n == 391);
  ledger_round_t r = row_of(391);
  ledger_push(&l, &r, NULL);
  CHECK(l.n == 392 && l.step[391] == 392 && l.comm_s[391] == 0);
  ledger_free(&l);
  CHECK(l.n == 0 && l.step == NULL);
}

/* A compressed round travels in parts, one row each at the round's step: rounds count
 * steps, not rows. */
TEST(ledger_rounds_count_a_round_of_several_parts_once) {
  ledger_t l = {0};
  CHECK(ledger_rounds(&l) == 0);
  const int64_t steps[] = {1, 2, 2, 3, 3, 3, 4, 9, 9};
  for (int i = 0; i < 9; i++) {
    ledger_round_t r = row_of(i);
    r.step = steps[i];
    ledger_push(&l, &r, NULL);
  }
  CHECK(l.n == 9 && ledger_rounds(&l) == 5);
  ledger_free(&l);
}

TEST(ledger_columns_are_named_with_units_and_measured_apart) {
  CHECK(!strcmp(ledger_column_name(LEDGER_C_STEP), "step") &&
        !strcmp(ledger_column_name(LEDGER_C_BYTES), "bytes") &&
        !strcmp(ledger_column_units(LEDGER_C_BYTES), "bytes") &&
        !strcmp(ledger_column_units(LEDGER_C_IMAGES), "images") &&
        !strcmp(ledger_column_name(LEDGER_C_WAIT_S), "wait_s") &&
        !strcmp(ledger_column_units(LEDGER_C_COMM_S), "s"));
  CHECK(LEDGER_C_MEASURED == LEDGER_C_COMPUTE_S && LEDGER_C_COUNT - LEDGER_C_MEASURED == 3);
  CHECK(!strcmp(ledger_kind_names[LEDGER_OUTER], "outer") && !ledger_kind_names[LEDGER_KIND_COUNT]);
  CHECK(!strcmp(ledger_collective_names[LEDGER_ALLGATHER], "allgather") &&
        !ledger_collective_names[LEDGER_COLLECTIVE_COUNT]);
  ledger_t l = {0};
  ledger_round_t r = row_of(0);
  ledger_push(&l, &r, NULL);
  CHECK(((int64_t *)ledger_column(&l, LEDGER_C_FLOATS))[0] == 100);
  CHECK(((double *)ledger_column(&l, LEDGER_C_WAIT_S))[0] == 0);
  ledger_free(&l);
}

/* Each impossible value fails naming the column and the row. */
static void refused(ledger_t *l, const char *want) {
  CHECK_FAILS(ledger_check(l));
  if (strcmp(dpt_errmsg(), want))
    test_failed(__FILE__, __LINE__, "message '%s', expected '%s'", dpt_errmsg(), want);
}

TEST(ledger_check_names_the_first_impossible_value) {
  ledger_t l = {0};
  for (int64_t i = 0; i < 4; i++) {
    ledger_round_t r = row_of(i);
    ledger_push(&l, &r, NULL);
  }
  CHECK_OK(ledger_check(&l));
  l.kind[2] = LEDGER_KIND_COUNT;
  refused(&l, "/rounds/kind[2] is 3, expected 0 .. 2 (gradient, average, outer)");
  l.kind[2] = -1;
  refused(&l, "/rounds/kind[2] is -1, expected 0 .. 2 (gradient, average, outer)");
  l.kind[2] = LEDGER_AVERAGE;
  l.collective[1] = 9;
  refused(&l, "/rounds/collective[1] is 9, expected 0 .. 2 (allreduce, allgather, broadcast)");
  l.collective[1] = LEDGER_BROADCAST;
  l.bytes[3] = -4;
  refused(&l, "/rounds/bytes[3] is -4, expected a count >= 0");
  l.bytes[3] = 4;
  l.step[3] = 1;
  refused(&l, "/rounds/step[3] is 1, before the previous row's 3");
  l.step[3] = 4;
  l.comm_s[0] = NAN;
  refused(&l, "/rounds_measured/comm_s[0] is nan, expected a finite time >= 0");
  l.comm_s[0] = -1;
  refused(&l, "/rounds_measured/comm_s[0] is -1, expected a finite time >= 0");
  l.comm_s[0] = INFINITY;
  refused(&l, "/rounds_measured/comm_s[0] is inf, expected a finite time >= 0");
  l.comm_s[0] = 0;
  CHECK_OK(ledger_check(&l));
  ledger_free(&l);
}
