/* test_runconfig.c - run.h5's /config group: typed attributes (schema 1.1) that read back
 * as the config's own text, string-typed files of schema 1.0 that still read everywhere
 * (aggregator, inspect), and dpt-inspect --check refusing a 1.1 file with a string where
 * a number or boolean belongs (other than "auto" for keys that take it). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../src/agg/runset.h"
#include "../../src/config/config.h"
#include "../../src/core/err.h"
#include "../../src/inspect/inspect.h"
#include "../../src/h5/h5util.h"
#include "../../src/io/runfile.h"
#include "test.h"

static const char *yaml =
    "model: {name: LeNet, epochs: 7, batch_size: 32, learning_rate: 0.025, optimizer: SGDM,\n"
    "        num_workers: 2, work: {local_steps: 4, batch_size: 16}}\n"
    "experiment: {name: typed, version: 1, seed: 18446744073709551615, resume: true}\n"
    "data: {val_fraction: 0.2}\n";

/* A run file of this config (one epoch) at a fresh path. */
static const char *write_run(const char *name, dpt_config_t *cfg) {
  static char path[256];
  snprintf(path, sizeof path, "/tmp/dpt-unit-runconfig-%d-%s.h5", (int)getpid(), name);
  DPT_ASSERT(config_load_string(cfg, yaml, "typed.yaml", NULL, 0) == 0);
  run_info_t info;
  run_metrics_t m = {0};
  run_info_init(&info, 1);
  info.status = RUN_STATUS_COMPLETE;
  run_metrics_push(&m, &(run_epoch_t){.epoch = 1, .lr = 0.025, .train_loss = 2.0,
                                      .train_acc = 0.2, .val_loss = 2.1, .val_acc = 0.25,
                                      .seconds = 1.0, .images_per_s = 100});
  DPT_ASSERT(runfile_write(path, cfg, &info, &m) == 0);
  run_metrics_free(&m);
  return path;
}

static hid_t attr_type(hid_t g, const char *name) {
  hid_t a = H5Aopen(g, name, H5P_DEFAULT);
  hid_t t = H5Aget_type(a);
  H5Aclose(a);
  return t;
}

typedef struct { hid_t g; int n, same; } each_t;

/* Every key reads back as config_each's text. */
static void same_text(void *ctx, const char *key, const char *value) {
  each_t *e = ctx;
  char *got = NULL;
  e->n++;
  if (runfile_config_read(e->g, key, &got) == 0 && !strcmp(got, value)) e->same++;
  else fprintf(stderr, "  %s: read '%s', config says '%s' (%s)\n", key, got ? got : "?", value, dpt_errmsg());
  dpt_free(got);
}

/* The aggregator, dpt-inspect --check and the summary all read the file's config. */
static void readers_agree(const char *path) {
  agg_run_t run;
  CHECK_OK(agg_run_read(path, &run));
  const char *v = agg_run_config(&run, "model.epochs");
  CHECK(v && !strcmp(v, "7"));
  v = agg_run_config(&run, "model.learning_rate");
  CHECK(v && !strcmp(v, "0.025"));
  v = agg_run_config(&run, "experiment.resume");
  CHECK(v && !strcmp(v, "true"));
  v = agg_run_config(&run, "experiment.seed");
  CHECK(v && !strcmp(v, "18446744073709551615"));
  agg_run_free(&run);
  insp_report_t r;
  CHECK_OK(insp_check(path, "hdf5-schema", &r));
  CHECK(r.errors == 0);
  insp_report_free(&r);
  FILE *out = tmpfile();
  CHECK_OK(insp_summary(out, path, "hdf5-schema"));
  rewind(out);
  char page[8192] = "";
  page[fread(page, 1, sizeof page - 1, out)] = '\0';
  fclose(out);
  CHECK(strstr(page, "LeNet, SGDM, lr 0.025, batch 32") != NULL);
}

