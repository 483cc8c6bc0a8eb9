/* numfmt.c - round-trip number formatting (see numfmt.h). */
#include "numfmt.h"

#include <stdio.h>
#include <stdlib.h>

void dpt_format_double(char *buf, size_t cap, double x) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) return;
  }
}
