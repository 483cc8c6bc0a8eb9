/* dynamic_h.c - the dynamic local-step strategies (see dynamic_h.h). */
#include "dynamic_h.h"

#include <math.h>
#include <string.h>

#include "../core/err.h"


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

/* The seed's arithmetic is Python's on doubles (selectors.py); these are its operators.
 * round(): half to even (the current rounding mode is to-nearest-even). */
static double py_round(double x) { return nearbyint(x); }

/* a // b and a % b for a, b > 0, as Python's float divmod computes them (from fmod, so
 * that T // (T/22) may be 21 with a remainder of almost T/22). */
static double py_mod(double a, double b) { return fmod(a, b); }
static double py_floordiv(double a, double b) {
  double div = (a - fmod(a, b)) / b, fl = floor(div);
  return div - fl > 0.5 ? fl + 1.0 : fl;
}

/* The seed's fit of a real H in [T/22, T/2] to T, in its float arithmetic: n = T // H,
 * r = T % H; if r > 0 and r/T <= 0.05 then H = ceil(T/(n+1)), else floor(T/n). For an
 * integer H this is dynh_fit; for a clamped bound the float remainder decides (T = 50:
 * 50 // (50/22) = 21 with r = 2.27, so 22 windows of ceil(50/22) = 3). At least 1 (for
 * T < 22 the seed's could be 0). */
static int fit_real(double h, int T) {
  double n = py_floordiv(T, h), r = py_mod(T, h);
  double fitted = r > 0 && r / T <= 0.05 ? ceil(T / (n + 1.0)) : floor(T / n);
  return fitted > 1 ? (int)fitted : 1;
}

/* The linear ramps, as the seed writes DLin: int((1.0 - e/(E-1))*120 + 1), with 120 =
 * span; x = e/(E-1) rising (x = 0 for one epoch), 1.0 - x falling. Then //2 in integers. */
static int ramp(int rising, int e, int epochs, int span) {
  double x = epochs > 1 ? (double)e / (epochs - 1) : 0.0;
  return (int)((rising ? x : 1.0 - x) * span + 1) / 2;
}

static int clampi(int h, int lo, int hi) { return h < lo ? lo : h > hi ? hi : h; }

static int log2_floor(int x) {
  int p = 0;
  while ((2LL << p) <= x) p++;
  return p;
}

/* ALin, DLin: int(x*2*(Hmax-Hmin) + 1)//2 + Hmin: 120 = 2*(64-4) in the seed */
static int sched_lin(const dynh_t *s, int e, int epochs, int T) {
  (void)T;
  int q = ramp(s->p.kind == DYNH_ALIN, e, epochs, 2 * (s->p.h_max - s->p.h_min));
  return clampi(q + s->p.h_min, s->p.h_min, s->p.h_max);
}

/* ABin, DBin: p from log2(Hmin) to log2(Hmax): 8 = 2*(6-2) in the seed */
static int sched_bin(const dynh_t *s, int e, int epochs, int T) {
  (void)T;
  int pmin = log2_floor(s->p.h_min), pmax = log2_floor(s->p.h_max);
  if ((1 << pmin) < s->p.h_min) pmin++;
  if (pmax < pmin) pmax = pmin;
  int q = ramp(s->p.kind == DYNH_ABIN, e, epochs, 2 * (pmax - pmin));
  return clampi(1 << (q + pmin), s->p.h_min, s->p.h_max);
}

/* Sigmoid, RevCosAnn: in double and in the seed's order of operations, so that ties
 * round alike; the rounded H is clamped to the real bounds, which stay reals */
static int sched_curve(const dynh_t *s, int e, int epochs, int T) {
  double hmax = T / 2.0, hmin = T / 22.0, x;
  if (s->p.kind == DYNH_SIGMOID) {
    double m = s->p.midpoint >= 0 ? s->p.midpoint : epochs / 2.0;
    x = hmin + (hmax - hmin) * (1.0 / (1.0 + exp(-s->p.steepness * (e - m))));
  } else {
    x = hmax - (hmax - hmin) / 2.0 * (1.0 + cos(M_PI * e / epochs));
  }
  double h = py_round(x);
  return fit_real(h < hmin ? hmin : h > hmax ? hmax : h, T);
}

/* The feedback rules: -1 halve, +1 double, 0 keep. */

/* ImprLS. c: epochs since the validation accuracy last rose above the best so far, which
 * starts at 0 as the seed's best_acc does; no validation split (NaN): keep */
