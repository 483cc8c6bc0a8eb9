/* fixture.c - run files with chosen metrics (see fixture.h). */
#include "fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/config/config.h"
#include "../../src/core/err.h"
#include "../../src/core/fsutil.h"
#include "../../src/h5/h5util.h"
#include "../../src/io/runfile.h"

/* The fixture's ledger (fixture.h: agg_fixture_t.rounds). */
static void fixture_ledger(ledger_t *l, const agg_fixture_t *fx, int64_t k, int64_t ips) {
  int64_t step = 0, since = 0;
  for (int e = 1; e <= fx->epochs; e++)
    for (int i = 0; i < fx->rounds.steps_per_epoch; i++) {
      step++;
      since += ips;
      if (step % fx->rounds.every) continue;
      ledger_round_t r = {.step = step, .epoch = e, .kind = k ? LEDGER_AVERAGE : LEDGER_GRADIENT,
                          .collective = (ledger_collective_t)fx->rounds.collective, .participants = k,
                          .floats = fx->rounds.floats, .bytes = 4 * fx->rounds.floats,
                          .images = since};
      ledger_push(l, &r, &(ledger_timing_t){0, 0, 0});
      since = 0;
    }
}

int agg_fixture_write(const char *path, const agg_fixture_t *fx) {
  if (fx->epochs < 1) return dpt_fail("a fixture needs at least one epoch");
  dpt_config_t cfg;
  char dir[4096];
  if (config_load_string(&cfg, "{}\n", "fixture", fx->sets, fx->nsets) < 0)
    return dpt_wrap("fixture config");
  run_info_t info;
  run_info_init(&info, 1);
  info.status = fx->status ? run_status_parse(fx->status) : RUN_STATUS_COMPLETE;
  if (info.status == RUN_STATUS_NONE || info.status == RUN_STATUS_OTHER)
    return dpt_fail("fixture status '%s': expected running, complete or interrupted",
                    fx->status);
  config_method_name(&cfg, info.method, sizeof info.method);
  h5_iso_time(info.end_time, sizeof info.end_time);
  run_metrics_t m = {0};
  double best = -1;
  for (int e = 0; e < fx->epochs; e++) {
    double acc = fx->val_acc ? fx->val_acc[e] : 0.5 + 0.4 * (1 - exp(-(e + 1) / 10.0));
    run_metrics_push(&m, &(run_epoch_t){.epoch = e + 1, .lr = cfg.learning_rate,
                                        .train_loss = 1 - acc, .train_acc = acc,
                                        .val_loss = 1.1 - acc, .val_acc = acc, .seconds = 1.0,
                                        .images_per_s = fx->images_per_s});
    run_metrics_comm(&m, fx->h ? (int64_t)fx->h[e] : 0,
                     fx->averagings ? (int64_t)fx->averagings[e] : 0,
                     fx->bytes ? (int64_t)fx->bytes[e] : 0, 0, 0.1, 0.9);
    if (acc > best) best = acc, info.best_epoch = e + 1;
  }
  info.epochs_run = fx->epochs;
  info.best_val_acc = best;
  info.wall_time = fx->wall_time;
  info.has_test = fx->has_test;
  info.test_acc_last = fx->test_acc_last;
  info.test_acc_best = fx->test_acc_best;
  info.test_loss_last = 1 - fx->test_acc_last;
  info.test_loss_best = 1 - fx->test_acc_best;
  info.num_workers = cfg.num_workers;
  for (int e = 0; fx->averagings && e < fx->epochs; e++)
    info.averagings_total += (int64_t)fx->averagings[e];
  ledger_t rounds = {0};
  if (fx->rounds.every > 0) {
    int64_t k = fx->rounds.participants >= 0 ? fx->rounds.participants : cfg.num_workers;
    fixture_ledger(&rounds, fx, k, fx->rounds.images_per_step > 0 ? fx->rounds.images_per_step
                                                                 : 64 * (k > 1 ? k : 1));
    info.rounds = &rounds;
  }
  dpt_dirname(dir, sizeof dir, path);
  int rc = dpt_mkdirs(dir) < 0 ? -1 : runfile_write(path, &cfg, &info, &m);
  run_metrics_free(&m);
  ledger_free(&rounds);
  return rc;
}

