/* fuzz_util.c - the scratch directory, input splitting and MPI start-up shared by the
 * fuzz targets (see fuzz.h). */
#include <ftw.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/err.h"
#include "../../src/inspect/inspect.h"
#include "fuzz.h"

static char scratch[64];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void remove_scratch(void) { nftw(scratch, remove_one, 8, FTW_DEPTH | FTW_PHYS); }

const char *fuzz_dir(void) {
  if (!scratch[0]) {
    snprintf(scratch, sizeof scratch, "%s/dpt-fuzz-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(scratch)) DPT_PANIC("cannot make %s", scratch);
    atexit(remove_scratch);
  }
  return scratch;
}

void fuzz_write(char *path, const char *name, const void *bytes, size_t n) {
  snprintf(path, 4096, "%s/%s", fuzz_dir(), name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(bytes, 1, n, f) != n || fclose(f) != 0) DPT_PANIC("cannot write %s", path);
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void fuzz_split(const uint8_t *data, size_t size, int nparts, const uint8_t **part,
                size_t *len) {
  for (int i = 0; i < nparts; i++) {
    size_t n = size;
    if (i < nparts - 1) {
      n = size >= 4 ? le32(data) : 0;
      size_t skip = size >= 4 ? 4 : size;
      data += skip;
      size -= skip;
      if (n > size) n = size;
    }
    part[i] = data;
    len[i] = n;
    data += n;
    size -= n;
  }
}

char *fuzz_text(const uint8_t *data, size_t size) {
  char *s = dpt_alloc(size + 1);
  memcpy(s, data, size);
  return s;
}

static void finalize(void) { MPI_Finalize(); }

void fuzz_mpi_init(void) {
  int up = 0;
  MPI_Initialized(&up);
  if (up) return;
  MPI_Init(NULL, NULL);
  atexit(finalize);
}

/* dpt-inspect's --check and summary, the last reader of every HDF5 target (run from the
 * repository's root, where hdf5-schema/ is). */
void fuzz_inspect(const char *path) {
  static FILE *devnull;
  insp_report_t r = {0};
  if (!devnull && !(devnull = fopen("/dev/null", "w"))) DPT_PANIC("cannot open /dev/null");
  if (insp_check(path, "hdf5-schema", &r) == 0) insp_report_free(&r);
  insp_summary(devnull, path, "hdf5-schema");
}
