/* shard.c - the sharding schemes of shard.h. */
#include "shard.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/cmp.h"
#include "../core/err.h"
#include "../core/numfmt.h"
#include "../core/rng.h"

/* Bucket idx by label, keeping order within a class: by_class holds the indices of class
 * c at [start[c], start[c+1]). */
static void group_by_class(const int64_t *idx, int64_t n, const uint8_t *labels, int ncls,
                           int64_t *start, int64_t *by_class) {
  int64_t *fill = dpt_alloc(sizeof(int64_t) * (ncls + 1));
  memset(start, 0, sizeof(int64_t) * (ncls + 1));
  for (int64_t i = 0; i < n; i++) start[labels[idx[i]] + 1]++;
  for (int c = 0; c < ncls; c++) start[c + 1] += start[c];
  memcpy(fill, start, sizeof(int64_t) * (ncls + 1));
  for (int64_t i = 0; i < n; i++) by_class[fill[labels[idx[i]]]++] = idx[i];
  dpt_free(fill);
}

/* Uniform in (0, 1): never 0, so its log is finite. */
static double unit_open(uint64_t bits) { return ((double)(bits >> 11) + 0.5) * 0x1.0p-53; }

/* log of a Gamma(shape, 1) draw by Marsaglia-Tsang, from stream key at counters ctr,
 * ctr+1, ... For shape < 1, G(shape) = G(shape + 1) * U^(1/shape): in log space, so
 * shapes near 0 (alpha * prior = 1e-4 at alpha 0.01 on 100 classes) do not underflow. */
static double log_gamma_draw(double shape, uint64_t key, uint64_t *ctr) {
  if (shape < 1) {
    double log_u = log(unit_open(rng_at(key, (*ctr)++)));
    return log_gamma_draw(shape + 1, key, ctr) + log_u / shape;
  }
  double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);
  for (;;) {
    double u1 = unit_open(rng_at(key, (*ctr)++)), u2 = unit_open(rng_at(key, (*ctr)++));
    double x = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
    double v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    double u = unit_open(rng_at(key, (*ctr)++));
    if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return log(d) + log(v);
  }
}

/* q[c] = exp(lq[c] - max) over the classes with samples left (0 for the others): the
 * Dirichlet proportions renormalised over what is left, the largest exactly 1 (also
 * when logs are -inf), so the total is never 0. Returns the total. */
static double renormalise(const double *lq, const int64_t *next, const int64_t *start,
                          int ncls, double *q) {
  double top = -INFINITY, total = 0;
  for (int c = 0; c < ncls; c++)
    if (next[c] < start[c + 1] && lq[c] > top) top = lq[c];
  for (int c = 0; c < ncls; c++) {
    q[c] = next[c] >= start[c + 1] ? 0 : lq[c] == top ? 1 : exp(lq[c] - top);
    total += q[c];
  }
  return total;
}

static void dirichlet(const int64_t *start, int64_t n, int ncls, double alpha, int K,
                      uint64_t seed, int64_t *by_class, int64_t *offsets, int64_t *out) {
  int64_t *next = dpt_alloc(sizeof(int64_t) * ncls);
  double *q = dpt_alloc(sizeof(double) * ncls), *lq = dpt_alloc(sizeof(double) * ncls);
  for (int c = 0; c < ncls; c++) {
    /* each class's pool in a seeded order, so workers take random members */
    rng_shuffle(by_class + start[c], start[c + 1] - start[c],
                rng_key(seed, RNG_SHARD, 1, (uint64_t)c));
    next[c] = start[c];
  }
  int64_t pos = 0;
  for (int k = 0; k < K; k++) {
    uint64_t key = rng_key(seed, RNG_SHARD, 2, (uint64_t)k), ctr = 0;
    for (int c = 0; c < ncls; c++) {
      double prior = (double)(start[c + 1] - start[c]) / (double)n;
      lq[c] = prior > 0 ? log_gamma_draw(alpha * prior, key, &ctr) : -INFINITY;
    }
    double total = renormalise(lq, next, start, ncls, q);
    offsets[k] = pos;
    int64_t quota = n / K + (k < n % K);
    for (int64_t j = 0; j < quota; j++) {
      double r = rng_unit(rng_at(key, ctr++)) * total;
      int pick = -1;
      /* the last class with samples left takes what rounding leaves past the end */
      for (int c = 0; c < ncls; c++) {
        if (next[c] >= start[c + 1]) continue;
        pick = c;
        if (r < q[c]) break;
        r -= q[c];
      }
      out[pos++] = by_class[next[pick]++];
      if (next[pick] == start[pick + 1]) total = renormalise(lq, next, start, ncls, q);
    }
  }
  offsets[K] = pos;
  dpt_free(next);
  dpt_free(q);
  dpt_free(lq);
}

static int build_iid(const shard_job_t *j, int64_t *offsets, int64_t *out) {
  int64_t pos = 0;
  for (int k = 0; k < j->K; k++) {
    offsets[k] = pos;
    for (int64_t i = k; i < j->n; i += j->K) out[pos++] = j->by_class[i];
  }
  offsets[j->K] = pos;
  return 0;
}

static int build_random(const shard_job_t *j, int64_t *offsets, int64_t *out) {
  memcpy(out, j->idx, sizeof(int64_t) * j->n);
  rng_shuffle(out, j->n, rng_key(j->seed, RNG_SHARD, 0, 0));
  for (int k = 0; k <= j->K; k++) offsets[k] = j->n * k / j->K;
  return 0;
}

