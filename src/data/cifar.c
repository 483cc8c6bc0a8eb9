/* cifar.c - the "binary version" of CIFAR-10 and CIFAR-100: files of fixed-size records,
 * label byte(s) then 3072 pixels (the red, green and blue 32x32 planes, rows top to
 * bottom), which is already the NCHW layout dpt stores. */
#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "import.h"

enum { SIDE = 32, PIXELS = 3 * SIDE * SIDE, COARSE_CLASSES = 20 };

static const char *const cifar10_classes[10] = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

typedef struct {
  const char *sub;       /* the directory the official archive unpacks to */
  int nlabels;           /* label bytes per record: CIFAR-100 has coarse then fine */
  int num_classes;
  const char *train[5];  /* NULL-terminated */
  const char *test;
  uint64_t train_records, test_records; /* per file, as in the official archive */
} layout_t;

static const layout_t cifar10 = {"cifar-10-batches-bin", 1, 10,
                                 {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                  "data_batch_4.bin", "data_batch_5.bin"},
                                 "test_batch.bin", 10000, 10000};
static const layout_t cifar100 = {"cifar-100-binary", 2, 100, {"train.bin", NULL},
                                  "test.bin", 50000, 10000};

/* dataset_limit_fn: a fixed number of bytes (the records of an official file). */
static int fixed_limit(void *ctx, const dataset_blob_t *blob, uint64_t *max) {
  (void)blob;
  *max = *(const uint64_t *)ctx;
  return 0;
}

/* Checks every record of one file and appends up to `limit` of them (in total) to split
 * (and to *coarse for CIFAR-100). */
static int append_file(dataset_import_t *imp, const layout_t *lay, const char *dir,
                       const char *name, uint64_t records, int64_t limit,
                       dpt_split_t *split, uint8_t **coarse) {
  char path[4200];
  dataset_blob_t blob = {0};
  size_t rec = (size_t)lay->nlabels + PIXELS;
  uint64_t max = records * rec;
  int rc = -1;
  TRY(dataset_find_source(path, sizeof path, dir, lay->sub, name));
  TRY(dataset_read_source(imp, path, &blob, 0, fixed_limit, &max));
  if (blob.len > max) {
    dpt_fail("%s: byte %llu: more than the %llu records of %zu bytes an official %s holds",
             blob.what, (unsigned long long)max, (unsigned long long)records, rec, name);
    goto fail;
  }
  if (blob.len == 0) {
    dpt_fail("%s: empty file", blob.what);
    goto fail;
  }
  if (blob.len % rec) {
    dpt_fail("%s: truncated: %zu bytes is not a whole number of %zu-byte records; the "
             "last record starts at byte %zu", blob.what, blob.len, rec,
             blob.len / rec * rec);
    goto fail;
  }
  size_t nrec = blob.len / rec;
  for (size_t r = 0; r < nrec; r++) {
    const uint8_t *p = blob.bytes + r * rec;
    int fine = lay->nlabels - 1;
    if (p[fine] >= lay->num_classes) {
      dpt_fail("%s: byte %zu: label %u out of range 0..%d", blob.what, r * rec + fine,
               p[fine], lay->num_classes - 1);
      goto fail;
    }
    if (coarse && p[0] >= COARSE_CLASSES) {
      dpt_fail("%s: byte %zu: coarse label %u out of range 0..%d", blob.what, r * rec,
               p[0], COARSE_CLASSES - 1);
      goto fail;
    }
  }
  size_t take = nrec;
  if (limit > 0 && (int64_t)nrec > limit - split->n) take = (size_t)(limit - split->n);
  size_t n = (size_t)split->n;
  split->images = dpt_realloc(split->images, (n + take) * PIXELS);
  split->labels = dpt_realloc(split->labels, n + take);
  if (coarse) *coarse = dpt_realloc(*coarse, n + take);
  for (size_t r = 0; r < take; r++) {
    const uint8_t *p = blob.bytes + r * rec;
    memcpy(split->images + (n + r) * PIXELS, p + lay->nlabels, PIXELS);
    split->labels[n + r] = p[lay->nlabels - 1];
    if (coarse) (*coarse)[n + r] = p[0];
  }
  split->n = (int64_t)(n + take);
  rc = 0;
fail:
  dataset_blob_free(&blob);
  return rc;
}

int cifar_import(dataset_import_t *imp, const char *dir, int64_t limit, int is100) {
  const layout_t *lay = is100 ? &cifar100 : &cifar10;
  dpt_dataset_t *ds = &imp->ds;
  ds->num_classes = lay->num_classes;
  ds->channels = 3;
  ds->height = ds->width = SIDE;
  imp->class_names = is100 ? NULL : cifar10_classes;
  imp->num_coarse_classes = is100 ? COARSE_CLASSES : 0;
  for (int i = 0; i < 5 && lay->train[i]; i++)
    TRY(append_file(imp, lay, dir, lay->train[i], lay->train_records, limit, &ds->train,
                    is100 ? &imp->train_coarse : NULL));
  TRY(append_file(imp, lay, dir, lay->test, lay->test_records, limit, &ds->test,
                  is100 ? &imp->test_coarse : NULL));
  return 0;
fail:
  return -1;
}
