/* test_dynamic.c - the dynamic local-step strategies against the seed (selectors.py and
 * the epoch loop of train_and_test.py) and spec/algorithms.md. Expected H per epoch are
 * tables written out from the seed's formulas (evaluated by hand and, for the long ones,
 * with the seed's Python expressions), never by the code under test. Timing is the
 * seed's: epoch 0 runs with local_steps (8 here), epoch e+1 with the strategy's value
 * computed after epoch e. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../../src/config/config.h"
#include "../../src/core/err.h"
#include "../../src/optim/dynamic_h.h"
#include "test.h"

#define H0 8 /* model.work.local_steps of every test */
#define MAXE 160

/* The defaults with model.work.dynamic.strategy set as a config file would set it (and
 * n_losses 4, which every strategy accepts; callers change the fields after). */
static int config_with(dpt_config_t *c, const char *strategy) {
  char set[64];
  snprintf(set, sizeof set, "model.work.dynamic.strategy=%s", strategy);
  const char *sets[] = {set, "model.work.dynamic.n_losses=4"};
  return config_load_string(c, "", "test.yaml", sets, 2);
}

static dynh_t make(const char *strategy, int n_losses) {
  dpt_config_t c;
  dynh_t s;
  if (config_with(&c, strategy) < 0) DPT_PANIC("config: %s", dpt_errmsg());
  c.local_steps = H0;
  c.dynamic.n_losses = n_losses;
  dynh_init(&s, &c.dynamic, c.local_steps);
  return s;
}

/* The H of epochs 0..epochs-1 as the trainer drives a strategy: s.h after dynh_init,
 * then dynh_next after each epoch. */
static void schedule_run(const char *strategy, int epochs, int T, int *h) {
  dynh_t s = make(strategy, 3);
  h[0] = s.h;
  for (int e = 0; e + 1 < epochs; e++) h[e + 1] = dynh_next(&s, e, epochs, T, NULL, NULL, 0, NAN);
}

static void check_seq(int line, const char *name, int E, int T, const int *got,
                      const int *want) {
  for (int e = 0; e < E; e++)
    if (got[e] != want[e]) {
      test_failed(__FILE__, line, "%s E=%d T=%d: H of epoch %d = %d, expected %d", name, E, T,
                  e, got[e], want[e]);
      return;
    }
}

/* ---------------------------------------------------------------- schedules */

/* The H of every epoch, E = 10 and 20, for every schedule strategy; T matters only to
 * Sigmoid and RevCosAnn (T = 100, 37 and 500: not the seed's 352, 176, 88). */
typedef struct {
  const char *name;
  int E, T, want[20];
} table_t;

