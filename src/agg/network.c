/* network.c - the network model, its presets and files, the alpha-beta cost of the
 * collectives, and the replay of a run's ledger (see network.h). */
#include "network.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../config/config_keys.h"
#include "../core/err.h"
#include "../core/ydoc.h"

const char *const net_algo_names[] = {"ring", "recursive_doubling", "rabenseifner",
                                      "hierarchical", "auto"};
const char *const net_overlap_names[] = {"none", "backward"};

#define US 1e-6
#define GBPS (1e9 / 8) /* bytes per second of 1 Gbit/s */

/* Sources of each figure: docs/dpt-aggregate.md, "Network presets". Inside a node (not
 * used by the presets, one participant per node): 1 us, 100 Gbit/s. */
#define PRESET(name, lat_us, gbps)                                                    \
  {name, (lat_us) * US, (gbps) * GBPS, 1 * US, 100 * GBPS, 1, 4, NET_RING,            \
   NET_OVERLAP_NONE, 0}
const net_model_t net_presets[] = {
    PRESET("1gbe", 30, 1),   PRESET("10gbe", 15, 10), PRESET("25gbe", 10, 25),
    PRESET("ib100", 1, 100), PRESET("wan", 50000, 1), {.name = ""}};
#undef PRESET

/* ---------------------------------------------------------------- collectives */

/* One step of an algorithm: every participant exchanges `bytes` with the one `dist`
 * places away. Participants sit per_node to a node in order, so the partner is on the
 * same node when dist < per_node (or when all fit on one node); between nodes, the
 * participants of a node all cross at once and share its link. */
static double step_time(const net_model_t *m, int64_t n, int64_t dist, double bytes) {
  int64_t p = m->per_node < 1 ? 1 : m->per_node;
  if (n <= p || dist < p) return m->intra_latency_s + bytes / m->intra_bandwidth_Bps;
  int64_t flows = p < n ? p : n;
  return m->latency_s + bytes * (double)flows / m->bandwidth_Bps;
}

static int64_t floor_pow2(int64_t n) {
  int64_t p = 1;
  while (p <= n / 2) p *= 2;
  return p;
}

/* Ring: 2(n-1) steps of nbytes/n for an allreduce (reduce-scatter then allgather),
 * n-1 steps of nbytes for an allgather; neighbours, so one flow per node link, and the
 * slowest link (between nodes, when there are several) sets every step's time. */
static net_cost_t ring(const net_model_t *m, ledger_collective_t c, int64_t n, double nbytes) {
  double steps = c == LEDGER_ALLREDUCE ? 2.0 * (double)(n - 1) : (double)(n - 1);
  double chunk = c == LEDGER_ALLREDUCE ? nbytes / (double)n : nbytes;
  int64_t p = m->per_node < 1 ? 1 : m->per_node;
  double one = n <= p ? m->intra_latency_s + chunk / m->intra_bandwidth_Bps
                      : m->latency_s + chunk / m->bandwidth_Bps;
  return (net_cost_t){steps * one, steps * chunk, 0, NET_RING};
}

/* Adds one step to a cost. */
static void add_step(net_cost_t *k, const net_model_t *m, int64_t n, int64_t dist,
                     double bytes) {
  k->seconds += step_time(m, n, dist, bytes);
  k->sent += bytes;
}

/* Recursive doubling (allreduce) or Rabenseifner (reduce-scatter by recursive halving,
 * allgather by recursive doubling) on the largest power of two q <= n; the n - q others
 * first fold their data into a neighbour and get the result back after (two steps of
 * nbytes), as MPICH does. */
static net_cost_t hypercube(const net_model_t *m, int64_t n, double nbytes, net_algo_t a) {
  net_cost_t k = {0, 0, 0, a};
  int64_t q = floor_pow2(n);
  if (q < n) add_step(&k, m, n, 1, nbytes);
  for (int64_t d = q / 2; d >= 1; d /= 2) /* halving: the far half first, nbytes/2 ... */
    add_step(&k, m, n, a == NET_RABENSEIFNER ? d : q / 2 / d,
             a == NET_RABENSEIFNER ? nbytes * (double)d / (double)q : nbytes);
  if (a == NET_RABENSEIFNER)
    for (int64_t d = 1; d < q; d *= 2) add_step(&k, m, n, d, nbytes * (double)d / (double)q);
  if (q < n) add_step(&k, m, n, 1, nbytes);
  return k;
}

