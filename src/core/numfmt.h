/* numfmt.h - numbers as text: doubles that read back to the same value, durations. */
#ifndef DPT_NUMFMT_H
#define DPT_NUMFMT_H

#include <stddef.h>

/* Enough for any double dpt_format_double writes ("-1.2345678901234567e-308"). */
#define DPT_DOUBLE_CHARS 32

/* The shortest "%.15g" to "%.17g" text that strtod reads back to x exactly ("0.1", not
 * "0.10000000000000001"); "nan", "inf", "-inf" for those. */
void dpt_format_double(char *buf, size_t cap, double x);

/* A duration of s seconds, rounded to the second, as every dpt progress line shows it:
 * "45s", "3m05s", "2h03m" (whole minutes from an hour on); "-" when s < 0 (unknown). */
void dpt_format_duration(char *buf, size_t cap, double s);

/* A byte count for reading, in decimal units with three significant digits: "512 B",
 * "12.7 kB", "3.18 MB", "127 GB", "1.50 TB"; "-" when bytes is NaN or negative. Full
 * numbers belong in CSV and JSON. */
void dpt_format_bytes(char *buf, size_t cap, double bytes);

#endif