static const table_t tables[] = {
    /* ALin: H(e+1) = floor((floor(120 e/(E-1)) + 1)/2) + 4. By hand, E = 10: e = 1 gives
     * floor(120/9) = 13 -> 7 + 4 = 11; e = 8 gives floor(960/9) = 106 -> 53 + 4 = 57,
     * the last H used (64 = f(9) is never used). DLin: e/(E-1) -> 1 - e/(E-1). */
    {"ALin", 10, 176, {8, 4, 11, 17, 24, 31, 37, 44, 51, 57}},
    {"DLin", 10, 176, {8, 64, 57, 51, 44, 37, 31, 24, 17, 11}},
    {"ALin", 20, 37, {8, 4, 7, 10, 13, 17, 20, 23, 26, 29, 32, 36, 39, 42, 45, 48, 51, 55, 58, 61}},
    {"DLin", 20, 500, {8, 64, 61, 58, 55, 51, 48, 45, 42, 39, 36, 32, 29, 26, 23, 20, 17, 13, 10, 7}},
    /* ABin: p = floor((floor(8 e/(E-1)) + 1)/2) + 2, H = 2^p. By hand, E = 10, e = 2:
     * floor(16/9) = 1 -> p = 1 + 2 -> 8 in epoch 3. */
    {"ABin", 10, 100, {8, 4, 4, 8, 8, 16, 16, 32, 32, 64}},
    {"DBin", 10, 100, {8, 64, 64, 32, 32, 16, 16, 8, 8, 4}},
    {"ABin", 20, 176, {8, 4, 4, 4, 8, 8, 8, 8, 8, 16, 16, 16, 16, 32, 32, 32, 32, 32, 64, 64}},
    {"DBin", 20, 176, {8, 64, 64, 64, 32, 32, 32, 32, 32, 16, 16, 16, 16, 8, 8, 8, 8, 8, 4, 4}},
    /* Sigmoid: Hmax = T/2, Hmin = T/22 as reals, m = E/2, s = 0.5; H = round(Hmin + (Hmax
     * - Hmin)*sigmoid(s(e - m))) clamped to [Hmin, Hmax], then the 5% rule. By hand,
     * T = 100, E = 20, e = 0: 4.5454 + 45.4545*sigmoid(-5) = 4.85 -> 5, 100 = 20*5: H = 5
     * (integer bounds 4 and 50 gave 4). e = 16: 50 - 45.45*0.0474 = 47.8 -> 48, r = 4
     * <= 5% -> n = 3, ceil(100/3) = 34. */
    {"Sigmoid", 10, 100, {8, 8, 10, 14, 20, 25, 33, 25, 50, 50}},
    {"Sigmoid", 10, 37, {8, 3, 4, 5, 6, 9, 12, 10, 18, 18}},
    {"Sigmoid", 10, 500, {8, 39, 50, 71, 100, 125, 166, 125, 250, 250}},
    {"Sigmoid", 20, 100, {8, 5, 5, 5, 6, 7, 8, 10, 14, 20, 25, 33, 25, 50, 50, 50, 50, 34, 34, 34}},
    {"Sigmoid", 20, 37, {8, 2, 2, 2, 2, 2, 3, 4, 5, 6, 9, 12, 10, 18, 18, 18, 18, 13, 13, 13}},
    {"Sigmoid", 20, 500, {8, 24, 25, 27, 28, 34, 39, 50, 71, 100, 125, 166, 125, 250, 250, 250,
                          250, 167, 167, 167}},
    /* RevCosAnn: H = Hmax - (Hmax - Hmin)/2 (1 + cos(pi e/E)), rounded, clamped, 5% rule.
     * By hand, T = 100, E = 10, e = 0: Hmin = 4.55 -> 5 (20 windows); e = 5: 50 - 22.73 =
     * 27.3 -> 27, r = 19 > 5% -> floor(100/3) = 33. */
    {"RevCosAnn", 10, 100, {8, 5, 6, 9, 13, 20, 33, 50, 50, 50}},
    {"RevCosAnn", 10, 37, {8, 2, 2, 3, 5, 7, 12, 18, 18, 18}},
    {"RevCosAnn", 10, 500, {8, 23, 28, 42, 63, 125, 166, 250, 250, 250}},
    {"RevCosAnn", 20, 100, {8, 5, 5, 6, 7, 9, 10, 13, 20, 20, 20, 33, 33, 50, 50, 50, 50, 50, 34, 34}},
    {"RevCosAnn", 20, 37, {8, 2, 2, 2, 3, 3, 4, 5, 6, 7, 8, 12, 12, 18, 18, 18, 18, 18, 13, 13}},
    {"RevCosAnn", 20, 500, {8, 23, 24, 28, 34, 42, 62, 63, 100, 125, 100, 166, 166, 250, 250,
                            250, 250, 250, 167, 167}},
};

TEST(dynamic_schedule_seed_tables) {
  int got[MAXE];
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    const table_t *t = &tables[i];
    schedule_run(t->name, t->E, t->T, got);
    check_seq(__LINE__, t->name, t->E, t->T, got, t->want);
  }
}

