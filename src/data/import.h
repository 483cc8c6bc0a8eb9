/* import.h - turning a dataset's official distribution files into data/NAME.h5.
 * The importers (IDX for MNIST-like sets, binary records for CIFAR) fill a
 * dataset_import_t in memory; dataset_write() stores it with spec/hdf5.md's atomic
 * publication. Errors name the source file and the byte offset of the problem. */
#ifndef DPT_IMPORT_H
#define DPT_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"

enum { DATASET_MAX_SOURCES = 8 };

typedef struct {
  char name[256];   /* base name, as found in the source directory */
  int64_t crc32;    /* zlib crc32 of the bytes on disk (before any gunzip) */
} dataset_source_t;

typedef struct {
  dpt_dataset_t ds;                     /* images, labels, sizes, mean/std */
  uint8_t *train_coarse, *test_coarse;  /* CIFAR-100 superclass labels, else NULL */
  int num_coarse_classes;
  const char *const *class_names;       /* num_classes static names, or NULL */
  char source_dir[4096];
  int nsources;
  dataset_source_t sources[DATASET_MAX_SOURCES];
} dataset_import_t;

/* A whole source file in memory, gunzipped when it was gzipped. `what` names it in
 * error messages, so that byte offsets are understood as offsets of the gunzipped data. */
typedef struct {
  uint8_t *bytes;
  size_t len;
  char what[4200];
} dataset_blob_t;

/* The largest image side dpt-train takes (its model input is 32x32; smaller images are
 * centred on it): dpt-data refuses larger ones. */
enum { DATASET_MAX_SIDE = 32 };

/* Finds `name` or `name`.gz in dir, then in dir/sub (sub may be NULL); path gets it. */
int dataset_find_source(char *path, size_t cap, const char *dir, const char *sub,
                        const char *name);
/* How many bytes a source may hold (*max), decided from its first bytes: blob holds up
 * to `head` of them (fewer when the file is shorter) and its `what`. Fails, naming
 * blob->what and the offset, when the head already shows the file unusable. */
typedef int (*dataset_limit_fn)(void *ctx, const dataset_blob_t *blob, uint64_t *max);
/* Reads path into blob, gunzipping at most `head` bytes, then as many as limit allows
 * plus one, so that a longer file shows as longer than allowed and a gzip bomb is never
 * inflated; records the file's name and crc32 in imp->sources. */
int dataset_read_source(dataset_import_t *imp, const char *path, dataset_blob_t *blob,
                        size_t head, dataset_limit_fn limit, void *ctx);
void dataset_blob_free(dataset_blob_t *blob);

/* An IDX file of unsigned bytes: big-endian magic 0x000008NN (NN = ndim), NN sizes. */
typedef struct {
  uint32_t dims[3];
  const uint8_t *data;  /* points into the parsed buffer */
} idx_t;
int idx_parse(idx_t *idx, const char *what, const uint8_t *bytes, size_t len, int ndim);

/* MNIST and Fashion-MNIST: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. */
int idx_import(dataset_import_t *imp, const char *dir, int64_t limit);
/* CIFAR-10 (data_batch_1..5.bin, test_batch.bin) or CIFAR-100 (train.bin, test.bin). */
int cifar_import(dataset_import_t *imp, const char *dir, int64_t limit, int cifar100);

/* The formats dpt-data knows and their default source directories; the list ends with
 * a NULL name. dataset_default_src() is NULL for an unknown format. */
typedef struct {
  const char *name;
  const char *default_src;
} dataset_format_t;
extern const dataset_format_t dataset_formats[];
const char *dataset_default_src(const char *format);
/* Imports `format` from dir (limit > 0: first `limit` images of each split) and
 * computes the training split's per-channel mean and std. */
int dataset_import(dataset_import_t *imp, const char *format, const char *dir,
                   int64_t limit);
/* Per-channel mean and (population) std of ds->train, pixel values / 255. */
void dataset_stats(dpt_dataset_t *ds);
/* Writes path atomically (via path.tmp); nothing is left behind on failure. */
int dataset_write(const dataset_import_t *imp, const char *path);
void dataset_import_free(dataset_import_t *imp);

#endif
