/* base.h - the valid dpt files the HDF5 targets start from, made once per process in
 * fuzz_dir(): a small dataset, and a LocalSGD run (K = 2) of a few steps on it. */
#ifndef DPT_FUZZ_BASE_H
#define DPT_FUZZ_BASE_H

#include "../../src/config/config.h"
#include "../../src/data/import.h"

/* 32 training and 8 test images of 1x28x28 with fixed pseudo-random pixels and labels. */
void fuzz_base_dataset(dataset_import_t *imp);
/* The config of the base run (classic LeNet-5, two workers, one epoch, batch 8). */
const dpt_config_t *fuzz_base_config(void);
/* Path of the base dataset file, run.h5 or checkpoint.h5 ("dataset", "run", "checkpoint"). */
const char *fuzz_base_file(const char *kind);

#endif
