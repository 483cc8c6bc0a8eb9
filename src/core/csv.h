/* csv.h - writing one CSV field (RFC 4180), for the results row and the tables. */
#ifndef DPT_CSV_H
#define DPT_CSV_H

#include <stdio.h>

/* Writes s as it is when it is empty, a plain number (1, -0.5, 1e-3) or a plain word
 * (letters, digits, '_', '.', '/', '-', not starting with '-': a key, a name, a path);
 * anything else (spaces, '$', '`', '=', quotes, a newline) goes in double quotes, with
 * quotes doubled. */
void dpt_csv_field(FILE *out, const char *s);

#endif
