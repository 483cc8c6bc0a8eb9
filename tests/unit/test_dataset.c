/* test_dataset.c - unit tests of the dataset importer pieces (IDX parsing, statistics,
 * checksums) and of the data/NAME.h5 round trip through dataset_write/dataset_load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/crc.h"
#include "../../src/core/err.h"
#include "../../src/data/import.h"
#include "../../src/h5/h5util.h"
#include "test.h"

/* A 2x(2x3) IDX image file with pixel values 0..11. */
static size_t make_idx(uint8_t *buf) {
  static const uint8_t header[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3};
  memcpy(buf, header, sizeof header);
  for (int i = 0; i < 12; i++) buf[sizeof header + i] = (uint8_t)i;
  return sizeof header + 12;
}

TEST(idx_parse_reads_dims_and_data) {
  uint8_t buf[64];
  size_t len = make_idx(buf);
  idx_t idx;
  CHECK_OK(idx_parse(&idx, "x", buf, len, 3));
  CHECK(idx.dims[0] == 2 && idx.dims[1] == 2 && idx.dims[2] == 3);
  CHECK(idx.data == buf + 16 && idx.data[11] == 11);
}

TEST(idx_parse_rejects_bad_magic_truncation_and_trailing_bytes) {
  uint8_t buf[64];
  size_t len = make_idx(buf);
  idx_t idx;
  CHECK_FAILS(idx_parse(&idx, "x", buf, len, 1));
  CHECK(strstr(dpt_errmsg(), "x: byte 0: magic number 0x00000803, expected 0x00000801"));
  CHECK_FAILS(idx_parse(&idx, "x", buf, 10, 3));
  CHECK(strstr(dpt_errmsg(), "truncated at byte 10"));
  CHECK_FAILS(idx_parse(&idx, "x", buf, len - 1, 3));
  CHECK(strstr(dpt_errmsg(), "file ends at byte 27"));
  CHECK_FAILS(idx_parse(&idx, "x", buf, len + 2, 3));
  CHECK(strstr(dpt_errmsg(), "byte 28: unexpected bytes after the 12 data bytes"));
  buf[4] = 0xff;  /* an absurd count must not overflow into a "valid" size */
  CHECK_FAILS(idx_parse(&idx, "x", buf, len, 3));
}

TEST(crc32_matches_the_standard_check_value) {
  const uint8_t *s = (const uint8_t *)"123456789";
  CHECK(dpt_crc32(0, s, 9) == 0xCBF43926u);
  CHECK(dpt_crc32(dpt_crc32(0, s, 4), s + 4, 5) == 0xCBF43926u);
}

TEST(dataset_stats_are_per_channel_of_the_train_split) {
  /* Two 2-channel 1x2 images: channel 0 holds 0,255,0,255 (mean 0.5, std 0.5),
   * channel 1 holds 51 everywhere (mean 0.2, std 0). */
  uint8_t images[8] = {0, 255, 51, 51, 0, 255, 51, 51};
  dpt_dataset_t ds = {.channels = 2, .height = 1, .width = 2,
                      .train = {.n = 2, .images = images}};
  dataset_stats(&ds);
  CHECK_NEAR(ds.mean[0], 0.5, 1e-15);
  CHECK_NEAR(ds.std[0], 0.5, 1e-15);
  CHECK_NEAR(ds.mean[1], 0.2, 1e-15);
  CHECK_NEAR(ds.std[1], 0.0, 1e-15);
}

/* A tiny 1x2x2 dataset with 3 train and 2 test images, labels from `labels`. */
static void small_import(dataset_import_t *imp, const uint8_t *labels) {
  memset(imp, 0, sizeof *imp);
  dpt_dataset_t *ds = &imp->ds;
  snprintf(ds->name, sizeof ds->name, "tiny");
  ds->num_classes = 4;
  ds->channels = 1;
  ds->height = ds->width = 2;
  dpt_split_t *splits[2] = {&ds->train, &ds->test};
  for (int s = 0; s < 2; s++) {
    splits[s]->n = 3 - s;
    splits[s]->images = dpt_alloc(12);
    splits[s]->labels = dpt_alloc(3);
    for (int i = 0; i < 12; i++) splits[s]->images[i] = (uint8_t)(10 * s + i);
    memcpy(splits[s]->labels, labels, 3);
  }
  imp->nsources = 1;
  snprintf(imp->sources[0].name, sizeof imp->sources[0].name, "tiny.bin");
  snprintf(imp->source_dir, sizeof imp->source_dir, "/nowhere");
  dataset_stats(ds);
}

