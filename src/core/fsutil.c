/* fsutil.c - atomic publication of files (see fsutil.h). */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

/* "HOST.PID" of the writer whose temporary names this process uses; empty = its own */
static char tmp_writer[320];

void dpt_writer_id(char *buf, size_t cap) {
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "unknown");
  snprintf(buf, cap, "%s.%ld", host, (long)getpid());
}

void dpt_set_tmp_writer(const char *id) {
  snprintf(tmp_writer, sizeof tmp_writer, "%s", id);
}

int dpt_tmp_name(char *buf, size_t cap, const char *path) {
  char own[320];
  if (!tmp_writer[0]) dpt_writer_id(own, sizeof own);
  if ((size_t)snprintf(buf, cap, "%s.tmp.%s", path, tmp_writer[0] ? tmp_writer : own) >= cap)
    return dpt_fail("%s: path too long", path);
  return 0;
}

int dpt_remove_stale_tmps(const char *path) {
  char dir[4096];
  dpt_dirname(dir, sizeof dir, path);
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  size_t n = strlen(base);
  DIR *d = opendir(dir);
  if (!d) return dpt_fail("%s: cannot list: %s", dir, strerror(errno));
  int rc = 0;
  for (struct dirent *e; rc == 0 && (e = readdir(d));) {
    if (strncmp(e->d_name, base, n) != 0 || strncmp(e->d_name + n, ".tmp.", 5) != 0) continue;
    char stale[4096 + 256];
    snprintf(stale, sizeof stale, "%s/%s", dir, e->d_name);
    if (unlink(stale) != 0 && errno != ENOENT)
      rc = dpt_fail("cannot remove %s: %s", stale, strerror(errno));
  }
  closedir(d);
  return rc;
}

int dpt_lock_dir(const char *dir, int *fd) {
  char path[4096], holder[512] = "";
  if ((size_t)snprintf(path, sizeof path, "%s/.lock", dir) >= sizeof path)
    return dpt_fail("%s: path too long", dir);
  int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (f < 0) return dpt_fail("%s: cannot open: %s", path, strerror(errno));
  if (flock(f, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ssize_t n = err == EWOULDBLOCK ? pread(f, holder, sizeof holder - 1, 0) : -1;
    close(f);
    if (err != EWOULDBLOCK) return dpt_fail("%s: cannot lock: %s", path, strerror(err));
    holder[n > 0 ? n : 0] = 0;
    holder[strcspn(holder, "\n")] = 0;
    return dpt_fail("%s is in use by another trainer (%s); wait for it or stop it", dir,
                    holder[0] ? holder : "holder unknown");
  }
  char host[256] = "";
  const char *job = getenv("SLURM_JOB_ID");
  if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "unknown");
  int n = snprintf(holder, sizeof holder, "host %s, pid %ld, Slurm job %s\n", host,
                   (long)getpid(), job && job[0] ? job : "none");
  if (ftruncate(f, 0) != 0 || pwrite(f, holder, (size_t)n, 0) != n) {
    int err = errno;
    close(f);
    return dpt_fail("%s: cannot write: %s", path, strerror(err));
  }
  *fd = f;
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

int dpt_write_tmp(const char *tmp, const void *buf, size_t n) {
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return dpt_fail("cannot create %s: %s", tmp, strerror(errno));
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int err = w < 0 ? errno : EIO;
      close(fd);
      unlink(tmp);
      return dpt_fail("cannot write %s: %s%s", tmp, strerror(err),
                      err == ENOSPC || err == EDQUOT ? " (its file system is full)" : "");
    }
    p += w;
    n -= (size_t)w;
  }
  if (close(fd) != 0) {
    int err = errno;
    unlink(tmp);
    return dpt_fail("cannot write %s: %s", tmp, strerror(err));
  }
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
