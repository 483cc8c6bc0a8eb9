/* table.c - fields, filters, grouping, pivots, sorting and best marks (see table.h). */
#include "table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../core/strbuf.h"

/* ---------------------------------------------------------------- fields */

enum {
  F_VAL_ACC, F_BEST_VAL_ACC, F_TEST_ACC, F_TEST_ACC_BEST, F_VAL_LOSS, F_TEST_LOSS,
  F_TEST_LOSS_BEST, F_TRAIN_LOSS, F_TRAIN_ACC, F_EPOCHS, F_BEST_EPOCH, F_WALL_TIME,
  F_IMAGES_PER_S, F_AVERAGINGS, F_ROUNDS, F_REDUCTIONS, F_PAYLOAD_BYTES, F_MPI_BYTES_SENT,
  F_COMM_TIME, F_COMPUTE_TIME, F_H_LAST,
  F_EPOCHS_TO_TARGET, F_ROUNDS_TO_TARGET, F_SIM_TIME, F_SIM_COMM_TIME, F_TIME_TO_TARGET,
  F_BYTES_TO_TARGET, F_COMM_EFFICIENCY, F_SIM_BYTES, F_PAYLOAD_RATIO, F_VS_DENSE_BYTES,
  F_COUNT
};

const agg_field_t agg_fields[] = {
    [F_VAL_ACC] = {"val_acc", "val acc", "validation accuracy after the last epoch", 1, "%.4f"},
    [F_BEST_VAL_ACC] = {"best_val_acc", "best val acc", "best validation accuracy", 1, "%.4f"},
    [F_TEST_ACC] = {"test_acc", "test acc", "test accuracy of the last model", 1, "%.4f"},
    [F_TEST_ACC_BEST] = {"test_acc_best", "test acc (best model)",
                         "test accuracy of the best-validation model", 1, "%.4f"},
    [F_VAL_LOSS] = {"val_loss", "val loss", "validation loss after the last epoch", -1, "%.4f"},
    [F_TEST_LOSS] = {"test_loss", "test loss", "test loss of the last model", -1, "%.4f"},
    [F_TEST_LOSS_BEST] = {"test_loss_best", "test loss (best model)",
                          "test loss of the best-validation model", -1, "%.4f"},
    [F_TRAIN_LOSS] = {"train_loss", "train loss", "training loss of the last epoch", -1, "%.4f"},
    [F_TRAIN_ACC] = {"train_acc", "train acc", "training accuracy of the last epoch", 1, "%.4f"},
    [F_EPOCHS] = {"epochs", "epochs", "epochs run", 0, NULL},
    [F_BEST_EPOCH] = {"best_epoch", "best epoch", "epoch of the best validation accuracy", 0, NULL},
    [F_WALL_TIME] = {"wall_time", "wall time (s)", "seconds from start to end", -1, "%.1f"},
    [F_IMAGES_PER_S] = {"images_per_s", "images/s", "training images per second, mean over epochs",
                        1, "%.0f"},
    [F_AVERAGINGS] = {"averagings", "averagings",
                      "communication rounds (averagings or gradient reductions), total", -1, NULL},
    [F_ROUNDS] = {"rounds", "rounds",
                  "communication rounds, total: the ledger's rows (/rounds), else averagings",
                  -1, NULL},
    [F_REDUCTIONS] = {"reductions", "reductions",
                      "gradient reductions of a centralized run, total (its rounds)", -1, NULL},
    [F_PAYLOAD_BYTES] = {"payload_bytes", "payload per worker",
                         "bytes each participant (worker, or replica of synchronous "
                         "training) sends over the run: the ledger's, the same on every "
                         "placement", -1, NULL},
    [F_MPI_BYTES_SENT] = {"mpi_bytes_sent", "MPI bytes sent (rank 0)",
                          "bytes rank 0 sent over MPI, total: measured, depends on the "
                          "placement", -1, NULL},
    [F_COMM_TIME] = {"comm_time", "comm time (s)", "seconds in communication, total", -1, "%.1f"},
    [F_COMPUTE_TIME] = {"compute_time", "compute time (s)", "seconds in computation, total", 0,
                        "%.1f"},
    [F_H_LAST] = {"H_last", "H (last epoch)", "local steps H of the last epoch", 0, NULL},
    [F_EPOCHS_TO_TARGET] = {"epochs_to_target", "epochs to target",
                            "first epoch whose validation accuracy reaches --target", -1, NULL},
    [F_ROUNDS_TO_TARGET] = {"rounds_to_target", "rounds to target",
                            "averagings up to and including that epoch", -1, NULL},
    [F_SIM_TIME] = {"sim_time", "simulated time (s)",
                    "seconds the run takes under --network (compute + communication)", -1,
                    "%.1f"},
    [F_SIM_COMM_TIME] = {"sim_comm_time", "simulated comm (s)",
                         "of which communication not hidden by overlap, under --network", -1,
                         "%.1f"},
    [F_TIME_TO_TARGET] = {"time_to_target", "time to target (s)",
                          "simulated seconds to the first round whose validation accuracy "
                          "(interpolated between epochs) reaches --target", -1, "%.1f"},
    [F_BYTES_TO_TARGET] = {"bytes_to_target", "bytes to target",
                           "bytes one participant sends under --network until then", -1, NULL},
    [F_COMM_EFFICIENCY] = {"comm_efficiency", "comm efficiency",
                           "the collectives' lower bound over the bytes sent under --network "
                           "(1: optimal)", 1, "%.3f"},
    [F_SIM_BYTES] = {"sim_bytes", "bytes sent (sim)",
                     "bytes one participant sends over the run under --network", -1, NULL},
    [F_PAYLOAD_RATIO] = {"payload_ratio", "compression (x)",
                         "the --baseline row's payload_bytes over this row's, per seed (the "
                         "compression achieved; needs --baseline)", 1, "%.2f"},
    [F_VS_DENSE_BYTES] = {"vs_dense_bytes", "sent / baseline's",
                          "sim_bytes over the --baseline row's under the same --network, per "
                          "seed (> 1: sends more than the baseline at that network's N; "
                          "needs --baseline)", -1, "%.2f"},
};
const int agg_nfields = F_COUNT;

