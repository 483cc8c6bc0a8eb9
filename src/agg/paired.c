/* paired.c - a table's cells by seed, their paired differences to a baseline, and the
 * best-value marks that a lead within noise does not earn (see table.h, stats.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../core/strbuf.h"
#include "table.h"

/* ---------------------------------------------------------------- seeds */

static const char *seed_of(const agg_run_t *r) {
  const char *s = agg_key_text(r, "experiment.seed");
  return s ? s : "";
}

static int cmp_natural(const void *a, const void *b) {
  return agg_natural_cmp(*(const char *const *)a, *(const char *const *)b);
}

void agg_table_seeds(agg_table_t *t, const agg_run_t *const *runs, int n) {
  const char **all = dpt_alloc(sizeof(char *) * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) all[i] = seed_of(runs[i]);
  qsort(all, (size_t)n, sizeof(char *), cmp_natural);
  t->seed = dpt_alloc(sizeof(char *) * (size_t)(n ? n : 1));
  t->nseeds = 0;
  for (int i = 0; i < n; i++)
    if (i == 0 || strcmp(all[i], all[i - 1])) t->seed[t->nseeds++] = dpt_strdup(all[i]);
  dpt_free(all);
}

/* The index of seed in t->seed (sorted in natural order), or -1. */
static int seed_index(const agg_table_t *t, const char *seed) {
  const char *const *hit =
      bsearch(&seed, t->seed, (size_t)t->nseeds, sizeof(char *), cmp_natural);
  return hit ? (int)(hit - (const char *const *)t->seed) : -1;
}

static int cmp_seed_value(const void *a, const void *b) {
  const agg_seed_value_t *x = a, *y = b;
  return (x->seed > y->seed) - (x->seed < y->seed);
}

agg_seed_value_t *agg_seed_values(const agg_table_t *t, const agg_run_t *const *runs,
                                  const int *idx, int m, int field, double target,
                                  int *nvalues) {
  agg_seed_value_t *v = dpt_alloc(sizeof(agg_seed_value_t) * (size_t)(m ? m : 1));
  int n = 0;
  for (int i = 0; i < m; i++) {
    double x = agg_field_value(runs[idx[i]], field, target);
    int s = seed_index(t, seed_of(runs[idx[i]]));
    if (s >= 0 && !isnan(x)) v[n++] = (agg_seed_value_t){s, x};
  }
  qsort(v, (size_t)n, sizeof *v, cmp_seed_value);
  /* runs of one seed: their mean */
  int out = 0;
  for (int i = 0; i < n;) {
    int j = i;
    double sum = 0;
    for (; j < n && v[j].seed == v[i].seed; j++) sum += v[j].value;
    v[out++] = (agg_seed_value_t){v[i].seed, sum / (j - i)};
    i = j;
  }
  *nvalues = out;
  return v;
}

/* The values of x and of base at the seeds both cells have, into a[] and b[], and those
 * seeds into seed[] unless it is NULL (each with room for the smaller count); returns
 * how many. */
static int shared_seeds(const agg_cell_t *x, const agg_cell_t *base, double *a, double *b,
                        int *seed) {
  int n = 0;
  for (int i = 0, j = 0; i < x->nby_seed && j < base->nby_seed;) {
    int d = x->by_seed[i].seed - base->by_seed[j].seed;
    if (d == 0 && seed) seed[n] = x->by_seed[i].seed;
    if (d == 0) a[n] = x->by_seed[i].value, b[n++] = base->by_seed[j].value;
    i += d <= 0;
    j += d >= 0;
  }
  return n;
}

static int fewer_seeds(const agg_cell_t *x, const agg_cell_t *base) {
  int cap = x->nby_seed < base->nby_seed ? x->nby_seed : base->nby_seed;
  return cap ? cap : 1;
}

/* The paired difference x - base over the seeds both cells have. */
static agg_paired_t pair_cells(const agg_cell_t *x, const agg_cell_t *base) {
  double *a = dpt_alloc(sizeof(double) * (size_t)fewer_seeds(x, base));
  double *b = dpt_alloc(sizeof(double) * (size_t)fewer_seeds(x, base));
  agg_paired_t p = agg_paired(a, b, shared_seeds(x, base, a, b, NULL));
  dpt_free(a);
  dpt_free(b);
  return p;
}

/* ---------------------------------------------------------------- best marks */

/* The cell of column c with the best mean, or -1 (no values, or a tie for the best). */
static int best_row(const agg_table_t *t, int c, int better) {
  int best = -1, tied = 0;
  for (int r = 0; r < t->nrows; r++) {
    const agg_cell_t *x = agg_cell(t, r, c);
    if (x->st.n == 0) continue;
    double lead = best < 0 ? 1 : better * (x->st.mean - agg_cell(t, best, c)->st.mean);
    if (lead > 0) best = r, tied = 0;
    else if (lead == 0) tied = 1;
  }
  return tied ? -1 : best;
}

