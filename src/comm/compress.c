/* compress.c - the compressor table, its spellings, the plan of an exchange, its state,
 * and the one-stage round every row but PowerSGD runs (see compress.h). */
#include "compress.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../core/numfmt.h"
#include "../core/printable.h"
#include "compress_impl.h"
#include "tree.h"

const char *const comm_collective_names[] = {"allreduce", "allgather"};

#define NO_STATE 0, {{0}}
#define RESIDUAL {"workers/compress_residual", COMM_SCOPE_PEER}

const comm_compressor_t comm_compressors[] = {
    {"none", "none", COMM_PARAM_NONE, NO_STATE, NULL, NULL, NULL, NULL},
    {"fp16", "fp16", COMM_PARAM_NONE, NO_STATE, comm_fp16_plan, comm_fp16_encode,
     comm_fp16_decode, NULL},
    {"bf16", "bf16", COMM_PARAM_NONE, NO_STATE, comm_fp16_plan, comm_bf16_encode,
     comm_bf16_decode, NULL},
    {"int8", "int8", COMM_PARAM_NONE, NO_STATE, comm_int8_plan, comm_int8_encode,
     comm_int8_decode, NULL},
    {"topk", "top-k+EF", COMM_PARAM_RATIO, 1, {RESIDUAL}, comm_topk_plan, comm_topk_encode,
     comm_topk_decode, NULL},
    {"powersgd", "PowerSGD", COMM_PARAM_RANK, 2,
     {RESIDUAL, {"global/compress_powersgd_q", COMM_SCOPE_SHARED}}, comm_powersgd_plan, NULL,
     NULL, &comm_powersgd_round},
};
const int comm_ncompressors = (int)(sizeof comm_compressors / sizeof comm_compressors[0]);

const comm_compressor_t *comm_compressor_find(const char *name) {
  for (int i = 0; i < comm_ncompressors; i++)
    if (!strcmp(comm_compressors[i].name, name)) return &comm_compressors[i];
  return NULL;
}

/* --- spellings --- */

void comm_compress_defaults(comm_compress_opts_t *o) {
  memset(o, 0, sizeof *o);
  o->kind = COMP_NONE;
  o->rank = 1;      /* the hook's matrix_approximation_rank */
  o->ratio = 1;
  o->start_iter = 1000;
  o->min_rate = 2;
  o->error_feedback = 1;
  o->warm_start = 1;
}

static const char *param_form(comm_param_t p) {
  return p == COMM_PARAM_RATIO ? ":RATIO (0 < RATIO <= 1)"
         : p == COMM_PARAM_RANK ? ":RANK (an integer >= 1)" : "";
}

void comm_compress_expected(char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < comm_ncompressors && len < cap; i++) {
    const char *sep = i == 0 ? "" : i + 1 < comm_ncompressors ? ", " : " or ";
    len += (size_t)snprintf(buf + len, cap - len, "%s%s%s", sep, comm_compressors[i].name,
                            param_form(comm_compressors[i].param));
  }
}

/* The parameter text p of row d into o; -1 when it is not one. */
static int parse_param(const comm_compressor_t *d, const char *p, comm_compress_opts_t *o) {
  char *end;
  if (!*p || isspace((unsigned char)*p)) return -1;
  errno = 0;
  if (d->param == COMM_PARAM_RANK) {
    long long r = strtoll(p, &end, 10);
    if (*end || errno || r < 1 || r > INT_MAX) return -1;
    o->rank = (int)r;
    return 0;
  }
  double a = strtod(p, &end);
  if (*end || !isfinite(a) || !(a > 0) || a > 1) return -1;
  o->ratio = a;
  return 0;
}

int comm_compress_parse(const char *s, comm_compress_opts_t *o) {
  for (int i = 0; i < comm_ncompressors; i++) {
    const comm_compressor_t *d = &comm_compressors[i];
    size_t len = strlen(d->name);
    if (strncmp(s, d->name, len)) continue;
    if (d->param == COMM_PARAM_NONE ? s[len] == 0
                                    : s[len] == ':' && parse_param(d, s + len + 1, o) == 0)
      return o->kind = (comm_compress_kind_t)i, 0;
  }
  char want[256], shown[96];
  comm_compress_expected(want, sizeof want);
  return dpt_fail("compressor '%s': expected %s",
                  dpt_printable(shown, sizeof shown, s, 0), want);
}

void comm_compress_text(const comm_compress_opts_t *o, char *buf, size_t cap) {
  const comm_compressor_t *d = &comm_compressors[o->kind];
  char a[DPT_DOUBLE_CHARS];
  if (d->param == COMM_PARAM_RATIO) {
    dpt_format_double(a, sizeof a, o->ratio);
    snprintf(buf, cap, "%s:%s", d->name, a);
  } else if (d->param == COMM_PARAM_RANK) {
    snprintf(buf, cap, "%s:%d", d->name, o->rank);
  } else {
    snprintf(buf, cap, "%s", d->name);
  }
}

