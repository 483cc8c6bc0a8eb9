/* numfmt.c - round-trip number formatting, durations and byte counts (see numfmt.h). */
#include "numfmt.h"

#include <stdio.h>
#include <stdlib.h>

void dpt_format_double(char *buf, size_t cap, double x) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) return;
  }
}

void dpt_format_duration(char *buf, size_t cap, double s) {
  long v = (long)(s + 0.5);
  if (s < 0) snprintf(buf, cap, "-");
  else if (v < 60) snprintf(buf, cap, "%lds", v);
  else if (v < 3600) snprintf(buf, cap, "%ldm%02lds", v / 60, v % 60);
  else snprintf(buf, cap, "%ldh%02ldm", v / 3600, v / 60 % 60);
}

void dpt_format_bytes(char *buf, size_t cap, double bytes) {
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  if (!(bytes >= 0)) {
    snprintf(buf, cap, "-");
    return;
  }
  int u = 0;
  while (bytes >= 999.5 && u < 5) bytes /= 1000, u++;
  int digits = u == 0 || bytes >= 99.95 ? 0 : bytes >= 9.995 ? 1 : 2;
  snprintf(buf, cap, "%.*f %s", digits, bytes, units[u]);
}