int agg_field_relative(int field, int *inverse) {
  if (inverse) *inverse = field == F_PAYLOAD_RATIO;
  return field == F_PAYLOAD_RATIO ? F_PAYLOAD_BYTES : field == F_VS_DENSE_BYTES ? F_SIM_BYTES : -1;
}

int agg_field_find(const char *name) {
  for (int i = 0; i < agg_nfields; i++)
    if (!strcmp(agg_fields[i].name, name)) return i;
  return -1;
}

static double last(const agg_run_t *r, run_metric_t m) {
  return r->metric[m] && r->n > 0 ? r->metric[m][r->n - 1] : NAN;
}

static double total(const agg_run_t *r, run_metric_t m, int64_t upto) {
  if (!r->metric[m]) return NAN;
  double s = 0;
  for (int64_t i = 0; i < upto; i++) s += r->metric[m][i];
  return s;
}

int agg_run_centralized(const agg_run_t *r) {
  return (r->file.has & RUNFILE_HAS_WORKERS) && r->file.info.num_workers == 0;
}

/* Communication rounds: the ledger's (a round of several parts is several rows), or the
 * averagings of a file without it. */
static double rounds(const agg_run_t *r) {
  if (r->file.has & RUNFILE_HAS_ROUNDS) return (double)ledger_rounds(&r->file.rounds);
  return total(r, RUN_M_AVERAGINGS, r->n);
}

/* Index of the first epoch whose validation accuracy reaches target, or -1. */
static int64_t first_reaching(const agg_run_t *r, double target) {
  if (!(target > 0)) return -1;
  for (int64_t i = 0; i < r->n; i++)
    if (r->metric[RUN_M_VAL_ACC][i] >= target) return i;
  return -1;
}