/* Single epochs of long runs and the edges of the formulas, by hand. */
TEST(dynamic_schedule_hand_values) {
  int got[MAXE];
  /* ALin, E = 150, the seed's: epoch 1 runs f(0) = 4, epoch 76 f(75) = floor(61/2) + 4 =
   * 34 (floor(9000/149) = 60), epoch 149 f(148) = floor(120*148/149) = 119 -> 60 + 4 */
  schedule_run("ALin", 150, 352, got);
  CHECK(got[0] == 8 && got[1] == 4 && got[76] == 34 && got[149] == 64);
  /* DLin, E = 25, e = 7: 120*(1 - 7/24) = 85 exactly would give 43 + 4 = 47, but the
   * seed's float (1.0 - 7/24)*120 = 84.99999999999999 gives int(85.999...) = 85 -> 46 */
  schedule_run("DLin", 25, 88, got);
  CHECK(got[8] == 46);
  /* DBin, E = 150: floor(8*(1 - 18/149)) = 7 -> 64 is f(18), used in epoch 19; then 32 */
  schedule_run("DBin", 150, 176, got);
  CHECK(got[19] == 64 && got[20] == 32 && got[149] == 4);
  /* Sigmoid, the seed's T = 176 and E = 150 (Hmin 8, Hmax 88): f(0) ~ 8, f(75) = 48 ->
   * r = 32 (18%) -> floor(176/3) = 58, f(148) ~ 88 */
  schedule_run("Sigmoid", 150, 176, got);
  CHECK(got[1] == 8 && got[76] == 58 && got[149] == 88);
  /* Hmax as a real, E = 150, e = 149 (sigmoid 1.0 in double, x = Hmax exactly). T = 27:
   * 13.5 rounds half to even to 14 > Hmax, clamped to 13.5: T/13.5 = 2 windows, H =
   * floor(27/2) = 13 (an integer bound 13 would tile to ceil(27/3) = 9). T = 25: 12.5
   * rounds to 12, r = 1 (4%) -> ceil(25/3) = 9 (rounding half up would clamp: 12). */
  dynh_t s = make("Sigmoid", 3);
  CHECK(dynh_schedule(&s, 149, 150, 27) == 13 && dynh_schedule(&s, 149, 150, 25) == 9);
  /* RevCosAnn, T = 1000, e = 0: Hmin = 45.45 rounds to 45 < Hmin: clamped to the real
   * 45.45; in floats 1000 // 45.45 = 22 with a remainder of 1e-13 (0 <= 5%), so 23
   * windows of ceil(1000/23) = 44, as the seed ran (exactly, 22 windows of 45) */
  schedule_run("RevCosAnn", 150, 1000, got);
  CHECK(got[1] == 44);
  /* T = 50, e = 0: 50 // (50/22) = 21 with a remainder of 2.27 (4.5%): 22 windows of
   * ceil(50/22) = 3 (issue 20: dpt ran floor(50/22) = 2) */
  schedule_run("Sigmoid", 150, 50, got);
  CHECK(got[1] == 3);
  schedule_run("RevCosAnn", 150, 50, got);
  CHECK(got[1] == 3);
  /* T = 32 (Hmin 1.45, Hmax 16), E = 150, e = 75: 16 - 7.27 = 8.73 -> 9 -> r = 5
   * (15.6%) -> floor(32/3) = 10 */
  schedule_run("RevCosAnn", 150, 32, got);
  CHECK(got[76] == 10);
  /* T < 22: Hmin < 1, H is at least 1 (the seed's floor(11/22) = 0 would stop it) */
  schedule_run("RevCosAnn", 10, 11, got);
  CHECK(got[1] == 1);
  /* the midpoint and steepness are settable */
  dpt_config_t c;
  CHECK_OK(config_with(&c, "Sigmoid"));
  c.dynamic.midpoint = 10, c.dynamic.steepness = 2;
  dynh_init(&s, &c.dynamic, c.local_steps);
  CHECK(dynh_schedule(&s, 10, 150, 176) == 58 && dynh_schedule(&s, 20, 150, 176) == 88);
}

/* ---------------------------------------------------------------- the seed, transcribed */

/* The seed's selectors (selectors.py) as Python evaluates them, written out here apart
 * from dynamic_h.c: floats are doubles, a // b and a % b on floats are Python's divmod
 * (fmod, then the quotient rounded to an integer), round() is half to even. */
static double seed_floordiv(double a, double b) {
  double mod = fmod(a, b), q = (a - mod) / b, fq = floor(q);
  return q - fq > 0.5 ? fq + 1 : fq;
}

static int seed_fit(double H, int T) {
  double n = seed_floordiv(T, H), r = fmod(T, H);
  if (r > 0 && r / T <= 0.05) {
    n += 1;
    return (int)ceil(T / n);
  }
  return (int)floor(T / n);
}

