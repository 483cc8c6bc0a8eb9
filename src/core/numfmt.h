/* numfmt.h - numbers as text that reads back to the same value. */
#ifndef DPT_NUMFMT_H
#define DPT_NUMFMT_H

#include <stddef.h>

/* Enough for any double dpt_format_double writes ("-1.2345678901234567e-308"). */
#define DPT_DOUBLE_CHARS 32

/* The shortest "%.15g" to "%.17g" text that strtod reads back to x exactly ("0.1", not
 * "0.10000000000000001"); "nan", "inf", "-inf" for those. */
void dpt_format_double(char *buf, size_t cap, double x);

#endif