/* Row b's lead over every other row of column c with a value is beyond noise. */
static int lead_beyond_noise(const agg_table_t *t, int b, int c, int better) {
  const agg_cell_t *x = agg_cell(t, b, c);
  int others = 0;
  for (int r = 0; r < t->nrows; r++) {
    const agg_cell_t *y = agg_cell(t, r, c);
    if (r == b || y->st.n == 0) continue;
    others++;
    agg_paired_t d = pair_cells(x, y);
    if (!agg_paired_excludes_zero(&d) || better * d.mean < 0) return 0;
  }
  return others > 0;
}

void agg_table_mark_best(agg_table_t *t) {
  for (int c = t->nkeys; c < t->ncols; c++) {
    for (int r = 0; r < t->nrows; r++) agg_cell(t, r, c)->best = 0;
    if (t->field[c] < 0 || !agg_fields[t->field[c]].better) continue;
    int better = agg_fields[t->field[c]].better, b = best_row(t, c, better);
    if (b >= 0 && lead_beyond_noise(t, b, c, better)) agg_cell(t, b, c)->best = 1;
  }
}

/* ---------------------------------------------------------------- baseline */

/* The conditions, parsed and checked against the table's keys; *n of them on success. */
static agg_where_t *parse_conds(const char *const *conds, int nconds, const char *const *keys,
                                int nkeys) {
  agg_where_t *w = dpt_alloc(sizeof(agg_where_t) * (size_t)(nconds ? nconds : 1));
  int i = 0, ok = 1;
  for (; i < nconds && ok; i++) {
    ok = 0;
    if (agg_where_parse(conds[i], &w[i]) < 0 || w[i].op != W_EQ) {
      dpt_fail("--baseline '%s': expected KEY=VALUE", conds[i]);
      continue;
    }
    for (int k = 0; k < nkeys && !ok; k++) ok = !strcmp(keys[k], w[i].key);
    if (!ok)
      dpt_fail("--baseline '%s': '%s' is not a row or column key of the table", conds[i],
               w[i].key);
  }
  if (ok) return w;
  for (int k = 0; k < i; k++) agg_where_free(&w[k]);
  dpt_free(w);
  return NULL;
}

/* Cell x meets every condition (through one of its runs: the conditions are on the
 * table's keys, which all its runs share). */
static int is_base(const agg_cell_t *x, const agg_where_t *w, int nw, double target) {
  if (!x->run) return 0;
  for (int i = 0; i < nw; i++)
    if (!agg_where_match(&w[i], x->run, target)) return 0;
  return 1;
}

static int same_text(const agg_cell_t *a, const agg_cell_t *b, const char *key) {
  const char *x = agg_key_text(a->run, key), *y = agg_key_text(b->run, key);
  return !strcmp(x ? x : "", y ? y : "");
}

/* The keys whose texts differ among the baseline's cells (bases[0..nb)): a cell's
 * baseline is the one that has its texts of these. */
static int varying(const agg_cell_t *const *bases, int nb, const char *const *keys, int nkeys,
                   const char **out) {
  int nv = 0;
  for (int k = 0; k < nkeys; k++)
    for (int i = 1; i < nb; i++)
      if (!same_text(bases[0], bases[i], keys[k])) {
        out[nv++] = keys[k];
        break;
      }
  return nv;
}

/* The number columns whose cells are compared: a pivot's every column, or the group
 * table's column of field (-1 when it has none). */
static int diff_column(const agg_table_t *t, int field) {
  if (t->pivot_field >= 0) return -1;
  for (int c = t->nkeys; c < t->ncols; c++)
    if (t->field[c] == field) return c;
  return dpt_fail("--baseline compares '%s', which is not a column of this table (--value "
                  "names the value to compare, --values the columns)",
                  agg_fields[field].name);
}

/* The baseline cell of x: the one with its texts of the keys that vary among the
 * baseline's cells, or NULL. */
static const agg_cell_t *base_of(const agg_cell_t *x, const agg_cell_t *const *bases, int nb,
                                 const char *const *vary, int nv) {
  for (int i = 0; i < nb; i++) {
    int match = 1;
    for (int k = 0; k < nv && match; k++) match = same_text(x, bases[i], vary[k]);
    if (match) return bases[i];
  }
  return NULL;
}

/* The cells' baselines: the baseline's cells among column c's (c < 0: among every number
 * column's, a pivot's) and the keys that tell them apart. */
typedef struct {
  const agg_cell_t **cell;
  int n, nvary;
  const char **vary;
} bases_t;

static void find_bases(bases_t *b, const agg_table_t *t, int c, const agg_where_t *w, int nw,
                       const char *const *keys, int nkeys, double target) {
  b->cell = dpt_alloc(sizeof(agg_cell_t *) * (size_t)(t->nrows * t->ncols + 1));
  b->vary = dpt_alloc(sizeof(char *) * (size_t)(nkeys + 1));
  b->n = 0;
  for (int k = t->nkeys; k < t->ncols; k++)
    for (int r = 0; r < t->nrows; r++)
      if ((c < 0 || k == c) && is_base(agg_cell(t, r, k), w, nw, target))
        b->cell[b->n++] = agg_cell(t, r, k);
  b->nvary = varying(b->cell, b->n, keys, nkeys, b->vary);
}

