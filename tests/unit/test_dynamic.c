/* test_dynamic.c - the dynamic local-step strategies against spec/algorithms.md: the H of
 * every epoch of an E = 150 run, expected values from the formulas evaluated here in
 * double (or by hand), not by the code under test. */
#include <math.h>
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/optim/dynamic_h.h"
#include "test.h"

#define E 150

static dynh_t make(const char *strategy, int local_steps) {
  dpt_config_t c;
  dynh_t s;
  config_defaults(&c);
  snprintf(c.dynamic_strategy, sizeof c.dynamic_strategy, "%s", strategy);
  c.local_steps = local_steps;
  c.dynamic_n_losses = 4;
  if (dynh_init(&s, &c) < 0) DPT_PANIC("dynh_init: %s", dpt_errmsg());
  return s;
}

/* H of epochs 0..epochs-1 of a schedule strategy, as the trainer drives it. */
static void sequence(dynh_t *s, int epochs, int T, int *h) {
  h[0] = dynh_initial(s, epochs, T);
  for (int e = 0; e + 1 < epochs; e++) h[e + 1] = dynh_next(s, e, epochs, T, NULL, NULL, 0, NAN);
}

static void check_seq(int line, const char *name, const int *got, const int *want, int n) {
  for (int e = 0; e < n; e++)
    if (got[e] != want[e]) {
      test_failed(__FILE__, line, "%s: H at epoch %d = %d, expected %d", name, e, got[e], want[e]);
      return;
    }
}

TEST(dynamic_alin_dlin_linear_4_to_64) {
  int got[E], want[E];
  dynh_t s = make("ALin", 1);
  sequence(&s, E, 176, got);
  for (int e = 0; e < E; e++)
    want[e] = (int)floor((floor(120.0 * e / (E - 1)) + 1) / 2) + 4;
  check_seq(__LINE__, "ALin", got, want, E);
  /* by hand: floor(120*75/149) = 60, (60+1)/2 -> 30, + 4 */
  CHECK(got[0] == 4 && got[1] == 4 && got[2] == 5 && got[75] == 34 && got[E - 1] == 64);
  int seen[65] = {0};
  for (int e = 0; e < E; e++) {
    if (e) CHECK(got[e] >= got[e - 1]);
    seen[got[e]] = 1;
  }
  for (int h = 4; h <= 64; h++) CHECK(seen[h]); /* every H from 4 to 64 */

  s = make("DLin", 1);
  sequence(&s, E, 176, got);
  for (int e = 0; e < E; e++)
    want[e] = (int)floor((floor(120.0 * (1 - (double)e / (E - 1))) + 1) / 2) + 4;
  check_seq(__LINE__, "DLin", got, want, E);
  CHECK(got[0] == 64 && got[E - 1] == 4);
  for (int e = 1; e < E; e++) CHECK(got[e] <= got[e - 1]);
}

TEST(dynamic_abin_dbin_powers_of_two) {
  int got[E], want[E];
  dynh_t s = make("ABin", 1);
  sequence(&s, E, 176, got);
  for (int e = 0; e < E; e++)
    want[e] = 1 << ((int)floor((floor(8.0 * e / (E - 1)) + 1) / 2) + 2);
  check_seq(__LINE__, "ABin", got, want, E);
  CHECK(got[0] == 4 && got[E - 1] == 64);

  s = make("DBin", 1);
  sequence(&s, E, 176, got);
  for (int e = 0; e < E; e++)
    want[e] = 1 << ((int)floor((floor(8.0 * (1 - (double)e / (E - 1))) + 1) / 2) + 2);
  check_seq(__LINE__, "DBin", got, want, E);
  /* the distinct values in order: 64, 32, 16, 8, 4 */
  int distinct[8], nd = 0;
  for (int e = 0; e < E; e++)
    if (!nd || distinct[nd - 1] != got[e]) distinct[nd++] = got[e];
  CHECK(nd == 5 && distinct[0] == 64 && distinct[1] == 32 && distinct[2] == 16 &&
        distinct[3] == 8 && distinct[4] == 4);
  /* by hand: floor(8*(1 - 18/149)) = floor(7.03) = 7 -> p = 4 + 2: 64 at epoch 18;
   * floor(8*(1 - 19/149)) = floor(6.98) = 6 -> p = 3 + 2: 32 from epoch 19 */
  CHECK(got[18] == 64 && got[19] == 32);
}