/* A network replay's value: its totals, or at the round reaching target. */
static double replay_value(const agg_run_t *r, int field, double target) {
  const net_replay_t *rp = r->replay;
  if (!rp || rp->n < 1) return NAN;
  double sent = rp->sent[rp->n - 1];
  switch (field) {
    case F_SIM_TIME: return rp->time[rp->n - 1];
    case F_SIM_BYTES: return sent;
    case F_SIM_COMM_TIME: return rp->comm_time;
    case F_COMM_EFFICIENCY: return sent > 0 ? rp->bound / sent : NAN;
    default: break;
  }
  if (!(target > 0) || !r->metric[RUN_M_VAL_ACC]) return NAN;
  int64_t j = net_round_reaching(rp, r->metric[RUN_M_EPOCH],
                                 r->metric[RUN_M_VAL_ACC], r->n, target);
  if (j < 0) return NAN;
  return field == F_TIME_TO_TARGET ? rp->time[j] : rp->sent[j];
}

double agg_field_value(const agg_run_t *r, int field, double target) {
  switch (field) {
    case F_SIM_TIME: case F_SIM_COMM_TIME: case F_TIME_TO_TARGET: case F_BYTES_TO_TARGET:
    case F_COMM_EFFICIENCY: case F_SIM_BYTES:
      return replay_value(r, field, target);
    case F_VAL_ACC: return last(r, RUN_M_VAL_ACC);
    case F_BEST_VAL_ACC: return r->best_epoch > 0 ? r->best_val_acc : NAN;
    case F_TEST_ACC: return r->has_test ? r->test_acc_last : NAN;
    case F_TEST_ACC_BEST: return r->has_test ? r->test_acc_best : NAN;
    case F_VAL_LOSS: return last(r, RUN_M_VAL_LOSS);
    case F_TEST_LOSS: return r->has_test ? r->test_loss_last : NAN;
    case F_TEST_LOSS_BEST: return r->has_test ? r->test_loss_best : NAN;
    case F_TRAIN_LOSS: return last(r, RUN_M_TRAIN_LOSS);
    case F_TRAIN_ACC: return last(r, RUN_M_TRAIN_ACC);
    case F_EPOCHS: return (double)r->epochs_run;
    case F_BEST_EPOCH: return r->best_epoch > 0 ? (double)r->best_epoch : NAN;
    case F_WALL_TIME: return r->wall_time;
    case F_IMAGES_PER_S: return r->n > 0 ? total(r, RUN_M_IMAGES_PER_S, r->n) / (double)r->n : NAN;
    case F_AVERAGINGS: return total(r, RUN_M_AVERAGINGS, r->n);
    case F_ROUNDS: return rounds(r);
    case F_REDUCTIONS: return agg_run_centralized(r) ? rounds(r) : NAN;
    case F_PAYLOAD_BYTES:
      return r->file.has & RUNFILE_HAS_ROUNDS
                 ? (double)ledger_bytes(&r->file.rounds, 0, r->file.rounds.n)
                 : total(r, RUN_M_BYTES, r->n);
    case F_MPI_BYTES_SENT: return total(r, RUN_M_MPI_BYTES_SENT, r->n);
    case F_COMM_TIME: return total(r, RUN_M_COMM_TIME, r->n);
    case F_COMPUTE_TIME: return total(r, RUN_M_COMPUTE_TIME, r->n);
    case F_H_LAST: return agg_run_centralized(r) ? NAN : last(r, RUN_M_H);
    case F_EPOCHS_TO_TARGET: {
      int64_t i = first_reaching(r, target);
      return i < 0 ? NAN : r->metric[RUN_M_EPOCH][i];
    }
    case F_ROUNDS_TO_TARGET: {
      int64_t i = first_reaching(r, target);
      return i < 0 ? NAN : total(r, RUN_M_AVERAGINGS, i + 1);
    }
    default: return NAN;
  }
}

/* ---------------------------------------------------------------- keys */

const char *agg_key_text(const agg_run_t *r, const char *key) {
  if (!strcmp(key, "run")) return r->dir;
  if (!strcmp(key, "status")) return r->file.status_word;
  if (!strcmp(key, "method")) return r->method;
  if (!strcmp(key, "hash")) return r->hash;
  if (!strcmp(key, "network")) return r->net ? r->net->name : NULL;
  return agg_run_config(r, key);
}

static int parse_number(const char *s, double *x) {
  if (!s || !*s) return 0;
  char *end;
  *x = strtod(s, &end);
  return *end == '\0';
}

