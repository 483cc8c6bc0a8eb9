/* method.c - the name of the training method a config describes (see config.h). */
#include <stdio.h>

#include "config.h"

void config_method_name(const dpt_config_t *cfg, char *buf, size_t cap) {
  if (cfg->num_workers == 0) {
    snprintf(buf, cap, "centralized"); /* its optimizer is a key of its own */
    return;
  }
  opt_kind_t inner = cfg->work_optimizer, own = OPT_SGDM;
  /* the outer step's row names the method; Nesterov over AdamW workers is DiLoCo */
  const char *name = outer_def(cfg->outer_type)->label;
  if (cfg->outer_type == OUTER_NESTEROV && inner == OPT_ADAMW) {
    name = "DiLoCo";
    own = OPT_ADAMW;
  }
  /* model.outer.fragments, .delay: Streaming DiLoCo's fragments of whatever outer step */
  int streaming = cfg->outer_fragments > 1 || cfg->outer_delay > 0;
  int n = snprintf(buf, cap, "%s%s%s", cfg->local_from_epoch != 0 ? "post-local " : "",
                   streaming ? "Streaming " : "", name);
  if (inner != own && n >= 0 && (size_t)n < cap)
    snprintf(buf + n, cap - (size_t)n, " (%s)", opt_name(inner));
}

void config_method_label(const dpt_config_t *cfg, const char *name, char *buf, size_t cap) {
  if (cfg->num_workers == 0)
    snprintf(buf, cap, "%s %s", name, opt_name(cfg->optimizer));
  else
    snprintf(buf, cap, "%s", name);
}
