/* fuzz_config.c - target "config": a run config (YAML) through config_load_string, and
 * when it loads, its resolved YAML loaded again. */
#include "../../src/config/config.h"
#include "../../src/core/err.h"
#include "fuzz.h"

FUZZ_TARGET(config) {
  char *yaml = fuzz_text(data, size);
  dpt_config_t cfg;
  if (config_load_string(&cfg, yaml, "fuzz.yaml", NULL, 0) == 0) {
    char *again = config_to_yaml(&cfg);
    config_load_string(&cfg, again, "resolved.yaml", NULL, 0);
    dpt_free(again);
  }
  dpt_free(yaml);
  return 0;
}
