/* test_inspect.c - unit tests of the schema checker (src/inspect/): a small schema of
 * its own and files written to differ from it in one way each, plus loading the real
 * hdf5-schema/ files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../../src/core/err.h"
#include "../../src/inspect/inspect.h"
#include "../../src/inspect/schema.h"
#include "../../src/h5/h5util.h"
#include "test.h"

static const char *thing_yaml =
    "# a test layout\n"
    "schema: dpt-thing\n"
    "schema_version: \"1.2\"\n"
    "groups:\n"
    "  /:\n"
    "    attributes: &common\n"
    "      - {name: schema, type: {class: H5T_STRING, charSet: H5T_CSET_UTF8}, shape: {class: H5S_SCALAR}}\n"
    "      - {name: schema_version, type: {class: H5T_STRING}, shape: {class: H5S_SCALAR}}\n"
    "      - {name: creator, type: {class: H5T_STRING}, shape: {class: H5S_SCALAR}}\n"
    "      - {name: creator_version, type: {class: H5T_STRING}, shape: {class: H5S_SCALAR}}\n"
    "      - {name: hdf5_version, type: {class: H5T_STRING}, shape: {class: H5S_SCALAR}}\n"
    "      - {name: file_time, type: {class: H5T_STRING}, shape: {class: H5S_SCALAR}}\n"
    "      - {name: channels, type: {class: H5T_INTEGER, base: H5T_STD_I64LE}, shape: {class: H5S_SCALAR}}\n"
    "      - {name: mean, type: {class: H5T_FLOAT, base: H5T_IEEE_F64LE}, shape: {class: H5S_SIMPLE, dims: [channels]}}\n"
    "      - {name: maybe, optional: true, type: H5T_STD_I64LE, shape: {class: H5S_SCALAR}}\n"
    "      - {name: complete, type: {class: H5T_INTEGER, base: H5T_STD_I64LE}, shape: {class: H5S_SCALAR}}\n"
    "  /open:\n"
    "    doc: 'one attribute per key'\n"
    "    attributes: []\n"
    "  /metrics:\n"
    "    attributes:\n"
    "      - {name: note, type: {class: H5T_STRING}, shape: {class: H5S_SCALAR}}\n"
    "    datasets:\n"
    "      epoch: &series {type: {class: H5T_INTEGER, base: H5T_STD_I64LE}, shape: {class: H5S_SIMPLE, dims: [epochs], maxdims: [H5S_UNLIMITED]},\n"
    "              creationProperties: {layout: {class: H5D_CHUNKED, dims: [256]}}, units: \"1\"}\n"
    "      val_acc: {type: {class: H5T_FLOAT, base: H5T_IEEE_F64LE}, shape: {class: H5S_SIMPLE, dims: [epochs], maxdims: [H5S_UNLIMITED]},\n"
    "                creationProperties: {layout: {class: H5D_CHUNKED, dims: [256]}}, units: \"1\"}\n"
    "      time: {type: H5T_IEEE_F64LE, shape: {class: H5S_SIMPLE, dims: [epochs]}, units: \"s\"}\n"
    "datasets:\n"
    "  /data/x: {type: {class: H5T_INTEGER, base: H5T_STD_U8LE}, shape: {class: H5S_SIMPLE, dims: [n, channels]}}\n";

enum {
  F32_VAL_ACC = 1 << 0,
  NO_MEAN = 1 << 1,
  EXTRA_ATTRS = 1 << 2,
  BAD_UNITS = 1 << 3,
  TWO_MEANS = 1 << 4,
  NO_COMPLETE = 1 << 5,
  BAD_CRC = 1 << 6,
  SHORT_TIME = 1 << 7,
  WITH_MAYBE = 1 << 8,
};

static char dir[256], schema_dir[300];

static void cleanup(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static void setup(void) {
  if (dir[0]) return;
  atexit(cleanup);
  snprintf(dir, sizeof dir, "/tmp/dpt-test-inspect-%d", (int)getpid());
  snprintf(schema_dir, sizeof schema_dir, "%s/schema", dir);
  char cmd[700], yaml[400];
  snprintf(cmd, sizeof cmd, "mkdir -p %s", schema_dir);
  if (system(cmd) != 0) DPT_PANIC("mkdir");
  snprintf(yaml, sizeof yaml, "%s/thing.yaml", schema_dir);
  FILE *f = fopen(yaml, "w");
  fputs(thing_yaml, f);
  fclose(f);
}

/* Writes a dpt-thing file that conforms except for the variations in `how`. */
static const char *make(const char *name, int how, const char *version) {
  static char path[400];
  char tmp[512];
  setup();
  snprintf(path, sizeof path, "%s/%s.h5", dir, name);
  hid_t file = h5_create_tmp(path, tmp, sizeof tmp, "dpt-thing", version, "test", H5P_DEFAULT);
  DPT_ASSERT(file >= 0);
  double mean[2] = {0.5, 0.25};
  int64_t epochs[3] = {1, 2, 3};
  double acc[3] = {0.1, 0.2, 0.3};
  float acc32[3] = {0.1f, 0.2f, 0.3f};
  uint8_t x[4] = {1, 2, 3, 4};
  DPT_ASSERT(h5_attr_i64(file, "channels", 1) == 0);
  if (!(how & NO_MEAN)) DPT_ASSERT(h5_attr_f64v(file, "mean", mean, how & TWO_MEANS ? 2 : 1) == 0);
  if (how & WITH_MAYBE) DPT_ASSERT(h5_attr_i64(file, "maybe", 7) == 0);
  if (how & EXTRA_ATTRS) DPT_ASSERT(h5_attr_i64(file, "surprise", 1) == 0);
  hid_t g = H5Gcreate2(file, "open", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  DPT_ASSERT(h5_attr_str(g, "model.name", "LeNet") == 0);
  H5Gclose(g);
  g = H5Gcreate2(file, "metrics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  DPT_ASSERT(h5_attr_str(g, "note", "hi") == 0);
  DPT_ASSERT(h5_write_series(g, "epoch", H5T_STD_I64LE, H5T_NATIVE_INT64, 3, epochs, "1") == 0);
  if (how & F32_VAL_ACC)
    DPT_ASSERT(h5_write_series(g, "val_acc", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 3, acc32, "1") == 0);
  else
    DPT_ASSERT(h5_write_series(g, "val_acc", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 3, acc, "1") == 0);
  hsize_t n = how & SHORT_TIME ? 2 : 3;
  DPT_ASSERT(h5_write_array(g, "time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &n, acc, how & BAD_UNITS ? "ms" : "s", 0) == 0);
  H5Gclose(g);
  g = H5Gcreate2(file, "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t dims[2] = {4, 1};
  DPT_ASSERT(h5_write_array(g, "x", H5T_STD_U8LE, H5T_NATIVE_UINT8, 2, dims, x, NULL, 4) == 0);
  int64_t crc = (int64_t)crc32(0L, x, 4);
  DPT_ASSERT(h5_attr_i64(g, "x_crc32", how & BAD_CRC ? crc + 1 : crc) == 0);
  H5Gclose(g);
  if (!(how & NO_COMPLETE)) DPT_ASSERT(h5_attr_i64(file, "complete", 1) == 0);
  DPT_ASSERT(h5_close_publish(file, tmp, path) == 0);
  return path;
}

/* Does the report hold exactly this line? */
static int has(const insp_report_t *r, const char *line) {
  for (int i = 0; i < r->n; i++)
    if (!strcmp(r->lines[i], line)) return 1;
  fprintf(stderr, "  (report has %d lines, not '%s':)\n", r->n, line);
  for (int i = 0; i < r->n; i++) fprintf(stderr, "    %s\n", r->lines[i]);
  return 0;
}

TEST(inspect_conforming_file_has_no_differences) {
  insp_report_t r;
  CHECK_OK(insp_check(make("good", WITH_MAYBE, "1.0"), schema_dir, &r));
  CHECK(r.errors == 0 && r.warnings == 0);
  for (int i = 0; i < r.n; i++) fprintf(stderr, "  unexpected: %s\n", r.lines[i]);
  insp_report_free(&r);
  /* A newer minor version is accepted; optional attributes may be missing. */
  CHECK_OK(insp_check(make("minor", 0, "1.7"), schema_dir, &r));
  CHECK(r.errors == 0 && r.warnings == 0);
  insp_report_free(&r);
}

TEST(inspect_names_a_wrong_type_with_path_and_both_types) {
  insp_report_t r;
  CHECK_OK(insp_check(make("f32", F32_VAL_ACC, "1.0"), schema_dir, &r));
  CHECK(r.errors == 1);
  CHECK(has(&r, "/metrics/val_acc: type H5T_IEEE_F32LE, expected H5T_IEEE_F64LE"));
  insp_report_free(&r);
}

TEST(inspect_reports_missing_attributes_and_completeness) {
  insp_report_t r;
  CHECK_OK(insp_check(make("nomean", NO_MEAN | NO_COMPLETE, "1.0"), schema_dir, &r));
  CHECK(r.errors == 2);
  CHECK(has(&r, "/: attribute 'mean' missing"));
  CHECK(has(&r, "/: attribute 'complete' missing (the writer never finished this file)"));
  insp_report_free(&r);
}

TEST(inspect_extra_objects_are_warnings_except_in_open_groups) {
  insp_report_t r;
  CHECK_OK(insp_check(make("extra", EXTRA_ATTRS, "1.0"), schema_dir, &r));
  CHECK(r.errors == 0 && r.warnings == 1);
  CHECK(has(&r, "/: attribute 'surprise' is not in the schema"));
  insp_report_free(&r);
}

TEST(inspect_checks_units_dims_and_symbols) {
  insp_report_t r;
  CHECK_OK(insp_check(make("units", BAD_UNITS | TWO_MEANS | SHORT_TIME, "1.0"), schema_dir, &r));
  CHECK(r.errors == 3);
  CHECK(has(&r, "/metrics/time: units \"ms\", expected \"s\""));
  CHECK(has(&r, "/: attribute 'mean': dimension 1 is 2, expected channels = 1 (attribute "
                "channels of /)"));
  CHECK(has(&r, "/metrics/time: dimension 1 is 2, expected epochs = 3 (as in /metrics/epoch)"));
  insp_report_free(&r);
}

TEST(inspect_verifies_crc32_attributes_against_the_data) {
  insp_report_t r;
  CHECK_OK(insp_check(make("crc", BAD_CRC, "1.0"), schema_dir, &r));
  CHECK(r.errors == 1);
  CHECK(r.n == 1 && strstr(r.lines[0], "/data/x: crc32 of the data is") &&
        strstr(r.lines[0], "(damaged data)"));
  insp_report_free(&r);
}

TEST(inspect_refuses_a_future_major_version_and_foreign_files) {
  insp_report_t r;
  const char *path = make("future", 0, "9.0");
  CHECK_FAILS(insp_check(path, schema_dir, &r));
  CHECK(strstr(dpt_errmsg(), "schema version 9.0, newer than this dpt understands (major 1)"));
  insp_report_free(&r);
  char *s = NULL, *v = NULL;
  CHECK_FAILS(insp_open(path, 1, &s, &v));
  CHECK(s == NULL && v == NULL);
  char text[400];
  snprintf(text, sizeof text, "%s/text.h5", dir);
  FILE *f = fopen(text, "w");
  fputs("not hdf5\n", f);
  fclose(f);
  CHECK_FAILS(insp_check(text, schema_dir, &r));
  CHECK(strstr(dpt_errmsg(), "not an HDF5 file"));
  insp_report_free(&r);
  CHECK_FAILS(insp_summary(stdout, text, schema_dir));
}

TEST(inspect_loads_the_real_schema_files) {
  insp_schema_t s;
  CHECK_OK(insp_schema_load(&s, "hdf5-schema/dataset.yaml"));
  CHECK(s.schema && !strcmp(s.schema, "dpt-dataset"));
  const insp_dset_t *d = insp_schema_dset(&s, "/test/images"); /* an alias of /train/images */
  CHECK(d && d->shape.rank == 4 && !strcmp(d->type.base, "H5T_STD_U8LE") && d->nfilters == 1);
  const insp_group_t *g = insp_schema_group(&s, "/test");
  CHECK(g && g->nattrs == 2 && !g->open);
  insp_schema_free(&s);
  CHECK_OK(insp_schema_load(&s, "hdf5-schema/run.yaml"));
  g = insp_schema_group(&s, "/config");
  CHECK(g && g->open);
  d = insp_schema_dset(&s, "/metrics/epoch_time");
  CHECK(d && d->units && !strcmp(d->units, "s") && !strcmp(d->shape.maxdims[0], "H5S_UNLIMITED"));
  insp_schema_free(&s);
  CHECK_FAILS(insp_schema_load(&s, "hdf5-schema/no-such.yaml"));
}
