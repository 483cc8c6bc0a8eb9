/* launch.c - dpt's binaries and the training command of a task (see launch.h). */
#include "launch.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/fsutil.h"

void sweep_bin_dir(char *buf, size_t cap) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    snprintf(buf, cap, ".");
    return;
  }
  exe[n] = 0;
  dpt_dirname(buf, cap, exe);
}

void sweep_train_path(char *buf, size_t cap) {
  const char *env_train = getenv("DPT_TRAIN");
  char bin[PATH_MAX];
  sweep_bin_dir(bin, sizeof bin);
  if (env_train) snprintf(buf, cap, "%s", env_train);
  else snprintf(buf, cap, "%s/dpt-train", bin);
}

int sweep_train_args(char *args[SWEEP_TRAIN_ARGS], int use_mpirun, char *np, char *train,
                     char *cfg, char *run_dir) {
  int n = 0;
  if (use_mpirun) {
    args[n++] = "mpirun";
    if (geteuid() == 0) args[n++] = "--allow-run-as-root";
    args[n++] = "--oversubscribe";
    args[n++] = "-np";
    args[n++] = np;
  } else if (strcmp(np, "1")) {
    return -1;
  }
  args[n++] = train;
  args[n++] = "-c";
  args[n++] = cfg;
  args[n++] = "--run-dir";
  args[n++] = run_dir;
  return n;
}
