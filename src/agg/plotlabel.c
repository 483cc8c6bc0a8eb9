/* plotlabel.c - short legend labels and the facet key of a figure (see plotlabel.h). */
#include "plotlabel.h"

#include <string.h>

#include "../core/err.h"
#include "../core/strbuf.h"

static const char *text_of(const char *s) { return s ? s : ""; }

static int same(const char *a, const char *b) { return !strcmp(text_of(a), text_of(b)); }

/* Groups a and b have the same texts on every kept key. */
static int same_on(const char *const *val, int nkeys, int a, int b, const int *keep) {
  for (int k = 0; k < nkeys; k++)
    if (keep[k] && !same(val[a * nkeys + k], val[b * nkeys + k])) return 0;
  return 1;
}

void agg_label_keys(const char *const *val, int nkeys, const int *sel, int nsel, int skip,
                    int *keep) {
  for (int k = 0; k < nkeys; k++) keep[k] = 0;
  for (int k = 0; k < nkeys; k++) {
    if (k == skip) continue;
    for (int i = 0; i < nsel && !keep[k]; i++)
      for (int j = 0; j < i && !keep[k]; j++) {
        int a = sel[i], b = sel[j];
        if (!same(val[a * nkeys + k], val[b * nkeys + k]) && same_on(val, nkeys, a, b, keep))
          keep[k] = 1;
      }
  }
}

/* How a legend names a key: `name` before "=" (NULL: the value alone, for values that
 * name themselves), and what an empty value means (NULL: "(none)"). */
typedef struct {
  const char *key, *name, *empty;
} key_name_t;

static const key_name_t key_names[] = {
    {"model.work.local_steps", "H", NULL},
    {"model.num_workers", "K", NULL},
    {"model.learning_rate", "lr", NULL},
    {"model.batch_size", "B", NULL},
    {"model.slowmo.momentum", "β", NULL},
    {"model.slowmo.learning_rate", "α", NULL},
    {"model.work.local_from_epoch", "local from epoch", NULL},
    {"experiment.seed", "seed", NULL},
    {"method", NULL, NULL},
    {"model.optimizer", NULL, NULL},
    {"model.work.optimizer", NULL, NULL},
    {"model.work.dynamic.strategy", NULL, "fixed H"},
    {"data.sharding", NULL, NULL},
};

char *agg_label_text(const char *const *keys, const char *const *val, int nkeys, int g,
                     const int *keep) {
  strbuf_t b = {0};
  for (int k = 0; k < nkeys; k++) {
    if (!keep[k]) continue;
    const char *key = keys[k], *v = val[g * nkeys + k], *empty = "(none)", *name = key;
    if (!strncmp(name, "model.", 6)) name += 6;
    for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
      if (!strcmp(key_names[i].key, key)) {
        name = key_names[i].name;
        if (key_names[i].empty) empty = key_names[i].empty;
      }
    if (b.len) strbuf_puts(&b, ", ");
    if (name) strbuf_printf(&b, "%s=", name);
    strbuf_puts(&b, v && *v ? v : empty);
  }
  if (!b.len) strbuf_puts(&b, "all runs");
  return strbuf_take(&b);
}

/* Over the selected groups: how many distinct texts key k has (*panels), and how many
 * groups share the commonest one (*fullest). */
static void count_values(const char *const *val, int nkeys, const int *sel, int nsel, int k,
                         int *panels, int *fullest) {
  *panels = *fullest = 0;
  for (int i = 0; i < nsel; i++) {
    int first = 1, count = 0;
    for (int j = 0; j < nsel; j++) {
      if (!same(val[sel[i] * nkeys + k], val[sel[j] * nkeys + k])) continue;
      if (j < i) first = 0;
      count++;
    }
    *panels += first;
    if (count > *fullest) *fullest = count;
  }
}

static int named_facet(const char *const *keys, int nkeys, const char *want, int *facet) {
  for (int k = 0; k < nkeys; k++)
    if (!strcmp(keys[k], want)) return *facet = k, 0;
  strbuf_t list = {0};
  for (int k = 0; k < nkeys; k++) strbuf_printf(&list, "%s%s", k ? ", " : "", keys[k]);
  dpt_fail("facet '%s' is not one of the plot's keys (%s)", want,
           list.s ? list.s : "none: the runs are one group");
  strbuf_free(&list);
  return -1;
}

int agg_facet_key(const char *const *keys, const char *const *val, int nkeys, const int *sel,
                  int nsel, const char *want, int *facet) {
  *facet = -1;
  if (want) return named_facet(keys, nkeys, want, facet);
  if (nsel <= AGG_PLOT_MAX_CURVES) return 0;
  int best_panels = 0, best_fullest = 0;
  for (int k = 0; k < nkeys; k++) {
    int panels, fullest;
    count_values(val, nkeys, sel, nsel, k, &panels, &fullest);
    /* a key that does not vary, or that alone tells every curve apart, makes no panels
     * worth having (one panel, or one curve per panel) */
    if (panels < 2 || panels == nsel) continue;
    int fits = fullest <= AGG_PLOT_MAX_CURVES, best_fits = best_fullest <= AGG_PLOT_MAX_CURVES;
    int better = *facet < 0 || (fits && (!best_fits || panels < best_panels)) ||
                 (!fits && !best_fits && fullest < best_fullest);
    if (better) *facet = k, best_panels = panels, best_fullest = fullest;
  }
  return 0;
}
