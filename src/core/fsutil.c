/* fsutil.c - atomic publication of files (see fsutil.h). */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

/* "HOST.PID" of the writer whose temporary names this process uses; empty = its own */
static char tmp_writer[320];

void dpt_writer_id(char *buf, size_t cap) {
  static char id[320];
  static pid_t id_pid;
  if (id_pid != getpid()) { /* once per process (a forked child draws its own) */
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "unknown");
    /* Random bits make the name unpredictable: nobody can plant a link there in advance. */
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
      r = (uint32_t)time(NULL) ^ (uint32_t)clock();
    id_pid = getpid();
    snprintf(id, sizeof id, "%s.%ld.%08x", host, (long)id_pid, (unsigned)r);
  }
  snprintf(buf, cap, "%s", id);
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

static const char *kind_name(mode_t mode) {
  return S_ISLNK(mode)                    ? "a symbolic link"
         : S_ISFIFO(mode)                  ? "a FIFO"
         : S_ISDIR(mode)                   ? "a directory"
         : S_ISSOCK(mode)                  ? "a socket"
         : S_ISCHR(mode) || S_ISBLK(mode) ? "a device"
                                          : "not a file";
}

int dpt_check_regular(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return dpt_fail("%s: no such file (or not readable)", path);
  if (!S_ISREG(st.st_mode))
    return dpt_fail("%s: not a regular file (%s); refusing to read it", path,
                    kind_name(st.st_mode));
  return 0;
}

/* fd opened with O_NOFOLLOW: refuses what is not a plain file of one name (a hard link
 * elsewhere would let a write land in that file too); closes fd then. */
static int plain_file_fd(int fd, const char *path) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return dpt_fail("%s: cannot stat: %s", path, strerror(err));
  }
  if (!S_ISREG(st.st_mode) || st.st_nlink > 1) {
    close(fd);
    return dpt_fail("%s: %s; refusing to write to it (expected a regular file)", path,
                    S_ISREG(st.st_mode) ? "a file with other hard links" : kind_name(st.st_mode));
  }
  return fd;
}

/* openat() with O_NOFOLLOW|O_NONBLOCK (a FIFO neither blocks nor is accepted) that names
 * what stands at name when it is not a regular file; shown is its name for messages. */
static int open_nofollow_at(int dir, const char *name, int flags, const char *shown) {
  int fd = openat(dir, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd >= 0) return fd;
  int err = errno;
  struct stat st;
  if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
    return dpt_fail("%s: %s; refusing to open it (expected a regular file)", shown,
                    kind_name(st.st_mode));
  return dpt_fail("%s: cannot open: %s", shown, strerror(err));
}

static int open_nofollow(const char *path, int flags) {
  return open_nofollow_at(AT_FDCWD, path, flags, path);
}

int dpt_open_write(const char *path, int flags) {
  /* O_TRUNC only after the checks: a hard link's other name must not lose its data */
  int fd = open_nofollow(path, O_WRONLY | O_CREAT | (flags & ~O_TRUNC));
  if (fd < 0 || (fd = plain_file_fd(fd, path)) < 0) return -1;
  if ((flags & O_TRUNC) && ftruncate(fd, 0) != 0) {
    int err = errno;
    close(fd);
    return dpt_fail("%s: cannot truncate: %s", path, strerror(err));
  }
  return fd;
}

/* The directory fd of rel's parent below base, reached without following a link. */
static int open_parent_below(const char *base, const char *rel, const char **leaf) {
  int dir = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return dpt_fail("%s: cannot open directory: %s", base, strerror(errno));
  char part[256];
  const char *p = rel;
  for (size_t n; p[n = strcspn(p, "/")] == '/'; p += n + 1) {
    if (n == 0) continue;
    snprintf(part, sizeof part, "%.*s", (int)n, p);
    int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int next = n < sizeof part ? openat(dir, part, flags) : -1;
    int err = n < sizeof part ? errno : ENAMETOOLONG;
    close(dir);
    if (next < 0)
      return dpt_fail("%s/%.*s: %s", base, (int)(p - rel + n), rel,
                      err == ENOTDIR || err == ELOOP
                          ? "not a directory (a symbolic link is not followed)"
                          : strerror(err));
    dir = next;
  }
  *leaf = p;
  return dir;
}

int dpt_open_below(const char *base, const char *rel, int flags) {
  const char *leaf = rel;
  int dir = open_parent_below(base, rel, &leaf);
  if (dir < 0) return -1;
  char shown[4200];
  snprintf(shown, sizeof shown, "%s/%s", base, rel);
  int fd = open_nofollow_at(dir, leaf, flags, shown);
  close(dir);
  if (fd < 0) return -1;
  return plain_file_fd(fd, shown);
}

int dpt_create_tmp(const char *tmp) {
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = open(tmp, flags, 0644);
  /* Whatever holds this writer's name (a stale file, a planted link) is removed, not
   * followed; O_EXCL then guarantees the file is new. */
  if (fd < 0 && errno == EEXIST && unlink(tmp) == 0) fd = open(tmp, flags, 0644);
  if (fd < 0) return dpt_fail("cannot create %s: %s", tmp, strerror(errno));
  return fd;
}

/* A stream over fd (NULL when fd is -1); the new file is removed when that fails. */
static FILE *fd_stream(int fd, const char *path) {
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  if (fd >= 0 && !f) {
    dpt_fail("cannot create %s: %s", path, strerror(errno));
    close(fd);
    unlink(path);
  }
  return f;
}

FILE *dpt_fopen_tmp(const char *tmp) { return fd_stream(dpt_create_tmp(tmp), tmp); }

FILE *dpt_fopen_write(const char *path) { return fd_stream(dpt_open_write(path, O_TRUNC), path); }

int dpt_check_absent_or_regular(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0 || S_ISREG(st.st_mode)) return 0;
  return dpt_fail("%s: %s; refusing to write through it (expected a regular file)", path,
                  kind_name(st.st_mode));
}

int dpt_check_real_dir(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return dpt_fail("%s: cannot stat: %s", path, strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return dpt_fail("%s: %s; expected a directory (not a link to one)", path,
                    kind_name(st.st_mode));
  return 0;
}

int dpt_lock_dir(const char *dir, int *fd) {
  return dpt_lock_named(dir, ".lock", "trainer", fd);
}

int dpt_lock_named(const char *dir, const char *name, const char *user, int *fd) {
  char path[4096], holder[512] = "";
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
    return dpt_fail("%s: path too long", dir);
  int f = open_nofollow(path, O_RDWR | O_CREAT);
  if (f < 0 || (f = plain_file_fd(f, path)) < 0) return -1;
  if (flock(f, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ssize_t n = err == EWOULDBLOCK ? pread(f, holder, sizeof holder - 1, 0) : -1;
    close(f);
    if (err != EWOULDBLOCK) return dpt_fail("%s: cannot lock: %s", path, strerror(err));
    holder[n > 0 ? n : 0] = 0;
    holder[strcspn(holder, "\n")] = 0;
    return dpt_fail("%s is in use by another %s (%s); wait for it or stop it", dir, user,
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
  int fd = dpt_create_tmp(tmp);
  if (fd < 0) return -1;
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
