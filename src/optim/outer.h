/* outer.h - the outer step of a local method (outer.c: SlowMo, DiLoCo's Nesterov): from
 * the round's start x0 and the workers' mean xa to the next x0. */
#ifndef DPT_OUTER_H
#define DPT_OUTER_H

#include <stddef.h>
#include <stdint.h>

/* model.outer.type: the outer step on the round's pseudo-gradient; outer_names[] spells
 * them in this order (NULL-terminated). */
typedef enum { OUTER_NONE, OUTER_SLOWMO, OUTER_NESTEROV } outer_kind_t;
extern const char *const outer_names[];

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

/* 1 when the step is x0 = xa exactly (none; slowmo with alpha 1, beta 0; nesterov with
 * eta 1, mu 0): opt_outer_step copies xa, so plain averaging stays bitwise. */
int opt_outer_is_plain(const opt_outer_t *o);
/* x0 (n floats) <- the outer step towards xa. buf is the outer buffer (SlowMo u, Nesterov
 * b), *steps the outer steps taken since the buffer was last zeroed (Nesterov's first
 * step sets b = delta, as PyTorch's SGD); inner_lr is SlowMo's gamma, the epoch's lr. */
void opt_outer_step(const opt_outer_t *o, size_t n, float *x0, const float *xa, float *buf,
                    int64_t *steps, double inner_lr);

#endif
