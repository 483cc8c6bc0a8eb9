/* boolword.c - parsing booleans (see boolword.h). */
#include "boolword.h"

#include <strings.h>

#include "err.h"

int dpt_parse_bool(const char *s, int *out) {
  static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
  for (int i = 0; i < 3; i++) {
    if (!strcasecmp(s, yes[i])) return *out = 1, 0;
    if (!strcasecmp(s, no[i])) return *out = 0, 0;
  }
  return dpt_fail("'%s': expected %s", s, DPT_BOOL_WORDS);
}
