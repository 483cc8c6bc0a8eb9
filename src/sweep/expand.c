/* expand.c - a spec's tasks: the product of its dimensions, exclusions, each task's
 * config validated and resolved as dpt-train would, duplicates merged by the hash of the
 * resolved config, resources evaluated, and tasks grouped into array jobs (sweep.h). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../config/config.h"
#include "../config/config_keys.h"
#include "../core/err.h"
#include "../core/strbuf.h"
#include "expr.h"
#include "sweep.h"

void sweep_hash(const char *text, char out[17]) {
  uint64_t h = 1469598103934665603ULL;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    h ^= *p;
    h *= 1099511628211ULL;
  }
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}

int sweep_parse_time(const char *text, int *minutes) {
  /* Slurm's forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S. */
  long f[4] = {0, 0, 0, 0};
  int nf = 0, days = 0;
  long d = 0;
  const char *p = text;
  char *end;
  if (!*p) return -1;
  const char *dash = strchr(p, '-');
  if (dash) {
    d = strtol(p, &end, 10);
    if (end != dash || d < 0) return -1;
    days = 1;
    p = dash + 1;
  }
  for (;;) {
    if (!isdigit((unsigned char)*p)) return -1;
    f[nf++] = strtol(p, &end, 10);
    p = end;
    if (!*p) break;
    if (*p != ':' || nf == 3) return -1;
    p++;
  }
  long secs;
  if (days) {
    long h = f[0], m = nf > 1 ? f[1] : 0, s = nf > 2 ? f[2] : 0;
    secs = ((d * 24 + h) * 60 + m) * 60 + s;
  } else if (nf == 1) {
    secs = f[0] * 60;
  } else if (nf == 2) {
    secs = f[0] * 60 + f[1];
  } else {
    secs = (f[0] * 60 + f[1]) * 60 + f[2];
  }
  if (secs <= 0 || secs > 366L * 24 * 3600) return -1;
  *minutes = (int)((secs + 59) / 60);
  return 0;
}

/* Axis values and rule values are equal as text, case aside, or as numbers (1e-2 = 0.01). */
static int values_equal(const char *a, const char *b) {
  if (!strcasecmp(a, b)) return 1;
  char *ea, *eb;
  double x = strtod(a, &ea), y = strtod(b, &eb);
  return ea != a && eb != b && !*ea && !*eb && x == y;
}

static int excluded(const sweep_spec_t *s, const int *vi) {
  for (int r = 0; r < s->nrules; r++) {
    int all = 1;
    for (int c = 0; c < s->rules[r].nconds && all; c++) {
      const sweep_cond_t *cond = &s->rules[r].conds[c];
      const sweep_axis_t *a = &s->axes[cond->axis];
      const char *v = a->values[vi[a->dim]].text;
      int any = 0;
      for (int k = 0; k < cond->values.n && !any; k++) any = values_equal(v, cond->values.v[k]);
      all = any;
    }
    if (all) return 1;
  }
  return 0;
}

static void label(const sweep_spec_t *s, const int *vi, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < s->naxes && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%s=%s", i ? ", " : "", s->axes[i].key,
                            s->axes[i].values[vi[s->axes[i].dim]].text);
}

void sweep_task_label(const sweep_spec_t *spec, const sweep_task_t *t, char *buf, size_t cap) {
  label(spec, t->vi, buf, cap);
}

/* ---- resource expressions ---- */

/* The number a task's config holds at a dotted key or alias (K, H, B, E): a number as
 * the resolved config writes it, a boolean as 1 or 0; -1 for anything else ("auto", a
 * name, a path). */
static int lookup(void *ctx, const char *name, double *value) {
  static const char *const alias[][2] = {{"K", "model.num_workers"},
                                         {"H", "model.work.local_steps"},
                                         {"B", "model.batch_size"},
                                         {"E", "model.epochs"}};
  const dpt_config_t *cfg = ctx;
  for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
    if (!strcmp(name, alias[i][0])) name = alias[i][1];
  const cfg_key_t *k = cfg_key_find(name);
  if (!k || k->type == T_IGNORED) return -1;
  if (k->type == T_BOOL) { /* -1 is auto */
    int b = *(const int *)((const char *)cfg + k->off);
    *value = b;
    return b < 0 ? -1 : 0;
  }
  char text[CFG_PATH_MAX + 64], *end;
  cfg_key_text(cfg, k, text, sizeof text);
  *value = strtod(text, &end);
  return end != text && !*end ? 0 : -1;
}

static int is_integer(const char *s, int *v) {
  char *end;
  long x = strtol(s, &end, 10);
  if (end == s || *end || x < -1000000000L || x > 1000000000L) return 0;
  *v = (int)x;
  return 1;
}