/* "0.5,0.7,0.8" into a new array of *n numbers. */
static int number_list(const char *key, const char *s, double **x, int *n) {
  dpt_free(*x);
  *x = NULL;
  *n = 0;
  for (;;) {
    char *end;
    *x = dpt_realloc(*x, sizeof(double) * (size_t)(*n + 1));
    (*x)[(*n)++] = strtod(s, &end);
    if (end == s) return dpt_fail("--fixture: %s: not a number list: '%s'", key, s);
    if (*end == '\0') return 0;
    if (*end != ',') return dpt_fail("--fixture: %s: not a number list: '%s'", key, s);
    s = end + 1;
  }
}

/* A ledger collective by its name (ledger_collective_names). */
static int collective_named(const char *v, int *c) {
  for (*c = 0; *c < LEDGER_COLLECTIVE_COUNT; ++*c)
    if (!strcmp(ledger_collective_names[*c], v)) return 0;
  return dpt_fail("--fixture: rounds_collective: '%s' is no collective (allreduce, allgather, "
                  "broadcast)", v);
}

/* The fields a word may set besides config keys. */
typedef enum { W_STATUS, W_EPOCHS, W_VAL_ACC, W_TEST_ACC, W_TEST_ACC_BEST, W_WALL_TIME,
               W_IMAGES_PER_S, W_AVERAGINGS, W_H, W_BYTES, W_ROUNDS, W_STEPS_PER_EPOCH,
               W_IMAGES_PER_STEP, W_ROUNDS_FLOATS, W_ROUNDS_PARTICIPANTS,
               W_ROUNDS_COLLECTIVE, W_COUNT } word_t;
static const char *const word_names[W_COUNT] = {
    "status", "epochs", "val_acc", "test_acc", "test_acc_best", "wall_time", "images_per_s",
    "averagings", "H", "bytes", "rounds", "steps_per_epoch", "images_per_step",
    "rounds_floats", "rounds_participants", "rounds_collective"};

static int word_kind(const char *key) {
  for (int w = 0; w < W_COUNT; w++)
    if (!strcmp(word_names[w], key)) return w;
  return dpt_fail("--fixture: unknown field '%s'", key);
}

/* Lists of numbers the words give, owned here while fx points at them. */
typedef struct {
  double *val_acc, *averagings, *h, *bytes;
  int nval, n;
} lists_t;

static int set_word(agg_fixture_t *fx, lists_t *l, const char *key, const char *v,
                    int *has_best) {
  int w = word_kind(key), rc = 0;
  switch (w) {
    case W_STATUS:
      fx->status = v;
      fx->has_test = !strcmp(v, "complete");
      break;
    case W_EPOCHS: fx->epochs = atoi(v); break;
    case W_VAL_ACC: rc = number_list(key, v, &l->val_acc, &l->nval); break;
    case W_TEST_ACC: fx->test_acc_last = atof(v); break;
    case W_TEST_ACC_BEST:
      fx->test_acc_best = atof(v);
      *has_best = 1;
      break;
    case W_WALL_TIME: fx->wall_time = atof(v); break;
    case W_IMAGES_PER_S: fx->images_per_s = atof(v); break;
    case W_AVERAGINGS: rc = number_list(key, v, &l->averagings, &l->n); break;
    case W_H: rc = number_list(key, v, &l->h, &l->n); break;
    case W_BYTES: rc = number_list(key, v, &l->bytes, &l->n); break;
    case W_ROUNDS: fx->rounds.every = atoi(v); break;
    case W_STEPS_PER_EPOCH: fx->rounds.steps_per_epoch = atoi(v); break;
    case W_IMAGES_PER_STEP: fx->rounds.images_per_step = atoll(v); break;
    case W_ROUNDS_FLOATS: fx->rounds.floats = atoll(v); break;
    case W_ROUNDS_PARTICIPANTS: fx->rounds.participants = atoll(v); break;
    case W_ROUNDS_COLLECTIVE: rc = collective_named(v, &fx->rounds.collective); break;
    default: rc = -1;
  }
  return rc;
}

