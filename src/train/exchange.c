/* exchange.c - the compressed exchanges of a run (method.h): the compressor a config key
 * chooses (comm/compress.h, docs/compression.md), run over the ranks. Participant k's
 * input, encode and decode happen on the rank that holds it, and the decodes are summed
 * along the fixed tree over the K participants (tree_reduce): every receiver decodes the
 * same payloads into the same floats, so the sum is bitwise the single-process one on
 * any P that divides K. What travels goes into the ledger, one row per part of a stage. */
#include <string.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "method.h"

static const char *const groups[TRAIN_NX] = {"comm_compress", "outer_compress"};
static const char *const keys[TRAIN_NX] = {"comm.compress", "model.outer.compress"};

const char *train_exchange_group(int which) { return groups[which]; }

/* The options of exchange `which` from the config. The outer exchange's random streams
 * (int8's rounding, PowerSGD's Q) are keyed apart from the gradient exchange's, and a
 * Streaming DiLoCo fragment's (part f) apart from the others'. */
static comm_compress_opts_t exchange_opts(const dpt_config_t *cfg, int which, uint64_t part) {
  comm_compress_opts_t o = which == TRAIN_X_GRAD ? cfg->comm_compress : cfg->outer_compress;
  o.start_iter = which == TRAIN_X_GRAD ? cfg->comm_psgd_start : cfg->outer_psgd_start;
  o.seed = which == TRAIN_X_GRAD ? cfg->seed : rng_key(cfg->seed, RNG_POWERSGD, 1, part);
  return o;
}

int train_exchange_init(trainer_t *t, int which, int K) {
  const nn_model_t *m = &t->model;
  return train_exchange_init_part(t, &t->state.xch[which], which, K, m->tensors, m->ntensors,
                                  m->nparams, 0);
}

int train_exchange_init_part(trainer_t *t, train_exchange_t *x, int which, int K,
                             const nn_tensor_t *tensors, int ntensors, size_t n,
                             uint64_t part) {
  comm_compress_opts_t o = exchange_opts(t->cfg, which, part);
  memset(x, 0, sizeof *x);
  if (o.kind == COMP_NONE) return 0;
  if (comm_ctx_init(&x->ctx, &o, tensors, ntensors, n) < 0) return dpt_wrap("%s", keys[which]);
  int64_t lo, hi;
  comm_node(&t->dist, K, &lo, &hi);
  x->on = 1;
  x->key = keys[which];
  x->K = K;
  x->first = (int)lo;
  x->nlocal = (int)(hi - lo);
  x->peers = dpt_alloc(sizeof(comm_peer_t) * (size_t)(x->nlocal + 1));
  for (int i = 0; i < x->nlocal; i++) comm_peer_init(&x->peers[i], &x->ctx);
  x->input = dpt_alloc(sizeof(float) * n);
  return 0;
}

void train_exchange_free(train_exchange_t *x) {
  if (!x->on) return;
  for (int i = 0; i < x->nlocal; i++) comm_peer_free(&x->peers[i]);
  for (int s = 0; s < COMM_MAX_STAGES; s++)
    if (x->tree[s].n) tree_free(&x->tree[s]);
  comm_ctx_free(&x->ctx);
  dpt_free(x->peers);
  dpt_free(x->input);
  dpt_free(x->payload);
  memset(x, 0, sizeof *x);
}

/* The context of participant_leaf: stage s of a round. */
typedef struct {
  train_exchange_t *x;
  int s;
  train_input_fn in;
  void *ctx;
  int rc;                      /* -1 after a refused encode: the rest contribute zeros */
} stage_t;

/* tree leaves over the participants: what every receiver decodes of participant k */
static void participant_leaf(void *p, int64_t k, float *out) {
  stage_t *st = p;
  train_exchange_t *x = st->x;
  if (st->s == 0 && st->rc == 0) st->in(st->ctx, k, x->input);
  if (st->rc == 0 &&
      comm_encode(&x->ctx, &x->peers[k - x->first], (int)k, st->s, x->input, x->payload) < 0)
    st->rc = -1;
  if (st->rc < 0) {
    comm_wire_t w;
    comm_wire(&x->ctx, st->s, &w);
    memset(out, 0, sizeof(float) * w.sum_len);
    return;
  }
  comm_decode(&x->ctx, st->s, x->payload, out);
}

/* The ledger's rows of a stage: one per part, what one participant sends. */
static void record_stage(trainer_t *t, const comm_wire_t *w, ledger_round_t *row) {
  for (int i = 0; i < w->nparts; i++) {
    const comm_part_t *p = &w->part[i];
    row->collective = p->coll == COMM_ALLGATHER ? LEDGER_ALLGATHER : LEDGER_ALLREDUCE;
    row->floats = (int64_t)p->values;
    row->bytes = (int64_t)p->bytes;
    train_round(t, row);
    row->images = 0; /* the work since the previous round goes with its first row */
  }
}

/* Stage s: every participant's payload decoded and summed in the tree order. */
static int run_stage(trainer_t *t, train_exchange_t *x, stage_t *st, ledger_round_t *row) {
  comm_wire_t w;
  comm_wire(&x->ctx, st->s, &w);
  tree_t *tr = &x->tree[st->s];
  if (tr->n != w.sum_len) {
    if (tr->n) tree_free(tr);
    tree_init(tr, w.sum_len, x->K);
  }
  if (x->payload_cap < w.bytes + 1) {
    x->payload_cap = w.bytes + 1;
    x->payload = dpt_realloc(x->payload, x->payload_cap);
  }
  float *sum = dpt_alloc(sizeof(float) * (w.sum_len + 1));
  tree_reduce(tr, &t->dist, x->K, participant_leaf, st, sum, 1.0f);
  int rc = comm_agree(t->dist.comm, st->rc);
  if (rc == 0) {
    comm_stage_done(&x->ctx, st->s, sum, x->K);
    record_stage(t, &w, row);
  }
  dpt_free(sum);
  return rc;
}

int train_exchange_round(trainer_t *t, train_exchange_t *x, train_input_fn in, void *ctx,
                         float *out, const ledger_round_t *row) {
  ledger_round_t r = *row;
  r.participants = x->K;
  stage_t st = {x, 0, in, ctx, 0};
  int stages = comm_round_begin(&x->ctx);
  for (st.s = 0; st.s < stages; st.s++)
    if (run_stage(t, x, &st, &r) < 0) return dpt_wrap("%s", x->key);
  comm_finish(&x->ctx, x->K, out);
  for (int i = 0; i < x->nlocal; i++) comm_peer_finish(&x->ctx, &x->peers[i], out);
  comm_round_end(&x->ctx);
  return 0;
}