/* --- the plan --- */

/* Does keep item (len chars) name tensor i? "biases": every 1-D tensor; "last": the
 * tensors of the last layer (the name before the dot of the last tensor); else a prefix
 * of the name. */
static int keep_item_matches(const char *item, size_t len, const nn_tensor_t *ts, int nt,
                             int i) {
  if (len == 6 && !strncmp(item, "biases", 6)) return ts[i].is_bias;
  if (len == 4 && !strncmp(item, "last", 4)) {
    const char *last = ts[nt - 1].name, *dot = strchr(last, '.');
    size_t pl = dot ? (size_t)(dot - last) : strlen(last);
    return !strncmp(ts[i].name, last, pl) && (ts[i].name[pl] == '.' || !ts[i].name[pl]);
  }
  return !strncmp(ts[i].name, item, len);
}

/* Marks the tensors the keep list names dense; -1 on an item that names none. */
static int apply_keep(comm_plan_t *pl, const char *keep, const nn_tensor_t *ts, int nt) {
  for (const char *p = keep; *p;) {
    size_t len = strcspn(p, ",");
    int hits = 0;
    for (int i = 0; i < nt && len > 0; i++)
      if (keep_item_matches(p, len, ts, nt, i)) pl->t[i].dense = 1, hits++;
    if (!hits) {
      char shown[COMM_KEEP_CHARS];
      dpt_printable(shown, sizeof shown, p, 0);
      shown[len < sizeof shown ? len : sizeof shown - 1] = 0;
      return dpt_fail("compressor keep list '%s': '%s' names no tensor (expected 'biases', "
                      "'last' or the start of a name such as '%s')",
                      keep, shown, ts[0].name);
    }
    p += len + (p[len] == ',');
    if (p[-1] == ',' && !*p) return dpt_fail("compressor keep list '%s' ends in a comma", keep);
  }
  return 0;
}

static int check_opts(const comm_compress_opts_t *o) {
  if ((int)o->kind < 0 || (int)o->kind >= comm_ncompressors)
    return dpt_fail("compressor: no row %d", (int)o->kind);
  if (o->kind == COMP_TOPK && !(o->ratio > 0 && o->ratio <= 1))
    return dpt_fail("topk: ratio %g is not in (0, 1]", o->ratio);
  if (o->kind == COMP_POWERSGD && (o->rank < 1 || !(o->min_rate > 0) || o->start_iter < 0))
    return dpt_fail("powersgd: rank %d, min_compression_rate %g, start_powerSGD_iter %lld: "
                    "expected rank >= 1, a rate > 0 and a start >= 0",
                    o->rank, o->min_rate, (long long)o->start_iter);
  return 0;
}

/* Tensor i's place: PyTorch's tensor.view(shape[0], -1). */
static void tensor_shape(comm_tplan_t *t, const nn_tensor_t *ts) {
  t->name = ts->name;
  t->off = ts->offset;
  t->size = ts->size;
  int matrix = !ts->is_bias && ts->fan_in > 0 && ts->size % (size_t)ts->fan_in == 0;
  t->cols = matrix ? (size_t)ts->fan_in : 1;
  t->rows = ts->size / t->cols;
}

int comm_plan_init(comm_plan_t *pl, const comm_compress_opts_t *o, const nn_tensor_t *tensors,
                   int ntensors, size_t n) {
  memset(pl, 0, sizeof *pl);
  if (check_opts(o) < 0) return -1;
  if (ntensors < 1 || ntensors > NN_MAX_TENSORS)
    return dpt_fail("compressor: %d tensors (expected 1 to %d)", ntensors, NN_MAX_TENSORS);
  pl->opt = *o;
  pl->row = &comm_compressors[o->kind];
  pl->n = n;
  pl->ntensors = ntensors;
  for (int i = 0; i < ntensors; i++) {
    tensor_shape(&pl->t[i], &tensors[i]);
    if (pl->t[i].off + pl->t[i].size > n)
      return dpt_fail("compressor: tensor '%s' ends past the vector's %zu floats",
                      tensors[i].name, n);
    pl->t[i].dense = o->kind == COMP_NONE;
  }
  if (apply_keep(pl, o->keep, tensors, ntensors) < 0) return -1;
  for (int i = 0; i < ntensors; i++) {
    comm_tplan_t *t = &pl->t[i];
    if (!t->dense) pl->row->plan_tensor(pl, t, &pl->cpart); /* may make it dense */
    if (t->dense) t->b_off = pl->dense_floats * sizeof(float), pl->dense_floats += t->size;
  }
  return 0;
}

