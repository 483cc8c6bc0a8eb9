/* stats.h - the statistics of a paired comparison: two methods run at the same seed see
 * the same initial weights, shards and data order (dpt is deterministic), so their
 * difference at each seed is one paired observation. The mean of those differences gets
 * a Student-t confidence interval with n - 1 degrees of freedom; the t quantile is
 * computed here, in double precision, from the regularized incomplete beta function. */
#ifndef DPT_AGG_STATS_H
#define DPT_AGG_STATS_H

/* The confidence level of every interval the aggregator prints. */
#define AGG_CONFIDENCE 0.95

typedef struct {
  int n;          /* pairs: the seeds both sides have a value for */
  double mean;    /* mean of the differences x - base; NaN when n == 0 */
  double sd;      /* their sample standard deviation (n - 1); NaN when n < 2 */
  double lo, hi;  /* the AGG_CONFIDENCE Student-t interval of the mean; NaN when n < 2 */
} agg_paired_t;

/* The regularized incomplete beta function I_x(a, b), a, b > 0, x in [0, 1]. */
double agg_betai(double a, double b, double x);
/* P(T <= t) for Student's t with df > 0 degrees of freedom. */
double agg_t_cdf(double t, double df);
/* The t with P(T <= t) = p, 0 < p < 1, df > 0 (to about 1e-12 relative). */
double agg_t_quantile(double p, double df);
/* The paired difference x[i] - base[i] over the i where both are numbers (m entries
 * each; NaN: no value at that seed). */
agg_paired_t agg_paired(const double *x, const double *base, int m);
/* The interval lies wholly above or below zero (needs n >= 2). A zero-width interval at
 * a non-zero mean (identical differences at every seed) excludes zero. */
int agg_paired_excludes_zero(const agg_paired_t *d);

#endif