TEST(runconfig_attributes_carry_their_type_and_read_back_as_config_text) {
  dpt_config_t cfg;
  const char *path = write_run("typed", &cfg);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t g = H5Gopen2(f, "config", H5P_DEFAULT);
  hid_t t = attr_type(g, "model.epochs");
  CHECK(H5Tequal(t, H5T_STD_I64LE) > 0);
  H5Tclose(t);
  t = attr_type(g, "model.learning_rate");
  CHECK(H5Tequal(t, H5T_IEEE_F64LE) > 0);
  H5Tclose(t);
  t = attr_type(g, "experiment.seed");
  CHECK(H5Tequal(t, H5T_STD_U64LE) > 0);
  H5Tclose(t);
  t = attr_type(g, "experiment.resume");
  CHECK(H5Tget_class(t) == H5T_ENUM && H5Tget_size(t) == 1);
  char member[16] = "";
  int8_t one = 1;
  CHECK(H5Tenum_nameof(t, &one, member, sizeof member) >= 0 && !strcmp(member, "TRUE"));
  H5Tclose(t);
  t = attr_type(g, "model.optimizer");
  CHECK(H5Tget_class(t) == H5T_STRING);
  H5Tclose(t);
  t = attr_type(g, "data.flip"); /* left at auto */
  CHECK(H5Tget_class(t) == H5T_STRING);
  H5Tclose(t);
  int64_t epochs = 0;
  CHECK(h5_read_attr_i64(g, "model.epochs", &epochs) == 0 && epochs == 7);
  double lr = 0;
  CHECK(h5_read_attr_f64(g, "model.learning_rate", &lr) == 0 && lr == 0.025);
  each_t e = {g, 0, 0};
  config_each(&cfg, same_text, &e);
  CHECK(e.n > 50 && e.same == e.n);
  H5Gclose(g);
  H5Fclose(f);
  readers_agree(path);
  unlink(path);
}

typedef struct { char *names[256], *texts[256]; int n; } attrs_t;

static herr_t collect(hid_t g, const char *name, const H5A_info_t *info, void *p) {
  (void)info;
  attrs_t *a = p;
  DPT_ASSERT(a->n < 256 && runfile_config_read(g, name, &a->texts[a->n]) == 0);
  a->names[a->n++] = dpt_strdup(name);
  return 0;
}

/* Rewrites every /config attribute as the string of its text (what 1.0 wrote), or only
 * `only`, and sets schema_version. */
static void stringify(const char *path, const char *only, const char *version) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t g = H5Gopen2(f, "config", H5P_DEFAULT);
  attrs_t a = {.n = 0};
  hsize_t idx = 0;
  H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect, &a);
  for (int i = 0; i < a.n; i++) {
    if (!only || !strcmp(only, a.names[i])) {
      H5Adelete(g, a.names[i]);
      DPT_ASSERT(h5_attr_str(g, a.names[i], a.texts[i]) == 0);
    }
    dpt_free(a.names[i]);
    dpt_free(a.texts[i]);
  }
  H5Gclose(g);
  DPT_ASSERT(h5_attr_str(f, "schema_version", version) == 0);
  H5Fclose(f);
}

TEST(runconfig_string_typed_files_of_schema_1_0_still_read_and_check) {
  dpt_config_t cfg;
  const char *path = write_run("old", &cfg);
  stringify(path, NULL, "1.0");
  readers_agree(path);
  unlink(path);
}

TEST(runconfig_check_refuses_a_string_number_in_a_1_1_file) {
  dpt_config_t cfg;
  const char *path = write_run("bad", &cfg);
  stringify(path, "model.epochs", "1.1");
  /* data.flip may be the string "auto", no other string */
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t g = H5Gopen2(f, "config", H5P_DEFAULT);
  DPT_ASSERT(h5_attr_str(g, "data.flip", "yes") == 0);
  H5Gclose(g);
  H5Fclose(f);
  insp_report_t r;
  CHECK_OK(insp_check(path, "hdf5-schema", &r));
  CHECK(r.errors == 2);
  int found = 0;
  for (int i = 0; i < r.n; i++)
    found += !strcmp(r.lines[i], "/config: attribute 'model.epochs': type H5T_STRING, expected H5T_STD_I64LE") ||
             !strcmp(r.lines[i], "/config: attribute 'data.flip': the string 'yes', expected an enum "
                                 "{FALSE 0, TRUE 1} of H5T_STD_I8LE or \"auto\"");
  CHECK(found == 2);
  insp_report_free(&r);
  unlink(path);
}