int agg_natural_cmp(const char *a, const char *b) {
  double x, y;
  a = a ? a : "";
  b = b ? b : "";
  int na = parse_number(a, &x), nb = parse_number(b, &y);
  if (na && nb) return x < y ? -1 : x > y ? 1 : strcmp(a, b);
  if (na != nb) return na ? -1 : 1;
  return strcmp(a, b);
}

static int cmp_cstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *const replicate_keys[] = {
    "experiment.seed", "experiment.name", "experiment.output", "experiment.checkpoint_dir",
    "experiment.resume", NULL};

int agg_varying_keys(const agg_run_t *const *runs, int n, const char ***keys) {
  size_t total_keys = 0;
  for (int i = 0; i < n; i++) total_keys += (size_t)runs[i]->file.ncfg;
  const char **all = dpt_alloc(sizeof(char *) * (total_keys + 1)); /* + "method" */
  size_t m = 0;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < runs[i]->file.ncfg; k++) all[m++] = runs[i]->file.cfg_key[k];
  qsort(all, m, sizeof(char *), cmp_cstr);
  int out = 0;
  for (size_t i = 0; i < m; i++) {
    if (i > 0 && !strcmp(all[i], all[i - 1])) continue;
    int skip = 0;
    for (const char *const *rk = replicate_keys; *rk; rk++) skip |= !strcmp(*rk, all[i]);
    if (skip) continue;
    /* Runs written before a key existed lack it: they neither vary nor agree. */
    const char *first = NULL;
    int varies = 0;
    for (int r = 0; r < n && !varies; r++) {
      const char *t = agg_run_config(runs[r], all[i]);
      if (!t) continue;
      if (!first) first = t;
      else varies = strcmp(first, t) != 0;
    }
    if (varies) all[out++] = all[i];
  }
  /* the method first, when the runs differ in it */
  for (int r = 1; r < n; r++)
    if (strcmp(runs[r]->method, runs[0]->method)) {
      memmove(all + 1, all, sizeof(char *) * (size_t)out);
      all[0] = "method";
      out++;
      break;
    }
  *keys = all;
  return out;
}

/* ---------------------------------------------------------------- filters */

int agg_where_parse(const char *text, agg_where_t *w) {
  memset(w, 0, sizeof *w);
  const char *p = strpbrk(text, "!<>=");
  if (!p || p == text)
    return dpt_fail("'%s': expected KEY=VALUE, KEY!=VALUE, KEY<VALUE, KEY<=VALUE, "
                    "KEY>VALUE or KEY>=VALUE",
                    text);
  const char *v;
  if (p[0] == '!' && p[1] == '=') w->op = W_NE, v = p + 2;
  else if (p[0] == '<' && p[1] == '=') w->op = W_LE, v = p + 2;
  else if (p[0] == '>' && p[1] == '=') w->op = W_GE, v = p + 2;
  else if (p[0] == '<') w->op = W_LT, v = p + 1;
  else if (p[0] == '>') w->op = W_GT, v = p + 1;
  else if (p[0] == '=') w->op = W_EQ, v = p + 1 + (p[1] == '=');
  else return dpt_fail("'%s': '!' must be followed by '='", text);
  size_t klen = (size_t)(p - text);
  while (klen > 0 && text[klen - 1] == ' ') klen--;
  while (*v == ' ') v++;
  w->key = dpt_alloc(klen + 1);
  memcpy(w->key, text, klen);
  w->value = dpt_strdup(v);
  return 0;
}

void agg_where_free(agg_where_t *w) {
  dpt_free(w->key);
  dpt_free(w->value);
  memset(w, 0, sizeof *w);
}

/* KEY=A,B,C: any alternative, equal as text or as numbers (1e-2 = 0.01). */
static int equals_any(const char *lhs, const char *alternatives) {
  double x, y;
  int lnum = parse_number(lhs, &x);
  const char *a = alternatives;
  for (;;) {
    const char *comma = strchr(a, ',');
    size_t len = comma ? (size_t)(comma - a) : strlen(a);
    char buf[256];
    snprintf(buf, sizeof buf, "%.*s", (int)len, a);
    if (!strcmp(lhs, buf) || (lnum && parse_number(buf, &y) && x == y)) return 1;
    if (!comma) return 0;
    a = comma + 1;
  }
}

