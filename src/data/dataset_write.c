/* dataset_write.c - stores an imported dataset as data/NAME.h5 (layout documented in
 * hdf5-schema/dataset.yaml), written to NAME.h5.tmp.HOST.PID and renamed into place. */
#include <stdio.h>

#include "../core/crc.h"
#include "../core/err.h"
#include "../h5/formats.h"
#include "../h5/h5util.h"
#include "import.h"

enum { DEFLATE = 4 };

static int write_split(hid_t file, const char *name, const dpt_dataset_t *ds,
                       const dpt_split_t *split, const uint8_t *coarse) {
  hid_t g = H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) return dpt_fail("cannot create group /%s", name);
  hsize_t dims[4] = {(hsize_t)split->n, (hsize_t)ds->channels, (hsize_t)ds->height,
                     (hsize_t)ds->width};
  size_t pixels = (size_t)split->n * (size_t)ds->channels * (size_t)ds->height *
                  (size_t)ds->width;
  TRY(h5_write_array(g, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, dims, split->images,
                     NULL, DEFLATE));
  TRY(h5_write_array(g, "labels", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, dims, split->labels,
                     NULL, DEFLATE));
  if (coarse)
    TRY(h5_write_array(g, "coarse_labels", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, dims, coarse,
                       NULL, DEFLATE));
  /* dataset_load() verifies these, so a file damaged after publication is noticed. */
  TRY(h5_attr_i64(g, "images_crc32", dpt_crc32(0, split->images, pixels)));
  TRY(h5_attr_i64(g, "labels_crc32", dpt_crc32(0, split->labels, (size_t)split->n)));
  H5Gclose(g);
  return 0;
fail:
  H5Gclose(g);
  return dpt_wrap("/%s", name);
}

int dataset_write(const dataset_import_t *imp, const char *path) {
  const dpt_dataset_t *ds = &imp->ds;
  char tmp[4200];
  const char *files[DATASET_MAX_SOURCES];
  int64_t crcs[DATASET_MAX_SOURCES];
  hid_t file = h5_create_tmp(path, tmp, sizeof tmp, DATASET_SCHEMA, DATASET_SCHEMA_VERSION, "dpt-data",
                             H5P_DEFAULT);
  if (file < 0) return -1;
  for (int i = 0; i < imp->nsources; i++) {
    files[i] = imp->sources[i].name;
    crcs[i] = imp->sources[i].crc32;
  }
  TRY(h5_attr_str(file, "name", ds->name));
  TRY(h5_attr_i64(file, "num_classes", ds->num_classes));
  TRY(h5_attr_i64(file, "channels", ds->channels));
  TRY(h5_attr_i64(file, "height", ds->height));
  TRY(h5_attr_i64(file, "width", ds->width));
  TRY(h5_attr_f64v(file, "mean", ds->mean, ds->channels));
  TRY(h5_attr_f64v(file, "std", ds->std, ds->channels));
  if (imp->class_names) TRY(h5_attr_strv(file, "class_names", imp->class_names,
                                         ds->num_classes));
  if (imp->num_coarse_classes)
    TRY(h5_attr_i64(file, "num_coarse_classes", imp->num_coarse_classes));
  TRY(h5_attr_str(file, "source_dir", imp->source_dir));
  TRY(h5_attr_strv(file, "source_files", files, imp->nsources));
  TRY(h5_attr_i64v(file, "source_crc32", crcs, imp->nsources));
  TRY(write_split(file, "train", ds, &ds->train, imp->train_coarse));
  TRY(write_split(file, "test", ds, &ds->test, imp->test_coarse));
  /* Written last (spec/hdf5.md): a file without it was never finished. */
  TRY(h5_attr_i64(file, "complete", 1));
  if (h5_close_publish(file, tmp, path) < 0) return dpt_wrap("%s", path);
  return 0;
fail:
  h5_abandon(file, tmp);
  return dpt_wrap("%s", tmp);
}
