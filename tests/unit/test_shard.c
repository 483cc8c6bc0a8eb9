/* test_shard.c - every sharding scheme: shards are disjoint, cover the training split,
 * and have the class make-up the scheme promises. */
#include <stdlib.h>
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/data/shard.h"
#include "test.h"

#define N 1000
#define NCLS 10

static const shard_scheme_t IID = {SHARD_IID, 0, 0}, RANDOM = {SHARD_RANDOM, 0, 0};
static const shard_scheme_t *classes(int c) {
  static shard_scheme_t s;
  s = (shard_scheme_t){SHARD_CLASSES, c, 0};
  return &s;
}
static const shard_scheme_t *dirichlet(double a) {
  static shard_scheme_t s;
  s = (shard_scheme_t){SHARD_DIRICHLET, 0, a};
  return &s;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

typedef struct {
  int64_t idx[N], out[N], offsets[17];
  uint8_t labels[2 * N];
  int hist[16][NCLS];
} fixture_t;

/* Training indices are the even numbers below 2N (as after a validation split), with
 * unbalanced classes: label = (i*7) mod 10 for most, class 3 rarer. */
static void make(fixture_t *f) {
  memset(f, 0, sizeof *f);
  for (int i = 0; i < 2 * N; i++) f->labels[i] = (uint8_t)((i * 7 / 2) % NCLS);
  for (int i = 0; i < N; i++) f->idx[i] = 2 * i;
}

/* Disjoint and covering: the shards' union, sorted, is exactly idx. Fills hist. */
static void check_partition(fixture_t *f, int K) {
  CHECK(f->offsets[0] == 0 && f->offsets[K] == N);
  int seen[2 * N] = {0};
  for (int k = 0; k < K; k++)
    for (int64_t j = f->offsets[k]; j < f->offsets[k + 1]; j++) {
      int64_t s = f->out[j];
      CHECK(s >= 0 && s < 2 * N && s % 2 == 0);
      if (s >= 0 && s < 2 * N) seen[s]++;
      f->hist[k][f->labels[s]]++;
      if (j > f->offsets[k]) CHECK(f->out[j - 1] < s); /* ascending within a shard */
    }
  for (int i = 0; i < 2 * N; i++) CHECK(seen[i] == (i % 2 == 0));
}

TEST(shard_iid_deals_every_class_in_proportion) {
  static fixture_t f;
  make(&f);
  CHECK_OK(shard_build(&IID, f.idx, N, f.labels, NCLS, 4, 1, f.offsets, f.out));
  check_partition(&f, 4);
  int total[NCLS] = {0};
  for (int i = 0; i < N; i++) total[f.labels[f.idx[i]]]++;
  for (int k = 0; k < 4; k++)
    for (int c = 0; c < NCLS; c++) CHECK(abs(f.hist[k][c] * 4 - total[c]) <= 4);
}

TEST(shard_random_near_equal_parts_and_seeded) {
  static fixture_t f, g;
  make(&f);
  make(&g);
  CHECK_OK(shard_build(&RANDOM, f.idx, N, f.labels, NCLS, 3, 1, f.offsets, f.out));
  check_partition(&f, 3);
  for (int k = 0; k < 3; k++) CHECK(llabs(f.offsets[k + 1] - f.offsets[k] - N / 3) <= 1);
  CHECK_OK(shard_build(&RANDOM, g.idx, N, g.labels, NCLS, 3, 1, g.offsets, g.out));
  CHECK(memcmp(f.out, g.out, sizeof f.out) == 0);
  CHECK_OK(shard_build(&RANDOM, g.idx, N, g.labels, NCLS, 3, 2, g.offsets, g.out));
  CHECK(memcmp(f.out, g.out, sizeof f.out) != 0);
}

TEST(shard_classes_gives_each_worker_c_classes) {
  static fixture_t f;
  make(&f);
  CHECK_OK(shard_build(classes(2), f.idx, N, f.labels, NCLS, 8, 1, f.offsets, f.out));
  check_partition(&f, 8);
  for (int k = 0; k < 8; k++) {
    int present = 0;
    for (int c = 0; c < NCLS; c++) present += f.hist[k][c] > 0;
    CHECK(present == 2);
  }
  CHECK_FAILS(shard_build(classes(2), f.idx, N, f.labels, NCLS, 4, 1, f.offsets, f.out));
  CHECK_FAILS(shard_build(classes(0), f.idx, N, f.labels, NCLS, 4, 1, f.offsets, f.out));
}

/* Share of a worker's samples in its most frequent class, averaged over workers. */
static double top_share(const fixture_t *f, int K) {
  double sum = 0;
  for (int k = 0; k < K; k++) {
    int top = 0, n = 0;
    for (int c = 0; c < NCLS; c++) {
      n += f->hist[k][c];
      if (f->hist[k][c] > top) top = f->hist[k][c];
    }
    sum += (double)top / n;
  }
  return sum / K;
}

TEST(shard_dirichlet_alpha_moves_from_iid_to_one_class) {
  static fixture_t f;
  make(&f);
  CHECK_OK(shard_build(dirichlet(1000), f.idx, N, f.labels, NCLS, 4, 1, f.offsets, f.out));
  check_partition(&f, 4);
  for (int k = 0; k < 4; k++) CHECK(f.offsets[k + 1] - f.offsets[k] == N / 4);
  CHECK(top_share(&f, 4) < 0.2); /* near the 0.1 of IID */
  make(&f);
  /* With quotas of one class's size, a skewed draw can fill a worker from one class;
   * later workers get what is left, so the average stays below 1. */
  CHECK_OK(shard_build(dirichlet(0.05), f.idx, N, f.labels, NCLS, 10, 1, f.offsets, f.out));
  check_partition(&f, 10);
  CHECK(top_share(&f, 10) > 0.5);
  CHECK_FAILS(shard_build(dirichlet(0), f.idx, N, f.labels, NCLS, 4, 1, f.offsets, f.out));
}

/* Fewest classes that hold 90% of worker k's shard (hist: K rows of ncls counts). */
static int classes_for_90pct(const int64_t *hist, int ncls, int k) {
  int64_t row[256], n = 0, held = 0;
  memcpy(row, hist + (int64_t)k * ncls, sizeof(int64_t) * ncls);
  for (int c = 0; c < ncls; c++) n += row[c];
  for (int used = 1;; used++) {
    int top = 0;
    for (int c = 1; c < ncls; c++)
      if (row[c] > row[top]) top = c;
    held += row[top];
    row[top] = 0;
    if (10 * held >= 9 * n) return used;
  }
}

/* alpha 0.01 on 100 classes: alpha * prior = 1e-4, where Gamma draws in linear space
 * underflow to 0 and samples were dealt uniformly. Each of the 8 workers' 500 samples
 * needs at least 13 classes of 40; a Dirichlet shard stays close to that (the classes
 * run out one after another), a half-uniform one (the linear-space draws) needs 37 to
 * 64 classes for 90% of its samples. */
TEST(shard_dirichlet_tiny_alpha_keeps_few_classes_per_worker) {
  enum { NC = 100, PER = 40, NN = NC * PER, KK = 8 };
  static int64_t idx[NN], out[NN], offsets[KK + 1], hist[KK * NC];
  static uint8_t labels[NN];
  for (int i = 0; i < NN; i++) {
    idx[i] = i;
    labels[i] = (uint8_t)(i * 37 % NC);
  }
  CHECK_OK(shard_build(dirichlet(0.01), idx, NN, labels, NC, KK, 1, offsets, out));
  memset(hist, 0, sizeof hist);
  for (int k = 0; k < KK; k++) {
    CHECK(offsets[k + 1] - offsets[k] == NN / KK);
    for (int64_t j = offsets[k]; j < offsets[k + 1]; j++) hist[k * NC + labels[out[j]]]++;
  }
  for (int k = 0; k < KK; k++) {
    CHECK(classes_for_90pct(hist, NC, k) <= 20);
  }
}

/* The seed's iid rule, computed here the slow way: the training indices in their given
 * order, stably sorted by label (a pass per class), dealt round-robin over the whole
 * sorted list, worker k taking positions k, k+K, k+2K, ... (then ascending). The index
 * order is scrambled and class sizes are not multiples of K, so an unstable sort or a
 * deal that restarts at worker 0 for each class gives other shards. */
TEST(shard_iid_is_the_stable_label_sort_dealt_round_robin) {
  static fixture_t f;
  static int64_t sorted[N], want[N];
  make(&f);
  for (int i = 0; i < N; i++) f.idx[i] = 2 * ((i * 389) % N); /* a permutation of 0..2N-2 */
  const int K = 3;
  CHECK_OK(shard_build(&IID, f.idx, N, f.labels, NCLS, K, 1, f.offsets, f.out));
  int m = 0;
  for (int c = 0; c < NCLS; c++)
    for (int i = 0; i < N; i++)
      if (f.labels[f.idx[i]] == c) sorted[m++] = f.idx[i];
  CHECK(m == N);
  for (int k = 0; k < K; k++) {
    int64_t n = 0;
    for (int j = k; j < N; j += K) want[n++] = sorted[j];
    qsort(want, n, sizeof(int64_t), cmp_i64);
    CHECK(f.offsets[k + 1] - f.offsets[k] == n);
    if (f.offsets[k + 1] - f.offsets[k] == n)
      CHECK(memcmp(f.out + f.offsets[k], want, sizeof(int64_t) * n) == 0);
  }
}

/* The module that deals the shards parses data.sharding and prints it back the same. */
TEST(shard_scheme_parse_reads_what_shard_scheme_text_writes) {
  const char *good[] = {"iid", "random", "classes:1", "classes:3", "dirichlet:0.3",
                        "dirichlet:1e-05"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    shard_scheme_t s;
    char text[64];
    CHECK(shard_scheme_parse(good[i], &s) == 0);
    shard_scheme_text(&s, text, sizeof text);
    CHECK(!strcmp(text, good[i]));
  }
  const char *bad[] = {"", "IID", "classes:", "classes:0", "classes: 2", "classes:2x",
                       "classes:99999999999", "dirichlet:0", "dirichlet:-1",
                       "dirichlet:inf", "dirichlet: 1", "dirichlet:nan", "shuffled"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    shard_scheme_t s;
    CHECK(shard_scheme_parse(bad[i], &s) < 0);
  }
}