size_t comm_state_len(const comm_plan_t *pl, int i) {
  return i == 1 && pl->opt.kind == COMP_POWERSGD ? pl->qlen : pl->n;
}

/* --- state --- */

int comm_ctx_init(comm_ctx_t *c, const comm_compress_opts_t *o, const nn_tensor_t *tensors,
                  int ntensors, size_t n) {
  memset(c, 0, sizeof *c);
  if (comm_plan_init(&c->plan, o, tensors, ntensors, n) < 0) return -1;
  const comm_compressor_t *d = c->plan.row;
  for (int i = 0; i < d->nstate; i++)
    if (d->state[i].scope == COMM_SCOPE_SHARED)
      c->buf[i] = dpt_alloc(sizeof(float) * (comm_state_len(&c->plan, i) + 1));
  c->sum[0] = dpt_alloc(sizeof(float) * (n + c->plan.plen));
  c->sum[1] = dpt_alloc(sizeof(float) * (c->plan.qlen + 1));
  c->scratch = dpt_alloc(sizeof(float) * n);
  return 0;
}

void comm_ctx_free(comm_ctx_t *c) {
  for (int i = 0; i < COMM_MAX_STATE; i++) dpt_free(c->buf[i]);
  for (int s = 0; s < COMM_MAX_STAGES; s++) dpt_free(c->sum[s]);
  dpt_free(c->scratch);
  memset(c, 0, sizeof *c);
}

void comm_peer_init(comm_peer_t *p, const comm_ctx_t *c) {
  memset(p, 0, sizeof *p);
  const comm_compressor_t *d = c->plan.row;
  for (int i = 0; i < d->nstate; i++)
    if (d->state[i].scope == COMM_SCOPE_PEER)
      p->buf[i] = dpt_alloc(sizeof(float) * comm_state_len(&c->plan, i));
}

void comm_peer_free(comm_peer_t *p) {
  for (int i = 0; i < COMM_MAX_STATE; i++) dpt_free(p->buf[i]);
  memset(p, 0, sizeof *p);
}

/* --- the one-stage round --- */

int comm_check_finite(const comm_ctx_t *c, const comm_tplan_t *t, int k, const float *x,
                      const char *what) {
  for (size_t i = 0; i < t->size; i++)
    if (!isfinite(x[i]))
      return dpt_fail("compressor %s: tensor '%s' holds %s at index %zu of its %s in round "
                      "%lld (participant %d)",
                      c->plan.row->name, t->name, isnan(x[i]) ? "NaN" : "Inf", i, what,
                      (long long)c->rounds, k);
  return 0;
}

static size_t all_floats(const comm_plan_t *pl) {
  size_t s = 0;
  for (int i = 0; i < pl->ntensors; i++) s += pl->t[i].size;
  return s;
}

void comm_wire_one(const comm_ctx_t *c, int all_dense, comm_wire_t *w) {
  const comm_plan_t *pl = &c->plan;
  size_t dense = all_dense ? all_floats(pl) : pl->dense_floats;
  memset(w, 0, sizeof *w);
  if (dense)
    w->part[w->nparts++] = (comm_part_t){COMM_ALLREDUCE, dense, 0, 0, dense * sizeof(float)};
  if (!all_dense && pl->cpart.values) w->part[w->nparts++] = pl->cpart;
  for (int i = 0; i < w->nparts; i++) w->bytes += w->part[i].bytes;
  w->sum_len = pl->n;
}

/* dense tensor t's place in the dense part: all_dense lays every tensor out in order */
static size_t dense_at(const comm_plan_t *pl, int i, int all_dense) {
  size_t b = 0;
  if (!all_dense) return pl->t[i].b_off;
  for (int j = 0; j < i; j++) b += pl->t[j].size * sizeof(float);
  return b;
}

int comm_encode_one(comm_ctx_t *c, comm_peer_t *peer, int k, const float *x, int all_dense,
                    uint8_t *dst) {
  const comm_plan_t *pl = &c->plan;
  size_t dense_bytes = (all_dense ? all_floats(pl) : pl->dense_floats) * sizeof(float);
  for (int i = 0; i < pl->ntensors; i++) {
    const comm_tplan_t *t = &pl->t[i];
    const float *in = x + t->off;
    if (comm_check_finite(c, t, k, in, "input") < 0) return -1;
    if (all_dense || t->dense) {
      memcpy(dst + dense_at(pl, i, all_dense), in, t->size * sizeof(float));
      continue;
    }
    float *resid = peer->buf[0] ? peer->buf[0] + t->off : NULL;
    if (resid) {
      float *acc = c->scratch + t->off;
      for (size_t j = 0; j < t->size; j++) acc[j] = in[j] + resid[j];
      if (comm_check_finite(c, t, k, acc, "input plus error-feedback residual") < 0) return -1;
      in = acc;
    }
    if (pl->row->encode(c, t, k, in, resid, dst + dense_bytes + t->b_off) < 0) return -1;
  }
  return 0;
}

