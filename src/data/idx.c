/* idx.c - IDX files (MNIST's format: big-endian magic 0x000008NN where 08 means unsigned
 * bytes and NN is the number of dimensions, NN big-endian uint32 sizes, then the bytes)
 * and the import of MNIST and Fashion-MNIST from their four files. */
#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "import.h"

enum { NUM_CLASSES = 10 };

static const char *const fashion_classes[NUM_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
static const char *const digit_classes[NUM_CLASSES] = {"0", "1", "2", "3", "4",
                                                       "5", "6", "7", "8", "9"};

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int idx_parse(idx_t *idx, const char *what, const uint8_t *bytes, size_t len, int ndim) {
  DPT_ASSERT(ndim >= 1 && ndim <= 3);
  size_t header = 4 + 4 * (size_t)ndim;
  if (len < header)
    return dpt_fail("%s: truncated at byte %zu: an IDX header of %d dimension%s needs %zu "
                    "bytes", what, len, ndim, ndim > 1 ? "s" : "", header);
  uint32_t magic = be32(bytes), want = 0x800u | (uint32_t)ndim;
  if (magic != want)
    return dpt_fail("%s: byte 0: magic number 0x%08x, expected 0x%08x (IDX of unsigned "
                    "bytes, %d dimension%s)", what, magic, want, ndim, ndim > 1 ? "s" : "");
  uint64_t count = 1;
  for (int i = 0; i < ndim; i++) {
    idx->dims[i] = be32(bytes + 4 + 4 * i);
    count *= idx->dims[i];  /* at most 2^96 in theory; checked against len below */
    if (count > len) break;
  }
  if (len - header < count)
    return dpt_fail("%s: truncated: the header promises %llu data bytes from byte %zu, but "
                    "the file ends at byte %zu", what, (unsigned long long)count, header, len);
  if (len - header > count)
    return dpt_fail("%s: byte %zu: unexpected bytes after the %llu data bytes the header "
                    "declares", what, (size_t)(header + count), (unsigned long long)count);
  idx->data = bytes + header;
  return 0;
}

/* dataset_limit_fn of an IDX file: the header's size plus the data bytes it declares.
 * An image header must declare images dpt-train can use (sides 1..DATASET_MAX_SIDE),
 * checked before the data is read. A short or foreign head is left to idx_parse. */
static int idx_limit(void *ctx, const dataset_blob_t *blob, uint64_t *max) {
  int ndim = *(const int *)ctx;
  size_t header = 4 + 4 * (size_t)ndim;
  *max = blob->len;
  if (blob->len < header || be32(blob->bytes) != (0x800u | (uint32_t)ndim)) return 0;
  uint64_t count = 1;
  for (int i = 0; i < ndim; i++) {
    uint32_t d = be32(blob->bytes + 4 + 4 * i);
    if (ndim == 3 && i > 0 && (d < 1 || d > DATASET_MAX_SIDE))
      return dpt_fail("%s: byte %d: images of %ux%u pixels; dpt-train takes 1 to %d pixels "
                      "a side", blob->what, 4 + 4 * i, be32(blob->bytes + 8),
                      be32(blob->bytes + 12), DATASET_MAX_SIDE);
    count *= d;  /* at most 2^32 * 32 * 32 */
  }
  *max = header + count;
  return 0;
}

static int read_idx(dataset_import_t *imp, const char *path, int ndim, dataset_blob_t *blob,
                    idx_t *idx) {
  if (dataset_read_source(imp, path, blob, 4 + 4 * (size_t)ndim, idx_limit, &ndim) < 0)
    return -1;
  return idx_parse(idx, blob->what, blob->bytes, blob->len, ndim);
}

/* One split ("train" or "t10k"): checks its two files against each other and against the
 * image size of the training split (*h, *w; zero before it is read). */
static int import_split(dataset_import_t *imp, const char *dir, const char *prefix,
                        int64_t limit, dpt_split_t *split, int *h, int *w) {
  char name[64], ipath[4200], lpath[4200];
  dataset_blob_t img = {0}, lab = {0};
  idx_t ii, li;
  int rc = -1;
  snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
  TRY(dataset_find_source(ipath, sizeof ipath, dir, NULL, name));
  snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
  TRY(dataset_find_source(lpath, sizeof lpath, dir, NULL, name));
  TRY(read_idx(imp, ipath, 3, &img, &ii));
  TRY(read_idx(imp, lpath, 1, &lab, &li));
  if (ii.dims[0] != li.dims[0]) {
    dpt_fail("%s: byte 4: %u images, but %s has %u labels", img.what, ii.dims[0], lab.what,
             li.dims[0]);
    goto fail;
  }
  if (ii.dims[0] == 0) {
    dpt_fail("%s: byte 4: no images", img.what);
    goto fail;
  }
  if (*h && ((int)ii.dims[1] != *h || (int)ii.dims[2] != *w)) {
    dpt_fail("%s: byte 8: images are %ux%u, but the training images are %dx%d", img.what,
             ii.dims[1], ii.dims[2], *h, *w);
    goto fail;
  }
  for (uint32_t i = 0; i < li.dims[0]; i++) {
    if (li.data[i] >= NUM_CLASSES) {
      dpt_fail("%s: byte %u: label %u out of range 0..%d", lab.what, 8 + i, li.data[i],
               NUM_CLASSES - 1);
      goto fail;
    }
  }
  *h = (int)ii.dims[1];
  *w = (int)ii.dims[2];
  split->n = limit > 0 && limit < (int64_t)ii.dims[0] ? limit : (int64_t)ii.dims[0];
  size_t pixels = (size_t)split->n * (size_t)*h * (size_t)*w;
  split->images = dpt_alloc(pixels);
  split->labels = dpt_alloc((size_t)split->n);
  memcpy(split->images, ii.data, pixels);
  memcpy(split->labels, li.data, (size_t)split->n);
  rc = 0;
fail:
  dataset_blob_free(&img);
  dataset_blob_free(&lab);
  return rc;
}

int idx_import(dataset_import_t *imp, const char *dir, int64_t limit) {
  dpt_dataset_t *ds = &imp->ds;
  ds->num_classes = NUM_CLASSES;
  ds->channels = 1;
  imp->class_names = strcmp(ds->name, "fashion-mnist") == 0 ? fashion_classes
                                                             : digit_classes;
  if (import_split(imp, dir, "train", limit, &ds->train, &ds->height, &ds->width) < 0 ||
      import_split(imp, dir, "t10k", limit, &ds->test, &ds->height, &ds->width) < 0)
    return -1;
  return 0;
}
