/* cmp.c - qsort comparators (see cmp.h). */
#include "cmp.h"

#include <stdint.h>

int dpt_cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}
