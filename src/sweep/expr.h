/* expr.h - the small arithmetic a sweep spec's resources may use, such as
 * `ranks: "max(1, K / 2)"` or `time: "5 * model.epochs"`: numbers, + - * /, parentheses,
 * min(a, b, ...), max(...), ceil(x), floor(x), and names (dotted config keys or the
 * aliases K, H, B, E) that the caller's lookup resolves for one task. */
#ifndef DPT_SWEEP_EXPR_H
#define DPT_SWEEP_EXPR_H

/* Returns 0 and the value's number in *value, or -1 when the name is unknown. */
typedef int (*expr_lookup_fn)(void *ctx, const char *name, double *value);

/* Evaluates text. Fails naming the position and what was expected ("at 7: expected ')'"),
 * an unknown name, or a division by zero. */
int expr_eval(const char *text, expr_lookup_fn lookup, void *ctx, double *value);

#endif
