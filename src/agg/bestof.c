/* bestof.c - each group's runs at its best value of one key (see bestof.h). */
#include "bestof.h"

#include <math.h>
#include <string.h>

#include "../core/err.h"
#include "table.h"

int agg_best_of_field(const char *name) {
  int f = agg_field_find(name);
  if (f < 0)
    return dpt_fail("--select-by: unknown field '%s' (dpt-aggregate --fields lists them)", name);
  if (!agg_fields[f].better)
    return dpt_fail("--select-by %s: the field has no better direction to choose by (choose "
                    "by an accuracy or a loss, such as best_val_acc or val_loss)", name);
  return f;
}

/* Per subgroup (a group's runs of one text of the key): the mean of field, NaN when
 * none of its runs has a value. */
static void sub_means(const agg_run_t *const *runs, int n, const int *sid, int nsub, int field,
                      double target, double *mean) {
  int *cnt = dpt_alloc(sizeof(int) * (size_t)nsub);
  for (int s = 0; s < nsub; s++) mean[s] = 0, cnt[s] = 0;
  for (int i = 0; i < n; i++) {
    double x = agg_field_value(runs[i], field, target);
    if (!isnan(x)) mean[sid[i]] += x, cnt[sid[i]]++;
  }
  for (int s = 0; s < nsub; s++) mean[s] = cnt[s] ? mean[s] / cnt[s] : NAN;
  dpt_free(cnt);
}

/* Subgroup s beats subgroup c: a value against none, a better mean, or on a tie the
 * smaller text of the key. */
static int beats(const agg_run_t *const *runs, const int *sfirst, const double *mean,
                 const char *key, int better, int s, int c) {
  if (isnan(mean[s]) || isnan(mean[c])) return !isnan(mean[s]);
  if (mean[s] != mean[c]) return better * (mean[s] - mean[c]) > 0;
  return agg_natural_cmp(agg_key_text(runs[sfirst[s]], key),
                         agg_key_text(runs[sfirst[c]], key)) < 0;
}

/* chosen[g]: group g's best subgroup; the groups where more than one subgroup competed
 * into *nchoice. Returns a run of a group none of whose runs has a value, or -1. */
static int choose(const agg_run_t *const *runs, const int *gid, int ngroups, const int *sfirst,
                  int nsub, const double *mean, const char *key, int better, int *chosen,
                  int *nchoice) {
  int *count = dpt_alloc(sizeof(int) * (size_t)ngroups), none = -1;
  for (int g = 0; g < ngroups; g++) chosen[g] = -1, count[g] = 0;
  for (int s = 0; s < nsub; s++) {
    int g = gid[sfirst[s]];
    count[g]++;
    if (chosen[g] < 0 || beats(runs, sfirst, mean, key, better, s, chosen[g])) chosen[g] = s;
  }
  *nchoice = 0;
  for (int g = 0; g < ngroups; g++) {
    *nchoice += count[g] > 1;
    if (none < 0 && isnan(mean[chosen[g]])) none = sfirst[chosen[g]];
  }
  dpt_free(count);
  return none;
}

int agg_best_of(const agg_run_t **runs, int n, const char *const *keys, int nkeys,
                const char *key, int field, double target, int *nchoice) {
  if (n < 1) return 0;
  const char **all = dpt_alloc(sizeof(char *) * (size_t)(nkeys + 1));
  for (int k = 0; k < nkeys; k++) all[k] = keys[k];
  all[nkeys] = key;
  int *gid = dpt_alloc(sizeof(int) * (size_t)n), *gfirst = dpt_alloc(sizeof(int) * (size_t)n);
  int *sid = dpt_alloc(sizeof(int) * (size_t)n), *sfirst = dpt_alloc(sizeof(int) * (size_t)n);
  int ngroups = agg_group_runs(runs, n, keys, nkeys, gid, gfirst);
  int nsub = agg_group_runs(runs, n, all, nkeys + 1, sid, sfirst);
  double *mean = dpt_alloc(sizeof(double) * (size_t)nsub);
  int *chosen = dpt_alloc(sizeof(int) * (size_t)ngroups), kept = 0;
  sub_means(runs, n, sid, nsub, field, target, mean);
  int none = choose(runs, gid, ngroups, sfirst, nsub, mean, key, agg_fields[field].better,
                    chosen, nchoice);
  if (none >= 0) {
    char *name = agg_tuple_name(runs[none], keys, nkeys);
    kept = dpt_fail("--best-of %s: no run%s%s has a value of %s to choose by", key,
                    nkeys ? " of the group " : "", name, agg_fields[field].name);
    dpt_free(name);
  } else {
    for (int i = 0; i < n; i++)
      if (chosen[gid[i]] == sid[i]) runs[kept++] = runs[i];
  }
  void *arrays[] = {all, gid, gfirst, sid, sfirst, mean, chosen};
  for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) dpt_free(arrays[i]);
  return kept;
}
