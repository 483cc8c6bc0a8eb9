/* fuzz_expr.c - target "expr": a resource expression of a sweep spec (ranks:, time:)
 * through expr_eval, with the names a task would resolve. */
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/sweep/expr.h"
#include "fuzz.h"

static int lookup(void *ctx, const char *name, double *value) {
  static const struct { const char *name; double value; } known[] = {
      {"K", 4}, {"H", 8}, {"B", 64}, {"E", 10}, {"model.epochs", 10}, {"model.batch_size", 64}};
  (void)ctx;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(name, known[i].name) == 0) return *value = known[i].value, 0;
  return -1;
}

FUZZ_TARGET(expr) {
  char *text = fuzz_text(data, size);
  double v;
  expr_eval(text, lookup, NULL, &v);
  dpt_free(text);
  return 0;
}
