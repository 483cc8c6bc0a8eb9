/* local.c - the local methods: K workers take local steps on their shards and are
 * averaged every H steps along the fixed tree over K (LocalSGD), the average going
 * through an outer step (SlowMo, DiLoCo's Nesterov; optim/outer.h); post-local SGD runs
 * its first epochs synchronously; dynamic H changes H between epochs. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "../data/shard.h"
#include "method.h"

static int64_t local_step_images(const trainer_t *t, int64_t s);
static int stream_init(trainer_t *t);
static void stream_free(trainer_t *t);

/* ---------------------------------------------------------------- set-up */

/* Shards and T, the steps of an epoch: the longest shard's batches. */
static int init_shards(trainer_t *t) {
  const dpt_config_t *cfg = t->cfg;
  int K = t->K, ncls = t->ds->num_classes;
  t->shard_offsets = dpt_alloc(sizeof(int64_t) * (K + 1));
  t->shard_idx = dpt_alloc(sizeof(int64_t) * t->ntrain);
  if (shard_build(&cfg->sharding, t->train_idx, t->ntrain, t->ds->train.labels, ncls, K,
                  cfg->seed, t->shard_offsets, t->shard_idx) < 0)
    return dpt_wrap("data.sharding");
  t->class_hist = dpt_alloc(sizeof(int64_t) * K * ncls);
  int64_t T = 0;
  for (int k = 0; k < K; k++) {
    for (int64_t j = t->shard_offsets[k]; j < t->shard_offsets[k + 1]; j++)
      t->class_hist[(int64_t)k * ncls + t->ds->train.labels[t->shard_idx[j]]]++;
    int64_t steps = train_ceil_div(t->shard_offsets[k + 1] - t->shard_offsets[k],
                                   cfg->worker_batch_size);
    if (steps > T) T = steps;
  }
  t->T = (int)T;
  return 0;
}

static int local_init(trainer_t *t) {
  const dpt_config_t *cfg = t->cfg;
  size_t np = t->model.nparams;
  if (t->K % t->nranks != 0)
    return dpt_fail("model.num_workers = %d workers cannot be spread over %d MPI ranks: the "
                    "number of ranks must divide K", t->K, t->nranks);
  if (init_shards(t) < 0) return -1;
  int64_t lo, hi;
  comm_node(&t->dist, t->K, &lo, &hi);
  t->first_worker = (int)lo;
  t->nlocal = (int)(hi - lo);
  t->workers = dpt_alloc(sizeof(worker_t) * (t->nlocal + 1));
  for (int i = 0; i < t->nlocal; i++) {
    worker_t *w = &t->workers[i];
    w->id = t->first_worker + i;
    w->params = dpt_alloc(sizeof(float) * np);
    memcpy(w->params, t->state.params, sizeof(float) * np);
    opt_state_init(&w->opt, np, cfg->work_optimizer);
    if (cfg->local_from_epoch > 0) w->grad = dpt_alloc(sizeof(float) * np);
    w->shard = t->shard_idx + t->shard_offsets[w->id];
    w->nshard = t->shard_offsets[w->id + 1] - t->shard_offsets[w->id];
    w->order = dpt_alloc(sizeof(int64_t) * (w->nshard + 1));
  }
  t->outer = (opt_outer_t){cfg->outer_type, cfg->outer_lr, cfg->outer_momentum};
  for (int i = 0; i < outer_def(t->outer.kind)->nstate; i++)
    t->state.outer_bufs[i] = dpt_alloc(sizeof(float) * np);
  /* one tree serves a worker batch's leaves and the K workers' averaging */
  int64_t leaves = train_ceil_div(cfg->worker_batch_size, t->leaf);
  t->tree_width = leaves > t->K ? leaves : t->K;
  t->item_cap = (int64_t)t->T * t->K * leaves;
  dynh_init(&t->dyn, &cfg->dynamic, cfg->local_steps);
  t->state.H = t->dyn.h; /* local_steps: every strategy starts from it, as in the seed */
  opt_hparams_for(&t->local_hp, &cfg->optim, cfg->work_optimizer);
  /* the K workers are the participants of both exchanges */
  if (cfg->local_from_epoch > 0 && train_exchange_init(t, TRAIN_X_GRAD, t->K) < 0) return -1;
  return stream_init(t);
}

