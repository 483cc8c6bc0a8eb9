/* dynamic_h.c - the dynamic local-step strategies (see dynamic_h.h). */
#include "dynamic_h.h"

#include <math.h>
#include <string.h>


const char *const dynh_names[] = {"",        "ALin",      "DLin",      "ABin",
                                  "DBin",    "ImprLS",    "LossLS",    "AvgLossLS",
                                  "Sigmoid", "RevCosAnn", "Deviation", NULL};
#define NKINDS ((int)(sizeof dynh_names / sizeof dynh_names[0]) - 1)

const char *dynh_name(dynh_kind_t kind) {
  return (int)kind >= 0 && (int)kind < NKINDS ? dynh_names[kind] : "?";
}

int dynh_is_schedule(dynh_kind_t kind) {
  return kind == DYNH_ALIN || kind == DYNH_DLIN || kind == DYNH_ABIN || kind == DYNH_DBIN ||
         kind == DYNH_SIGMOID || kind == DYNH_REVCOSANN;
}

void dynh_init(dynh_t *s, const dynh_params_t *p, int local_steps) {
  s->p = *p;
  s->h = s->h_start = local_steps;
}

int dynh_fit(int h, int T) {
  if (T < 1) return h < 1 ? 1 : h;
  if (h < 1) h = 1;
  if (h > T) h = T;
  int n = T / h, r = T % h;
  /* r/T <= 0.05 exactly, in integers */
  if (r > 0 && 20LL * r <= T) return (T + n) / (n + 1); /* ceil(T/(n+1)) */
  return T / n;
}

/* Python's round(): half to even (the current rounding mode is to-nearest-even). */
static double round_even(double x) { return nearbyint(x); }

/* The rounded H clamped to the real [T/22, T/2], then fitted to T. A clamped H is the
 * bound itself: T/(T/22) is exactly 22 windows with no remainder, so H = floor(T/22),
 * and likewise floor(T/2) at the top (the seed's float `T % (T/22)` leaves 1e-15 or
 * almost T/22 depending on T, and so gives floor(T/22), ceil(T/22) or ceil(T/23); this
 * is the exact value). Compared in integers; at least 1 for T < 22. */
static int fit_real_bounds(long long h, int T) {
  int fitted = 22 * h < T ? T / 22 : 2 * h > T ? T / 2 : dynh_fit((int)h, T);
  return fitted > 1 ? fitted : 1;
}

/* floor(k * num / den) for the linear ramps, exactly in integers (den >= 1). */
static long long ramp(long long k, long long num, long long den) { return k * num / den; }

static int clampi(int h, int lo, int hi) { return h < lo ? lo : h > hi ? hi : h; }

static int log2_floor(int x) {
  int p = 0;
  while ((2LL << p) <= x) p++;
  return p;
}

int dynh_schedule(const dynh_t *s, int e, int epochs, int T) {
  /* e/(E-1) as num/den; one epoch only: the ramp's start (num 0). */
  long long den = epochs > 1 ? epochs - 1 : 1, up = epochs > 1 ? e : 0, down = den - up;
  switch (s->p.kind) {
  case DYNH_ALIN:
  case DYNH_DLIN: {
    /* floor((floor(2*(Hmax-Hmin)*x) + 1)/2) + Hmin: 120 = 2*(64-4) in the seed */
    long long q = ramp(2LL * (s->p.h_max - s->p.h_min), s->p.kind == DYNH_ALIN ? up : down, den);
    return clampi((int)((q + 1) / 2) + s->p.h_min, s->p.h_min, s->p.h_max);
  }
  case DYNH_ABIN:
  case DYNH_DBIN: {
    /* p from log2(Hmin) to log2(Hmax): 8 = 2*(6-2) in the seed */
    int pmin = log2_floor(s->p.h_min), pmax = log2_floor(s->p.h_max);
    if ((1 << pmin) < s->p.h_min) pmin++;
    if (pmax < pmin) pmax = pmin;
    long long q = ramp(2LL * (pmax - pmin), s->p.kind == DYNH_ABIN ? up : down, den);
    return clampi(1 << ((int)((q + 1) / 2) + pmin), s->p.h_min, s->p.h_max);
  }
  case DYNH_SIGMOID:
  case DYNH_REVCOSANN: {
    /* in double and in the seed's order of operations, so that ties round alike */
    double hmax = T / 2.0, hmin = T / 22.0, x;
    if (s->p.kind == DYNH_SIGMOID) {
      double m = s->p.midpoint >= 0 ? s->p.midpoint : epochs / 2.0;
      x = hmin + (hmax - hmin) * (1.0 / (1.0 + exp(-s->p.steepness * (e - m))));
    } else {
      x = hmax - (hmax - hmin) / 2.0 * (1.0 + cos(M_PI * e / epochs));
    }
    return fit_real_bounds((long long)round_even(x), T);
  }
  default:
    return s->h_start;
  }
}

/* -1 halve, +1 double, 0 keep */
static int feedback(const dynh_t *s, const double *loss, const double *acc, int n,
                    double dev) {
  switch (s->p.kind) {
  case DYNH_IMPRLS: {
    /* c: epochs since the validation accuracy last rose above the best so far, which
     * starts at 0 as the seed's best_acc does; no validation split (NaN): keep */
    if (n < 1 || !acc || isnan(acc[n - 1])) return 0;
    double best = 0;
    int last = -1;
    for (int i = 0; i < n; i++)
      if (acc[i] > best) best = acc[i], last = i;
    int c = n - 1 - last;
    return c > 3 ? -1 : c == 0 ? 1 : 0;
  }
  case DYNH_LOSSLS: {
    /* the seed keeps a history of the last n_losses losses once it has more than
     * n_losses of them, and compares its newest three */
    if (n <= s->p.n_losses || n < 3 || !loss) return 0;
    double l1 = loss[n - 3], l2 = loss[n - 2], l3 = loss[n - 1];
    return l1 < l2 && l2 < l3 ? -1 : l1 > l2 && l2 > l3 ? 1 : 0;
  }
  case DYNH_AVGLOSSLS: {
    /* the same history: the mean of its newest n/2 against its older n/2 */
    int half = s->p.n_losses / 2;
    if (half < 1 || n <= s->p.n_losses || !loss) return 0;
    double newer = 0, older = 0;
    for (int i = 0; i < half; i++) {
      newer += loss[n - 1 - i];
      older += loss[n - 1 - half - i];
    }
    newer /= half, older /= half;
    return newer > older ? -1 : newer < older ? 1 : 0;
  }
  case DYNH_DEVIATION:
    if (isnan(dev)) return 0;
    return dev > s->p.dev_upper ? -1 : dev < s->p.dev_lower ? 1 : 0;
  default:
    return 0;
  }
}

int dynh_next(dynh_t *s, int epoch_finished, int epochs, int T, const double *val_losses,
              const double *val_accs, int nhist, double mean_deviation) {
  if (s->p.kind == DYNH_FIXED) return s->h = s->h_start;
  if (dynh_is_schedule(s->p.kind)) return s->h = dynh_schedule(s, epoch_finished, epochs, T);
  int move = feedback(s, val_losses, val_accs, nhist, mean_deviation);
  if (move < 0 && s->h > s->p.h_min) s->h = s->h / 2 > s->p.h_min ? s->h / 2 : s->p.h_min;
  if (move > 0 && s->h < s->p.h_max) s->h = 2 * s->h < s->p.h_max ? 2 * s->h : s->p.h_max;
  return s->h;
}