/* Inside each node of p a binomial reduce to one participant, a ring allreduce among the
 * M = ceil(n / p) nodes (one flow per node link), and a binomial broadcast back. */
static net_cost_t hierarchical(const net_model_t *m, int64_t n, double nbytes) {
  net_cost_t k = {0, 0, 0, NET_HIERARCHICAL};
  int64_t p = m->per_node < 1 ? 1 : m->per_node < n ? m->per_node : n;
  int64_t nodes = (n + p - 1) / p;
  for (int64_t d = 1; d < p; d *= 2) add_step(&k, m, n, d, nbytes);
  double steps = 2.0 * (double)(nodes - 1), chunk = nbytes / (double)nodes;
  k.seconds += steps * (m->latency_s + chunk / m->bandwidth_Bps);
  k.sent += steps * chunk;
  for (int64_t d = 1; d < p; d *= 2) add_step(&k, m, n, d, nbytes);
  return k;
}

/* Allgather without a ring (Bruck's algorithm, any n): step k sends min(2^k, n - 2^k)
 * blocks to the participant 2^k away. Broadcast: a binomial tree, ceil(log2 n) steps of
 * nbytes. */
static net_cost_t log_steps(const net_model_t *m, ledger_collective_t c, int64_t n,
                            double nbytes, net_algo_t a) {
  net_cost_t k = {0, 0, 0, a};
  for (int64_t d = 1; d < n; d = d <= INT64_MAX / 2 ? 2 * d : n) {
    double blocks = c == LEDGER_BROADCAST ? 1 : (double)(d < n - d ? d : n - d);
    add_step(&k, m, n, d, blocks * nbytes);
  }
  return k;
}

static net_cost_t one_algo(const net_model_t *m, ledger_collective_t c, int64_t n,
                           double nbytes, net_algo_t a) {
  if (c == LEDGER_BROADCAST || (c == LEDGER_ALLGATHER && a != NET_RING))
    return log_steps(m, c, n, nbytes, a);
  if (a == NET_RING) return ring(m, c, n, nbytes);
  if (a == NET_HIERARCHICAL) return hierarchical(m, n, nbytes);
  return hypercube(m, n, nbytes, a);
}

net_cost_t net_collective(const net_model_t *m, ledger_collective_t c, int64_t n,
                          double nbytes) {
  net_cost_t k = {0, 0, 0, m->algo == NET_AUTO ? NET_RING : m->algo};
  if (n < 2) return k;
  if (m->algo != NET_AUTO) {
    k = one_algo(m, c, n, nbytes, m->algo);
  } else {
    k = one_algo(m, c, n, nbytes, NET_RING);
    for (int a = NET_RECURSIVE_DOUBLING; a < NET_AUTO; a++) {
      net_cost_t o = one_algo(m, c, n, nbytes, (net_algo_t)a);
      if (o.seconds < k.seconds) k = o;
    }
  }
  double dn = (double)n;
  k.bound = c == LEDGER_ALLREDUCE   ? 2 * (dn - 1) / dn * nbytes
            : c == LEDGER_ALLGATHER ? (dn - 1) * nbytes
                                    : (dn - 1) / dn * nbytes;
  return k;
}

/* ---------------------------------------------------------------- replay */

/* Seconds one participant of n computes `images` images (all participants together) at
 * round i's speed: round i's own images, or the ones its communication overlaps. A
 * measured run's seconds are round i's, in proportion when the images are others. */
