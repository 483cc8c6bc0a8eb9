/* import.c - the formats dpt-data knows, dispatch to their importers, and the training
 * split's per-channel statistics. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/err.h"
#include "import.h"

/* Fashion-MNIST is what Debian ships (package dataset-fashion-mnist); the others are
 * brought by the user, so their defaults only follow the same convention. */
const dataset_format_t dataset_formats[] = {
    {"fashion-mnist", "/usr/share/datasets/fashion-mnist"},
    {"mnist", "/usr/share/datasets/mnist"},
    {"cifar10", "/usr/share/datasets/cifar10"},
    {"cifar100", "/usr/share/datasets/cifar100"},
    {NULL, NULL},
};

const char *dataset_default_src(const char *format) {
  for (const dataset_format_t *f = dataset_formats; f->name; f++)
    if (strcmp(f->name, format) == 0) return f->default_src;
  return NULL;
}

void dataset_stats(dpt_dataset_t *ds) {
  /* A histogram per channel makes the sums exact, so mean and std are computed from
   * 256 bins in double without cancellation, whatever the number of images. */
  size_t plane = (size_t)ds->height * (size_t)ds->width;
  for (int c = 0; c < ds->channels; c++) {
    uint64_t hist[256] = {0}, total = 0;
    for (int64_t i = 0; i < ds->train.n; i++) {
      const uint8_t *p = ds->train.images + ((size_t)i * (size_t)ds->channels + (size_t)c) * plane;
      for (size_t k = 0; k < plane; k++) hist[p[k]]++;
    }
    double sum = 0, var = 0;
    for (int v = 0; v < 256; v++) {
      sum += (double)hist[v] * v;
      total += hist[v];
    }
    double mean = total ? sum / (double)total : 0;
    for (int v = 0; v < 256; v++) var += (double)hist[v] * (v - mean) * (v - mean);
    ds->mean[c] = mean / 255.0;
    ds->std[c] = total ? sqrt(var / (double)total) / 255.0 : 0;
  }
}

int dataset_import(dataset_import_t *imp, const char *format, const char *dir,
                   int64_t limit) {
  memset(imp, 0, sizeof *imp);
  struct stat st;
  if (!dataset_default_src(format)) return dpt_fail("unknown format '%s'", format);
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return dpt_fail("%s: no such directory (give the %s files' directory with --src)", dir,
                    format);
  snprintf(imp->ds.name, sizeof imp->ds.name, "%s", format);
  snprintf(imp->source_dir, sizeof imp->source_dir, "%s", dir);
  int rc = strcmp(format, "cifar10") == 0    ? cifar_import(imp, dir, limit, 0)
           : strcmp(format, "cifar100") == 0 ? cifar_import(imp, dir, limit, 1)
                                             : idx_import(imp, dir, limit);
  if (rc < 0) {
    dataset_import_free(imp);
    return -1;
  }
  dataset_stats(&imp->ds);
  return 0;
}

void dataset_import_free(dataset_import_t *imp) {
  dataset_free(&imp->ds);
  dpt_free(imp->train_coarse);
  dpt_free(imp->test_coarse);
  imp->train_coarse = imp->test_coarse = NULL;
}
