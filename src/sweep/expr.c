/* expr.c - a recursive-descent evaluator for resource expressions (see expr.h). The
 * nesting (parentheses, function calls, signs) is bounded, so a hostile spec cannot
 * exhaust the stack. */
#include "expr.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"

#define EXPR_MAX_DEPTH 64

typedef struct {
  const char *text, *p;
  expr_lookup_fn lookup;
  void *ctx;
  int depth;
} parser_t;

static int expr_sum(parser_t *ps, double *v);

static void skip_space(parser_t *ps) {
  while (isspace((unsigned char)*ps->p)) ps->p++;
}

static int fail_here(parser_t *ps, const char *what) {
  return dpt_fail("'%.80s%s' at %d: %s", ps->text, strlen(ps->text) > 80 ? "..." : "",
                  (int)(ps->p - ps->text) + 1, what);
}

/* name ( args ) for min, max, ceil, floor. */
static int call(parser_t *ps, const char *name, double *v) {
  double args[16];
  int n = 0;
  ps->p++; /* ( */
  for (;;) {
    if (n == 16) return fail_here(ps, "too many arguments");
    TRY(expr_sum(ps, &args[n++]));
    skip_space(ps);
    if (*ps->p == ',') { ps->p++; continue; }
    if (*ps->p == ')') { ps->p++; break; }
    return fail_here(ps, "expected ',' or ')'");
  }
  if (!strcmp(name, "min") || !strcmp(name, "max")) {
    *v = args[0];
    for (int i = 1; i < n; i++)
      *v = !strcmp(name, "min") ? fmin(*v, args[i]) : fmax(*v, args[i]);
    return 0;
  }
  if ((!strcmp(name, "ceil") || !strcmp(name, "floor")) && n == 1) {
    *v = !strcmp(name, "ceil") ? ceil(args[0]) : floor(args[0]);
    return 0;
  }
  return dpt_fail("'%s': unknown function %s/%d (known: min, max, ceil, floor)", ps->text,
                  name, n);
fail:
  return -1;
}

static int primary(parser_t *ps, double *v);

static int operand(parser_t *ps, double *v) {
  skip_space(ps);
  const char *s = ps->p;
  if (*s == '(') {
    ps->p++;
    TRY(expr_sum(ps, v));
    skip_space(ps);
    if (*ps->p != ')') return fail_here(ps, "expected ')'");
    ps->p++;
    return 0;
  }
  if (*s == '-' || *s == '+') {
    ps->p++;
    TRY(primary(ps, v));
    if (*s == '-') *v = -*v;
    return 0;
  }
  if (isdigit((unsigned char)*s) || *s == '.') {
    char *end;
    *v = strtod(s, &end);
    ps->p = end;
    return 0;
  }
  if (isalpha((unsigned char)*s) || *s == '_') {
    char name[128];
    size_t n = 0;
    while (isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '.') n++;
    if (n >= sizeof name) return fail_here(ps, "name too long");
    memcpy(name, s, n);
    name[n] = 0;
    ps->p = s + n;
    skip_space(ps);
    if (*ps->p == '(') return call(ps, name, v);
    if (ps->lookup(ps->ctx, name, v) < 0)
      return dpt_fail("'%s': unknown name '%s' (a dotted config key, or K, H, B, E)",
                      ps->text, name);
    return 0;
  }
  return fail_here(ps, *s ? "expected a number, a name or '('" : "unexpected end");
fail:
  return -1;
}

/* An operand, one level deeper: every recursion of the grammar passes here. */
static int primary(parser_t *ps, double *v) {
  if (ps->depth == EXPR_MAX_DEPTH)
    return fail_here(ps, "nested more than 64 deep (parentheses, calls or signs)");
  ps->depth++;
  int rc = operand(ps, v);
  ps->depth--;
  return rc;
}

/* A left-associative chain of next-level operands joined by the operators in ops. */
static int chain(parser_t *ps, double *v, const char *ops, int (*next)(parser_t *, double *)) {
  TRY(next(ps, v));
  for (;;) {
    skip_space(ps);
    char op = *ps->p;
    if (!op || !strchr(ops, op)) return 0;
    ps->p++;
    double r;
    TRY(next(ps, &r));
    if (op == '/' && r == 0) return fail_here(ps, "division by zero");
    *v = op == '*' ? *v * r : op == '/' ? *v / r : op == '+' ? *v + r : *v - r;
  }
fail:
  return -1;
}

static int product(parser_t *ps, double *v) { return chain(ps, v, "*/", primary); }

static int expr_sum(parser_t *ps, double *v) { return chain(ps, v, "+-", product); }

int expr_eval(const char *text, expr_lookup_fn lookup, void *ctx, double *value) {
  parser_t ps = {text, text, lookup, ctx, 0};
  TRY(expr_sum(&ps, value));
  skip_space(&ps);
  if (*ps.p) return fail_here(&ps, "expected an operator or the end");
  return 0;
fail:
  return -1;
}