int agg_where_match(const agg_where_t *w, const agg_run_t *r, double target) {
  const char *lhs = agg_key_text(r, w->key);
  char num[64];
  int field = lhs ? -1 : agg_field_find(w->key);
  if (field >= 0) {
    double x = agg_field_value(r, field, target);
    if (isnan(x)) return w->op == W_NE;
    snprintf(num, sizeof num, "%.17g", x);
    lhs = num;
  }
  if (!lhs) return w->op == W_NE;
  int c;
  switch (w->op) {
    case W_EQ: return equals_any(lhs, w->value);
    case W_NE: return !equals_any(lhs, w->value);
    default: break;
  }
  c = agg_natural_cmp(lhs, w->value);
  switch (w->op) {
    case W_LT: return c < 0;
    case W_LE: return c <= 0;
    case W_GT: return c > 0;
    case W_GE: return c >= 0;
    default: return 0;
  }
}

/* ---------------------------------------------------------------- tables */

agg_stat_t agg_stat_of(const double *x, int n) {
  agg_stat_t s = {NAN, NAN, 0};
  double sum = 0;
  for (int i = 0; i < n; i++)
    if (!isnan(x[i])) sum += x[i], s.n++;
  if (s.n == 0) return s;
  s.mean = sum / s.n;
  if (s.n > 1) {
    double ss = 0;
    for (int i = 0; i < n; i++)
      if (!isnan(x[i])) ss += (x[i] - s.mean) * (x[i] - s.mean);
    s.std = sqrt(ss / (s.n - 1));
  }
  return s;
}

typedef struct {
  const agg_run_t *const *runs;
  const char *const *keys;
  int nkeys;
} tuple_ctx_t;

static int cmp_tuple(const void *a, const void *b, void *p) {
  const tuple_ctx_t *c = p;
  int i = *(const int *)a, j = *(const int *)b;
  for (int k = 0; k < c->nkeys; k++) {
    int d = agg_natural_cmp(agg_key_text(c->runs[i], c->keys[k]),
                            agg_key_text(c->runs[j], c->keys[k]));
    if (d) return d;
  }
  return (i > j) - (i < j);
}

static int same_tuple(const tuple_ctx_t *c, int i, int j) {
  for (int k = 0; k < c->nkeys; k++) {
    const char *a = agg_key_text(c->runs[i], c->keys[k]);
    const char *b = agg_key_text(c->runs[j], c->keys[k]);
    if (strcmp(a ? a : "", b ? b : "")) return 0;
  }
  return 1;
}

int agg_group_runs(const agg_run_t *const *runs, int n, const char *const *keys,
                         int nkeys, int *id, int *first) {
  int *order = dpt_alloc(sizeof(int) * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) order[i] = i;
  tuple_ctx_t c = {runs, keys, nkeys};
  qsort_r(order, (size_t)n, sizeof(int), cmp_tuple, &c);
  int t = -1;
  for (int i = 0; i < n; i++) {
    if (i == 0 || !same_tuple(&c, order[i - 1], order[i])) first[++t] = order[i];
    id[order[i]] = t;
  }
  dpt_free(order);
  return t + 1;
}

static void table_alloc(agg_table_t *t, int nrows, int ncols) {
  memset(t, 0, sizeof *t);
  t->nrows = nrows;
  t->ncols = ncols;
  t->name = dpt_alloc(sizeof(char *) * (size_t)ncols);
  t->label = dpt_alloc(sizeof(char *) * (size_t)ncols);
  t->field = dpt_alloc(sizeof(int) * (size_t)ncols);
  t->cell = dpt_alloc(sizeof(agg_cell_t) * (size_t)(nrows ? nrows : 1) * (size_t)ncols);
  t->pivot_field = -1;
  t->diff_col = -1;
}

static void set_col(agg_table_t *t, int c, const char *name, const char *label, int field) {
  t->name[c] = dpt_strdup(name);
  t->label[c] = dpt_strdup(label);
  t->field[c] = field;
}

/* A number cell from the runs idx[0..m): their statistics of field, by seed. A field
 * relative to the baseline holds its source's values by seed and no statistics until
 * agg_table_baseline makes them. */