static int fb_imprls(const dynh_t *s, const double *loss, const double *acc, int n, double dev) {
  (void)s, (void)loss, (void)dev;
  if (n < 1 || !acc || isnan(acc[n - 1])) return 0;
  double best = 0;
  int last = -1;
  for (int i = 0; i < n; i++)
    if (acc[i] > best) best = acc[i], last = i;
  int c = n - 1 - last;
  return c > 3 ? -1 : c == 0 ? 1 : 0;
}

/* LossLS. The seed keeps a history of the last n_losses losses once it has more than
 * n_losses of them, and compares its newest three */
static int fb_lossls(const dynh_t *s, const double *loss, const double *acc, int n, double dev) {
  (void)acc, (void)dev;
  if (n <= s->p.n_losses || n < 3 || !loss) return 0;
  double l1 = loss[n - 3], l2 = loss[n - 2], l3 = loss[n - 1];
  return l1 < l2 && l2 < l3 ? -1 : l1 > l2 && l2 > l3 ? 1 : 0;
}

/* AvgLossLS. The same history: the mean of its newest n/2 against its older n/2 */
static int fb_avglossls(const dynh_t *s, const double *loss, const double *acc, int n,
                        double dev) {
  (void)acc, (void)dev;
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

/* Deviation: the epoch's mean deviation against the two bounds */
static int fb_deviation(const dynh_t *s, const double *loss, const double *acc, int n,
                        double dev) {
  (void)loss, (void)acc, (void)n;
  if (isnan(dev)) return 0;
  return dev > s->p.dev_upper ? -1 : dev < s->p.dev_lower ? 1 : 0;
}

const dynh_def_t dynh_defs[] = {
    [DYNH_FIXED] = {"", "fixed H", NULL, NULL, 0},
    [DYNH_ALIN] = {"ALin", "ALin", sched_lin, NULL, 0},
    [DYNH_DLIN] = {"DLin", "DLin", sched_lin, NULL, 0},
    [DYNH_ABIN] = {"ABin", "ABin", sched_bin, NULL, 0},
    [DYNH_DBIN] = {"DBin", "DBin", sched_bin, NULL, 0},
    [DYNH_IMPRLS] = {"ImprLS", "ImprLS", NULL, fb_imprls, 0},
    [DYNH_LOSSLS] = {"LossLS", "LossLS", NULL, fb_lossls, 0},
    [DYNH_AVGLOSSLS] = {"AvgLossLS", "AvgLossLS", NULL, fb_avglossls, 0},
    [DYNH_SIGMOID] = {"Sigmoid", "Sigmoid", sched_curve, NULL, 0},
    [DYNH_REVCOSANN] = {"RevCosAnn", "RevCosAnn", sched_curve, NULL, 0},
    [DYNH_DEVIATION] = {"Deviation", "Deviation", NULL, fb_deviation, 1},
};
const int dynh_ndefs = (int)(sizeof dynh_defs / sizeof dynh_defs[0]);

const dynh_def_t *dynh_def(dynh_kind_t kind) {
  DPT_ASSERT((int)kind >= 0 && (int)kind < dynh_ndefs);
  return &dynh_defs[kind];
}

const char *dynh_spelling(int i) { return i >= 0 && i < dynh_ndefs ? dynh_defs[i].name : NULL; }

const char *dynh_name(dynh_kind_t kind) {
  return (int)kind >= 0 && (int)kind < dynh_ndefs ? dynh_defs[kind].name : "?";
}

int dynh_is_schedule(dynh_kind_t kind) { return dynh_def(kind)->schedule != NULL; }

int dynh_schedule(const dynh_t *s, int e, int epochs, int T) {
  const dynh_def_t *d = dynh_def(s->p.kind);
  return d->schedule ? d->schedule(s, e, epochs, T) : s->h_start;
}

int dynh_next(dynh_t *s, int epoch_finished, int epochs, int T, const double *val_losses,
              const double *val_accs, int nhist, double mean_deviation) {
  if (s->p.kind == DYNH_FIXED) return s->h = s->h_start;
  if (dynh_is_schedule(s->p.kind)) return s->h = dynh_schedule(s, epoch_finished, epochs, T);
  int move = dynh_def(s->p.kind)->feedback(s, val_losses, val_accs, nhist, mean_deviation);
  if (move < 0 && s->h > s->p.h_min) s->h = s->h / 2 > s->p.h_min ? s->h / 2 : s->p.h_min;
  if (move > 0 && s->h < s->p.h_max) s->h = 2 * s->h < s->p.h_max ? 2 * s->h : s->p.h_max;
  return s->h;
}
