/* csv.h - writing one CSV field (RFC 4180), for the results row and the tables. */
#ifndef DPT_CSV_H
#define DPT_CSV_H

#include <stdio.h>

/* Writes s as it is, or in double quotes with quotes doubled when it holds a comma, a
 * quote, a carriage return or a newline. */
void dpt_csv_field(FILE *out, const char *s);

#endif
