/* failwrite.c - an LD_PRELOAD shim that makes one rank's writes fail, for the fault
 * tests (tests/cli/rank-io-fault.bats).
 *
 * Under mpirun every rank loads it (mpirun -x LD_PRELOAD); it acts only in the process
 * whose OMPI_COMM_WORLD_RANK (0 without mpirun) equals FAILWRITE_RANK, and there only
 * on descriptors whose path (as /proc/self/fd names it) contains FAILWRITE_MATCH and
 * not FAILWRITE_IGNORE (if set; e.g. Open MPI's lock files NAME.locktest.N beside the
 * file). Writes to the first FAILWRITE_FILES such files pass (default 0; files are told
 * apart by inode, so a temporary name used again counts anew), then the first
 * FAILWRITE_AFTER writes to the next one (default 0); every later write fails with
 * FAILWRITE_ERRNO (EIO or ENOSPC, default EIO), as a dead disk or a full quota would.
 * It covers write, pwrite, writev, pwritev and their 64 and v2 forms: Open MPI's ompio
 * (fbtl/posix) writes with pwrite64 (strace shows it), HDF5's own drivers with
 * pwrite or write. The first injected failure is announced on stderr, so a test can
 * tell that the fault fired.
 *
 *   make build/failwrite.so
 *   mpirun -np 2 -x LD_PRELOAD=$PWD/build/failwrite.so -x FAILWRITE_RANK=1 \
 *     -x FAILWRITE_MATCH=/checkpoint.h5.tmp. -x FAILWRITE_ERRNO=ENOSPC dpt-train ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

typedef struct {
  int on;               /* this process is the chosen rank */
  const char *match;    /* substring of the file's path */
  const char *ignore;   /* substring of paths left alone, or NULL */
  long files;           /* matching files whose writes all pass */
  long after;           /* writes that pass first in the next one */
  int err;              /* errno of the failure */
  long seen;            /* matching writes so far in the current file */
  dev_t dev;            /* the current file */
  ino_t ino;
} config_t;

static config_t cfg;
static int cfg_ready;

static void configure(void) {
  if (cfg_ready) return;
  cfg_ready = 1;
  const char *rank = getenv("OMPI_COMM_WORLD_RANK"), *want = getenv("FAILWRITE_RANK");
  if (!rank) rank = "0"; /* a process started without mpirun is rank 0 of its own */
  cfg.match = getenv("FAILWRITE_MATCH");
  cfg.ignore = getenv("FAILWRITE_IGNORE");
  if (cfg.ignore && !cfg.ignore[0]) cfg.ignore = NULL;
  cfg.on = rank && want && strcmp(rank, want) == 0 && cfg.match && cfg.match[0];
  const char *files = getenv("FAILWRITE_FILES"), *after = getenv("FAILWRITE_AFTER");
  const char *err = getenv("FAILWRITE_ERRNO");
  cfg.files = files ? atol(files) : 0;
  cfg.after = after ? atol(after) : 0;
  cfg.err = err && strcmp(err, "ENOSPC") == 0 ? ENOSPC : EIO;
}

/* Whether this write to fd is one to fail. */
static int fail_now(int fd) {
  configure();
  if (!cfg.on) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = '\0';
  struct stat st;
  if (!strstr(path, cfg.match) || (cfg.ignore && strstr(path, cfg.ignore)) ||
      fstat(fd, &st) < 0)
    return 0;
  if (st.st_dev != cfg.dev || st.st_ino != cfg.ino) { /* another file: the count so far */
    if (cfg.dev || cfg.ino) cfg.files--;
    cfg.dev = st.st_dev;
    cfg.ino = st.st_ino;
    cfg.seen = 0;
  }
  if (cfg.files > 0 || cfg.seen++ < cfg.after) return 0;
  if (cfg.seen == cfg.after + 1) {
    char msg[4300];
    int len = snprintf(msg, sizeof msg, "failwrite: rank %s: failing writes to %s with %s\n",
                       getenv("FAILWRITE_RANK"), path, strerror(cfg.err));
    ssize_t ignored = write(2, msg, (size_t)len < sizeof msg ? (size_t)len : sizeof msg - 1);
    (void)ignored; /* stderr is not a matching file: this write is the real one */
  }
  errno = cfg.err;
  return 1;
}

#define REAL(name, ...)                                        \
  static __typeof__(name) *real;                               \
  if (!real) real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name); \
  if (fail_now(fd)) return -1;                                 \
  return real(__VA_ARGS__)

ssize_t write(int fd, const void *buf, size_t n) { REAL(write, fd, buf, n); }
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) { REAL(pwrite, fd, buf, n, off); }
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) { REAL(pwrite64, fd, buf, n, off); }
ssize_t writev(int fd, const struct iovec *iov, int cnt) { REAL(writev, fd, iov, cnt); }
ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off) {
  REAL(pwritev, fd, iov, cnt, off);
}
ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) {
  REAL(pwritev64, fd, iov, cnt, off);
}
ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags) {
  REAL(pwritev2, fd, iov, cnt, off, flags);
}