static int eval_resources(const sweep_spec_t *s, const dpt_config_t *cfg, int *ranks,
                          int *time_min) {
  double v;
  if (!is_integer(s->res.ranks, ranks)) {
    if (expr_eval(s->res.ranks, lookup, (void *)cfg, &v) < 0)
      return dpt_wrap("resources.ranks");
    if (v != floor(v) || v > 100000)
      return dpt_fail("resources.ranks: '%s' gives %g, not a whole number", s->res.ranks, v);
    *ranks = (int)v;
  }
  if (*ranks < 1)
    return dpt_fail("resources.ranks: '%s' gives %d; a task needs at least 1 rank",
                    s->res.ranks, *ranks);
  if (sweep_parse_time(s->res.time, time_min) < 0) {
    if (expr_eval(s->res.time, lookup, (void *)cfg, &v) < 0)
      return dpt_wrap("resources.time (Slurm time such as 0:30:00, or minutes as an "
                      "expression)");
    if (!(v > 0) || v > 366.0 * 24 * 60)
      return dpt_fail("resources.time: '%s' gives %g minutes", s->res.time, v);
    *time_min = (int)ceil(v);
  }
  /* What would otherwise fail only after queueing: the warning before the time limit
   * must come after the start, and the trainer splits the batch (K = 0) or the workers
   * (K >= 1) evenly over the ranks. */
  if (s->res.signal_lead >= *time_min * 60)
    return dpt_fail("resources.signal_lead: %d s is not less than the time limit (%d min): "
                    "USR1 would come before the task could work", s->res.signal_lead, *time_min);
  double k = 0, b = 0;
  if (lookup((void *)cfg, "K", &k) == 0 && lookup((void *)cfg, "B", &b) == 0) {
    if (k == 0 && fmod(b, *ranks) != 0)
      return dpt_fail("resources.ranks: %d rank(s) do not divide model.batch_size %g "
                      "(centralized training splits the batch over the ranks)", *ranks, b);
    if (k >= 1 && fmod(k, *ranks) != 0)
      return dpt_fail("resources.ranks: %d rank(s) do not divide model.num_workers K = %g "
                      "(each rank hosts K/P workers)", *ranks, k);
  }
  return 0;
}

/* ---- duplicates: open addressing on the hash ---- */

typedef struct {
  int *slot; /* task index + 1; 0 = empty */
  size_t cap;
} table_t;

static int table_find_or_add(table_t *t, sweep_task_t *tasks, int idx) {
  uint64_t h = strtoull(tasks[idx].hash, NULL, 16);
  for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    if (!t->slot[i]) {
      t->slot[i] = idx + 1;
      return -1;
    }
    int other = t->slot[i] - 1;
    if (!strcmp(tasks[other].yaml, tasks[idx].yaml)) return other;
  }
}

/* Arrays: one per resource shape, in order of first appearance, split at the limit. */
static void form_arrays(const sweep_spec_t *s, int max_array_size, sweep_plan_t *plan) {
  int mem_per_cpu = s->res.mem_per_rank_mb
                        ? (s->res.mem_per_rank_mb + s->res.cpus_per_rank - 1) / s->res.cpus_per_rank
                        : 0;
  for (int i = 0; i < plan->ntasks; i++) {
    sweep_task_t *t = &plan->tasks[i];
    int a = plan->narrays - 1;
    for (; a >= 0; a--) {
      sweep_array_t *ar = &plan->arrays[a];
      if (ar->ranks == t->ranks && ar->time_min == t->time_min) break;
    }
    if (a < 0 || plan->arrays[a].ntasks == max_array_size) {
      plan->arrays = dpt_realloc(plan->arrays, (size_t)(plan->narrays + 1) * sizeof *plan->arrays);
      a = plan->narrays++;
      plan->arrays[a] = (sweep_array_t){t->ranks, t->time_min, mem_per_cpu,
                                        s->res.cpus_per_rank, 0, NULL};
    }
    sweep_array_t *ar = &plan->arrays[a];
    if ((ar->ntasks & (ar->ntasks - 1)) == 0)
      ar->tasks = dpt_realloc(ar->tasks, (size_t)(ar->ntasks ? 2 * ar->ntasks : 1) * sizeof(int));
    t->array = a;
    t->index = ar->ntasks;
    ar->tasks[ar->ntasks++] = i;
  }
}