/* Hmin = T/22, Hmax = T/2; H = max(Hmin, min(Hmax, round(H))); then the fit (dpt: at
 * least 1, which only T < 22 needs) */
static int seed_bounded(double H, int T) {
  double Hmin = T / 22.0, Hmax = T / 2.0, h = nearbyint(H);
  if (h > Hmax) h = Hmax;
  if (h < Hmin) h = Hmin;
  int fitted = seed_fit(h, T);
  return fitted < 1 ? 1 : fitted;
}

static int seed_sigmoid(int e, int E, int T) {
  double Hmin = T / 22.0, Hmax = T / 2.0, s = 0.5, m = E / 2.0;
  return seed_bounded(Hmin + (Hmax - Hmin) * (1 / (1 + exp(-s * (e - m)))), T);
}
static int seed_revcos(int e, int E, int T) {
  double Hmin = T / 22.0, Hmax = T / 2.0;
  return seed_bounded(Hmax - (Hmax - Hmin) / 2 * (1 + cos(M_PI * e / E)), T);
}
/* int((1.0 - e/(E-1))*120 + 1) // 2 + 4 (issue 20 quotes the seed's DLin) and its kin */
static int seed_alin(int e, int E) { return (int)((double)e / (E - 1) * 120 + 1) / 2 + 4; }
static int seed_dlin(int e, int E) { return (int)((1.0 - (double)e / (E - 1)) * 120 + 1) / 2 + 4; }
static int seed_abin(int e, int E) { return 1 << ((int)((double)e / (E - 1) * 8 + 1) / 2 + 2); }
static int seed_dbin(int e, int E) {
  return 1 << ((int)((1.0 - (double)e / (E - 1)) * 8 + 1) / 2 + 2);
}

typedef struct {
  const char *name;
  int (*with_t)(int e, int E, int T); /* Sigmoid, RevCosAnn */
  int (*ramp)(int e, int E);          /* the others */
  uint32_t digest_a, digest_b;        /* python3 on the seed's formulas, see below */
} seed_case_t;

/* Every H dpt gives for epochs 1..E-1 must be the transcription's; the digests (d = d*31 +
 * H mod 2^32, in loop order) are of the same grid evaluated by python3 itself with the
 * seed's expressions, e.g. Sigmoid: Hmin + (Hmax - Hmin) * (1 / (1 + math.exp(-s * (e -
 * m)))), max(Hmin, min(Hmax, round(H))), n = T // H, r = T % H, math.ceil(T / n) /
 * math.floor(T / n); DLin: int((1.0 - e / (E - 1)) * 120 + 1) // 2 + 4. Grid a: every T
 * of 22..1500 with E = 10, 50, 150, 200; grid b: T = 22, 50, 100, 176, 352, 1000, 1500
 * with every E of 2..200; the ramps: every E of 2..200. */
static const int grid_a_epochs[] = {10, 50, 150, 200};
static const int grid_b_steps[] = {22, 50, 100, 176, 352, 1000, 1500};
static const seed_case_t seed_cases[] = {
    {"Sigmoid", seed_sigmoid, NULL, 0x2c29ea00u, 0x13a7716cu},
    {"RevCosAnn", seed_revcos, NULL, 0x3322cc5eu, 0xc1295969u},
    {"ALin", NULL, seed_alin, 0xc1893078u, 0},
    {"DLin", NULL, seed_dlin, 0xa63a2b64u, 0},
    {"ABin", NULL, seed_abin, 0xf78dc77cu, 0},
    {"DBin", NULL, seed_dbin, 0xb59aa538u, 0},
};

/* dpt's H against the transcription at (e, E, T); folds dpt's H into *d. */
static int seed_agrees(const seed_case_t *c, const dynh_t *s, int e, int E, int T, uint32_t *d) {
  int got = dynh_schedule(s, e, E, T), want = c->with_t ? c->with_t(e, E, T) : c->ramp(e, E);
  *d = *d * 31u + (uint32_t)got;
  if (got == want) return 1;
  test_failed(__FILE__, __LINE__, "%s e=%d E=%d T=%d: H = %d, the seed's %d", c->name, e, E, T,
              got, want);
  return 0;
}

