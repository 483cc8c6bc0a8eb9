/* source.c - reading a dataset's distribution files: the whole file into memory
 * (zlib's gzread gunzips .gz files and passes plain files through unchanged) and the
 * crc32 of the bytes on disk, kept in the dataset file as provenance. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "import.h"

enum { CHUNK = 1 << 20 };

int dataset_find_source(char *path, size_t cap, const char *dir, const char *sub,
                        const char *name) {
  const char *subs[2] = {"", sub};
  for (int s = 0; s < (sub ? 2 : 1); s++) {
    for (int gz = 0; gz < 2; gz++) {
      snprintf(path, cap, "%s/%s%s%s%s", dir, subs[s], *subs[s] ? "/" : "", name,
               gz ? ".gz" : "");
      if (dpt_file_exists(path)) return 0;
    }
  }
  return dpt_fail("%s: no %s (nor %s.gz)%s%s", dir, name, name, sub ? " here or in " : "",
                  sub ? sub : "");
}

uint32_t dataset_crc32(uint32_t crc, const uint8_t *p, size_t n) {
  uLong c = crc;
  for (size_t off = 0; off < n; off += 1u << 30)
    c = crc32(c, p + off, (uInt)(n - off < (1u << 30) ? n - off : (1u << 30)));
  return (uint32_t)c;
}

static int raw_crc32(const char *path, int64_t *crc) {
  FILE *f = fopen(path, "rb");
  if (!f) return dpt_fail("%s: cannot open: %s", path, strerror(errno));
  uint8_t *buf = dpt_alloc(CHUNK);
  uint32_t c = 0;
  size_t n;
  while ((n = fread(buf, 1, CHUNK, f)) > 0) c = dataset_crc32(c, buf, n);
  int bad = ferror(f);
  fclose(f);
  dpt_free(buf);
  if (bad) return dpt_fail("%s: read error", path);
  *crc = (int64_t)c;
  return 0;
}

int dataset_read_source(dataset_import_t *imp, const char *path, dataset_blob_t *blob) {
  if (imp->nsources == DATASET_MAX_SOURCES) DPT_PANIC("more than %d source files",
                                                      DATASET_MAX_SOURCES);
  dataset_source_t *src = &imp->sources[imp->nsources];
  if (raw_crc32(path, &src->crc32) < 0) return -1;
  gzFile gz = gzopen(path, "rb");
  if (!gz) return dpt_fail("%s: cannot open: %s", path, strerror(errno));
  size_t cap = CHUNK, len = 0;
  uint8_t *bytes = dpt_realloc(NULL, cap);
  int n;
  while ((n = gzread(gz, bytes + len, (unsigned)(cap - len))) > 0) {
    len += (size_t)n;
    if (len == cap) bytes = dpt_realloc(bytes, cap *= 2);
  }
  int zerr;
  const char *zmsg = gzerror(gz, &zerr);
  int plain = gzdirect(gz);
  if (n < 0 || zerr != Z_OK) {
    dpt_fail("%s: gzip data corrupt or cut short after %zu gunzipped bytes (%s)", path,
             len, zmsg);
    gzclose(gz);
    dpt_free(bytes);
    return -1;
  }
  gzclose(gz);
  blob->bytes = bytes;
  blob->len = len;
  snprintf(blob->what, sizeof blob->what, "%s%s", path, plain ? "" : " (gunzipped)");
  const char *slash = strrchr(path, '/');
  snprintf(src->name, sizeof src->name, "%s", slash ? slash + 1 : path);
  imp->nsources++;
  return 0;
}

void dataset_blob_free(dataset_blob_t *blob) {
  dpt_free(blob->bytes);
  blob->bytes = NULL;
  blob->len = 0;
}
