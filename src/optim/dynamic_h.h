/* dynamic_h.h - dynamic local steps: H for the next epoch of LocalSGD, from the seed's
 * strategies (selectors.py) and the feedback rules below. Pure: no MPI, no I/O.
 *
 * Timing, the seed's (train_and_test.py): epoch 0 runs with model.work.local_steps for
 * every strategy; after epoch e (0-based) has finished and been validated, dynh_next
 * gives the H of epoch e+1 from e. The schedule strategies (ALin, DLin, ABin, DBin,
 * Sigmoid, RevCosAnn) return their formula at e, so epoch e+1 runs with f(e) and f(E-1)
 * is never used: ALin runs local_steps, 4, ..., DBin local_steps, 64, ..., 4 or 8. The
 * feedback strategies (ImprLS, LossLS, AvgLossLS, Deviation) change H by halving and
 * doubling within [h_min, h_max]: halve = max(H/2, h_min) when H > h_min, double =
 * min(2H, h_max) when H < h_max (with the 4..64 defaults). LossLS and
 * AvgLossLS act only once the seed's loss history exists, i.e. after more than n_losses
 * validation losses; ImprLS and Deviation act from the first epoch on.
 *
 * The state is plain data with fixed-size fields, so a checkpoint can store it as is;
 * the validation histories are the caller's (one entry per finished epoch). */
#ifndef DPT_DYNAMIC_H_H
#define DPT_DYNAMIC_H_H


typedef enum {
  DYNH_FIXED,     /* no strategy: H = model.work.local_steps throughout */
  DYNH_ALIN,
  DYNH_DLIN,
  DYNH_ABIN,
  DYNH_DBIN,
  DYNH_IMPRLS,
  DYNH_LOSSLS,
  DYNH_AVGLOSSLS,
  DYNH_SIGMOID,
  DYNH_REVCOSANN,
  DYNH_DEVIATION,
} dynh_kind_t;


/* model.work.dynamic, as the config holds it. */
typedef struct {
  dynh_kind_t kind;     /* .strategy */
  int n_losses;         /* .n_losses: the loss history's length */
  int h_min, h_max;     /* .h_min / .h_max */
  double steepness;     /* .sigmoid_steepness */
  double midpoint;      /* .sigmoid_midpoint; < 0 = epochs/2 */
  double dev_lower, dev_upper; /* .deviation_lower / .deviation_upper */
} dynh_params_t;

typedef struct {
  dynh_params_t p;
  int h;                /* H of the current epoch (local_steps, then after dynh_next) */
  int h_start;          /* model.work.local_steps: fixed H, feedback strategies' start */
} dynh_t;

/* A row of the strategy table (dynamic_h.c), indexed by dynh_kind_t: a schedule (H a
 * function of the epoch), a feedback rule (halve or double), or neither (fixed H). */
typedef struct {
  const char *name;   /* model.work.dynamic.strategy's spelling ("" = fixed H) */
  const char *label;  /* for tables */
  /* the H of epoch e+1 after epoch e (see dynh_schedule) */
  int (*schedule)(const dynh_t *s, int e, int epochs, int T);
  /* -1 halve, +1 double, 0 keep, from the validation history and the mean deviation */
  int (*feedback)(const dynh_t *s, const double *val_losses, const double *val_accs,
                  int nhist, double mean_deviation);
  int needs_deviation; /* the trainer measures the workers' deviation at each averaging */
} dynh_def_t;

extern const dynh_def_t dynh_defs[];
extern const int dynh_ndefs;
const dynh_def_t *dynh_def(dynh_kind_t kind);
/* The spelling of row i, NULL past the last (the config key table's enum values). */
const char *dynh_spelling(int i);

/* s->h is then local_steps (model.work.local_steps), the H of epoch 0. */
void dynh_init(dynh_t *s, const dynh_params_t *p, int local_steps);
/* H for epoch epoch_finished+1 (also stored in s->h), after epoch epoch_finished's validation; T
 * is the local steps per epoch (>= 1). val_losses and val_accs hold nhist >= 0 entries, oldest
 * first, the newest being epoch_finished's (either may be NULL when nhist is 0 or the strategy
 * does not read it); mean_deviation is the epoch's mean of d = mean_k |x_k - xa|^2 / |xa|^2 over
 * its averagings (Deviation only; NaN = none, keeps H). */
int dynh_next(dynh_t *s, int epoch_finished, int epochs, int T, const double *val_losses,
              const double *val_accs, int nhist, double mean_deviation);

/* 1 for the strategies whose H is a function of the epoch alone. */
int dynh_is_schedule(dynh_kind_t kind);
/* The schedule strategies' formula at epoch e (the H of epoch e+1, see above);
 * s->h_start for the others. */
int dynh_schedule(const dynh_t *s, int e, int epochs, int T);
/* The fit of H to T: n = T/H, r = T mod H; if r > 0 and r/T <= 0.05 then
 * H = ceil(T/(n+1)), else H = floor(T/n). */
int dynh_fit(int h, int T);
const char *dynh_name(dynh_kind_t kind);

#endif
