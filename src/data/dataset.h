/* dataset.h - a dpt dataset (data/NAME.h5) in memory: uint8 images NCHW at their native
 * size, uint8 labels, per-channel mean/std of the training split (pixel values / 255). */
#ifndef DPT_DATASET_H
#define DPT_DATASET_H

#include <stdint.h>

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

/* Reads data/NAME.h5 (checks schema "dpt-dataset", major version 1). `limit` > 0 keeps
 * only the first `limit` images of each split. */
int dataset_load(dpt_dataset_t *ds, const char *path, int64_t limit);
void dataset_free(dpt_dataset_t *ds);

#endif
