/* outer.h - the outer step of a local method (outer.c: plain averaging, SlowMo, DiLoCo's
 * Nesterov): from the round's start x0 and the workers' mean xa to the next x0. Each
 * outer step is one row of outer_defs[]; a new one is a row and its step function. */
#ifndef DPT_OUTER_H
#define DPT_OUTER_H

#include <stddef.h>
#include <stdint.h>

/* model.outer.type: an index into outer_defs[], in its order. */
typedef enum { OUTER_NONE, OUTER_SLOWMO, OUTER_NESTEROV } outer_kind_t;

/* model.work.momentum: what the workers' optimizer state does at an averaging (kept,
 * averaged, reset) or at each epoch start (reset_epoch); local_momentum_names[] spells
 * them in this order. */
typedef enum {
  LOCAL_MOMENTUM_KEEP,
  LOCAL_MOMENTUM_AVERAGE,
  LOCAL_MOMENTUM_RESET,
  LOCAL_MOMENTUM_RESET_EPOCH
} local_momentum_t;
extern const char *const local_momentum_names[];

typedef struct {
  outer_kind_t kind;
  double lr;        /* SlowMo alpha, Nesterov eta */
  double momentum;  /* SlowMo beta, Nesterov mu */
} opt_outer_t;

/* The most state buffers (each nparams floats) an outer row declares. */
#define OUTER_MAX_STATE 2

/* A row of the outer-step table. */
typedef struct {
  const char *name;   /* model.outer.type's spelling */
  const char *label;  /* the method it makes of LocalSGD, for tables */
  int nstate;         /* state buffers, at most OUTER_MAX_STATE */
  /* checkpoint.h5 dataset of each buffer (/global/NAME, hdf5-schema/checkpoint.yaml) */
  const char *state_names[OUTER_MAX_STATE];
  /* x0 <- the step towards xa; buf[i] the row's buffers, steps the outer steps taken
   * since they were last zeroed, inner_lr the epoch's learning rate. */
  void (*step)(const opt_outer_t *o, size_t n, float *x0, const float *xa, float *const *buf,
               int64_t steps, double inner_lr);
} outer_def_t;

extern const outer_def_t outer_defs[];
extern const int outer_ndefs;
const outer_def_t *outer_def(outer_kind_t kind);
/* The spelling of row i, NULL past the last (the config key table's enum values). */
const char *outer_spelling(int i);

/* 1 when the step is x0 = xa exactly (none; slowmo with alpha 1, beta 0; nesterov with
 * eta 1, mu 0): opt_outer_step copies xa, so plain averaging stays bitwise. */
int opt_outer_is_plain(const opt_outer_t *o);
/* x0 (n floats) <- the outer step towards xa. bufs: the row's buffers (SlowMo u, Nesterov
 * b), *steps the outer steps taken since the buffers were last zeroed (Nesterov's first
 * step sets b = delta, as PyTorch's SGD); inner_lr is SlowMo's gamma, the epoch's lr. */
void opt_outer_step_bufs(const opt_outer_t *o, size_t n, float *x0, const float *xa,
                         float *const *bufs, int64_t *steps, double inner_lr);
/* The same for a row of at most one buffer. */
void opt_outer_step(const opt_outer_t *o, size_t n, float *x0, const float *xa, float *buf,
                    int64_t *steps, double inner_lr);

#endif