static void fill_cell(const agg_table_t *t, agg_cell_t *cell, const agg_run_t *const *runs,
                      const int *idx, int m, int field, double target, double *x) {
  int source = agg_field_relative(field, NULL);
  if (source >= 0) field = source;
  for (int i = 0; i < m; i++) x[i] = agg_field_value(runs[idx[i]], field, target);
  cell->st = source >= 0 ? (agg_stat_t){NAN, NAN, 0} : agg_stat_of(x, m);
  cell->run = m ? runs[idx[0]] : NULL;
  cell->by_seed = agg_seed_values(t, runs, idx, m, field, target, &cell->nby_seed);
}

static char *key_cell(const agg_run_t *r, const char *key) {
  const char *s = agg_key_text(r, key);
  return dpt_strdup(s ? s : "");
}

int agg_table_group(agg_table_t *t, const agg_run_t *const *runs, int n,
                    const char *const *keys, int nkeys, const int *fields, int nfields,
                    double target) {
  if (n < 1) return dpt_fail("no runs to tabulate");
  int *id = dpt_alloc(sizeof(int) * (size_t)n), *first = dpt_alloc(sizeof(int) * (size_t)n);
  int ngroups = agg_group_runs(runs, n, keys, nkeys, id, first);
  table_alloc(t, ngroups, nkeys + 1 + nfields);
  agg_table_seeds(t, runs, n);
  t->nkeys = nkeys;
  for (int k = 0; k < nkeys; k++) set_col(t, k, keys[k], keys[k], AGG_COL_KEY);
  set_col(t, nkeys, "n", "n", AGG_COL_COUNT);
  for (int f = 0; f < nfields; f++)
    set_col(t, nkeys + 1 + f, agg_fields[fields[f]].name, agg_fields[fields[f]].label,
            fields[f]);
  double *x = dpt_alloc(sizeof(double) * (size_t)n);
  int *idx = dpt_alloc(sizeof(int) * (size_t)n);
  for (int g = 0; g < ngroups; g++) {
    for (int k = 0; k < nkeys; k++) agg_cell(t, g, k)->text = key_cell(runs[first[g]], keys[k]);
    int m = 0;
    for (int i = 0; i < n; i++)
      if (id[i] == g) idx[m++] = i;
    agg_cell(t, g, nkeys)->st = (agg_stat_t){m, NAN, m};
    for (int f = 0; f < nfields; f++)
      fill_cell(t, agg_cell(t, g, nkeys + 1 + f), runs, idx, m, fields[f], target, x);
  }
  dpt_free(x);
  dpt_free(idx);
  dpt_free(id);
  dpt_free(first);
  return 0;
}

char *agg_tuple_name(const agg_run_t *r, const char *const *keys, int nkeys) {
  strbuf_t b = {0};
  for (int k = 0; k < nkeys; k++) {
    const char *v = agg_key_text(r, keys[k]);
    strbuf_printf(&b, "%s%s=%s", k ? "," : "", keys[k], v ? v : "");
  }
  return strbuf_take(&b);
}

int agg_table_pivot(agg_table_t *t, const agg_run_t *const *runs, int n,
                    const char *const *rowkeys, int nrow, const char *const *colkeys,
                    int ncol, int field, double target) {
  if (n < 1) return dpt_fail("no runs to tabulate");
  if (field < 0 || field >= agg_nfields) return dpt_fail("pivot needs a value");
  int *rid = dpt_alloc(sizeof(int) * (size_t)n), *rfirst = dpt_alloc(sizeof(int) * (size_t)n);
  int *cid = dpt_alloc(sizeof(int) * (size_t)n), *cfirst = dpt_alloc(sizeof(int) * (size_t)n);
  int nr = agg_group_runs(runs, n, rowkeys, nrow, rid, rfirst);
  int nc = agg_group_runs(runs, n, colkeys, ncol, cid, cfirst);
  table_alloc(t, nr, nrow + nc);
  agg_table_seeds(t, runs, n);
  t->nkeys = nrow;
  t->pivot_field = field;
  for (int k = 0; k < nrow; k++) set_col(t, k, rowkeys[k], rowkeys[k], AGG_COL_KEY);
  for (int c = 0; c < nc; c++) {
    char *name = agg_tuple_name(runs[cfirst[c]], colkeys, ncol);
    set_col(t, nrow + c, name, name, field);
    dpt_free(name);
  }
  double *x = dpt_alloc(sizeof(double) * (size_t)n);
  int *idx = dpt_alloc(sizeof(int) * (size_t)n);
  for (int r = 0; r < nr; r++) {
    for (int k = 0; k < nrow; k++)
      agg_cell(t, r, k)->text = key_cell(runs[rfirst[r]], rowkeys[k]);
    for (int c = 0; c < nc; c++) {
      int m = 0;
      for (int i = 0; i < n; i++)
        if (rid[i] == r && cid[i] == c) idx[m++] = i;
      fill_cell(t, agg_cell(t, r, nrow + c), runs, idx, m, field, target, x);
    }
  }
  dpt_free(x);
  dpt_free(idx);
  dpt_free(rid);
  dpt_free(rfirst);
  dpt_free(cid);
  dpt_free(cfirst);
  return 0;
}