static int round_compute(const net_model_t *m, const ledger_t *l, int64_t i, int64_t n,
                         const net_speed_t *sp, int measured, int64_t images, double *s) {
  double per = (double)images / (double)n;
  if (sp->compute > 0) return *s = per / sp->compute, 0;
  if (m->device_flops > 0) return *s = per * sp->flops_per_image / m->device_flops, 0;
  double own = l->compute_s[i] * (double)sp->ranks / (double)n;
  if (measured && images == l->images[i]) return *s = own, 0;
  if (measured && l->images[i] > 0) return *s = own * (double)images / (double)l->images[i], 0;
  int64_t e = l->epoch[i];
  double rate = sp->images_per_s && e >= 1 && e <= sp->nepochs
                    ? sp->images_per_s[e - 1] / (double)sp->ranks : 0;
  if (!(rate > 0) || !isfinite(rate))
    return dpt_fail("round %lld (epoch %lld): no measured speed (images/s) for its epoch; "
                    "give --compute IMG_PER_S", (long long)i, (long long)e);
  *s = per / rate;
  return 0;
}

/* Each epoch's last round, into out->epoch_end. */
static int epoch_ends(const ledger_t *l, net_replay_t *out) {
  for (int64_t i = 0; i < l->n; i++) {
    if (l->epoch[i] < 1 || l->epoch[i] > CFG_MAX_EPOCHS)
      return dpt_fail("round %lld: epoch %lld, expected 1 .. %d", (long long)i,
                      (long long)l->epoch[i], CFG_MAX_EPOCHS);
    if (l->epoch[i] > out->nend) out->nend = l->epoch[i];
  }
  out->epoch_end = dpt_alloc(sizeof(int64_t) * (size_t)(out->nend ? out->nend : 1));
  for (int64_t e = 0; e < out->nend; e++) out->epoch_end[e] = -1;
  for (int64_t i = 0; i < l->n; i++) out->epoch_end[l->epoch[i] - 1] = i;
  return 0;
}

int net_replay(const net_model_t *m, const ledger_t *l, const net_speed_t *sp,
               net_replay_t *out) {
  memset(out, 0, sizeof *out);
  out->replicas = m->replicas;
  out->n = l->n;
  out->time = dpt_alloc(sizeof(double) * (size_t)(l->n ? l->n : 1));
  out->sent = dpt_alloc(sizeof(double) * (size_t)(l->n ? l->n : 1));
  int measured = 0;
  for (int64_t i = 0; i < l->n && !measured; i++) measured = l->compute_s[i] > 0;
  if (sp->ranks < 1) return net_replay_free(out), dpt_fail("the run's rank count is unknown");
  if (m->device_flops > 0 && !(sp->compute > 0) && !(sp->flops_per_image > 0))
    return net_replay_free(out), dpt_fail("device_gflops needs the model's FLOPs per image");
  if (epoch_ends(l, out) < 0) return net_replay_free(out), -1;
  double t = 0, sent = 0, behind = 0; /* behind: overlapped compute left to hide under */
  for (int64_t i = 0; i < l->n; i++) {
    int64_t n = l->participants[i] ? l->participants[i] : m->replicas;
    double comp = 0;
    if (n < 1) return net_replay_free(out), dpt_fail("round %lld: no participants", (long long)i);
    if (round_compute(m, l, i, n, sp, measured, l->images[i], &comp) < 0)
      return net_replay_free(out), -1;
    net_cost_t k = net_collective(m, (ledger_collective_t)l->collective[i], n,
                                  (double)l->bytes[i]);
    double hidden = 0;
    if (m->overlap == NET_OVERLAP_BACKWARD && l->kind[i] == LEDGER_GRADIENT)
      hidden = fmin(k.seconds, NET_BACKWARD_SHARE * comp);
    /* a round in flight while `overlap` images train (Streaming DiLoCo's delay) costs
     * max(0, comm - their compute); the rows of one round (its parts) share it */
    if (l->overlap[i] > 0 && (i == 0 || l->step[i] != l->step[i - 1] || !l->overlap[i - 1]) &&
        round_compute(m, l, i, n, sp, measured, l->overlap[i], &behind) < 0)
      return net_replay_free(out), -1;
    if (l->overlap[i] > 0) {
      hidden = fmin(k.seconds, behind);
      behind -= hidden;
    }
    t += comp + k.seconds - hidden;
    out->comm_time += k.seconds - hidden;
    sent += k.sent;
    out->bound += k.bound;
    out->time[i] = t;
    out->sent[i] = sent;
  }
  return 0;
}