static void local_free(trainer_t *t) {
  stream_free(t);
  for (int i = 0; i < TRAIN_NX; i++) train_exchange_free(&t->state.xch[i]);
  for (int i = 0; i < t->nlocal; i++) {
    dpt_free(t->workers[i].params);
    dpt_free(t->workers[i].order);
    dpt_free(t->workers[i].grad);
    opt_state_free(&t->workers[i].opt);
  }
  dpt_free(t->workers);
  dpt_free(t->shard_offsets);
  dpt_free(t->shard_idx);
  dpt_free(t->class_hist);
}

/* ---------------------------------------------------------------- the ledger */

/* Images worker k trains on at step s of an epoch (worker_step's walk): its shard in
 * passes of ceil(n/b) batches from the epoch's start, the last batch of a pass short. */
static int64_t worker_images(const trainer_t *t, int k, int64_t s) {
  int64_t b = t->cfg->worker_batch_size, n = t->shard_offsets[k + 1] - t->shard_offsets[k];
  if (n == 0) return 0;
  int64_t left = n - s % train_ceil_div(n, b) * b;
  return left < b ? left : b;
}

/* The row of a round at step s of the epoch, the previous one after step `prev` (-1:
 * the epoch's start): the images of all K workers in between, computed from the shard
 * sizes, so every rank records the same row without communicating; a dense payload of
 * `floats` floats. */
static ledger_round_t round_row(const trainer_t *t, ledger_kind_t kind, int64_t floats,
                                int64_t prev, int64_t s) {
  int64_t images = 0;
  for (int64_t j = prev + 1; j <= s; j++)
    for (int k = 0; k < t->K; k++) images += worker_images(t, k, j);
  const train_state_t *st = &t->state;
  return (ledger_round_t){.step = (int64_t)st->epoch * t->T + s + 1, .epoch = st->epoch + 1,
                          .kind = kind, .collective = LEDGER_ALLREDUCE, .participants = t->K,
                          .floats = floats, .bytes = train_payload_bytes(floats),
                          .images = images};
}

/* ---------------------------------------------------------------- averaging */

static void start_pass(const trainer_t *t, worker_t *w) {
  memcpy(w->order, w->shard, sizeof(int64_t) * w->nshard);
  uint64_t round = (uint64_t)t->state.epoch * PASS_STRIDE + (uint64_t)w->pass;
  rng_shuffle(w->order, w->nshard, rng_key(t->cfg->seed, RNG_SHUFFLE, 1 + (uint64_t)w->id, round));
  w->pos = 0;
}

/* The whole optimizer state: every buffer its row declares, and the step count. */
static void reset_momentum(trainer_t *t) {
  for (int i = 0; i < t->nlocal; i++) opt_state_zero(&t->workers[i].opt);
}

/* What a worker leaf of the averaging tree gives: its parameters, its gradient, or
 * state buffer i of its optimizer (PART_STATE + i). */
typedef enum { PART_PARAMS, PART_GRAD, PART_STATE } worker_part_t;

static float *worker_part(worker_t *w, int what) {
  if (what >= PART_STATE) return w->opt.buf[what - PART_STATE];
  return what == PART_GRAD ? w->grad : w->params;
}

/* The context of worker_leaf: which part of the workers a tree over them sums, over
 * which range [lo, lo + n) of the flat buffer. */
typedef struct {
  trainer_t *t;
  int what;                    /* a worker_part_t, PART_STATE + i for buffer i */
  size_t lo, n;
} worker_sum_t;

