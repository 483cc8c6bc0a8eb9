/* estimate.c - core-hours of a sweep (see estimate.h). */
#include "estimate.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "../data/dataset.h"
#include "../h5/h5util.h"

void sweep_work_of(const dpt_config_t *cfg, int64_t ntrain, int64_t ntest, sweep_work_t *w) {
  if (cfg->limit > 0 && ntrain > cfg->limit) ntrain = cfg->limit;
  if (cfg->limit > 0 && ntest > cfg->limit) ntest = cfg->limit;
  w->val = (int64_t)llround(cfg->val_fraction * (double)ntrain); /* as the trainer splits */
  w->train = ntrain - w->val;
  w->test = ntest;
  w->epochs = cfg->epochs;
}

double sweep_core_hours(const sweep_work_t *w, double images_per_s) {
  double images = (double)w->epochs * ((double)w->train + SWEEP_EVAL_COST * (double)w->val) +
                  2.0 * SWEEP_EVAL_COST * (double)w->test;
  return images / images_per_s / 3600.0;
}

int sweep_throughput_read(const char *path, double *ips) {
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT) return 1;
    return dpt_fail("%s: cannot read: %s", path, strerror(errno));
  }
  char line[256];
  int lineno = 0, found = 0, rc = 0;
  while (!found && fgets(line, sizeof line, f)) {
    lineno++;
    if (strncmp(line, "images_per_s_per_core", 21)) continue;
    char *end;
    double v = strtod(line + 21, &end);
    while (*end == ' ' || *end == '\n' || *end == '\r') end++;
    if (end == line + 21 || *end || !(v > 0) || !isfinite(v))
      rc = dpt_fail("%s:%d: images_per_s_per_core: expected a number > 0, got '%.*s'", path,
                    lineno, (int)strcspn(line + 21, "\n"), line + 21);
    else *ips = v;
    found = 1;
  }
  fclose(f);
  if (rc == 0 && !found)
    rc = dpt_fail("%s: no line 'images_per_s_per_core V' (make bench writes it)", path);
  return rc;
}

/* Images of /train and /test of a dataset file, or of the standard dataset its base name
 * names when the file is absent (a cluster user sizes CIFAR-100 before importing it). */
static int dataset_sizes(const char *path, int64_t *ntrain, int64_t *ntest) {
  if (!dpt_file_exists(path)) {
    static const struct { const char *name; int64_t train, test; } known[] = {
        {"cifar100", 50000, 10000}, {"cifar10", 50000, 10000},
        {"fashion-mnist", 60000, 10000}, {"mnist", 60000, 10000}};
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
      if (!strncmp(base, known[i].name, strlen(known[i].name))) {
        *ntrain = known[i].train;
        *ntest = known[i].test;
        return 0;
      }
    return dpt_fail("%s: no such file, and not a standard dataset's name", path);
  }
  dataset_head_t h;
  if (dataset_head_open(path, &h, DS_HEAD_SPLITS) < 0) return -1;
  *ntrain = h.train_n;
  *ntest = h.test_n;
  dataset_head_free(&h);
  return 0;
}

void sweep_estimate_print(FILE *out, const sweep_plan_t *plan, const char *throughput_path) {
  double ips = SWEEP_DEFAULT_IMAGES_PER_S, hours = 0;
  int tp = sweep_throughput_read(throughput_path, &ips);
  if (tp < 0) {
    fprintf(out, "estimate: %s\n", dpt_errmsg());
    dpt_clear_error();
    return;
  }
  char last_path[CFG_PATH_MAX] = "";
  int64_t ntrain = 0, ntest = 0;
  for (int t = 0; t < plan->ntasks; t++) {
    dpt_config_t cfg;
    sweep_work_t w;
    if (config_load_string(&cfg, plan->tasks[t].yaml, "task", NULL, 0) < 0) {
      fprintf(out, "estimate: task %d: %s\n", t, dpt_errmsg());
      dpt_clear_error();
      return;
    }
    if (strcmp(cfg.data_path, last_path)) { /* tasks mostly share one dataset */
      if (dataset_sizes(cfg.data_path, &ntrain, &ntest) < 0) {
        fprintf(out, "estimate: none: %s\n", dpt_errmsg());
        dpt_clear_error();
        return;
      }
      snprintf(last_path, sizeof last_path, "%s", cfg.data_path);
    }
    sweep_work_of(&cfg, ntrain, ntest, &w);
    hours += sweep_core_hours(&w, ips);
  }
  fprintf(out, "estimate: %.2f core-hours for %d task(s) at %.0f training images/s per core "
          "(%s; ideal scaling, no early stop)\n", hours, plan->ntasks, ips,
          tp == 0 ? throughput_path : "default: no throughput file, make bench records one");
}
