/* fuzz_study.c - target "study": a table definition (a file of analysis/) through
 * agg_study_parse. */
#include "../../src/agg/study.h"
#include "fuzz.h"

FUZZ_TARGET(study) {
  agg_study_t s;
  agg_study_init(&s);
  agg_study_parse(&s, (const char *)data, size, "fuzz.yaml");
  agg_study_free(&s);
  return 0;
}
