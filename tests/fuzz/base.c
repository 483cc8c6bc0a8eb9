/* base.c - the base files of the HDF5 targets (see base.h), written by dpt's own writers. */
#include "base.h"

#include <stdio.h>
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/core/fsutil.h"
#include "../../src/train/checkpoint.h"
#include "../../src/train/trainer.h"
#include "fuzz.h"

static const char *const config_yaml =
    "model: {name: LeNet5, epochs: 1, batch_size: 8, learning_rate: 0.01, num_workers: 2,\n"
    "        work: {local_steps: 1, batch_size: 4}}\n"
    "data: {val_fraction: 0.25}\n"
    "train: {eval_batch: 16}\n";

void fuzz_base_dataset(dataset_import_t *imp) {
  memset(imp, 0, sizeof *imp);
  dpt_dataset_t *ds = &imp->ds;
  snprintf(ds->name, sizeof ds->name, "fashion-mnist");
  snprintf(imp->source_dir, sizeof imp->source_dir, "/nowhere");
  ds->num_classes = 10;
  ds->channels = 1;
  ds->height = ds->width = 28;
  ds->train.n = 32;
  ds->test.n = 8;
  uint32_t x = 12345;
  dpt_split_t *splits[2] = {&ds->train, &ds->test};
  for (int s = 0; s < 2; s++) {
    size_t pixels = (size_t)splits[s]->n * 28 * 28;
    splits[s]->images = dpt_alloc(pixels);
    splits[s]->labels = dpt_alloc((size_t)splits[s]->n);
    for (size_t i = 0; i < pixels; i++) splits[s]->images[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 24);
    for (int64_t i = 0; i < splits[s]->n; i++) splits[s]->labels[i] = (uint8_t)(i % 10);
  }
  imp->nsources = 1;
  snprintf(imp->sources[0].name, sizeof imp->sources[0].name, "fuzz");
  dataset_stats(ds);
}

const dpt_config_t *fuzz_base_config(void) {
  static dpt_config_t cfg;
  static int ready;
  if (!ready && config_load_string(&cfg, config_yaml, "fuzz-base.yaml", NULL, 0) < 0)
    DPT_PANIC("base config: %s", dpt_errmsg());
  ready = 1;
  return &cfg;
}

/* One epoch of training writes run.h5 and checkpoint.h5 into fuzz_dir()/base-run. */
static void make_run(void) {
  static dataset_import_t imp;
  trainer_t t;
  char dir[4096];
  fuzz_mpi_init();
  fuzz_base_dataset(&imp);
  snprintf(dir, sizeof dir, "%s/base-run", fuzz_dir());
  if (dpt_mkdirs(dir) < 0 || trainer_init(&t, fuzz_base_config(), &imp.ds, dir, MPI_COMM_WORLD) < 0 ||
      trainer_run(&t) < 0)
    DPT_PANIC("base run: %s", dpt_errmsg());
  trainer_free(&t);
  dataset_import_free(&imp);
}

const char *fuzz_base_file(const char *kind) {
  static char path[3][4096];
  int k = strcmp(kind, "dataset") == 0 ? 0 : strcmp(kind, "run") == 0 ? 1 : 2;
  if (path[k][0]) return path[k];
  if (k == 0) {
    dataset_import_t imp;
    fuzz_base_dataset(&imp);
    snprintf(path[0], sizeof path[0], "%s/base-dataset.h5", fuzz_dir());
    if (dataset_write(&imp, path[0]) < 0) DPT_PANIC("base dataset: %s", dpt_errmsg());
    dataset_import_free(&imp);
  } else {
    if (!path[1][0]) make_run();
    snprintf(path[1], sizeof path[1], "%s/base-run/run.h5", fuzz_dir());
    snprintf(path[2], sizeof path[2], "%s/base-run/checkpoint.h5", fuzz_dir());
  }
  return path[k];
}
