/* dataset.c - reading data/NAME.h5 (written by dpt-data) into a dpt_dataset_t. */
#include "dataset.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../core/crc.h"
#include "../core/err.h"
#include "../core/fsutil.h"
#include "../core/strlist.h"
#include "../h5/formats.h"
#include "../h5/h5util.h"
#include "import.h"

enum { MAX_SIDE = 4096 };

static int check_crc(hid_t g, const char *attr, uint32_t c) {
  int64_t want;
  if (h5_read_attr_i64(g, attr, &want) < 0) return -1;
  if ((int64_t)c != want)
    return dpt_fail("%s: stored data has crc32 %08x, expected %08llx (damaged file)", attr,
                    c, (unsigned long long)want);
  return 0;
}

static int load_split(hid_t file, const char *name, dpt_dataset_t *ds, int64_t limit,
                      dpt_split_t *split) {
  hsize_t idims[8], ldims[8];
  int irank, lrank;
  hid_t g = H5Gopen2(file, name, H5P_DEFAULT);
  if (g < 0) return dpt_fail("missing group /%s", name);
  TRY(h5_dataset_dims(g, "images", &irank, idims));
  TRY(h5_dataset_dims(g, "labels", &lrank, ldims));
  /* compared as hsize_t: a dimension beyond int must not pass a cast */
  if (irank != 4 || idims[1] != (hsize_t)ds->channels || idims[2] != (hsize_t)ds->height ||
      idims[3] != (hsize_t)ds->width || lrank != 1 || ldims[0] != idims[0]) {
    dpt_fail("images and labels have shapes that disagree with each other or with the "
             "root attributes channels, height, width");
    goto fail;
  }
  if (idims[0] > INT_MAX) {
    dpt_fail("images holds %llu images, more than %d", (unsigned long long)idims[0], INT_MAX);
    goto fail;
  }
  int64_t total = (int64_t)idims[0];
  split->n = limit > 0 && limit < total ? limit : total;
  size_t pixels = (size_t)split->n * (size_t)ds->channels * (size_t)ds->height *
                  (size_t)ds->width;
  split->images = dpt_alloc(pixels);
  split->labels = dpt_alloc((size_t)split->n);
  TRY(h5_read_rows(g, "images", H5T_NATIVE_UINT8, (hsize_t)split->n, split->images));
  TRY(h5_read_rows(g, "labels", H5T_NATIVE_UINT8, (hsize_t)split->n, split->labels));
  for (int64_t i = 0; i < split->n; i++) {
    if (split->labels[i] >= ds->num_classes) {
      dpt_fail("labels[%lld] = %u, not below num_classes %d", (long long)i,
               split->labels[i], ds->num_classes);
      goto fail;
    }
  }
  /* The stored checksums cover whole splits; a partial read relies on HDF5's own checks. */
  split->images_crc32 = dpt_crc32(0, split->images, pixels);
  split->labels_crc32 = dpt_crc32(0, split->labels, (size_t)split->n);
  if (split->n == total) {
    TRY(check_crc(g, "images_crc32", split->images_crc32));
    TRY(check_crc(g, "labels_crc32", split->labels_crc32));
  }
  H5Gclose(g);
  return 0;
fail:
  H5Gclose(g);
  return dpt_wrap("/%s", name);
}

static int read_int(hid_t file, const char *name, int lo, int hi, int *out) {
  int64_t v;
  if (h5_read_attr_i64(file, name, &v) < 0) return -1;
  if (v < lo || v > hi) return dpt_fail("attribute %s = %lld, not in %d..%d", name,
                                        (long long)v, lo, hi);
  *out = (int)v;
  return 0;
}

int dataset_load(dpt_dataset_t *ds, const char *path, int64_t limit) {
  memset(ds, 0, sizeof *ds);
  hid_t file = h5_open_checked(path, DATASET_SCHEMA, DATASET_SCHEMA_MAJOR);
  if (file < 0) return -1;
  char *name = NULL;
  int complete;
  if (read_int(file, "complete", 1, 1, &complete) < 0) {
    dpt_wrap("unfinished file");
    goto fail;
  }
  TRY(h5_read_attr_str(file, "name", &name));
  snprintf(ds->name, sizeof ds->name, "%s", name);
  TRY(read_int(file, "num_classes", 1, 256, &ds->num_classes));
  TRY(read_int(file, "channels", 1, 3, &ds->channels));
  TRY(read_int(file, "height", 1, MAX_SIDE, &ds->height));
  TRY(read_int(file, "width", 1, MAX_SIDE, &ds->width));
  TRY(h5_read_attr_f64v(file, "mean", ds->mean, ds->channels));
  TRY(h5_read_attr_f64v(file, "std", ds->std, ds->channels));
  TRY(load_split(file, "train", ds, limit, &ds->train));
  TRY(load_split(file, "test", ds, limit, &ds->test));
  dpt_free(name);
  H5Fclose(file);
  return 0;
fail:
  dpt_free(name);
  H5Fclose(file);
  dataset_free(ds);
  return dpt_wrap("%s", path);
}

void dataset_free(dpt_dataset_t *ds) {
  dpt_split_t *splits[2] = {&ds->train, &ds->test};
  for (int i = 0; i < 2; i++) {
    dpt_free(splits[i]->images);
    dpt_free(splits[i]->labels);
    splits[i]->images = splits[i]->labels = NULL;
    splits[i]->n = 0;
  }
}

void dataset_siblings(const char *path, char *buf, size_t cap) {
  char dir[4096];
  dpt_dirname(dir, sizeof dir, path);
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(buf, cap, "%s does not exist", dir);
    return;
  }
  strlist_t h5 = {0};
  for (struct dirent *e; (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (n > 3 && !strcmp(e->d_name + n - 3, ".h5")) strlist_push(&h5, e->d_name);
  }
  closedir(d);
  strlist_sort(&h5, 0);
  int len = snprintf(buf, cap, "%s holds %s", dir, h5.n ? "" : "no .h5 file");
  for (int i = 0; i < h5.n && i < 10 && len >= 0 && (size_t)len < cap; i++)
    len += snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", h5.v[i]);
  if (h5.n > 10 && len >= 0 && (size_t)len < cap)
    snprintf(buf + len, cap - len, " and %d more", h5.n - 10);
  strlist_free(&h5);
}
