/* source.c - reading a dataset's distribution files into memory, no more than their
 * format allows (zlib's gzread gunzips .gz files and passes plain files through
 * unchanged), and the crc32 of the bytes on disk, kept in the dataset file as provenance. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "../core/crc.h"
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

static int raw_crc32(const char *path, int64_t *crc) {
  FILE *f = fopen(path, "rb");
  if (!f) return dpt_fail("%s: cannot open: %s", path, strerror(errno));
  uint8_t *buf = dpt_alloc(CHUNK);
  uint32_t c = 0;
  size_t n;
  while ((n = fread(buf, 1, CHUNK, f)) > 0) c = dpt_crc32(c, buf, n);
  int bad = ferror(f);
  fclose(f);
  dpt_free(buf);
  if (bad) return dpt_fail("%s: read error", path);
  *crc = (int64_t)c;
  return 0;
}

/* Gunzips (or copies) into blob until blob->len reaches want or the data ends, growing
 * the buffer as it fills. */
static int read_upto(gzFile gz, dataset_blob_t *blob, size_t *cap, uint64_t want) {
  while (blob->len < want) {
    if (blob->len == *cap) {
      *cap = *cap * 2 < want ? *cap * 2 : (size_t)want;
      blob->bytes = dpt_realloc(blob->bytes, *cap);
    }
    size_t room = *cap - blob->len;
    int n = gzread(gz, blob->bytes + blob->len, (unsigned)(room < CHUNK ? room : CHUNK));
    if (n <= 0) return n;
    blob->len += (size_t)n;
  }
  return 1;
}

int dataset_read_source(dataset_import_t *imp, const char *path, dataset_blob_t *blob,
                        size_t head, dataset_limit_fn limit, void *ctx) {
  if (imp->nsources == DATASET_MAX_SOURCES) DPT_PANIC("more than %d source files",
                                                      DATASET_MAX_SOURCES);
  dataset_source_t *src = &imp->sources[imp->nsources];
  if (raw_crc32(path, &src->crc32) < 0) return -1;
  gzFile gz = gzopen(path, "rb");
  if (!gz) return dpt_fail("%s: cannot open: %s", path, strerror(errno));
  size_t cap = CHUNK;
  uint64_t max = 0;
  *blob = (dataset_blob_t){.bytes = dpt_alloc(cap)};
  int n = read_upto(gz, blob, &cap, head);
  snprintf(blob->what, sizeof blob->what, "%s%s", path, gzdirect(gz) ? "" : " (gunzipped)");
  if (n >= 0 && limit(ctx, blob, &max) < 0) goto fail;
  if (n > 0) n = read_upto(gz, blob, &cap, max < UINT64_MAX ? max + 1 : max);
  int zerr;
  const char *zmsg = gzerror(gz, &zerr);
  if (n < 0 || zerr != Z_OK) {
    dpt_fail("%s: gzip data corrupt or cut short after %zu gunzipped bytes (%s)", path,
             blob->len, zmsg);
    goto fail;
  }
  gzclose(gz);
  const char *slash = strrchr(path, '/');
  snprintf(src->name, sizeof src->name, "%s", slash ? slash + 1 : path);
  imp->nsources++;
  return 0;
fail:
  gzclose(gz);
  dataset_blob_free(blob);
  return -1;
}

void dataset_blob_free(dataset_blob_t *blob) {
  dpt_free(blob->bytes);
  blob->bytes = NULL;
  blob->len = 0;
}