typedef struct {
  const agg_table_t *t;
  int col, desc;
} sort_ctx_t;

static int cmp_rows(const void *a, const void *b, void *p) {
  const sort_ctx_t *s = p;
  int i = *(const int *)a, j = *(const int *)b, d;
  const agg_cell_t *x = agg_cell(s->t, i, s->col), *y = agg_cell(s->t, j, s->col);
  if (x->text) {
    d = agg_natural_cmp(x->text, y->text);
    if (s->desc) d = -d;
  } else {
    int hx = x->st.n > 0, hy = y->st.n > 0; /* rows without a value go last */
    if (hx != hy) return hx ? -1 : 1;
    d = !hx ? 0 : x->st.mean < y->st.mean ? -1 : x->st.mean > y->st.mean ? 1 : 0;
    if (s->desc) d = -d;
  }
  return d ? d : (i > j) - (i < j);
}

int agg_table_sort(agg_table_t *t, const char *spec) {
  int desc = spec[0] == '-';
  const char *name = spec + (desc || spec[0] == '+');
  int col = -1;
  for (int c = 0; c < t->ncols && col < 0; c++)
    if (!strcmp(t->name[c], name) || !strcmp(t->label[c], name)) col = c;
  if (col < 0) {
    /* A pivot's columns are KEY=VALUE; "--sort VALUE" names one by its value alone. */
    for (int c = t->nkeys; c < t->ncols && col < 0; c++) {
      const char *eq = strrchr(t->name[c], '=');
      if (eq && !strcmp(eq + 1, name)) col = c;
    }
  }
  if (col < 0) return dpt_fail("--sort: no column '%s' in this table", name);
  int *order = dpt_alloc(sizeof(int) * (size_t)(t->nrows ? t->nrows : 1));
  for (int i = 0; i < t->nrows; i++) order[i] = i;
  sort_ctx_t s = {t, col, desc};
  qsort_r(order, (size_t)t->nrows, sizeof(int), cmp_rows, &s);
  agg_cell_t *cells = dpt_alloc(sizeof(agg_cell_t) * (size_t)(t->nrows ? t->nrows : 1) *
                                (size_t)t->ncols);
  for (int i = 0; i < t->nrows; i++)
    memcpy(&cells[(size_t)i * (size_t)t->ncols], agg_cell(t, order[i], 0),
           sizeof(agg_cell_t) * (size_t)t->ncols);
  dpt_free(t->cell);
  t->cell = cells;
  dpt_free(order);
  return 0;
}

void agg_table_free(agg_table_t *t) {
  for (int c = 0; c < t->ncols; c++) {
    dpt_free(t->name[c]);
    dpt_free(t->label[c]);
  }
  for (int i = 0; i < t->nrows * t->ncols; i++) {
    dpt_free(t->cell[i].text);
    dpt_free(t->cell[i].by_seed);
  }
  for (int s = 0; s < t->nseeds; s++) dpt_free(t->seed[s]);
  void *arrays[] = {t->name, t->label, t->field, t->cell, t->title, t->seed, t->baseline,
                    t->best_of};
  for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) dpt_free(arrays[i]);
  memset(t, 0, sizeof *t);
}