int sweep_expand(const sweep_spec_t *s, int max_array_size, sweep_plan_t *plan) {
  memset(plan, 0, sizeof *plan);
  long combos = 1;
  for (int d = 0; d < s->ndims; d++) {
    combos *= s->dims[d].nvalues;
    if (combos > SWEEP_MAX_COMBOS)
      return dpt_fail("%s: more than %ld combinations; split the sweep", s->path, SWEEP_MAX_COMBOS);
  }
  plan->ncombos = (int)combos;
  int nsets_max = s->sets.n;
  for (int a = 0; a < s->naxes; a++) {
    int m = 0;
    for (int v = 0; v < s->axes[a].nvalues; v++)
      if (s->axes[a].values[v].sets.n > m) m = s->axes[a].values[v].sets.n;
    nsets_max += m;
  }
  const char **sets = dpt_alloc((size_t)(nsets_max + 2) * sizeof *sets);
  /* Tasks are named after the sweep (their run files and logs say which sweep made
   * them), not after the base config, unless the spec's own sets name them. */
  char *own_name = dpt_strf("experiment.name=%s", s->name);
  int *vi = dpt_alloc((size_t)(s->ndims + 1) * sizeof *vi);
  size_t cap = 16;
  while (cap < 2 * (size_t)combos) cap *= 2;
  table_t table = {dpt_alloc(cap * sizeof(int)), cap};
  plan->tasks = dpt_alloc((size_t)combos * sizeof *plan->tasks);
  dpt_config_t *cfg = dpt_alloc(sizeof *cfg);
  char lab[2048];
  int rc = -1;

  for (long c = 0; c < combos; c++) {
    /* Mixed radix, the last dimension fastest. */
    long rest = c;
    for (int d = s->ndims - 1; d >= 0; d--) {
      vi[d] = (int)(rest % s->dims[d].nvalues);
      rest /= s->dims[d].nvalues;
    }
    if (excluded(s, vi)) {
      plan->nexcluded++;
      continue;
    }
    int n = 0;
    /* a name config validation refuses ("..") keeps the base's */
    if (!strstr(s->name, "..")) sets[n++] = own_name;
    for (int i = 0; i < s->sets.n; i++) sets[n++] = s->sets.v[i];
    for (int a = 0; a < s->naxes; a++) {
      const sweep_value_t *v = &s->axes[a].values[vi[s->axes[a].dim]];
      for (int i = 0; i < v->sets.n; i++) sets[n++] = v->sets.v[i];
    }
    sweep_task_t *t = &plan->tasks[plan->ntasks];
    memset(t, 0, sizeof *t);
    if (config_load_string(cfg, s->base_text, s->base_name, sets, n) < 0) {
      label(s, vi, lab, sizeof lab);
      dpt_wrap("%s: task %d (%s) would fail validation", s->path, plan->ntasks, lab);
      goto done;
    }
    if (eval_resources(s, cfg, &t->ranks, &t->time_min) < 0) {
      label(s, vi, lab, sizeof lab);
      dpt_wrap("%s: task %d (%s)", s->path, plan->ntasks, lab);
      goto done;
    }
    t->yaml = config_to_yaml(cfg);
    sweep_hash(t->yaml, t->hash);
    if (table_find_or_add(&table, plan->tasks, plan->ntasks) >= 0) {
      dpt_free(t->yaml);
      plan->nduplicates++;
      continue;
    }
    t->data_path = dpt_strdup(cfg->data_path);
    t->model = (int)cfg->model;
    t->epochs = cfg->epochs;
    t->limit = cfg->limit;
    t->val_fraction = cfg->val_fraction;
    t->vi = dpt_alloc((size_t)(s->ndims + 1) * sizeof *t->vi);
    memcpy(t->vi, vi, (size_t)s->ndims * sizeof *vi);
    plan->ntasks++;
  }
  if (plan->ntasks == 0) {
    dpt_fail("%s: no tasks: %s", s->path,
             plan->nexcluded ? "the exclude rules drop every combination" : "empty grid");
    goto done;
  }

  form_arrays(s, max_array_size, plan);
  rc = 0;
done:
  dpt_free(cfg);
  dpt_free(own_name);
  dpt_free(table.slot);
  dpt_free(vi);
  dpt_free(sets);
  if (rc < 0) sweep_plan_free(plan);
  return rc;
}

void sweep_plan_free(sweep_plan_t *p) {
  for (int i = 0; i < p->ntasks; i++) {
    dpt_free(p->tasks[i].yaml);
    dpt_free(p->tasks[i].vi);
    dpt_free(p->tasks[i].data_path);
  }
  for (int a = 0; a < p->narrays; a++) dpt_free(p->arrays[a].tasks);
  dpt_free(p->tasks);
  dpt_free(p->arrays);
  memset(p, 0, sizeof *p);
}

char *sweep_index_list(const int *idx, int n, int throttle) {
  size_t cap = 64 + (size_t)n * 24, len = 0;
  char *out = dpt_alloc(cap);
  for (int i = 0; i < n;) {
    int j = i;
    while (j + 1 < n && idx[j + 1] == idx[j] + 1) j++;
    len += (size_t)snprintf(out + len, cap - len, "%s%d", len ? "," : "", idx[i]);
    if (j > i) len += (size_t)snprintf(out + len, cap - len, "-%d", idx[j]);
    i = j + 1;
  }
  if (throttle > 0) snprintf(out + len, cap - len, "%%%d", throttle);
  return out;
}
