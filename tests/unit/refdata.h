/* refdata.h - what the PyTorch oracle tests share (test_reference.c for LeNet,
 * test_resnet_reference.c for ResNet-20): reading the dumps tests/reference/ holds and
 * their Fashion-MNIST batch as a dataset. */
#ifndef DPT_TEST_REFDATA_H
#define DPT_TEST_REFDATA_H

#include <hdf5.h>
#include <stdint.h>

#include "../../src/data/dataset.h"

/* Reads dataset `name` of exactly n elements: a stale or foreign file is an error. */
int ref_read_exact(hid_t loc, const char *name, hid_t memtype, hsize_t n, void *out);
/* n 28x28 Fashion-MNIST images with their labels and normalisation constants as a
 * dataset whose train and test splits are that batch. */
void ref_fmnist_dataset(dpt_dataset_t *ds, int n, uint8_t *images, uint8_t *labels, double mean,
                        double std);

#endif