/* tree leaves over workers: a part of worker id */
static void worker_leaf(void *ctx, int64_t id, float *out) {
  const worker_sum_t *ws = ctx;
  worker_t *w = &ws->t->workers[id - ws->t->first_worker];
  memcpy(out, worker_part(w, ws->what) + ws->lo, sizeof(float) * ws->n);
}

/* sum over all K workers of the range the tree's length says, in tree order, divided by
 * K, into out (every rank) */
static void range_mean(trainer_t *t, tree_t *tr, int what, size_t lo, float *out) {
  worker_sum_t ws = {t, what, lo, tr->n};
  tree_reduce(tr, &t->dist, t->K, worker_leaf, &ws, out, 1.0f);
  const float k = (float)t->K;
  for (size_t i = 0; i < tr->n; i++) out[i] /= k;
}

static void worker_mean(trainer_t *t, int what, float *out) {
  range_mean(t, &t->tree, what, 0, out);
}

/* Deviation strategy: mean_k |x_k - xa|^2 / |xa|^2 at this averaging, summed per worker
 * in double and collected in worker order, so it is the same on every P. */
static void measure_deviation(trainer_t *t, const float *xa) {
  double *dev = dpt_alloc(sizeof(double) * t->K), norm = 0;
  for (int i = 0; i < t->nlocal; i++) {
    const float *x = t->workers[i].params;
    double d = 0;
    for (size_t j = 0; j < t->model.ngrad; j++) d += ((double)x[j] - xa[j]) * ((double)x[j] - xa[j]);
    dev[t->workers[i].id] = d;
  }
  comm_collect_f64(&t->dist, dev, (size_t)t->K);
  for (size_t j = 0; j < t->model.ngrad; j++) norm += (double)xa[j] * xa[j];
  double mean = 0;
  for (int k = 0; k < t->K; k++) mean += dev[k];
  dpt_free(dev);
  t->state.deviation_sum += norm > 0 ? mean / t->K / norm : 0;
  t->state.deviation_count++;
}

/* Every worker's state part `what` becomes the workers' mean over fragment f. */
static void average_part(trainer_t *t, int f, int what) {
  size_t lo = t->stream.lo[f];
  float *mean = t->scratch.grads;
  range_mean(t, &t->stream.tree[f], what, lo, mean);
  for (int i = 0; i < t->nlocal; i++)
    memcpy(worker_part(&t->workers[i], what) + lo, mean, sizeof(float) * t->stream.tree[f].n);
}

/* Batch norm's running statistics (the model state past ngrad) become the workers' mean
 * (the averaging of post-local SGD's synchronous steps: the gradient mean leaves them). */
static void average_model_state(trainer_t *t) {
  size_t ng = t->model.ngrad, np = t->model.nparams;
  if (ng == np) return;
  float *mean = t->scratch.grads;
  worker_mean(t, PART_PARAMS, mean);
  for (int i = 0; i < t->nlocal; i++)
    memcpy(t->workers[i].params + ng, mean + ng, sizeof(float) * (np - ng));
}

/* ---------------------------------------------------------------- fragments */

/* Fragment f's model.outer.compress exchange. */
static train_exchange_t *frag_exchange(trainer_t *t, int f) {
  return f == 0 ? &t->state.xch[TRAIN_X_OUTER] : &t->state.frag_xch[f - 1];
}

/* Fragment f's outer steps since its buffers were last zeroed. */
static int64_t *frag_steps(trainer_t *t, int f) {
  return f == 0 ? &t->state.outer_steps : &t->state.frag_steps[f - 1];
}

/* train_input_fn of model.outer.compress: worker k's pseudo-gradient x0 - x_k over
 * fragment f */
typedef struct {
  const trainer_t *t;
  size_t lo, n;
} delta_t;

static void delta_input(void *ctx, int64_t k, float *x) {
  const delta_t *d = ctx;
  const float *x0 = d->t->state.params + d->lo;
  const float *xk = d->t->workers[k - d->t->first_worker].params + d->lo;
  for (size_t i = 0; i < d->n; i++) x[i] = x0[i] - xk[i];
}