TEST(dynamic_schedule_is_the_seeds_float_arithmetic) {
  for (size_t i = 0; i < sizeof seed_cases / sizeof seed_cases[0]; i++) {
    const seed_case_t *c = &seed_cases[i];
    dynh_t s = make(c->name, 3);
    uint32_t da = 0, db = 0;
    int ok = 1;
    if (c->with_t) {
      for (int T = 22; ok && T <= 1500; T++)
        for (size_t k = 0; ok && k < 4; k++)
          for (int E = grid_a_epochs[k], e = 0; ok && e < E - 1; e++)
            ok = seed_agrees(c, &s, e, E, T, &da);
      for (size_t k = 0; ok && k < 7; k++)
        for (int T = grid_b_steps[k], E = 2; ok && E <= 200; E++)
          for (int e = 0; ok && e < E - 1; e++) ok = seed_agrees(c, &s, e, E, T, &db);
    } else {
      for (int E = 2; ok && E <= 200; E++)
        for (int e = 0; ok && e < E - 1; e++) ok = seed_agrees(c, &s, e, E, 176, &da);
    }
    if (!ok) continue;
    if (da != c->digest_a || db != c->digest_b)
      test_failed(__FILE__, __LINE__, "%s: digests %08x %08x, python3's %08x %08x", c->name,
                  da, db, c->digest_a, c->digest_b);
  }
}

TEST(dynamic_fit_hand_values) {
  CHECK(dynh_fit(30, 100) == 33); /* r = 10: 10% > 5%: floor(100/3) */
  CHECK(dynh_fit(32, 100) == 25); /* r = 4: 4% -> 4 windows of ceil(100/4) */
  CHECK(dynh_fit(19, 100) == 17); /* r = 5: exactly 5% -> ceil(100/6) */
  CHECK(dynh_fit(25, 100) == 25);
  CHECK(dynh_fit(7, 7) == 7 && dynh_fit(9, 7) == 7 && dynh_fit(0, 7) == 1);
}

TEST(dynamic_bounds_are_configurable) {
  dpt_config_t c;
  dynh_t s;
  CHECK_OK(config_with(&c, "ALin"));
  c.dynamic.h_min = 8, c.dynamic.h_max = 32;
  dynh_init(&s, &c.dynamic, c.local_steps);
  CHECK(dynh_schedule(&s, 0, 150, 176) == 8 && dynh_schedule(&s, 149, 150, 176) == 32);
  c.dynamic.kind = DYNH_DBIN;
  dynh_init(&s, &c.dynamic, c.local_steps);
  CHECK(dynh_schedule(&s, 0, 150, 176) == 32 && dynh_schedule(&s, 149, 150, 176) == 8);
  /* an unknown strategy is refused where the config is parsed */
  CHECK_FAILS(config_with(&c, "Nope"));
}

/* ---------------------------------------------------------------- feedback */

/* Drives a feedback strategy as the trainer does; h[e] is the H of epoch e. */
static void feed(dynh_t *s, const double *loss, const double *acc, const double *dev, int E,
                 int *h) {
  h[0] = s->h;
  for (int e = 0; e + 1 < E; e++)
    h[e + 1] = dynh_next(s, e, E, 176, loss, acc, e + 1, dev ? dev[e] : NAN);
}

/* The seed's loss history exists once more than n_losses losses are in: with n = 3 the
 * first decision is after epoch 3, on losses 1..3. */
TEST(dynamic_lossls_seed_timing) {
  const double loss[] = {2.0, 1.8, 1.6, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 1.7, 1.5, 1.3};
  /* after e0..e2: no history, keep 8; e3: 1.8 > 1.6 > 1.4 double; e4: 1.6, 1.4, 1.5 keep;
   * e5: 1.4 < 1.5 < 1.6 halve; e6, e7: halve (8, 4); e8: halve at 4 stays 4;
   * e9: 1.8, 1.9, 1.7 keep; e10: 1.9 > 1.7 > 1.5 double */
  const int want[] = {8, 8, 8, 8, 16, 16, 8, 4, 4, 4, 4, 8};
  int got[12];
  dynh_t s = make("LossLS", 3);
  feed(&s, loss, NULL, NULL, 12, got);
  check_seq(__LINE__, "LossLS n=3", 12, 176, got, want);
  /* n_losses = 5: the first decision after epoch 5, on losses 3..5 (1.4, 1.5, 1.6) */
  const int want5[] = {8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 4, 8};
  s = make("LossLS", 5);
  feed(&s, loss, NULL, NULL, 12, got);
  check_seq(__LINE__, "LossLS n=5", 12, 176, got, want5);
}