void net_replay_free(net_replay_t *r) {
  dpt_free(r->time);
  dpt_free(r->sent);
  dpt_free(r->epoch_end);
  memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- time to target */

int64_t net_epoch_last_round(const net_replay_t *rp, int64_t e) {
  return e >= 1 && e <= rp->nend ? rp->epoch_end[e - 1] : -1;
}

int64_t net_round_reaching(const net_replay_t *rp, const double *epoch, const double *val_acc,
                           int64_t nepochs, double target) {
  int64_t r0 = -1;   /* the previous epoch end's round, -1: none yet */
  double a0 = NAN;
  for (int64_t i = 0; i < nepochs; i++) {
    int64_t r1 = net_epoch_last_round(rp, (int64_t)epoch[i]);
    double a1 = val_acc[i];
    if (r1 < 0 || !(a1 == a1)) continue; /* an epoch without rounds or accuracy */
    if (a1 >= target) {
      if (r0 < 0 || !(a0 < target) || r1 <= r0) return r1;
      for (int64_t j = r0 + 1; j < r1; j++)
        if (a0 + (a1 - a0) * (double)(j - r0) / (double)(r1 - r0) >= target) return j;
      return r1;
    }
    r0 = r1;
    a0 = a1;
  }
  return -1;
}

/* ---------------------------------------------------------------- network files */

typedef enum { NK_NAME, NK_LATENCY, NK_BANDWIDTH, NK_PER_NODE, NK_INTRA_LATENCY,
               NK_INTRA_BANDWIDTH, NK_ALGORITHM, NK_REPLICAS, NK_OVERLAP, NK_DEVICE_GFLOPS,
               NK_COUNT } net_key_t;
static const char *const net_keys[NK_COUNT] = {
    "name", "latency_us", "bandwidth_gbps", "per_node", "intra_latency_us",
    "intra_bandwidth_gbps", "algorithm", "replicas", "overlap", "device_gflops"};

/* A positive number (an integer when integral), times scale, into *x. */
static int key_number(const ydoc_t *d, const ydoc_node_t *v, const char *key, int integral,
                      double scale, double *x) {
  const char *s = ydoc_scalar(v);
  char *end = NULL;
  errno = 0;
  double y = s ? strtod(s, &end) : NAN;
  int ok = s && end != s && !*end && !errno && isfinite(y) && y > 0 &&
           (!integral || (y == floor(y) && y <= 1e9));
  if (!ok)
    return ydoc_expected(d, v, key, integral ? "an integer >= 1" : "a number > 0");
  *x = y * scale;
  return 0;
}

/* One of names[0..n) into *w. */
static int key_word(const ydoc_t *d, const ydoc_node_t *v, const char *key,
                    const char *const *names, int n, const char *what, int *w) {
  const char *s = ydoc_scalar(v);
  for (int i = 0; s && i < n; i++)
    if (!strcmp(s, names[i])) return *w = i, 0;
  return ydoc_expected(d, v, key, what);
}

/* A table's text: 1 to 127 characters, none a control character (a newline would break
 * a Markdown row). */
static int name_ok(const ydoc_node_t *v) {
  const char *s = ydoc_scalar(v);
  if (!s || !*s || v->len != strlen(s) || v->len >= sizeof ((net_model_t *)0)->name) return 0;
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
  return 1;
}

static int read_key(const ydoc_t *d, const ydoc_node_t *v, net_key_t k, net_model_t *m) {
  double x = 0;
  int w = 0, rc = 0;
  const char *key = net_keys[k];
  switch (k) {
    case NK_NAME:
      if (!name_ok(v)) return ydoc_expected(d, v, key, "a name of 1 to 127 printable characters");
      snprintf(m->name, sizeof m->name, "%s", v->text);
      return 0;
    case NK_LATENCY: rc = key_number(d, v, key, 0, US, &m->latency_s); break;
    case NK_BANDWIDTH: rc = key_number(d, v, key, 0, GBPS, &m->bandwidth_Bps); break;
    case NK_INTRA_LATENCY: rc = key_number(d, v, key, 0, US, &m->intra_latency_s); break;
    case NK_INTRA_BANDWIDTH: rc = key_number(d, v, key, 0, GBPS, &m->intra_bandwidth_Bps); break;
    case NK_DEVICE_GFLOPS: rc = key_number(d, v, key, 0, 1e9, &m->device_flops); break;
    case NK_PER_NODE: rc = key_number(d, v, key, 1, 1, &x), m->per_node = (int64_t)x; break;
    case NK_REPLICAS: rc = key_number(d, v, key, 1, 1, &x), m->replicas = (int64_t)x; break;
    case NK_ALGORITHM:
      rc = key_word(d, v, key, net_algo_names, NET_ALGO_COUNT,
                    "ring, recursive_doubling, rabenseifner, hierarchical or auto", &w);
      m->algo = (net_algo_t)w;
      break;
    case NK_OVERLAP:
      rc = key_word(d, v, key, net_overlap_names, NET_OVERLAP_COUNT, "none or backward", &w);
      m->overlap = (net_overlap_t)w;
      break;
    default: DPT_PANIC("network key %d", (int)k);
  }
  return rc;
}

static int read_network(const ydoc_t *d, net_model_t *m) {
  const ydoc_node_t *root = d->root;
  if (!root || root->kind != YDOC_MAP)
    return ydoc_fail(d, root, "expected a map of keys (latency_us, bandwidth_gbps, ...)");
  int seen[NK_COUNT] = {0};
  for (int i = 0; i < root->n; i++) {
    const char *key = ydoc_scalar(root->items[2 * i]);
    int k = 0;
    while (key && k < NK_COUNT && strcmp(net_keys[k], key)) k++;
    if (!key || k == NK_COUNT)
      return ydoc_fail(d, root->items[2 * i],
                       "unknown key '%s' (name, latency_us, bandwidth_gbps, per_node, "
                       "intra_latency_us, intra_bandwidth_gbps, algorithm, replicas, overlap, "
                       "device_gflops)",
                       key ? key : "?");
    if (read_key(d, root->items[2 * i + 1], (net_key_t)k, m) < 0) return -1;
    seen[k] = 1;
  }
  if (!seen[NK_LATENCY]) return ydoc_expected(d, NULL, "latency_us", "a number > 0");
  if (!seen[NK_BANDWIDTH]) return ydoc_expected(d, NULL, "bandwidth_gbps", "a number > 0");
  return 0;
}

/* A file's defaults: the presets' figures inside a node, one participant per node, 4
 * replicas, ring, no overlap; the name is the file's. */
static void file_defaults(net_model_t *m, const char *name) {
  *m = net_presets[0];
  snprintf(m->name, sizeof m->name, "%s", name);
}

int net_model_parse(net_model_t *m, const char *yaml, size_t len, const char *name) {
  ydoc_t d;
  file_defaults(m, name);
  if (ydoc_load(&d, name, yaml, len, NULL) < 0) return -1;
  int rc = read_network(&d, m);
  ydoc_free(&d);
  return rc;
}

int net_model_resolve(net_model_t *m, const char *name_or_path) {
  for (const net_model_t *p = net_presets; p->name[0]; p++)
    if (!strcmp(p->name, name_or_path)) return *m = *p, 0;
  struct stat st;
  if (stat(name_or_path, &st) != 0 && errno == ENOENT)
    return dpt_fail("--network %s: neither a preset (1gbe, 10gbe, 25gbe, ib100, wan) nor "
                    "a file", name_or_path);
  if (stat(name_or_path, &st) == 0 && !S_ISREG(st.st_mode))
    return dpt_fail("--network %s: not a regular file (a network file is YAML)", name_or_path);
  ydoc_t d;
  file_defaults(m, name_or_path);
  if (ydoc_load_file(&d, name_or_path, NULL) < 0) return dpt_wrap("network file");
  int rc = read_network(&d, m);
  ydoc_free(&d);
  return rc;
}
