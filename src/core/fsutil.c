/* fsutil.c - atomic publication of files (see fsutil.h). */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

int dpt_tmp_name(char *buf, size_t cap, const char *path) {
  if ((size_t)snprintf(buf, cap, "%s.tmp", path) >= cap)
    return dpt_fail("%s: path too long", path);
  return 0;
}

void dpt_dirname(char *buf, size_t cap, const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(buf, cap, ".");
  } else if (slash == path) {
    snprintf(buf, cap, "/");
  } else {
    snprintf(buf, cap, "%.*s", (int)(slash - path), path);
  }
}

static int fsync_path(const char *path, int flags) {
  int fd = open(path, flags);
  if (fd < 0) return dpt_fail("%s: cannot open to sync: %s", path, strerror(errno));
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  /* Some file systems refuse fsync on directories; the rename is still atomic there. */
  if (rc != 0 && !(flags & O_DIRECTORY && (err == EINVAL || err == EBADF)))
    return dpt_fail("%s: fsync failed: %s", path, strerror(err));
  return 0;
}

int dpt_publish(const char *tmp, const char *path) {
  char dir[4096];
  if (fsync_path(tmp, O_RDONLY) < 0) goto fail;
  if (rename(tmp, path) != 0) {
    dpt_fail("cannot rename %s to %s: %s", tmp, path, strerror(errno));
    goto fail;
  }
  dpt_dirname(dir, sizeof dir, path);
  return fsync_path(dir, O_RDONLY | O_DIRECTORY);
fail:
  unlink(tmp);
  return -1;
}

int dpt_mkdirs(const char *dir) {
  char buf[4096];
  size_t n = strlen(dir);
  if (n == 0) return 0;
  if (n >= sizeof buf) return dpt_fail("%s: path too long", dir);
  memcpy(buf, dir, n + 1);
  for (char *p = buf + 1; ; p++) {
    if (*p == '/' || *p == 0) {
      char c = *p;
      *p = 0;
      if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return dpt_fail("cannot create directory %s: %s", buf, strerror(errno));
      *p = c;
      if (!c) break;
    }
  }
  return 0;
}

int dpt_file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}