/* The workers' mean over fragment f into xa: dense (model.outer.compress: none, today's
 * average, its ledger row left to the caller), or x0 minus the compressed mean
 * pseudo-gradient, its rows recorded from `row`. */
static int average_params(trainer_t *t, int f, float *xa, ledger_round_t *row) {
  train_exchange_t *x = frag_exchange(t, f);
  size_t lo = t->stream.lo[f], n = t->stream.lo[f + 1] - lo;
  if (!x->on) {
    range_mean(t, &t->stream.tree[f], PART_PARAMS, lo, xa);
    return 0;
  }
  delta_t d = {t, lo, n};
  if (train_exchange_round(t, x, delta_input, &d, xa, row) < 0) return -1;
  const float *x0 = t->state.params + lo;
  for (size_t i = 0; i < n; i++) xa[i] = x0[i] - xa[i];
  row->images = 0; /* the momentum's row, if any, follows the parameters' */
  return 0;
}

/* Fragment f sends after step s: the workers' mean of its parameters into
 * state.pending, and its ledger rows: at step s, its overlap the images of the `tau`
 * steps its communication runs behind, its images since the previous row (`prev`). */
static int fragment_send(trainer_t *t, int f, int64_t s, int tau, int64_t prev) {
  train_state_t *st = &t->state;
  size_t lo = t->stream.lo[f], n = t->stream.lo[f + 1] - lo;
  int64_t floats = frag_exchange(t, f)->on ? 0 : (int64_t)n;
  ledger_round_t row = round_row(t, opt_outer_is_plain(&t->outer) ? LEDGER_AVERAGE : LEDGER_OUTER,
                                 0, prev, s);
  for (int64_t j = s + 1; j <= s + tau; j++) row.overlap += local_step_images(t, j);
  if (average_params(t, f, st->pending + lo, &row) < 0) return -1;
  if (t->cfg->local_momentum == LOCAL_MOMENTUM_AVERAGE) /* averaged when it lands */
    floats += (int64_t)n * opt_def(t->local_hp.kind)->nstate;
  if (floats) { /* the dense part: the parameters (uncompressed) and averaged state */
    row.floats = floats;
    row.bytes = train_payload_bytes(floats);
    train_round(t, &row);
  }
  return 0;
}

/* A worker's fragment [lo, hi) once the outer step landed in x0: replaced, or with
 * model.outer.mix alpha > 0 alpha x_k + (1 - alpha) x0 over its trained floats. */
static void worker_land(const trainer_t *t, float *xk, size_t lo, size_t hi) {
  const float *x0 = t->state.params;
  size_t tr = hi < t->model.ngrad ? hi : t->model.ngrad;
  if (t->stream.alpha == 0 || tr <= lo) {
    memcpy(xk + lo, x0 + lo, sizeof(float) * (hi - lo));
    return;
  }
  const float a = (float)t->stream.alpha, b = (float)(1.0 - t->stream.alpha);
  for (size_t i = lo; i < tr; i++) xk[i] = a * xk[i] + b * x0[i];
  memcpy(xk + tr, x0 + tr, sizeof(float) * (hi - tr));
}

/* Fragment f's outer step lands: from its averaged parameters in state.pending, over
 * its trained floats; its model state (batch norm's running statistics) takes the plain
 * average, whatever the outer step; the workers take the result (worker_land) and their
 * optimizer state per model.work.momentum. */
