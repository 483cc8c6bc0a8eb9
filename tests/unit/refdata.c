/* refdata.c - see refdata.h. */
#include "refdata.h"

#include <stdio.h>
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/h5/h5util.h"

int ref_read_exact(hid_t loc, const char *name, hid_t memtype, hsize_t n, void *out) {
  int rank;
  hsize_t dims[8], total = 1;
  if (h5_dataset_dims(loc, name, &rank, dims) < 0) return -1;
  for (int i = 0; i < rank; i++) total *= dims[i];
  if (total != n)
    return dpt_fail("dataset '%s' has %llu elements, expected %llu", name,
                    (unsigned long long)total, (unsigned long long)n);
  return h5_read_rows(loc, name, memtype, dims[0], out);
}

void ref_fmnist_dataset(dpt_dataset_t *ds, int n, uint8_t *images, uint8_t *labels, double mean,
                        double std) {
  memset(ds, 0, sizeof *ds);
  snprintf(ds->name, sizeof ds->name, "fashion-mnist");
  ds->num_classes = 10;
  ds->channels = 1;
  ds->height = ds->width = 28;
  ds->mean[0] = mean;
  ds->std[0] = std;
  ds->train = (dpt_split_t){.n = n, .images = images, .labels = labels};
  ds->test = ds->train;
}