TEST(dynamic_bounds_are_configurable) {
  dpt_config_t c;
  dynh_t s;
  int got[E];
  config_defaults(&c);
  strcpy(c.dynamic_strategy, "ALin");
  c.dynamic_h_min = 8, c.dynamic_h_max = 32;
  CHECK_OK(dynh_init(&s, &c));
  sequence(&s, E, 176, got);
  CHECK(got[0] == 8 && got[E - 1] == 32);
  strcpy(c.dynamic_strategy, "DBin");
  CHECK_OK(dynh_init(&s, &c));
  sequence(&s, E, 176, got);
  CHECK(got[0] == 32 && got[E - 1] == 8);
  /* one epoch: the ramps' start */
  strcpy(c.dynamic_strategy, "ALin");
  CHECK_OK(dynh_init(&s, &c));
  CHECK(dynh_initial(&s, 1, 176) == 8);
  strcpy(c.dynamic_strategy, "Nope");
  CHECK_FAILS(dynh_init(&s, &c));
}

/* Python's round(): half to even. */
static double round_half_even(double x) {
  double f = floor(x), d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return fmod(f, 2) == 0 ? f : f + 1;
}

/* The spec's adjustment to T, in double as written there. */
static int fit_ref(int h, int T) {
  int n = T / h, r = T % h;
  if (r > 0 && (double)r / T <= 0.05) return (int)ceil((double)T / (n + 1));
  return (int)floor((double)T / n);
}

static void check_tiling(int line, const char *name, const int *got, int T, int epochs,
                         double (*x_of)(int e, int epochs, double hmin, double hmax)) {
  int hmax = T / 2, hmin = T / 22;
  for (int e = 0; e < epochs; e++) {
    double r = round_half_even(x_of(e, epochs, hmin, hmax));
    int h0 = r < hmin ? hmin : r > hmax ? hmax : (int)r, want = fit_ref(h0, T);
    if (got[e] != want) {
      test_failed(__FILE__, line, "%s T=%d: H at epoch %d = %d, expected %d (raw %d)", name, T,
                  e, got[e], want, h0);
      return;
    }
    /* within the 5% rule: H divides T, or raw H's remainder was > 5% and H = floor(T/n),
     * or it was <= 5% and one more window made H = ceil(T/(n+1)) */
    int n = T / h0, rem = T % h0;
    CHECK(T % got[e] == 0 || (rem * 20 > T && got[e] == T / n) ||
          (rem * 20 <= T && got[e] == (T + n) / (n + 1)));
  }
}

static double sigmoid_x(int e, int epochs, double hmin, double hmax) {
  return hmin + (hmax - hmin) / (1 + exp(-0.5 * (e - epochs / 2.0)));
}

static double revcos_x(int e, int epochs, double hmin, double hmax) {
  return hmax - (hmax - hmin) / 2 * (1 + cos(M_PI * e / epochs));
}

TEST(dynamic_sigmoid_and_revcosann_tile_T) {
  const int Ts[] = {176, 703, 1000, 88, 32};
  int got[E];
  for (int i = 0; i < 5; i++) {
    dynh_t s = make("Sigmoid", 1);
    sequence(&s, E, Ts[i], got);
    check_tiling(__LINE__, "Sigmoid", got, Ts[i], E, sigmoid_x);
    s = make("RevCosAnn", 1);
    sequence(&s, E, Ts[i], got);
    check_tiling(__LINE__, "RevCosAnn", got, Ts[i], E, revcos_x);
  }
  /* by hand, T = 176 (Hmin 8, Hmax 88): Sigmoid at e = 0 is ~8 (176 = 22*8), at the
   * midpoint 75 exactly 48 -> n = 3, r = 32 (18% > 5%) -> floor(176/3) = 58; at 149 ~88. */
  dynh_t s = make("Sigmoid", 1);
  sequence(&s, E, 176, got);
  CHECK(got[0] == 8 && got[75] == 58 && got[E - 1] == 88);
  /* RevCosAnn rises: Hmin at e = 0; at 75, 88 - 40*(1 + cos(pi/2)) = 48 -> 58 */
  s = make("RevCosAnn", 1);
  sequence(&s, E, 176, got);
  CHECK(got[0] == 8 && got[75] == 58);
  /* a tie rounds half to even, as Python's round(): T = 32 (Hmin 1, Hmax 16) at 75 gives
   * 16 - 7.5 = 8.5 -> 8, which tiles 32; 9 would have become floor(32/3) = 10 */
  s = make("RevCosAnn", 1);
  sequence(&s, E, 32, got);
  CHECK(got[75] == 8);
  /* the midpoint and steepness are settable; auto is E/2 */
  dpt_config_t c;
  config_defaults(&c);
  strcpy(c.dynamic_strategy, "Sigmoid");
  c.sigmoid_midpoint = 10, c.sigmoid_steepness = 2;
  CHECK_OK(dynh_init(&s, &c));
  CHECK(dynh_schedule(&s, 10, E, 176) == 58 && dynh_schedule(&s, 20, E, 176) == 88);
}

