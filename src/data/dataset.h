/* dataset.h - a dpt dataset (data/NAME.h5) in memory: uint8 images NCHW at their native
 * size, uint8 labels, per-channel mean/std of the training split (pixel values / 255). */
#ifndef DPT_DATASET_H
#define DPT_DATASET_H

#include <hdf5.h>
#include <stdint.h>

#include "../h5/formats.h"

typedef struct {
  int64_t n;          /* images in the split */
  uint8_t *images;    /* (n, channels, height, width) */
  uint8_t *labels;    /* (n) in [0, num_classes) */
  /* crc32 of images and labels as loaded: the file's images_crc32 and labels_crc32 when
   * the split is read whole, of the first n rows under a limit */
  uint32_t images_crc32, labels_crc32;
} dpt_split_t;

typedef struct {
  char name[64];      /* "fashion-mnist", "mnist", "cifar10", "cifar100" */
  int num_classes;
  int channels, height, width;
  double mean[3], std[3];   /* per channel, of the training split, in [0,1] units */
  dpt_split_t train, test;
} dpt_dataset_t;

/* The head of a dataset file: its root attributes and the size of each split, without
 * the images (dpt-inspect's summary, the sweep's core-hour estimate). */
enum {
  DS_HEAD_NAME = 1 << 0,
  DS_HEAD_SPLITS = 1 << 1,      /* train_n and test_n */
  DS_HEAD_COARSE = 1 << 2,      /* num_coarse_classes (CIFAR-100) */
  DS_HEAD_NORM = 1 << 3,        /* mean and std, `channels` values each */
};
typedef struct {
  unsigned has;                 /* DS_HEAD_* of the fields read */
  char *name, *source_dir;      /* NULL when absent */
  int64_t channels, height, width, num_classes; /* 0 when absent */
  int64_t num_coarse_classes;
  int64_t train_n, test_n;      /* images in /train and /test; -1 when absent */
  double mean[64], std[64];     /* DS_HEAD_NORM, when 1 <= channels <= 64 */
  char *class_names;            /* n_class_names fixed-width strings of class_name_width */
  int64_t n_class_names;        /* bytes each (not terminated); 0 when absent */
  size_t class_name_width;
  int64_t n_source_files;       /* -1 when absent */
} dataset_head_t;

/* Reads what an open dataset file holds of the head; fields in `need` must be there
 * (else -1: for DS_HEAD_SPLITS the error names the group or dataset), any other absent
 * one is left out of `has` (and 0, NULL or -1). */
int dataset_head_read(hid_t file, dataset_head_t *h, unsigned need);
/* Opens path (schema DATASET_SCHEMA, major at most DATASET_SCHEMA_MAJOR) and reads its
 * head as dataset_head_read does; errors name the path. */
int dataset_head_open(const char *path, dataset_head_t *h, unsigned need);
void dataset_head_free(dataset_head_t *h);

/* Reads data/NAME.h5 (checks schema DATASET_SCHEMA, major DATASET_SCHEMA_MAJOR). `limit` > 0 keeps
 * only the first `limit` images of each split. */
int dataset_load(dpt_dataset_t *ds, const char *path, int64_t limit);
void dataset_free(dpt_dataset_t *ds);
/* For a dataset path that does not exist: "DIR holds a.h5, b.h5" (the .h5 files beside
 * it, sorted, at most 10 named), "DIR holds no .h5 file" or "DIR does not exist". */
void dataset_siblings(const char *path, char *buf, size_t cap);

#endif
