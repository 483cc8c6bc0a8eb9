/* test.h - the unit-test harness: TEST(name) registers a test at load time; CHECK*
 * record a failure with file:line and keep going; the runner prints one line per test
 * and the closing "N passed, N failed". */
#ifndef DPT_TEST_H
#define DPT_TEST_H

#include <math.h>
#include <stdio.h>

void test_register(const char *name, void (*fn)(void));
void test_failed(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A new directory /tmp/dpt-test-NAME-XXXXXX (the caller frees it with test_rmdir_all,
 * which removes it with everything in it). */
char *test_tmpdir(const char *name);
void test_rmdir_all(char *dir);

#define TEST(name)                                                          \
  static void name(void);                                                   \
  __attribute__((constructor)) static void register_##name(void) {          \
    test_register(#name, name);                                             \
  }                                                                         \
  static void name(void)

#define CHECK(c) \
  do { if (!(c)) test_failed(__FILE__, __LINE__, "%s", #c); } while (0)
#define CHECK_OK(expr) \
  do { if ((expr) < 0) test_failed(__FILE__, __LINE__, "%s failed: %s", #expr, dpt_errmsg()); } while (0)
#define CHECK_FAILS(expr) \
  do { if ((expr) >= 0) test_failed(__FILE__, __LINE__, "%s succeeded, expected failure", #expr); } while (0)
/* |a-b| <= tol*max(1,|b|) */
#define CHECK_NEAR(a, b, tol)                                                           \
  do {                                                                                  \
    double a_ = (a), b_ = (b), s_ = fabs(b_) > 1 ? fabs(b_) : 1;                         \
    if (!(fabs(a_ - b_) <= (tol) * s_))                                                 \
      test_failed(__FILE__, __LINE__, "%s = %.9g, expected %s = %.9g (tol %g)", #a, a_, \
                  #b, b_, (double)(tol));                                               \
  } while (0)

#endif
