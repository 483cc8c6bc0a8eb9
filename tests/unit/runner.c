/* runner.c - runs every registered unit test (or those whose name contains argv[1]). */
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/err.h"
#include "test.h"

typedef struct { const char *name; void (*fn)(void); } test_t;
static test_t tests[512];
static int ntests, current_failures;

void test_register(const char *name, void (*fn)(void)) {
  if (ntests == (int)(sizeof tests / sizeof tests[0])) DPT_PANIC("too many tests");
  tests[ntests++] = (test_t){name, fn};
}

char *test_tmpdir(const char *name) {
  char tmpl[256];
  snprintf(tmpl, sizeof tmpl, "/tmp/dpt-test-%s-XXXXXX", name);
  char *d = dpt_strdup(tmpl);
  if (!mkdtemp(d)) DPT_PANIC("mkdtemp");
  return d;
}

void test_rmdir_all(char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
  dpt_free(dir);
}

void test_failed(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "  %s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  current_failures++;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const test_t *)a)->name, ((const test_t *)b)->name);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int passed = 0, failed = 0;
  qsort(tests, ntests, sizeof tests[0], by_name);
  for (int i = 0; i < ntests; i++) {
    if (argc > 1 && !strstr(tests[i].name, argv[1])) continue;
    current_failures = 0;
    tests[i].fn();
    if (current_failures) {
      printf("FAIL %s\n", tests[i].name);
      failed++;
    } else {
      printf("ok   %s\n", tests[i].name);
      passed++;
    }
    fflush(stdout);
  }
  printf("%d passed, %d failed\n", passed, failed);
  MPI_Finalize();
  return failed ? 1 : 0;
}
