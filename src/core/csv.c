/* csv.c - CSV quoting (see csv.h). */
#include "csv.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* A decimal number as strtod reads all of it (no inf, nan or hex). */
static int is_number(const char *s) {
  char *end;
  if (!*s || s[strspn(s, "0123456789+-.eE")]) return 0;
  strtod(s, &end);
  return !*end;
}

/* A word of letters, digits, '_', '.', '/' and '-' that does not start with '-' (an
 * identifier, a key, a path): nothing in it means anything to a shell or a spreadsheet. */
static int is_identifier(const char *s) {
  if (*s == '-') return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr("_./-", *s)) return 0;
  return 1;
}

void dpt_csv_field(FILE *out, const char *s) {
  if (!*s || is_number(s) || is_identifier(s)) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"') fputc('"', out);
    fputc(*s, out);
  }
  fputc('"', out);
}
