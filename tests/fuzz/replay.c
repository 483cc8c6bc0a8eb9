/* replay.c - build/fuzz-replay: feeds every file of DIR/<target>/ to that fuzz target
 * without the fuzzing engine, for each DIR given (make test: tests/fuzz/regressions and
 * tests/fuzz/corpus). Prints "1..N", then "ok I target/file" after each input; an input
 * that crashes ends the process, so the lines missing from the plan are the failures
 * (the last "# target/file" names it), and so does one that runs longer than
 * SECONDS_PER_INPUT (SIGALRM: a hang). An unknown target directory is "not ok". */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/err.h"
#include "fuzz.h"

enum { SECONDS_PER_INPUT = 60 };

typedef struct { const char *name; fuzz_fn fn; } target_t;
static target_t targets[32];
static int ntargets;

void fuzz_register(const char *name, fuzz_fn fn) {
  if (ntargets == (int)(sizeof targets / sizeof targets[0])) DPT_PANIC("too many fuzz targets");
  targets[ntargets++] = (target_t){name, fn};
}

static fuzz_fn find(const char *name) {
  for (int i = 0; i < ntargets; i++)
    if (strcmp(targets[i].name, name) == 0) return targets[i].fn;
  return NULL;
}

static int is_file(const struct dirent *e) { return e->d_name[0] != '.'; }

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0, got;
  uint8_t *buf = dpt_alloc(cap);
  while ((got = fread(buf + n, 1, cap - n, f)) > 0)
    if ((n += got) == cap) buf = dpt_realloc(buf, cap *= 2);
  fclose(f);
  *len = n;
  return buf;
}

typedef struct { char path[4400], label[600]; fuzz_fn fn; } input_t;

/* Every input under the directories given, in name order, with its target. */
static int collect(int ndirs, char **dirs, input_t **out) {
  int n = 0, cap = 0;
  input_t *in = NULL;
  for (int d = 0; d < ndirs; d++) {
    struct dirent **subs;
    int nsub = scandir(dirs[d], &subs, is_file, alphasort);
    for (int s = 0; s < nsub; s++) {
      char sub[4096];
      struct dirent **files;
      snprintf(sub, sizeof sub, "%s/%s", dirs[d], subs[s]->d_name);
      int nfiles = scandir(sub, &files, is_file, alphasort);
      for (int f = 0; f < nfiles; f++) {
        if (n == cap) in = dpt_realloc(in, sizeof *in * (size_t)(cap = cap ? 2 * cap : 64));
        snprintf(in[n].path, sizeof in[n].path, "%s/%s", sub, files[f]->d_name);
        snprintf(in[n].label, sizeof in[n].label, "%s/%s", subs[s]->d_name, files[f]->d_name);
        in[n++].fn = find(subs[s]->d_name);
        free(files[f]);
      }
      if (nfiles > 0) free(files);
      free(subs[s]);
    }
    if (nsub > 0) free(subs);
  }
  *out = in;
  return n;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: fuzz-replay DIR...  (DIR/<target>/<input>)\n");
    return 2;
  }
  input_t *in;
  int n = collect(argc - 1, argv + 1, &in), failed = 0;
  printf("1..%d\n", n);
  for (int i = 0; i < n; i++) {
    printf("# %s\n", in[i].label);
    fflush(stdout);
    size_t len = 0;
    uint8_t *bytes = in[i].fn ? slurp(in[i].path, &len) : NULL;
    if (!bytes) {
      printf("not ok %d %s (%s)\n", i + 1, in[i].label, in[i].fn ? "unreadable" : "no such target");
      failed++;
      continue;
    }
    alarm(SECONDS_PER_INPUT);
    in[i].fn(bytes, len);
    alarm(0);
    dpt_free(bytes);
    printf("ok %d %s\n", i + 1, in[i].label);
  }
  dpt_free(in);
  return failed ? 1 : 0;
}