static void fragment_land(trainer_t *t, int f, double lr) {
  train_state_t *s = &t->state;
  size_t lo = t->stream.lo[f], hi = t->stream.lo[f + 1], ng = t->model.ngrad;
  size_t tr = hi < ng ? hi : ng, from = lo > ng ? lo : ng;
  const float *xa = s->pending;
  if (t->stream.F == 1 && dynh_def(t->dyn.p.kind)->needs_deviation) measure_deviation(t, xa);
  if (tr > lo) {
    float *bufs[OUTER_MAX_STATE] = {NULL};
    for (int b = 0; b < outer_def(t->outer.kind)->nstate; b++) bufs[b] = s->outer_bufs[b] + lo;
    opt_outer_step_bufs(&t->outer, tr - lo, s->params + lo, xa + lo, bufs, frag_steps(t, f), lr);
  }
  if (hi > from) memcpy(s->params + from, xa + from, sizeof(float) * (hi - from));
  for (int i = 0; i < t->nlocal; i++) worker_land(t, t->workers[i].params, lo, hi);
  if (t->cfg->local_momentum == LOCAL_MOMENTUM_AVERAGE) {
    for (int b = 0; b < opt_def(t->local_hp.kind)->nstate; b++) average_part(t, f, PART_STATE + b);
  } else if (t->cfg->local_momentum == LOCAL_MOMENTUM_RESET) {
    reset_momentum(t); /* F = 1 only (config.c) */
  }
  s->averagings_total++;
  s->epoch_averagings++;
}

/* After step s of a local epoch: the fragments that send (in fragment order; the first
 * row at s takes the images since the previous one), then those whose outer step lands
 * (in fragment order). F = 1, tau = 0: DiLoCo's averaging every H steps and at the
 * epoch's end. Collective; -1 (on every rank) when model.outer.compress refused a
 * worker's values. */
static int stream_step(trainer_t *t, int64_t s, double lr) {
  const train_stream_t *st = &t->stream;
  int H = t->state.H, T = t->T;
  int64_t prev = -2;
  for (int f = 0; f < st->F; f++) {
    int tau = train_stream_sends(st, H, T, f, s);
    if (tau < 0) continue;
    if (prev == -2) prev = train_stream_prev(st, H, T, s);
    if (fragment_send(t, f, s, tau, prev) < 0) return -1;
    prev = s; /* a later fragment's row at s: no images of its own */
  }
  for (int f = 0; f < st->F; f++)
    if (train_stream_lands(st, H, T, f, s)) fragment_land(t, f, lr);
  return 0;
}

int trainer_average(trainer_t *t, double lr) {
  train_state_t *s = &t->state;
  /* this round at step s->step; H steps make a round, the epoch's last step ends one */
  int64_t prev = s->step / s->H * s->H - 1;
  for (int f = 0; f < t->stream.F; f++, prev = s->step)
    if (fragment_send(t, f, s->step, 0, prev) < 0) return -1;
  for (int f = 0; f < t->stream.F; f++) fragment_land(t, f, lr);
  return 0;
}

/* The fragments (train_stream_cut), a tree over each, the pending parameters and, with
 * more than one fragment, each fragment's own outer steps and exchange over its tensors
 * (random streams keyed by the fragment). */
static int stream_init(trainer_t *t) {
  const dpt_config_t *cfg = t->cfg;
  train_stream_t *st = &t->stream;
  train_state_t *s = &t->state;
  const nn_model_t *m = &t->model;
  *st = (train_stream_t){cfg->outer_fragments, cfg->outer_delay, cfg->outer_mix, NULL, NULL};
  st->lo = dpt_alloc(sizeof(size_t) * (size_t)(st->F + 1));
  if (train_stream_cut(m, st->F, st->lo) < 0) return -1;
  st->tree = dpt_alloc(sizeof(tree_t) * (size_t)st->F);
  for (int f = 0; f < st->F; f++) tree_init(&st->tree[f], st->lo[f + 1] - st->lo[f], t->K);
  s->pending = dpt_alloc(sizeof(float) * m->nparams);
  if (st->F == 1) return train_exchange_init(t, TRAIN_X_OUTER, t->K);
  s->frag_steps = dpt_alloc(sizeof(int64_t) * (size_t)(st->F - 1));
  s->frag_xch = dpt_alloc(sizeof(train_exchange_t) * (size_t)(st->F - 1));
  nn_tensor_t *ts = dpt_alloc(sizeof(nn_tensor_t) * (size_t)m->ntensors);
  int rc = 0;
  for (int f = 0; f < st->F && rc == 0; f++) {
    int n = 0;
    for (int i = 0; i < m->ntensors; i++)
      if (m->tensors[i].offset >= st->lo[f] && m->tensors[i].offset < st->lo[f + 1]) {
        ts[n] = m->tensors[i];
        ts[n++].offset -= st->lo[f];
      }
    rc = train_exchange_init_part(t, frag_exchange(t, f), TRAIN_X_OUTER, t->K, ts, n,
                                  st->lo[f + 1] - st->lo[f], (uint64_t)f);
  }
  dpt_free(ts);
  return rc < 0 ? dpt_wrap("model.outer.fragments = %d", st->F) : 0;
}

