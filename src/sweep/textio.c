/* textio.c - the sweep directory's text files (see textio.h). */
#include "textio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/fsutil.h"

int sweep_write_text(const char *path, const char *text, sweep_publish_t how, int mode) {
  char tmp[4200];
  TRY(dpt_tmp_name(tmp, sizeof tmp, path));
  FILE *f = dpt_fopen_tmp(tmp);
  if (!f) return -1;
  size_t n = strlen(text);
  int bad = fwrite(text, 1, n, f) != n;
  bad |= fclose(f) != 0;
  if (bad) {
    unlink(tmp);
    return dpt_fail("cannot write %s: %s", tmp, strerror(errno));
  }
  if (mode) chmod(tmp, (mode_t)mode);
  if (how == SWEEP_DURABLE) return dpt_publish(tmp, path);
  if (rename(tmp, path) != 0) {
    unlink(tmp);
    return dpt_fail("cannot rename %s to %s: %s", tmp, path, strerror(errno));
  }
  return 0;
fail:
  return -1;
}

int sweep_split_tabs(char *line, char **f, int max) {
  int n = 0;
  for (char *p = line; n < max;) {
    f[n++] = p;
    char *t = strchr(p, '\t');
    if (!t) break;
    *t = 0;
    p = t + 1;
  }
  return n;
}

int sweep_lock(const char *dir) {
  int fd = -1;
  if (dpt_lock_named(dir, ".sweep.lock", "dpt-sweep command (submit, resubmit, run-local or "
                     "expand --force)", &fd) < 0)
    return -1;
  return fd;
}