static int build_classes(const shard_job_t *j, int64_t *offsets, int64_t *out) {
  int c = j->scheme->classes, ncls = j->num_classes, K = j->K;
  if (c < 1 || c > ncls || (int64_t)c * K < ncls)
    return dpt_fail("sharding '%s': needs 1 <= C <= %d classes and C*K >= %d so that every "
                    "class has a worker (K = %d)", j->text, ncls, ncls, K);
  /* slot s holds class s mod ncls; a class in m slots gives each an m-th of itself */
  int slots = c * K, pos = 0;
  for (int k = 0; k < K; k++) {
    offsets[k] = pos;
    for (int s = k * c; s < (k + 1) * c; s++) {
      int cls = s % ncls;
      int m = (slots - cls + ncls - 1) / ncls, part = s / ncls;
      int64_t size = j->start[cls + 1] - j->start[cls];
      int64_t lo = j->start[cls] + size * part / m, hi = j->start[cls] + size * (part + 1) / m;
      for (int64_t i = lo; i < hi; i++) out[pos++] = j->by_class[i];
    }
  }
  offsets[K] = pos;
  return 0;
}

static int build_dirichlet(const shard_job_t *j, int64_t *offsets, int64_t *out) {
  double alpha = j->scheme->alpha;
  if (!(alpha > 0)) return dpt_fail("sharding '%s': alpha must be > 0", j->text);
  dirichlet(j->start, j->n, j->num_classes, alpha, j->K, j->seed, j->by_class, offsets, out);
  return 0;
}

const shard_def_t shard_defs[] = {
    [SHARD_IID] = {"iid", "iid", SHARD_PARAM_NONE, build_iid},
    [SHARD_RANDOM] = {"random", "random", SHARD_PARAM_NONE, build_random},
    [SHARD_CLASSES] = {"classes", "classes", SHARD_PARAM_CLASSES, build_classes},
    [SHARD_DIRICHLET] = {"dirichlet", "Dirichlet", SHARD_PARAM_ALPHA, build_dirichlet},
};
const int shard_ndefs = (int)(sizeof shard_defs / sizeof shard_defs[0]);

int shard_scheme_parse(const char *s, shard_scheme_t *out) {
  for (int i = 0; i < shard_ndefs; i++) {
    const shard_def_t *d = &shard_defs[i];
    size_t len = strlen(d->name);
    memset(out, 0, sizeof *out);
    out->kind = (shard_kind_t)i;
    if (d->param == SHARD_PARAM_NONE) {
      if (!strcmp(s, d->name)) return 0;
      continue;
    }
    const char *p = s + len + 1;
    if (strncmp(s, d->name, len) || s[len] != ':' || !*p || isspace((unsigned char)*p)) continue;
    char *end;
    if (d->param == SHARD_PARAM_CLASSES) {
      errno = 0;
      long long c = strtoll(p, &end, 10);
      if (!*end && !errno && c >= 1 && c <= INT_MAX) return out->classes = (int)c, 0;
    } else {
      double a = strtod(p, &end);
      if (!*end && isfinite(a) && a > 0) return out->alpha = a, 0;
    }
  }
  memset(out, 0, sizeof *out);
  return -1;
}

void shard_scheme_text(const shard_scheme_t *s, char *buf, size_t cap) {
  if ((int)s->kind < 0 || (int)s->kind >= shard_ndefs) {
    snprintf(buf, cap, "?");
    return;
  }
  const shard_def_t *d = &shard_defs[s->kind];
  char a[DPT_DOUBLE_CHARS];
  switch (d->param) {
  case SHARD_PARAM_NONE: snprintf(buf, cap, "%s", d->name); return;
  case SHARD_PARAM_CLASSES: snprintf(buf, cap, "%s:%d", d->name, s->classes); return;
  case SHARD_PARAM_ALPHA:
    dpt_format_double(a, sizeof a, s->alpha);
    snprintf(buf, cap, "%s:%s", d->name, a);
    return;
  }
}

int shard_build(const shard_scheme_t *scheme, const int64_t *idx, int64_t n, const uint8_t *labels,
                int num_classes, int K, uint64_t seed, int64_t *offsets, int64_t *out) {
  if (K < 1) return dpt_fail("sharding: need at least one worker");
  if (n < K) return dpt_fail("sharding: %lld training images for %d workers", (long long)n, K);
  char text[64];
  shard_scheme_text(scheme, text, sizeof text);
  if ((int)scheme->kind < 0 || (int)scheme->kind >= shard_ndefs)
    return dpt_fail("sharding '%s': expected iid, random, classes:C or dirichlet:A", text);
  int64_t *start = dpt_alloc(sizeof(int64_t) * (num_classes + 1));
  int64_t *by_class = dpt_alloc(sizeof(int64_t) * n);
  group_by_class(idx, n, labels, num_classes, start, by_class);
  shard_job_t job = {scheme, idx, start, by_class, n, num_classes, K, seed, text};
  int rc = shard_defs[scheme->kind].build(&job, offsets, out);
  if (rc == 0)
    for (int k = 0; k < K; k++)
      qsort(out + offsets[k], offsets[k + 1] - offsets[k], sizeof(int64_t), dpt_cmp_i64);
  dpt_free(start);
  dpt_free(by_class);
  return rc;
}