static void stream_free(trainer_t *t) {
  train_stream_t *st = &t->stream;
  for (int f = 1; f < st->F && t->state.frag_xch; f++) train_exchange_free(frag_exchange(t, f));
  for (int f = 0; f < st->F && st->tree; f++) tree_free(&st->tree[f]);
  dpt_free(st->tree);
  dpt_free(st->lo);
  dpt_free(t->state.pending);
  dpt_free(t->state.frag_steps);
  dpt_free(t->state.frag_xch);
}

/* ---------------------------------------------------------------- the epoch */

/* Epoch-start resets, skipped when resuming in the middle of an epoch. */
static void local_epoch_start(trainer_t *t) {
  train_state_t *s = &t->state;
  /* the seed re-created its local optimizers at every epoch start, and with them SlowMo's
   * slow buffer: model.slowmo.reset_each_epoch is that whole reset */
  if (t->cfg->local_momentum == LOCAL_MOMENTUM_RESET_EPOCH || t->cfg->slowmo_reset_each_epoch)
    reset_momentum(t);
  if (t->cfg->slowmo_reset_each_epoch) {
    for (int b = 0; b < outer_def(t->outer.kind)->nstate; b++)
      memset(s->outer_bufs[b], 0, sizeof(float) * t->model.nparams);
    s->outer_steps = 0;
    for (int f = 1; f < t->stream.F; f++) s->frag_steps[f - 1] = 0;
  }
  s->deviation_sum = 0;
  s->deviation_count = 0;
  s->epoch_averagings = 0;
  for (int i = 0; i < t->nlocal; i++) {
    t->workers[i].pass = 0;
    t->workers[i].pos = 0;
  }
}

/* Post-local SGD: the current epoch is synchronous (before model.work.local_from_epoch). */
static int sync_epoch(const trainer_t *t) {
  return t->state.epoch < t->cfg->local_from_epoch;
}

/* train_input_fn of comm.compress in post-local SGD: worker k's batch gradient */
static void worker_grad(void *ctx, int64_t k, float *x) {
  const trainer_t *t = ctx;
  memcpy(x, t->workers[k - t->first_worker].grad, sizeof(float) * t->model.nparams);
}

/* A synchronous step: the mean of the K workers' gradients in tree order (compressed by
 * comm.compress, the K workers its participants), then the same optimizer step on every
 * worker (their parameters and states are equal), as PyTorch's post_localSGD_hook does
 * before the switch. One communication round. */
static int sync_step(trainer_t *t, double lr) {
  float *g = t->scratch.grads;
  train_exchange_t *x = &t->state.xch[TRAIN_X_GRAD];
  ledger_round_t row = round_row(t, LEDGER_GRADIENT, (int64_t)t->model.nparams,
                                 t->state.step - 1, t->state.step);
  if (!x->on) {
    worker_mean(t, PART_GRAD, g);
    train_round(t, &row);
  } else if (train_exchange_round(t, x, worker_grad, t, g, &row) < 0) {
    return -1;
  }
  for (int i = 0; i < t->nlocal; i++) {
    worker_t *w = &t->workers[i];
    if (opt_step(&t->local_hp, &t->model, w->params, g, &w->opt, lr) < 0) return -1;
  }
  average_model_state(t);
  memcpy(t->state.params, t->workers[0].params, sizeof(float) * t->model.nparams);
  t->state.averagings_total++;
  t->state.epoch_averagings++;
  return 0;
}

