/* specres.c - the `resources:` map of a sweep spec: ranks and time (numbers, Slurm times
 * or expressions, evaluated per task by expand.c), Slurm names, counts and sizes. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../config/config_keys.h"
#include "../core/err.h"
#include "specparse.h"

int spec_slurm_word(const char *s, const char *extra) {
  if (!s || !*s || *s == '-' || *s == '.') return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr("_-.", *s) && !strchr(extra, *s)) return 0;
  return 1;
}

int spec_parse_int(spec_ctx_t *c, const ydoc_node_t *n, const char *what, int min, int *out) {
  const char *s = ydoc_scalar(n);
  char *end;
  errno = 0;
  long v = s ? strtol(s, &end, 10) : 0;
  if (!s || !*s || *end || errno || v < min || v > 1000000000)
    return ydoc_fail(c->doc, n, "%s: expected an integer >= %d, got '%s'", what, min,
                     s ? s : "a list or map");
  *out = (int)v;
  return 0;
}

/* "2G", "512M", "1T", "1024" (MB) into MB. */
static int parse_mem(spec_ctx_t *c, const ydoc_node_t *n, int *mb) {
  static const struct { const char *unit; double scale; } units[] = {
      {"K", 1.0 / 1024}, {"KB", 1.0 / 1024}, {"M", 1}, {"MB", 1},
      {"G", 1024}, {"GB", 1024}, {"T", 1024 * 1024}, {"TB", 1024 * 1024}};
  const char *s = ydoc_scalar(n);
  char *end;
  double v = s ? strtod(s, &end) : -1;
  double scale = s && *end ? -1 : 1;
  for (size_t i = 0; s && *end && i < sizeof units / sizeof units[0]; i++)
    if (!strcasecmp(end, units[i].unit)) scale = units[i].scale;
  if (!s || end == s || scale < 0 || v < 0 || v * scale > 1e9)
    return ydoc_fail(c->doc, n, "resources.mem_per_rank: expected a size such as 512M or 2G, "
                     "got '%s'", s ? s : "a list or map");
  *mb = (int)(v * scale + 0.999);
  return 0;
}

/* ranks, time, partition or account: a string; Slurm names only in Slurm's characters,
 * since they go into #SBATCH lines as they are. */
static int parse_text(spec_ctx_t *c, const char *key, const ydoc_node_t *v, char **out) {
  if (!ydoc_scalar(v)) return ydoc_fail(c->doc, v, "resources.%s: expected a value", key);
  const char *val = cfg_is_null(ydoc_scalar(v)) ? "" : ydoc_scalar(v);
  int partition = !strcmp(key, "partition"), account = !strcmp(key, "account");
  if ((partition || account) && *val && !spec_slurm_word(val, partition ? "," : ""))
    return ydoc_fail(c->doc, v, "resources.%s: '%s': expected %s of letters, digits, '_', "
                     "'-' and '.'", key, val, partition
                     ? "a Slurm partition name (or a comma-separated list)"
                     : "a Slurm account name");
  dpt_free(*out);
  *out = dpt_strdup(val);
  return 0;
}

int spec_parse_resources(spec_ctx_t *c, const ydoc_node_t *n) {
  sweep_resources_t *r = &c->spec->res;
  const struct { const char *key; char **text; int *count, min; } keys[] = {
      {"ranks", &r->ranks, NULL, 0}, {"time", &r->time, NULL, 0},
      {"partition", &r->partition, NULL, 0}, {"account", &r->account, NULL, 0},
      {"cpus_per_rank", NULL, &r->cpus_per_rank, 1}, {"mem_per_rank", NULL, NULL, 0},
      {"throttle", NULL, &r->throttle, 0}, {"signal_lead", NULL, &r->signal_lead, 0},
      {"max_array_size", NULL, &r->max_array_size, 1},
      {"max_requeues", NULL, &r->max_requeues, 0}};
  if (n->kind != YDOC_MAP) return ydoc_fail(c->doc, n, "resources: expected a map");
  for (int p = 0; p < n->n; p++) {
    const ydoc_node_t *k = n->items[2 * p], *v = n->items[2 * p + 1];
    const char *key = ydoc_scalar(k) ? ydoc_scalar(k) : "";
    size_t i = 0;
    while (i < sizeof keys / sizeof keys[0] && strcmp(key, keys[i].key)) i++;
    if (i == sizeof keys / sizeof keys[0])
      return ydoc_fail(c->doc, k, "resources: unknown key '%s' (known: ranks, time, partition, "
                       "account, cpus_per_rank, mem_per_rank, throttle, signal_lead, "
                       "max_array_size, max_requeues)", key);
    char what[64];
    snprintf(what, sizeof what, "resources.%s", key);
    if (keys[i].text) TRY(parse_text(c, key, v, keys[i].text));
    else if (keys[i].count) TRY(spec_parse_int(c, v, what, keys[i].min, keys[i].count));
    else TRY(parse_mem(c, v, &r->mem_per_rank_mb));
  }
  if (!*r->ranks) return ydoc_fail(c->doc, n, "resources.ranks: must not be empty");
  if (!*r->time) return ydoc_fail(c->doc, n, "resources.time: must not be empty");
  return 0;
fail:
  return -1;
}
