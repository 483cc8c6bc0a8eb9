/* ledger.c - the communication ledger in memory (see ledger.h). */
#include "ledger.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "../core/err.h"

const char *const ledger_kind_names[] = {"gradient", "average", "outer", NULL};
const char *const ledger_collective_names[] = {"allreduce", "allgather", "broadcast", NULL};

/* Every column once, indexed by ledger_column_t: growing, freeing, writing and reading
 * walk this table. */
typedef struct {
  const char *name, *units;
  size_t offset;
} ledger_col_t;

#define LCOL(id, field, units) [id] = {#field, units, offsetof(ledger_t, field)}
static const ledger_col_t columns[LEDGER_C_COUNT] = {
    LCOL(LEDGER_C_STEP, step, "1"),
    LCOL(LEDGER_C_EPOCH, epoch, "1"),
    LCOL(LEDGER_C_KIND, kind, "1"),
    LCOL(LEDGER_C_COLLECTIVE, collective, "1"),
    LCOL(LEDGER_C_PARTICIPANTS, participants, "1"),
    LCOL(LEDGER_C_FLOATS, floats, "floats"),
    LCOL(LEDGER_C_BYTES, bytes, "bytes"),
    LCOL(LEDGER_C_IMAGES, images, "images"),
    LCOL(LEDGER_C_OVERLAP, overlap, "images"),
    LCOL(LEDGER_C_COMPUTE_S, compute_s, "s"),
    LCOL(LEDGER_C_COMM_S, comm_s, "s"),
    LCOL(LEDGER_C_WAIT_S, wait_s, "s"),
};

static void **column(ledger_t *l, int c) { return (void **)((char *)l + columns[c].offset); }

const char *ledger_column_name(ledger_column_t c) { return columns[c].name; }
const char *ledger_column_units(ledger_column_t c) { return columns[c].units; }
void *ledger_column(const ledger_t *l, ledger_column_t c) { return *column((ledger_t *)l, c); }

int ledger_column_optional(ledger_column_t c) { return c == LEDGER_C_OVERLAP; }

int ledger_column_zero(const ledger_t *l, ledger_column_t c) {
  const int64_t *v = ledger_column(l, c);
  for (int64_t i = 0; i < l->n; i++)
    if (v[i]) return 0;
  return 1;
}

void ledger_resize(ledger_t *l, int64_t n) {
  while (l->cap < n || l->cap == 0) {
    size_t old = 8 * (size_t)l->cap; /* bytes: int64_t and double alike */
    l->cap = l->cap ? 2 * l->cap : 256;
    for (int c = 0; c < LEDGER_C_COUNT; c++) {
      void **p = column(l, c);
      *p = dpt_realloc(*p, 8 * (size_t)l->cap);
      memset((char *)*p + old, 0, 8 * (size_t)l->cap - old);
    }
  }
  l->n = n;
}

void ledger_truncate(ledger_t *l, int64_t n) {
  if (n < l->n) l->n = n < 0 ? 0 : n;
}

void ledger_push(ledger_t *l, const ledger_round_t *r, const ledger_timing_t *tm) {
  ledger_resize(l, l->n + 1);
  int64_t i = l->n - 1;
  l->step[i] = r->step;
  l->epoch[i] = r->epoch;
  l->kind[i] = r->kind;
  l->collective[i] = r->collective;
  l->participants[i] = r->participants;
  l->floats[i] = r->floats;
  l->bytes[i] = r->bytes;
  l->images[i] = r->images;
  l->overlap[i] = r->overlap;
  l->compute_s[i] = tm ? tm->compute_s : 0;
  l->comm_s[i] = tm ? tm->comm_s : 0;
  l->wait_s[i] = tm ? tm->wait_s : 0;
}

ledger_round_t ledger_row(const ledger_t *l, int64_t i) {
  return (ledger_round_t){.step = l->step[i], .epoch = l->epoch[i],
                          .kind = (ledger_kind_t)l->kind[i],
                          .collective = (ledger_collective_t)l->collective[i],
                          .participants = l->participants[i], .floats = l->floats[i],
                          .bytes = l->bytes[i], .images = l->images[i],
                          .overlap = l->overlap[i]};
}

void ledger_free(ledger_t *l) {
  for (int c = 0; c < LEDGER_C_COUNT; c++) dpt_free(*column(l, c));
  memset(l, 0, sizeof *l);
}

int64_t ledger_rounds(const ledger_t *l) {
  int64_t n = 0;
  for (int64_t i = 0; i < l->n; i++) n += i == 0 || l->step[i] != l->step[i - 1];
  return n;
}

int64_t ledger_bytes(const ledger_t *l, int64_t from, int64_t to) {
  int64_t sum = 0;
  for (int64_t i = from; i < to && i < l->n; i++) sum += l->bytes[i];
  return sum;
}

int ledger_check(const ledger_t *l) {
  for (int64_t i = 0; i < l->n; i++) {
    if (l->kind[i] < 0 || l->kind[i] >= LEDGER_KIND_COUNT)
      return dpt_fail("/rounds/kind[%lld] is %lld, expected 0 .. %d (%s, %s, %s)",
                      (long long)i, (long long)l->kind[i], LEDGER_KIND_COUNT - 1,
                      ledger_kind_names[0], ledger_kind_names[1], ledger_kind_names[2]);
    if (l->collective[i] < 0 || l->collective[i] >= LEDGER_COLLECTIVE_COUNT)
      return dpt_fail("/rounds/collective[%lld] is %lld, expected 0 .. %d (%s, %s, %s)",
                      (long long)i, (long long)l->collective[i], LEDGER_COLLECTIVE_COUNT - 1,
                      ledger_collective_names[0], ledger_collective_names[1],
                      ledger_collective_names[2]);
    for (int c = LEDGER_C_STEP; c < LEDGER_C_MEASURED; c++) {
      int64_t v = ((const int64_t *)ledger_column(l, (ledger_column_t)c))[i];
      if (v < 0)
        return dpt_fail("/rounds/%s[%lld] is %lld, expected a count >= 0", columns[c].name,
                        (long long)i, (long long)v);
    }
    if (i > 0 && l->step[i] < l->step[i - 1])
      return dpt_fail("/rounds/step[%lld] is %lld, before the previous row's %lld",
                      (long long)i, (long long)l->step[i], (long long)l->step[i - 1]);
    for (int c = LEDGER_C_MEASURED; c < LEDGER_C_COUNT; c++) {
      double v = ((const double *)ledger_column(l, (ledger_column_t)c))[i];
      if (!(v >= 0) || !isfinite(v))
        return dpt_fail("/rounds_measured/%s[%lld] is %g, expected a finite time >= 0",
                        columns[c].name, (long long)i, v);
    }
  }
  return 0;
}
