/* csvrow.c - see csvrow.h. The row is built in memory and written with one O_APPEND
 * write, so concurrent runs appending to one table never interleave within a row. */
#include "csvrow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/csv.h"
#include "../core/err.h"

typedef struct { FILE *out; int header; } row_ctx_t;

static void put_key(void *ctx, const char *key, const char *value) {
  row_ctx_t *r = ctx;
  dpt_csv_field(r->out, r->header ? key : value);
  fputc(',', r->out);
}

int csv_append_run(const char *path, const dpt_config_t *cfg, const run_info_t *info) {
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  if (!mem) return dpt_fail("%s: cannot build CSV row", path);
  struct stat st;
  int is_new = stat(path, &st) != 0 || st.st_size == 0;
  for (int header = is_new ? 1 : 0; header >= 0; header--) {
    row_ctx_t r = {mem, header};
    config_each(cfg, put_key, &r);
    if (header)
      fputs("epochs_run,best_epoch,best_val_acc,test_acc_last,test_acc_best,wall_time\n", mem);
    else
      fprintf(mem, "%lld,%lld,%.6f,%.6f,%.6f,%.3f\n", (long long)info->epochs_run, (long long)info->best_epoch, info->best_val_acc,
              info->test_acc_last, info->test_acc_best, info->wall_time);
  }
  fclose(mem);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  int rc = 0;
  if (fd < 0) {
    rc = dpt_fail("%s: cannot open results table: %s", path, strerror(errno));
  } else {
    if (write(fd, buf, len) != (ssize_t)len || fsync(fd) != 0)
      rc = dpt_fail("%s: cannot append results row: %s", path, strerror(errno));
    close(fd);
  }
  free(buf);
  return rc;
}