static void free_bases(bases_t *b) {
  dpt_free(b->cell);
  dpt_free(b->vary);
}

static void compare(agg_table_t *t, int c, const bases_t *b) {
  for (int r = 0; r < t->nrows; r++) {
    agg_cell_t *x = agg_cell(t, r, c);
    const agg_cell_t *base = x->run ? base_of(x, b->cell, b->n, b->vary, b->nvary) : NULL;
    if (!base) continue;
    x->base = x == base;
    if (!x->base) x->diff = pair_cells(x, base);
  }
}

/* A cell's values of a field relative to the baseline (agg_field_relative), by seed. */
typedef struct {
  agg_seed_value_t *v;
  int n;
  agg_stat_t st;
} relative_t;

/* x's source values over base's at the seeds both have (base's over x's when inverse),
 * but for a quotient over zero. */
static relative_t relative_to(const agg_cell_t *x, const agg_cell_t *base, int inverse) {
  size_t cap = (size_t)fewer_seeds(x, base);
  double *a = dpt_alloc(sizeof(double) * cap), *b = dpt_alloc(sizeof(double) * cap);
  int *seed = dpt_alloc(sizeof(int) * cap);
  relative_t o = {dpt_alloc(sizeof(agg_seed_value_t) * cap), 0, {NAN, NAN, 0}};
  int n = shared_seeds(x, base, a, b, seed);
  for (int i = 0; i < n; i++) {
    double q = inverse ? b[i] / a[i] : a[i] / b[i];
    if (isfinite(q)) o.v[o.n] = (agg_seed_value_t){seed[i], q}, a[o.n++] = q; /* not over 0 */
  }
  o.st = agg_stat_of(a, o.n);
  dpt_free(a);
  dpt_free(b);
  dpt_free(seed);
  return o;
}

/* The cells of column c (c < 0: every column, a pivot's) whose field is relative to the
 * baseline get their values against their baseline cells, all computed from the source
 * values before any is replaced (a pivot's baseline cell is in another column); a cell
 * without a baseline cell stays empty. */
static void relate(agg_table_t *t, int c, const bases_t *b) {
  int ncells = t->nrows * t->ncols;
  relative_t *rel = dpt_alloc(sizeof(relative_t) * (size_t)(ncells ? ncells : 1));
  for (int i = 0; i < ncells; i++) {
    int col = i % t->ncols, inverse, f = t->field[col];
    const agg_cell_t *x = &t->cell[i], *base = NULL;
    rel[i] = (relative_t){NULL, -1, {NAN, NAN, 0}};
    if (col < t->nkeys || (c >= 0 && col != c) || f < 0 || agg_field_relative(f, &inverse) < 0)
      continue;
    if (x->run) base = base_of(x, b->cell, b->n, b->vary, b->nvary);
    rel[i] = base ? relative_to(x, base, inverse) : (relative_t){NULL, 0, {NAN, NAN, 0}};
  }
  for (int i = 0; i < ncells; i++) {
    if (rel[i].n < 0) continue;
    dpt_free(t->cell[i].by_seed);
    t->cell[i].by_seed = rel[i].v;
    t->cell[i].nby_seed = rel[i].n;
    t->cell[i].st = rel[i].st;
  }
  dpt_free(rel);
}

/* A group table's columns of fields relative to the baseline, each against the
 * baseline's cells in it. */
static void relate_columns(agg_table_t *t, const agg_where_t *w, int nw,
                           const char *const *keys, int nkeys, double target) {
  for (int c = t->nkeys; c < t->ncols; c++) {
    if (t->field[c] < 0 || agg_field_relative(t->field[c], NULL) < 0) continue;
    bases_t b;
    find_bases(&b, t, c, w, nw, keys, nkeys, target);
    relate(t, c, &b);
    free_bases(&b);
  }
}

int agg_table_baseline(agg_table_t *t, const char *const *conds, int nconds,
                       const char *const *keys, int nkeys, int field, double target) {
  agg_where_t *w = parse_conds(conds, nconds, keys, nkeys);
  if (!w) return -1;
  int col = diff_column(t, field), rc = -1;
  bases_t b = {0};
  if (col < 0 && t->pivot_field < 0) goto done;
  find_bases(&b, t, col, w, nconds, keys, nkeys, target);
  strbuf_t sb = {0};
  for (int i = 0; i < nconds; i++) strbuf_printf(&sb, "%s%s", i ? ", " : "", conds[i]);
  t->baseline = strbuf_take(&sb);
  if (b.n == 0) {
    dpt_fail("--baseline %s: no row of the table is the baseline", t->baseline);
    goto done;
  }
  if (col < 0) relate(t, -1, &b);
  else relate_columns(t, w, nconds, keys, nkeys, target);
  for (int c = t->nkeys; c < t->ncols; c++)
    if (col < 0 ? t->field[c] >= 0 : c == col) compare(t, c, &b);
  t->diff_col = col;
  for (int i = 0; i < t->nrows * t->ncols; i++) t->cell[i].best = 0;
  rc = 0;
done:
  for (int i = 0; i < nconds; i++) agg_where_free(&w[i]);
  dpt_free(w);
  free_bases(&b);
  return rc;
}