void comm_decode_one(const comm_ctx_t *c, int all_dense, const uint8_t *src, float *out) {
  const comm_plan_t *pl = &c->plan;
  size_t dense_bytes = (all_dense ? all_floats(pl) : pl->dense_floats) * sizeof(float);
  memset(out, 0, sizeof(float) * pl->n);
  for (int i = 0; i < pl->ntensors; i++) {
    const comm_tplan_t *t = &pl->t[i];
    if (all_dense || t->dense)
      memcpy(out + t->off, src + dense_at(pl, i, all_dense), t->size * sizeof(float));
    else
      pl->row->decode(t, src + dense_bytes + t->b_off, out + t->off);
  }
}

void comm_finish_mean(const comm_ctx_t *c, int K, float *out) {
  const float k = (float)K;
  for (size_t i = 0; i < c->plan.n; i++) out[i] = c->sum[0][i] / k;
}

/* --- the round's steps: the row's round, or the one stage above --- */

int comm_round_begin(comm_ctx_t *c) {
  const comm_round_ops_t *r = c->plan.row->round;
  return c->stages = r ? r->begin(c) : 1;
}

void comm_wire(const comm_ctx_t *c, int s, comm_wire_t *w) {
  const comm_round_ops_t *r = c->plan.row->round;
  if (r) r->wire(c, s, w);
  else comm_wire_one(c, 0, w);
}

int comm_encode(comm_ctx_t *c, comm_peer_t *peer, int k, int s, const float *x, uint8_t *dst) {
  const comm_round_ops_t *r = c->plan.row->round;
  return r ? r->encode(c, peer, k, s, x, dst) : comm_encode_one(c, peer, k, x, 0, dst);
}

void comm_decode(const comm_ctx_t *c, int s, const uint8_t *src, float *out) {
  const comm_round_ops_t *r = c->plan.row->round;
  if (r) r->decode(c, s, src, out);
  else comm_decode_one(c, 0, src, out);
}

void comm_stage_done(comm_ctx_t *c, int s, const float *sum, int K) {
  const comm_round_ops_t *r = c->plan.row->round;
  if (r) r->stage_done(c, s, sum, K);
  else memcpy(c->sum[0], sum, sizeof(float) * c->plan.n);
}

void comm_finish(const comm_ctx_t *c, int K, float *out) {
  const comm_round_ops_t *r = c->plan.row->round;
  if (r) r->finish(c, K, out);
  else comm_finish_mean(c, K, out);
}

void comm_peer_finish(const comm_ctx_t *c, comm_peer_t *peer, const float *out) {
  const comm_round_ops_t *r = c->plan.row->round;
  if (r) r->peer_finish(c, peer, out);
}

void comm_round_end(comm_ctx_t *c) { c->rounds++; }

/* --- a whole round in one process --- */

typedef struct {
  const comm_ctx_t *c;
  int s;
  uint8_t *const *payload;
} decode_leaf_t;

static void decode_leaf(void *ctx, int64_t k, float *out) {
  const decode_leaf_t *d = ctx;
  comm_decode(d->c, d->s, d->payload[k], out);
}

int comm_compress_mean(comm_ctx_t *c, comm_peer_t *peers, int K, const float *const *x,
                       float *out) {
  if (K < 1) return dpt_fail("compressor: %d participants", K);
  int stages = comm_round_begin(c), rc = 0;
  uint8_t **payload = dpt_alloc(sizeof(uint8_t *) * (size_t)K);
  for (int s = 0; s < stages && rc == 0; s++) {
    comm_wire_t w;
    comm_wire(c, s, &w);
    for (int k = 0; k < K; k++) payload[k] = dpt_realloc(payload[k], w.bytes + 1);
    for (int k = 0; k < K && rc == 0; k++) rc = comm_encode(c, &peers[k], k, s, x[k], payload[k]);
    if (rc < 0) break;
    tree_t tr;
    tree_init(&tr, w.sum_len, K);
    float *sum = dpt_alloc(sizeof(float) * (w.sum_len + 1));
    decode_leaf_t d = {c, s, payload};
    tree_sum(&tr, 0, K, decode_leaf, &d, sum);
    comm_stage_done(c, s, sum, K);
    dpt_free(sum);
    tree_free(&tr);
  }
  if (rc == 0) {
    comm_finish(c, K, out);
    for (int k = 0; k < K; k++) comm_peer_finish(c, &peers[k], out);
    comm_round_end(c);
  }
  for (int k = 0; k < K; k++) dpt_free(payload[k]);
  dpt_free(payload);
  return rc;
}
