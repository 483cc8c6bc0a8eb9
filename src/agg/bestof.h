/* bestof.h - each group's runs at its best value of one key (--best-of, e.g. the
 * learning rate): within every group of the table's other keys, the runs of the key
 * value whose mean of a selection field (--select-by, by default best_val_acc, a
 * validation number so that the choice is never tuned on the test set) is best; the
 * chosen runs then make the table, the paired differences and the figures as usual. */
#ifndef DPT_AGG_BESTOF_H
#define DPT_AGG_BESTOF_H

#include "runset.h"

/* The selection field's index in agg_fields; fails for an unknown field or one without
 * a direction (better == 0: no "best" to choose). */
int agg_best_of_field(const char *name);

/* Keeps, in runs[0..n) (compacted in place, order kept), only the runs that, within
 * their group (the same texts of keys[0..nkeys)), have the group's best text of `key`:
 * the one whose runs' mean of `field` (NaNs left out) is highest (lowest for a field
 * where lower is better); ties go to the smaller text in natural order (numbers
 * numerically: 0.01 before 0.1). A run without the key has the text "". *nchoice counts
 * the groups where more than one text competed. Returns how many runs are kept, or -1
 * naming a group none of whose runs has a value of field. */
int agg_best_of(const agg_run_t **runs, int n, const char *const *keys, int nkeys,
                const char *key, int field, double target, int *nchoice);

#endif