/* Worker w's batch of step s: its gradient (into w->grad when synchronous, else a
 * local optimizer step), its leaves' losses into the epoch's items. */
static int worker_step(trainer_t *t, worker_t *w, int64_t s, double lr, int sync) {
  train_state_t *st = &t->state;
  int64_t b = t->cfg->worker_batch_size, stride = train_ceil_div(b, t->leaf);
  if (w->pos >= w->nshard) { /* out of data: the shard again, reshuffled */
    w->pass++;
    start_pass(t, w);
  }
  int64_t nb = w->nshard - w->pos < b ? w->nshard - w->pos : b;
  train_batch_t batch = {t, w->params, w->order + w->pos, nb,
                         (uint64_t)st->epoch * PASS_STRIDE + (uint64_t)w->pass};
  float *g = sync ? w->grad : t->scratch.grads;
  tree_sum(&t->tree, 0, train_ceil_div(nb, t->leaf), train_batch_leaf, &batch, g);
  w->pos += nb;
  train_scale(g, t->model.nparams, train_mean_factor(nb));
  if (!sync && opt_step(&t->local_hp, &t->model, w->params, g, &w->opt, lr) < 0) return -1;
  train_bn_apply(t, w->params, train_ceil_div(nb, t->leaf));
  /* per leaf, like the centralized mode, so K = 1 sums its loss the same way */
  int64_t base = (s * t->K + w->id) * stride;
  for (int64_t l = 0; l < train_ceil_div(nb, t->leaf); l++) {
    st->item_loss[base + l] = t->scratch.leaf_loss[l];
    st->item_correct[base + l] = t->scratch.leaf_correct[l];
  }
  return 0;
}

/* The communication rounds step s of the current epoch ends with: one every step of a
 * synchronous epoch, else the fragments whose outer step lands after it (F = 1: one
 * averaging after every H steps and at the epoch's end). */
static int local_round_after(const trainer_t *t, int64_t s) {
  if (sync_epoch(t)) return 1;
  int n = 0;
  for (int f = 0; f < t->stream.F; f++)
    n += train_stream_lands(&t->stream, t->state.H, t->T, f, s);
  return n;
}

static train_result_t local_epoch(trainer_t *t, int64_t *items) {
  train_state_t *s = &t->state;
  int64_t T = t->T;
  int sync = sync_epoch(t);
  if (s->step == 0) local_epoch_start(t);
  train_round_mark(t);
  /* a pass's order is a function of (seed, worker, epoch, pass): rebuilt, not stored */
  for (int i = 0; i < t->nlocal; i++) {
    int64_t pos = t->workers[i].pos;
    start_pass(t, &t->workers[i]);
    t->workers[i].pos = pos;
  }
  *items = T * t->K * train_ceil_div(t->cfg->worker_batch_size, t->leaf);
  while (s->step < T) {
    int64_t step = s->step;
    double lr = train_lr(t, s->epoch, step);
    for (int i = 0; i < t->nlocal; i++)
      if (worker_step(t, &t->workers[i], step, lr, sync) < 0) return TRAIN_FAILED;
    if (sync) {
      if (sync_step(t, lr) < 0) return TRAIN_FAILED;
    } else if (stream_step(t, step, lr) < 0) {
      return TRAIN_FAILED;
    }
    s->step++;
    train_step_done(t);
    if (s->step < T && train_stop_now(t)) return TRAIN_STOPPED;
  }
  return TRAIN_FINISHED;
}

