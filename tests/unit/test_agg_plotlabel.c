/* test_agg_plotlabel.c - the figures' legend labels and facets: which keys a label keeps,
 * how it spells them, and which key splits a crowded figure into panels. */
#include <string.h>

#include "../../src/agg/plotlabel.h"
#include "../../src/core/err.h"
#include "test.h"

/* Four groups: method, its inner optimizer (DiLoCo's is AdamW), K (always 4). */
static const char *const lm_keys[] = {"method", "model.work.optimizer", "model.num_workers"};
static const char *const lm_val[] = {
    "DiLoCo", "AdamW", "4",
    "LocalSGD", "SGDM", "4",
    "SlowMo", "SGDM", "4",
    "post-local LocalSGD", "SGDM", "4"};

TEST(agg_label_keeps_only_keys_that_tell_curves_apart) {
  int sel[] = {0, 1, 2, 3}, keep[3];
  agg_label_keys(lm_val, 3, sel, 4, -1, keep);
  /* the optimizer follows from the method; K never varies */
  CHECK(keep[0] == 1 && keep[1] == 0 && keep[2] == 0);
  char *l = agg_label_text(lm_keys, lm_val, 3, 0, keep);
  CHECK(!strcmp(l, "DiLoCo"));
  dpt_free(l);
  /* among the SGDM groups alone, only the method still varies */
  int sgdm[] = {1, 2};
  agg_label_keys(lm_val, 3, sgdm, 2, -1, keep);
  CHECK(keep[0] == 1 && keep[1] == 0);
}

TEST(agg_label_spells_keys_short) {
  static const char *const keys[] = {"model.num_workers", "model.work.local_steps",
                                     "model.work.dynamic.strategy", "model.slowmo.momentum",
                                     "data.sharding", "experiment.name"};
  static const char *const val[] = {"2", "16", "", "0.6", "dirichlet:0.1", "x",
                                    "4", "4", "LossLS", "0", "iid", "y"};
  int keep[] = {1, 1, 1, 1, 1, 1};
  char *a = agg_label_text(keys, val, 6, 0, keep), *b = agg_label_text(keys, val, 6, 1, keep);
  CHECK(!strcmp(a, "K=2, H=16, fixed H, β=0.6, dirichlet:0.1, experiment.name=x"));
  CHECK(!strcmp(b, "K=4, H=4, LossLS, β=0, iid, experiment.name=y"));
  dpt_free(a);
  dpt_free(b);
  int none[] = {0, 0, 0, 0, 0, 0};
  a = agg_label_text(keys, val, 6, 0, none);
  CHECK(!strcmp(a, "all runs"));
  dpt_free(a);
}

/* K in {2, 4, 8} x H in {4, 8, 16, 32}: 12 curves. */
static const char *grid_val[24];
static const char *const grid_keys[] = {"model.num_workers", "model.work.local_steps"};

static void grid(void) {
  static const char *const ks[] = {"2", "4", "8"}, *const hs[] = {"4", "8", "16", "32"};
  for (int k = 0; k < 3; k++)
    for (int h = 0; h < 4; h++) {
      grid_val[(k * 4 + h) * 2] = ks[k];
      grid_val[(k * 4 + h) * 2 + 1] = hs[h];
    }
}

TEST(agg_facet_splits_past_eight_curves_into_the_fewest_panels) {
  grid();
  int sel[12], facet;
  for (int i = 0; i < 12; i++) sel[i] = i;
  /* by K: 3 panels of 4 curves; by H: 4 panels of 3; both fit, K makes fewer */
  CHECK_OK(agg_facet_key(grid_keys, grid_val, 2, sel, 12, NULL, &facet));
  CHECK(facet == 0);
  /* 8 curves fit one panel */
  CHECK_OK(agg_facet_key(grid_keys, grid_val, 2, sel, 8, NULL, &facet));
  CHECK(facet == -1);
  /* asked for: taken as given, even below 8 */
  CHECK_OK(agg_facet_key(grid_keys, grid_val, 2, sel, 4, "model.work.local_steps", &facet));
  CHECK(facet == 1);
  CHECK_FAILS(agg_facet_key(grid_keys, grid_val, 2, sel, 12, "model.nothing", &facet));
  CHECK(strstr(dpt_errmsg(), "'model.nothing'") &&
        strstr(dpt_errmsg(), "(model.num_workers, model.work.local_steps)"));
  dpt_clear_error();
}

TEST(agg_facet_needs_a_key_that_leaves_curves_to_compare) {
  /* nine learning rates and nothing else: one curve per panel helps no one */
  static const char *const keys[] = {"model.learning_rate"};
  static const char *const val[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9"};
  int sel[] = {0, 1, 2, 3, 4, 5, 6, 7, 8}, facet;
  CHECK_OK(agg_facet_key(keys, val, 1, sel, 9, NULL, &facet));
  CHECK(facet == -1);
}
