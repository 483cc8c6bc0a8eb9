/* dataset_head.c - the head of data/NAME.h5 without its images (see dataset.h): what
 * dpt-inspect's summary shows and what the sweep's estimate counts. dataset.c reads the
 * whole file for training; both go by the layout dataset_write.c writes. */
#include <string.h>

#include "../core/err.h"
#include "../h5/h5util.h"
#include "dataset.h"

/* An integer root attribute when present; 0 when absent or unreadable. */
static int64_t opt_i64(hid_t file, const char *name) {
  int64_t v = 0;
  if (H5Aexists(file, name) <= 0 || h5_read_attr_i64(file, name, &v) < 0) v = 0;
  dpt_clear_error();
  return v;
}

static char *opt_str(hid_t file, const char *name) {
  char *v = NULL;
  if (H5Aexists(file, name) > 0 && h5_read_attr_str(file, name, &v) < 0) v = NULL;
  dpt_clear_error();
  return v;
}

/* Images in GROUP (the first dimension of GROUP/images) into *n; -1 there on failure. */
static int split_images(hid_t file, const char *group, int64_t *n) {
  char path[32];
  int rank = 0;
  hsize_t dims[8];
  *n = -1;
  snprintf(path, sizeof path, "%s/images", group);
  if (H5Lexists(file, group, H5P_DEFAULT) <= 0) return dpt_fail("missing group %s", group);
  if (h5_dataset_dims(file, path, &rank, dims) < 0) return -1;
  if (rank < 1) return dpt_fail("%s: a scalar, not images", path);
  *n = (int64_t)dims[0];
  return 0;
}

/* The fixed-length strings of class_names, at most 100000 of at most 4095 bytes. */
static void read_class_names(hid_t file, dataset_head_t *h) {
  if (H5Aexists(file, "class_names") <= 0) return;
  hid_t a = H5Aopen(file, "class_names", H5P_DEFAULT);
  if (a < 0) return;
  hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  size_t width = H5Tget_size(t);
  if (H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) <= 0 && n > 0 && n < 100000 &&
      width > 0 && width < 4096) {
    size_t cap = width * (size_t)n + 1;
    h->class_names = dpt_alloc(cap);
    if (h5_attr_read(a, "class_names", t, n, h->class_names, cap) >= 0) {
      h->n_class_names = n;
      h->class_name_width = width;
    } else {
      dpt_free(h->class_names);
      h->class_names = NULL;
    }
  }
  H5Sclose(sp);
  H5Tclose(t);
  H5Aclose(a);
  dpt_clear_error();
}

static int64_t count_source_files(hid_t file) {
  if (H5Aexists(file, "source_files") <= 0) return -1;
  hid_t a = H5Aopen(file, "source_files", H5P_DEFAULT);
  if (a < 0) return -1;
  hid_t sp = H5Aget_space(a);
  int64_t n = (int64_t)H5Sget_simple_extent_npoints(sp);
  H5Sclose(sp);
  H5Aclose(a);
  return n;
}

int dataset_head_read(hid_t file, dataset_head_t *h, unsigned need) {
  memset(h, 0, sizeof *h);
  h->channels = opt_i64(file, "channels");
  h->height = opt_i64(file, "height");
  h->width = opt_i64(file, "width");
  h->num_classes = opt_i64(file, "num_classes");
  if ((h->name = opt_str(file, "name"))) h->has |= DS_HEAD_NAME;
  h->source_dir = opt_str(file, "source_dir");
  if (H5Aexists(file, "num_coarse_classes") > 0 &&
      h5_read_attr_i64(file, "num_coarse_classes", &h->num_coarse_classes) == 0)
    h->has |= DS_HEAD_COARSE;
  int nc = h->channels >= 1 && h->channels <= 64 ? (int)h->channels : 0;
  if (nc && h5_read_attr_f64v(file, "mean", h->mean, nc) == 0 &&
      h5_read_attr_f64v(file, "std", h->std, nc) == 0)
    h->has |= DS_HEAD_NORM;
  dpt_clear_error();
  read_class_names(file, h);
  h->n_source_files = count_source_files(file);
  if (split_images(file, "/train", &h->train_n) < 0 ||
      split_images(file, "/test", &h->test_n) < 0) {
    if (need & DS_HEAD_SPLITS) {
      dataset_head_free(h);
      return -1;
    }
    dpt_clear_error();
    if (h->train_n < 0) split_images(file, "/test", &h->test_n); /* shown on its own */
    dpt_clear_error();
  } else {
    h->has |= DS_HEAD_SPLITS;
  }
  if ((need & ~h->has) == 0) return 0;
  dataset_head_free(h);
  return dpt_fail("missing root attributes (name, num_coarse_classes, mean or std)");
}

static int read_head(hid_t file, void *h, unsigned need) {
  return dataset_head_read(file, h, need);
}

int dataset_head_open(const char *path, dataset_head_t *h, unsigned need) {
  memset(h, 0, sizeof *h);
  return h5_read_file(path, DATASET_SCHEMA, DATASET_SCHEMA_MAJOR, read_head, h, need);
}

void dataset_head_free(dataset_head_t *h) {
  dpt_free(h->name);
  dpt_free(h->source_dir);
  dpt_free(h->class_names);
  h->name = h->source_dir = h->class_names = NULL;
}
