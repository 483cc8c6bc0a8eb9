/* estimate.c - core-hours of a sweep (see estimate.h). */
#include "estimate.h"

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "../data/dataset.h"
#include "../h5/h5util.h"

void sweep_work_of(const sweep_task_t *t, int64_t ntrain, int64_t ntest, sweep_work_t *w) {
  if (t->limit > 0 && ntrain > t->limit) ntrain = t->limit;
  if (t->limit > 0 && ntest > t->limit) ntest = t->limit;
  w->val = (int64_t)llround(t->val_fraction * (double)ntrain); /* as the trainer splits */
  w->train = ntrain - w->val;
  w->test = ntest;
  w->epochs = t->epochs;
}

double sweep_core_hours(const sweep_work_t *w, double images_per_s) {
  double images = (double)w->epochs * ((double)w->train + SWEEP_EVAL_COST * (double)w->val) +
                  2.0 * SWEEP_EVAL_COST * (double)w->test;
  return images / images_per_s / 3600.0;
}

/* "images_per_s_per_core" and "images_per_s_per_core.MODEL": the keys a line may start with. */
#define TPUT_KEY "images_per_s_per_core"

/* 1 if the line's key (up to the first blank) is model's figure. */
static int tput_line_matches(const char *line, const char *model) {
  size_t klen = strcspn(line, " \t\r\n"), base = strlen(TPUT_KEY);
  if (klen == base) return !strcmp(model, "LeNet");
  return line[base] == '.' && klen - base - 1 == strlen(model) &&
         !strncmp(line + base + 1, model, klen - base - 1);
}

int sweep_throughput_read(const char *path, const char *model, double *ips) {
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT) return 1;
    return dpt_fail("%s: cannot read: %s", path, strerror(errno));
  }
  char line[256];
  int lineno = 0, any = 0, rc = 1;
  while (rc == 1 && fgets(line, sizeof line, f)) {
    lineno++;
    if (strncmp(line, TPUT_KEY, strlen(TPUT_KEY))) continue;
    any = 1;
    if (!tput_line_matches(line, model)) continue;
    size_t klen = strcspn(line, " \t\r\n");
    char *end;
    double v = strtod(line + klen, &end);
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') end++;
    if (end == line + klen || *end || !(v > 0) || !isfinite(v))
      rc = dpt_fail("%s:%d: %.*s: expected a number > 0, got '%.*s'", path, lineno, (int)klen,
                    line, (int)strcspn(line + klen, "\n"), line + klen);
    else {
      *ips = v;
      rc = 0;
    }
  }
  fclose(f);
  if (rc == 1 && !any)
    rc = dpt_fail("%s: no line '" TPUT_KEY " V' (make bench writes it)", path);
  return rc;
}

/* Blocks per stage of a ResNet (depth 6n + 2), 0 for other models. */
static int resnet_blocks(nn_model_kind_t model) {
  const char *name = nn_model_name(model);
  if (strncmp(name, "ResNet", 6)) return 0;
  return (atoi(name + 6) - 2) / 6;
}

int sweep_model_throughput(const char *path, nn_model_kind_t model, double *ips, char *source,
                           size_t cap) {
  const char *name = nn_model_name(model);
  int n = resnet_blocks(model);
  int rc = sweep_throughput_read(path, model == NN_LENET5 ? "LeNet" : name, ips);
  if (rc <= 0) {
    snprintf(source, cap, "%s", path);
    return rc;
  }
  double r20;
  if (n > 0 && n != 3 && sweep_throughput_read(path, "ResNet20", &r20) == 0) {
    *ips = r20 * 3.0 / n;
    snprintf(source, cap, "ResNet20's figure in %s x 3/%d", path, n);
  } else {
    *ips = n > 0 ? SWEEP_DEFAULT_RESNET20_IMAGES_PER_S * 3.0 / n : SWEEP_DEFAULT_IMAGES_PER_S;
    snprintf(source, cap, "default: %s", dpt_file_exists(path)
             ? "the throughput file has no figure for it"
             : "no throughput file, make bench records one");
  }
  dpt_clear_error();
  return 0;
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

/* Core-hours and tasks of each model a plan trains. */
typedef struct {
  double hours[NN_RESNET56 + 1];
  int tasks[NN_RESNET56 + 1];
} model_hours_t;

/* Adds every task's core-hours to its model's: 0, or -1 with the message. */
static int plan_hours(const sweep_plan_t *plan, const double *ips, model_hours_t *mh) {
  char last_path[CFG_PATH_MAX] = "";
  int64_t ntrain = 0, ntest = 0;
  for (int i = 0; i < plan->ntasks; i++) {
    const sweep_task_t *t = &plan->tasks[i];
    sweep_work_t w;
    if (strcmp(t->data_path, last_path)) { /* tasks mostly share one dataset */
      if (dataset_sizes(t->data_path, &ntrain, &ntest) < 0) return dpt_wrap("none");
      snprintf(last_path, sizeof last_path, "%s", t->data_path);
    }
    sweep_work_of(t, ntrain, ntest, &w);
    mh->hours[t->model] += sweep_core_hours(&w, ips[t->model]);
    mh->tasks[t->model]++;
  }
  return 0;
}

void sweep_estimate_print(FILE *out, const sweep_plan_t *plan, const char *throughput_path) {
  double ips[NN_RESNET56 + 1], hours = 0;
  char source[NN_RESNET56 + 1][PATH_MAX + 96];
  model_hours_t mh = {{0}, {0}};
  int models = 0, rc = 0;
  for (int m = 0; m <= NN_RESNET56 && rc == 0; m++)
    rc = sweep_model_throughput(throughput_path, (nn_model_kind_t)m, &ips[m], source[m],
                                sizeof source[m]);
  if (rc < 0 || plan_hours(plan, ips, &mh) < 0) {
    fprintf(out, "estimate: %s\n", dpt_errmsg());
    dpt_clear_error();
    return;
  }
  for (int m = 0; m <= NN_RESNET56; m++) {
    hours += mh.hours[m];
    models += mh.tasks[m] > 0;
  }
  fprintf(out, "estimate: %.2f core-hours for %d task(s)", hours, plan->ntasks);
  const char *sep = models > 1 ? ": " : " of ";
  for (int m = 0; m <= NN_RESNET56; m++) {
    if (!mh.tasks[m]) continue;
    const char *name = nn_model_name((nn_model_kind_t)m);
    if (models > 1)
      fprintf(out, "%s%s %.2f (%d task(s) at %.0f images/s per core, %s)", sep, name,
              mh.hours[m], mh.tasks[m], ips[m], source[m]);
    else
      fprintf(out, "%s%s at %.0f training images/s per core (%s;", sep, name, ips[m], source[m]);
    sep = "; ";
  }
  fprintf(out, "%sideal scaling, no early stop)\n", models == 1 ? " " : " (");
}