/* Same history for AvgLossLS: n = 4 needs 5 losses, and compares the mean of the newest 2
 * with the mean of the 2 before. */
TEST(dynamic_avglossls_seed_timing) {
  const double loss[] = {1.0, 0.9, 0.8, 0.7, 0.6, 0.9, 1.0, 1.0, 1.0};
  /* e0..e3: keep; e4: history 0.9 0.8 0.7 0.6: 0.65 < 0.85 double; e5: 0.8 0.7 0.6 0.9:
   * 0.75 = 0.75 keep; e6: 0.7 0.6 0.9 1.0: 0.95 > 0.65 halve; e7: 0.6 0.9 1.0 1.0:
   * 1.0 > 0.75 halve */
  const int want[] = {8, 8, 8, 8, 8, 16, 16, 8, 4};
  int got[9];
  dynh_t s = make("AvgLossLS", 4);
  feed(&s, loss, NULL, NULL, 9, got);
  check_seq(__LINE__, "AvgLossLS", 9, 176, got, want);
}

/* ImprLS after every epoch, from the first: c = epochs since the accuracy last beat the
 * best so far (which starts at 0): c > 3 halve, c = 0 double. */
TEST(dynamic_imprls_seed_timing) {
  const double acc[] = {0.1, 0.2, 0.2, 0.15, 0.18, 0.19, 0.3, 0.3, 0.3, 0.3, 0.3};
  /* c after each epoch: 0 0 1 2 3 4 0 1 2 3 4 */
  const int want[] = {8, 16, 32, 32, 32, 32, 16, 32, 32, 32, 32};
  int got[11];
  dynh_t s = make("ImprLS", 3);
  feed(&s, NULL, acc, NULL, 11, got);
  check_seq(__LINE__, "ImprLS", 11, 176, got, want);
  /* an accuracy of 0 is no improvement over the seed's initial best of 0: c = 1, keep */
  const double zero[] = {0.0, 0.0, 0.1};
  s = make("ImprLS", 3);
  feed(&s, NULL, zero, NULL, 3, got);
  CHECK(got[1] == 8 && got[2] == 8);
  /* doubling stops at h_max */
  s = make("ImprLS", 3);
  s.h = 64;
  CHECK(dynh_next(&s, 0, 150, 176, NULL, acc, 1, NAN) == 64);
}

/* Deviation: the mean deviation of epoch e decides the H of epoch e+1. */
TEST(dynamic_deviation_timing_and_fixed) {
  const double dev[] = {1e-6, 5e-5, 1e-3, NAN, 1e-3, 1e-3, 1e-3, 0};
  const int want[] = {8, 16, 16, 8, 8, 4, 4, 4, 8};
  int got[9];
  dynh_t s = make("Deviation", 3);
  feed(&s, NULL, NULL, dev, 9, got);
  check_seq(__LINE__, "Deviation", 9, 176, got, want);
  /* halving a non-power of two stops at h_min, not below */
  s = make("Deviation", 3);
  s.h = 6;
  CHECK(dynh_next(&s, 0, 150, 176, NULL, NULL, 0, 1.0) == 4);
  /* no strategy: local_steps throughout */
  s = make("", 3);
  CHECK(s.h == H0 && dynh_next(&s, 5, 150, 176, NULL, NULL, 0, 1.0) == H0);
  CHECK(!dynh_is_schedule(DYNH_LOSSLS) && dynh_is_schedule(DYNH_REVCOSANN));
  CHECK(!strcmp(dynh_name(DYNH_AVGLOSSLS), "AvgLossLS"));
}
