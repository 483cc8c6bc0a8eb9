/* csvrow.c - see csvrow.h. The row is built in memory and written with one O_APPEND
 * write under an flock, so concurrent runs appending to one table never interleave within
 * a row, and only the first writes the header. */
#include "csvrow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/csv.h"
#include "../core/err.h"
#include "../core/fsutil.h"

typedef struct { FILE *out; int header; } row_ctx_t;

static void put_key(void *ctx, const char *key, const char *value) {
  row_ctx_t *r = ctx;
  dpt_csv_field(r->out, r->header ? key : value);
  fputc(',', r->out);
}

/* The header line (header = 1) or the run's row, as text to free. */
static char *line_text(const dpt_config_t *cfg, const run_info_t *info, int header) {
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  if (!mem) return NULL;
  row_ctx_t r = {mem, header};
  config_each(cfg, put_key, &r);
  if (header)
    fputs("epochs_run,best_epoch,best_val_acc,test_acc_last,test_acc_best,wall_time\n", mem);
  else
    fprintf(mem, "%lld,%lld,%.6f,%.6f,%.6f,%.3f\n", (long long)info->epochs_run,
            (long long)info->best_epoch, info->best_val_acc, info->test_acc_last,
            info->test_acc_best, info->wall_time);
  fclose(mem);
  return buf;
}

/* An existing table must start with this dpt's header: anything else is not ours. */
static int check_header(int fd, const char *header, const char *path) {
  size_t n = strlen(header);
  char *got = dpt_alloc(n + 1);
  ssize_t r = pread(fd, got, n, 0);
  int same = r == (ssize_t)n && memcmp(got, header, n) == 0;
  dpt_free(got);
  if (same) return 0;
  return dpt_fail("%s: not a dpt results table (its first line is not the header this dpt "
                  "writes); refusing to append to it: name a new .csv file", path);
}

int csv_append_run(const char *dir, const char *rel, const dpt_config_t *cfg,
                   const run_info_t *info) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  char *header = line_text(cfg, info, 1), *row = line_text(cfg, info, 0);
  int rc = -1, fd = -1;
  struct stat st;
  if (!header || !row) {
    dpt_fail("%s: cannot build CSV row", path);
  } else if ((fd = dpt_open_below(dir, rel, O_RDWR | O_APPEND | O_CREAT)) < 0) {
    dpt_wrap("experiment.output");
  } else if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0) {
    dpt_fail("%s: cannot lock: %s", path, strerror(errno));
  } else if (st.st_size == 0 || check_header(fd, header, path) == 0) {
    size_t nh = st.st_size == 0 ? strlen(header) : 0, nr = strlen(row);
    if ((nh && write(fd, header, nh) != (ssize_t)nh) || write(fd, row, nr) != (ssize_t)nr ||
        fsync(fd) != 0)
      dpt_fail("%s: cannot append results row: %s", path, strerror(errno));
    else
      rc = 0;
  }
  if (fd >= 0) close(fd);
  free(header);
  free(row);
  return rc;
}