TEST(dynamic_fit_hand_values) {
  CHECK(dynh_fit(30, 100) == 33); /* r = 10: 10% > 5%: floor(100/3) */
  CHECK(dynh_fit(32, 100) == 25); /* r = 4: 4% -> 4 windows of ceil(100/4) */
  CHECK(dynh_fit(19, 100) == 17); /* r = 5: exactly 5% -> ceil(100/6) */
  CHECK(dynh_fit(25, 100) == 25);
  CHECK(dynh_fit(7, 7) == 7 && dynh_fit(9, 7) == 7 && dynh_fit(0, 7) == 1);
}

/* Drives a feedback strategy over a history; returns H of each following epoch. */
static void feed(dynh_t *s, const double *loss, const double *acc, const double *dev, int n,
                 int *h) {
  for (int e = 0; e < n; e++) h[e] = dynh_next(s, e, E, 176, loss, acc, e + 1, dev ? dev[e] : NAN);
}

TEST(dynamic_lossls_follows_losses) {
  const double loss[] = {2.0, 1.8, 1.6, 1.7, 1.9, 2.0, 2.1, 1.5, 1.4, 1.3, 1.2};
  /* windows (oldest first) after epoch 2: 2.0 > 1.8 > 1.6 double; 1.8,1.6,1.7 keep;
   * 1.6 < 1.7 < 1.9 halve; 1.7 < 1.9 < 2.0 halve; 1.9 < 2.0 < 2.1 halve (4 stays 4);
   * 2.0,2.1,1.5 keep; 2.1 > 1.5 > 1.4 double; ... */
  const int want[] = {8, 8, 16, 16, 8, 4, 4, 4, 8, 16, 32};
  int got[11];
  dynh_t s = make("LossLS", 8);
  CHECK(dynh_initial(&s, E, 176) == 8); /* local_steps */
  feed(&s, loss, NULL, NULL, 11, got);
  check_seq(__LINE__, "LossLS", got, want, 11);
}

TEST(dynamic_imprls_follows_accuracy) {
  const double acc[] = {0.1, 0.2, 0.2, 0.15, 0.18, 0.19, 0.3, 0.3, 0.3, 0.3, 0.3};
  /* c = epochs since the best improved: 0 0 1 2 3 4 0 1 2 3 4 */
  const int want[] = {8, 16, 16, 16, 16, 8, 16, 16, 16, 16, 8};
  int got[11];
  dynh_t s = make("ImprLS", 4);
  feed(&s, NULL, acc, NULL, 11, got);
  check_seq(__LINE__, "ImprLS", got, want, 11);
  /* doubling stops at h_max */
  s = make("ImprLS", 64);
  feed(&s, NULL, acc, NULL, 2, got);
  CHECK(got[0] == 64 && got[1] == 64);
}

TEST(dynamic_avglossls_needs_n_losses) {
  /* n = 4: the mean of the newest 2 against the previous 2, from the 4th loss on */
  const double loss[] = {1.0, 0.9, 0.8, 0.7, 0.9, 1.0, 1.0, 1.0};
  /* e3: (0.8+0.7)/2 < (1.0+0.9)/2 double; e4: 0.8 < 0.85 double; e5: 0.95 > 0.75 halve;
   * e6: 1.0 > 0.8 halve; e7: 1.0 > 0.95 halve */
  const int want[] = {8, 8, 8, 16, 32, 16, 8, 4};
  int got[8];
  dynh_t s = make("AvgLossLS", 8);
  feed(&s, loss, NULL, NULL, 8, got);
  check_seq(__LINE__, "AvgLossLS", got, want, 8);
}

TEST(dynamic_deviation_and_fixed) {
  const double dev[] = {1e-6, 5e-5, 1e-3, NAN, 1e-3, 1e-3, 1e-3, 0};
  const int want[] = {16, 16, 8, 8, 4, 4, 4, 8};
  int got[8];
  dynh_t s = make("Deviation", 8);
  feed(&s, NULL, NULL, dev, 8, got);
  check_seq(__LINE__, "Deviation", got, want, 8);
  /* halving a non-power of two stops at h_min, not below */
  s = make("Deviation", 6);
  CHECK(dynh_next(&s, 0, E, 176, NULL, NULL, 0, 1.0) == 4);
  /* no strategy: local_steps throughout */
  s = make("", 12);
  CHECK(dynh_initial(&s, E, 176) == 12);
  CHECK(dynh_next(&s, 5, E, 176, NULL, NULL, 0, 1.0) == 12);
  CHECK(!dynh_is_schedule(DYNH_LOSSLS) && dynh_is_schedule(DYNH_REVCOSANN));
  CHECK(!strcmp(dynh_name(DYNH_AVGLOSSLS), "AvgLossLS"));
}