int agg_fixture_from_words(const char *path, char *const *words, int n) {
  agg_fixture_t fx = {.epochs = 0, .has_test = 1, .wall_time = 10, .images_per_s = 1000,
                      .rounds = {0, 100, -1, 62006, 0, 0}};
  const char **sets = dpt_alloc(sizeof(char *) * (size_t)(n + 1));
  char **keys = dpt_alloc(sizeof(char *) * (size_t)(n + 1));
  lists_t l = {0};
  int has_best = 0, rc = 0;
  for (int i = 0; i < n && rc == 0; i++) {
    const char *eq = strchr(words[i], '=');
    if (!eq) {
      rc = dpt_fail("--fixture: expected KEY=VALUE, got '%s'", words[i]);
    } else if (memchr(words[i], '.', (size_t)(eq - words[i]))) {
      sets[fx.nsets++] = words[i];
    } else {
      keys[i] = dpt_alloc((size_t)(eq - words[i]) + 1);
      memcpy(keys[i], words[i], (size_t)(eq - words[i]));
      rc = set_word(&fx, &l, keys[i], eq + 1, &has_best);
    }
  }
  fx.sets = sets;
  fx.val_acc = l.val_acc;
  fx.averagings = l.averagings;
  fx.h = l.h;
  fx.bytes = l.bytes;
  if (!fx.epochs) fx.epochs = l.nval ? l.nval : 3;
  if (!has_best) fx.test_acc_best = fx.test_acc_last;
  if (rc == 0) rc = agg_fixture_write(path, &fx);
  for (int i = 0; i < n; i++) dpt_free(keys[i]);
  double *lists[] = {l.val_acc, l.averagings, l.h, l.bytes};
  for (int i = 0; i < 4; i++) dpt_free(lists[i]);
  dpt_free(keys);
  dpt_free(sets);
  return rc;
}

int agg_fixture_sweep(const char *dir, int n, int epochs) {
  static const char *const opts[] = {"SGDM", "AdamW", "LARS", "LAMB"};
  static const int batches[] = {64, 256, 1024, 4096, 8192};
  static const int workers[] = {0, 2, 4, 8, 16};
  double *acc = dpt_alloc(sizeof(double) * (size_t)epochs);
  double *avg = dpt_alloc(sizeof(double) * (size_t)epochs);
  double *h = dpt_alloc(sizeof(double) * (size_t)epochs);
  double *bytes = dpt_alloc(sizeof(double) * (size_t)epochs);
  int rc = 0;
  for (int i = 0; i < n && rc == 0; i++) {
    /* task i: seed = i % 10, then optimizer, batch size, workers (LocalSGD runs SGDM
     * only, so runs with workers take SGDM) */
    int seed = i % 10, b = (i / 40) % 5, k = (i / 200) % 5, o = k ? 0 : (i / 10) % 4;
    char s_opt[64], s_batch[64], s_k[64], s_h[64], s_seed[64], s_name[64], path[4096];
    int H = 1 << (2 + (i / 1000) % 5);
    snprintf(s_opt, sizeof s_opt, "model.optimizer=%s", opts[o]);
    snprintf(s_batch, sizeof s_batch, "model.batch_size=%d", batches[b]);
    snprintf(s_k, sizeof s_k, "model.num_workers=%d", workers[k]);
    snprintf(s_h, sizeof s_h, "model.work.local_steps=%d", H);
    snprintf(s_seed, sizeof s_seed, "experiment.seed=%d", seed);
    snprintf(s_name, sizeof s_name, "experiment.name=bench-%04d", i);
    const char *sets[] = {s_opt, s_batch, s_k, s_h, s_seed, s_name};
    for (int e = 0; e < epochs; e++) {
      acc[e] = 0.5 + (0.4 - 0.02 * o - 0.01 * b) * (1 - exp(-(e + 1) / 20.0)) +
               0.001 * ((seed * 7 + e * 3) % 11 - 5);
      avg[e] = workers[k] ? ceil(60000.0 / workers[k] / 64 / H) : 60000.0 / batches[b];
      h[e] = H;
      bytes[e] = avg[e] * 2 * 61706 * 4;
    }
    snprintf(path, sizeof path, "%s/t%04d/run.h5", dir, i);
    agg_fixture_t fx = {.sets = sets, .nsets = 6, .epochs = epochs, .val_acc = acc,
                        .has_test = 1, .test_acc_last = acc[epochs - 1] - 0.005,
                        .test_acc_best = acc[epochs - 1] - 0.004, .wall_time = 3600 + i,
                        .images_per_s = 700 + o * 10, .averagings = avg, .h = h,
                        .bytes = bytes};
    rc = agg_fixture_write(path, &fx);
  }
  dpt_free(acc);
  dpt_free(avg);
  dpt_free(h);
  dpt_free(bytes);
  return rc;
}