static void temp_path(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "/tmp/dpt-unit-%d-%s", (int)getpid(), name);
}

/* small_import() written to a temporary file `name` (path receives its name). */
static void write_small(dataset_import_t *imp, char *path, size_t cap, const char *name,
                        const uint8_t *labels) {
  temp_path(path, cap, name);
  small_import(imp, labels);
  CHECK_OK(dataset_write(imp, path));
}

TEST(dataset_round_trip_with_limit) {
  char path[256];
  dataset_import_t imp;
  write_small(&imp, path, sizeof path, "tiny.h5", (const uint8_t[]){3, 1, 2});
  dpt_dataset_t ds;
  CHECK_OK(dataset_load(&ds, path, 0));
  CHECK(strcmp(ds.name, "tiny") == 0 && ds.num_classes == 4 && ds.channels == 1);
  CHECK(ds.train.n == 3 && ds.test.n == 2);
  CHECK(memcmp(ds.train.images, imp.ds.train.images, 12) == 0);
  CHECK(memcmp(ds.test.images, imp.ds.test.images, 8) == 0);
  CHECK(ds.train.labels[0] == 3 && ds.test.labels[1] == 1);
  CHECK_NEAR(ds.mean[0], imp.ds.mean[0], 0);
  CHECK_NEAR(ds.std[0], imp.ds.std[0], 0);
  dataset_free(&ds);
  CHECK_OK(dataset_load(&ds, path, 2));
  CHECK(ds.train.n == 2 && ds.test.n == 2 && ds.train.images[7] == 7);
  dataset_free(&ds);
  dataset_import_free(&imp);
  unlink(path);
}

TEST(dataset_load_rejects_labels_out_of_range) {
  char path[256];
  dataset_import_t imp;
  write_small(&imp, path, sizeof path, "badlabel.h5", (const uint8_t[]){0, 4, 1});
  dpt_dataset_t ds;
  CHECK_FAILS(dataset_load(&ds, path, 0));
  CHECK(strstr(dpt_errmsg(), "/train: labels[1] = 4, not below num_classes 4"));
  CHECK(ds.train.images == NULL);
  dataset_import_free(&imp);
  unlink(path);
}

/* A file with only the root attributes, of the given schema and version. */
static void write_bare(const char *path, const char *schema, const char *version) {
  char tmp[300];
  hid_t f = h5_create_tmp(path, tmp, sizeof tmp, schema, version, "test", H5P_DEFAULT);
  CHECK(f >= 0);
  CHECK_OK(h5_close_publish(f, tmp, path));
}

TEST(dataset_load_refuses_other_schemas_newer_majors_and_unfinished_files) {
  char path[256];
  temp_path(path, sizeof path, "bare.h5");
  dpt_dataset_t ds;
  write_bare(path, "dpt-run", "1.0");
  CHECK_FAILS(dataset_load(&ds, path, 0));
  CHECK(strstr(dpt_errmsg(), "is a 'dpt-run' file, expected 'dpt-dataset'"));
  write_bare(path, "dpt-dataset", "2.0");
  CHECK_FAILS(dataset_load(&ds, path, 0));
  CHECK(strstr(dpt_errmsg(), "newer than this dpt understands"));
  write_bare(path, "dpt-dataset", "1.7");
  CHECK_FAILS(dataset_load(&ds, path, 0));
  CHECK(strstr(dpt_errmsg(), "unfinished file"));
  unlink(path);
}

TEST(dataset_write_leaves_nothing_on_failure) {
  dataset_import_t imp;
  small_import(&imp, (const uint8_t[]){0, 1, 2});
  CHECK_FAILS(dataset_write(&imp, "/nonexistent-dir/x.h5"));
  CHECK(access("/nonexistent-dir/x.h5.tmp", F_OK) != 0);
  dataset_import_free(&imp);
}
