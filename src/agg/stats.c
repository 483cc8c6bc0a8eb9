/* stats.c - Student t quantiles and paired differences (see stats.h). The incomplete beta
 * function is the continued fraction of Numerical Recipes (section 6.4) evaluated by the
 * modified Lentz method; the quantile inverts the cdf by bisection, which cannot diverge
 * and reaches double precision in under 200 halvings. */
#include "stats.h"

#include <math.h>

/* The continued fraction of I_x(a, b), for x < (a + 1) / (a + b + 2). */
static double beta_cf(double a, double b, double x) {
  const double tiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (fabs(d) < tiny ? tiny : d);
  double h = d;
  for (int m = 1; m <= 10000; m++) {
    double even = m * (b - m) * x / ((a - 1 + 2 * m) * (a + 2 * m));
    double odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1 + 2 * m));
    double step = 1;
    for (int k = 0; k < 2; k++) {
      double aa = k ? odd : even;
      d = 1 + aa * d;
      c = 1 + aa / c;
      d = 1 / (fabs(d) < tiny ? tiny : d);
      if (fabs(c) < tiny) c = tiny;
      step = d * c;
      h *= step;
    }
    if (fabs(step - 1) < 1e-16) break;
  }
  return h;
}

double agg_betai(double a, double b, double x) {
  if (!(x > 0)) return 0;
  if (!(x < 1)) return 1;
  double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_cf(a, b, x) / a;
  return 1 - front * beta_cf(b, a, 1 - x) / b;
}

/* P(T > t) for t >= 0. */
static double upper_tail(double t, double df) {
  return 0.5 * agg_betai(df / 2, 0.5, df / (df + t * t));
}

double agg_t_cdf(double t, double df) {
  double tail = upper_tail(fabs(t), df);
  return t >= 0 ? 1 - tail : tail;
}

double agg_t_quantile(double p, double df) {
  if (!(p > 0 && p < 1 && df > 0)) return NAN;
  if (p < 0.5) return -agg_t_quantile(1 - p, df);
  double tail = 1 - p, lo = 0, hi = 1;
  while (upper_tail(hi, df) > tail && hi < 1e300) lo = hi, hi *= 2;
  for (int i = 0; i < 2000 && hi - lo > 1e-15 * hi; i++) {
    double mid = lo + (hi - lo) / 2;
    if (upper_tail(mid, df) > tail) lo = mid;
    else hi = mid;
  }
  return lo + (hi - lo) / 2;
}

agg_paired_t agg_paired(const double *x, const double *base, int m) {
  agg_paired_t d = {0, NAN, NAN, NAN, NAN};
  double sum = 0, ss = 0;
  for (int i = 0; i < m; i++)
    if (!isnan(x[i]) && !isnan(base[i])) sum += x[i] - base[i], d.n++;
  if (d.n == 0) return d;
  d.mean = sum / d.n;
  if (d.n < 2) return d;
  for (int i = 0; i < m; i++)
    if (!isnan(x[i]) && !isnan(base[i]))
      ss += (x[i] - base[i] - d.mean) * (x[i] - base[i] - d.mean);
  d.sd = sqrt(ss / (d.n - 1));
  double half = agg_t_quantile(0.5 + AGG_CONFIDENCE / 2, d.n - 1) * d.sd / sqrt(d.n);
  d.lo = d.mean - half;
  d.hi = d.mean + half;
  return d;
}

int agg_paired_excludes_zero(const agg_paired_t *d) {
  return d->n >= 2 && (d->lo > 0 || d->hi < 0);
}
