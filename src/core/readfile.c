/* readfile.c - whole-file reads with a size cap (see readfile.h). */
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

enum { READ_OK = 0, READ_ERRNO = -1, READ_TOO_BIG = -2 };

/* Records no message: the callers name what was read. READ_ERRNO leaves errno set. */
static int read_fd(int fd, size_t max, char **text, size_t *len) {
  size_t n = 0, cap = 4096;
  char *buf = dpt_realloc(NULL, cap);
  for (;;) {
    if (n + 1 == cap) buf = dpt_realloc(buf, cap *= 2);
    ssize_t got = read(fd, buf + n, cap - n - 1);
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      dpt_free(buf);
      errno = e;
      return READ_ERRNO;
    }
    n += (size_t)got;
    if (n > max) {
      dpt_free(buf);
      return READ_TOO_BIG;
    }
  }
  buf[n] = 0;
  *text = buf;
  if (len) *len = n;
  return READ_OK;
}

int dpt_read_fd(int fd, size_t max, char **text, size_t *len) {
  *text = NULL;
  switch (read_fd(fd, max, text, len)) {
    case READ_OK: return 0;
    case READ_ERRNO: return dpt_fail("cannot read: %s", strerror(errno));
    default: return dpt_fail("more than %zu bytes; refusing a truncated answer", max);
  }
}

static int read_path(const char *path, size_t max, char **text, size_t *len, int missing_ok) {
  *text = NULL;
  /* O_NONBLOCK: opening a FIFO that no writer holds would block for ever. Reads block
   * again afterwards, so a pipe (`-c <(...)`) is read whole, and a planted FIFO with no
   * writer reads as empty (end of file) instead of hanging. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (missing_ok && errno == ENOENT) return 1;
    return dpt_fail("%s: cannot open: %s", path, strerror(errno));
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
    int e = errno;
    close(fd);
    return dpt_fail("%s: cannot read: %s", path, strerror(e));
  }
  int rc = read_fd(fd, max, text, len), e = errno;
  close(fd);
  switch (rc) {
    case READ_OK: return 0;
    case READ_ERRNO: return dpt_fail("%s: cannot read: %s", path, strerror(e));
    default: return dpt_fail("%s: larger than %zu bytes", path, max);
  }
}

int dpt_read_file(const char *path, size_t max, char **text, size_t *len) {
  return read_path(path, max, text, len, 0);
}

int dpt_read_file_opt(const char *path, size_t max, char **text, size_t *len) {
  return read_path(path, max, text, len, 1);
}