/* Images all workers train on in an epoch of T steps: a worker that runs out of data
 * starts its shard again, so this can exceed the training split. */
static int64_t local_images(const trainer_t *t) {
  int64_t b = t->cfg->worker_batch_size, total = 0;
  for (int k = 0; k < t->K; k++) {
    int64_t n = t->shard_offsets[k + 1] - t->shard_offsets[k], per_pass = train_ceil_div(n, b);
    total += t->T / per_pass * n + t->T % per_pass * b;
  }
  return total;
}

static int64_t local_steps(const trainer_t *t) { return t->T; }

/* Step s of an epoch: each worker's batch is the next b images of its pass, the last
 * batch of a pass what is left (a pass of n images takes ceil(n / b) steps). */
static int64_t local_step_images(const trainer_t *t, int64_t s) {
  int64_t b = t->cfg->worker_batch_size, total = 0;
  for (int k = 0; k < t->K; k++) {
    int64_t n = t->shard_offsets[k + 1] - t->shard_offsets[k], per_pass = train_ceil_div(n, b);
    if (n == 0) continue;
    int64_t j = s % per_pass;
    total += j == per_pass - 1 ? n - j * b : b;
  }
  return total;
}

static int64_t local_rounds(const trainer_t *t) { return t->state.averagings_total; }

/* The H a local epoch runs with state.H: at most T, the steps of an epoch. */
static int h_ran(const trainer_t *t) { return t->state.H < t->T ? t->state.H : t->T; }

/* A synchronous epoch averages every step; an H beyond the epoch's T steps ran as T (one
 * averaging, at the end). */
static int local_h(const trainer_t *t) {
  return sync_epoch(t) ? 1 : h_ran(t);
}
static int64_t local_averagings(const trainer_t *t) { return t->state.epoch_averagings; }

/* H changes once per epoch, after validation, for the next epoch. A feedback strategy
 * starts with the local steps: through post-local SGD's synchronous epochs H stays
 * model.work.local_steps, which the first local epoch runs. */
static void next_h(trainer_t *t) {
  train_state_t *s = &t->state;
  const run_metrics_t *m = &s->metrics;
  if (!dynh_is_schedule(t->dyn.p.kind) && s->epoch - 1 < t->cfg->local_from_epoch) return;
  double dev = s->deviation_count ? s->deviation_sum / (double)s->deviation_count : NAN;
  s->H = dynh_next(&t->dyn, s->epoch - 1, t->cfg->epochs, t->T, m->val_loss, m->val_acc,
                   (int)m->n, dev);
}

/* H, averagings; a capped H and an H about to change are said. m->h is the H that ran;
 * state.H the next epoch's, which runs as at most T steps. */
static void local_progress(const trainer_t *t, int64_t i, char *buf, size_t cap) {
  const train_state_t *s = &t->state;
  const run_metrics_t *m = &s->metrics;
  char capped[64] = "";
  if (m->h[i] == t->T && s->H > t->T)
    snprintf(capped, sizeof capped, " (H %d > the epoch's %d steps)", s->H, t->T);
  snprintf(buf, cap, "  H %lld%s avg %lld (total %lld)%s", (long long)m->h[i], capped,
           (long long)m->averagings[i], (long long)s->averagings_total,
           h_ran(t) != m->h[i] && !sync_epoch(t) ? "  next H changes" : "");
}

static int64_t local_batch(const trainer_t *t) { return t->cfg->worker_batch_size; }

const train_method_t train_local = {
    .name = "local",
    .init = local_init,
    .free = local_free,
    .batch = local_batch,
    .epoch = local_epoch,
    .images = local_images,
    .h = local_h,
    .averagings = local_averagings,
    .steps = local_steps,
    .step_images = local_step_images,
    .rounds = local_rounds,
    .round_after = local_round_after,
    .after_epoch = next_h,
    .progress = local_progress,
    .ckpt_put = ckpt_put_workers,
    .ckpt_get = ckpt_get_workers,
};
