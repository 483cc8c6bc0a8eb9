/* err.h - dpt's one error idiom.
 *
 * Library functions return 0 on success and -1 on failure, after recording a message
 * with dpt_fail() (which returns -1, so `return dpt_fail(...)` reads naturally).
 * Callers add context with dpt_wrap() on the way up; only main() prints and exits.
 * Broken invariants and out-of-memory are not errors but panics: dpt_panic(). */
#ifndef DPT_ERR_H
#define DPT_ERR_H

#include <stddef.h>

int dpt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefix the current message with more context: "context: previous message". */
int dpt_wrap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *dpt_errmsg(void);
void dpt_clear_error(void);

_Noreturn void dpt_panic(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define DPT_PANIC(...) dpt_panic(__FILE__, __LINE__, __VA_ARGS__)
#define DPT_ASSERT(c) \
  do { if (!(c)) dpt_panic(__FILE__, __LINE__, "assertion failed: %s", #c); } while (0)

/* TRY(expr): on failure jump to the function's `fail:` label. */
#define TRY(expr) do { if ((expr) < 0) goto fail; } while (0)

/* 64-byte aligned, zeroed allocation; panics when memory runs out. */
void *dpt_alloc(size_t bytes);
void *dpt_realloc(void *p, size_t bytes);
char *dpt_strdup(const char *s);
void dpt_free(void *p);

#endif
