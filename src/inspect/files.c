/* files.c - inspecting the files of one command: each is read in a child process, so
 * that a damaged file which trips up the HDF5 library ends as a clear message about that
 * file, never as a crash of the whole command (see inspect.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/err.h"
#include "inspect.h"
#include "schema.h"

/* Seconds one file may take (a damaged file could send the library into a loop). */
#define FILE_TIMEOUT 600

static int check_one(const char *path, const char *dir) {
  insp_report_t r;
  if (insp_check(path, dir, &r) < 0) {
    fprintf(stderr, "dpt-inspect: %s\n", dpt_errmsg());
    insp_report_free(&r);
    return 1;
  }
  for (int i = 0; i < r.n; i++)
    printf("%s: %s%s\n", path, r.is_warning[i] ? "warning: " : "", r.lines[i]);
  if (r.errors == 0)
    printf("%s: ok%s\n", path, r.warnings ? " (warnings above)" : "");
  else
    printf("%s: %d difference%s from %s\n", path, r.errors, r.errors == 1 ? "" : "s",
           r.schema_file);
  int rc = r.errors ? 1 : 0;
  insp_report_free(&r);
  return rc;
}

static int summary_one(const char *path, const char *dir, int first) {
  if (!first) printf("\n");
  if (insp_summary(stdout, path, dir) < 0) {
    fflush(stdout);
    fprintf(stderr, "dpt-inspect: %s\n", dpt_errmsg());
    return 1;
  }
  return 0;
}

/* Runs one file in a child; a child killed by a signal is reported, not inherited. */
static int guarded(const char *path, const char *dir, int check, int first) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) return check ? check_one(path, dir) : summary_one(path, dir, first);
  if (pid == 0) {
    alarm(FILE_TIMEOUT);
    int rc = check ? check_one(path, dir) : summary_one(path, dir, first);
    fflush(stdout);
    fflush(stderr);
    _exit(rc);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    ;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  fflush(stdout);
  if (sig == SIGALRM)
    fprintf(stderr, "dpt-inspect: %s: gave up after %d s (damaged file?)\n", path,
            FILE_TIMEOUT);
  else
    fprintf(stderr, "dpt-inspect: %s: damaged file: the HDF5 library failed reading it "
            "(signal %d, %s)\n", path, sig, strsignal(sig));
  return 1;
}

int insp_files(char *const *paths, int n, int check) {
  char dir[4096];
  int have_dir = insp_schema_dir(dir, sizeof dir, NULL) == 0;
  if (!have_dir && check) return -1;
  int failed = 0;
  for (int i = 0; i < n; i++)
    failed += guarded(paths[i], have_dir ? dir : NULL, check, i == 0) != 0;
  return failed;
}
