/* fuzz_idx.c - target "idx": a Fashion-MNIST import from four IDX files, plain or
 * gzipped (zlib tells them apart by content). Input: a limit byte (0 = all, else the
 * --limit), then the four files as fuzz_split() pieces in the order of `names`. */
#include <stdio.h>
#include <sys/stat.h>

#include "../../src/data/import.h"
#include "fuzz.h"

static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

FUZZ_TARGET(idx) {
  if (size < 1) return 0;
  int64_t limit = data[0];
  const uint8_t *part[4];
  size_t len[4];
  char dir[4096], name[64], path[4096];
  fuzz_split(data + 1, size - 1, 4, part, len);
  snprintf(dir, sizeof dir, "%s/idx", fuzz_dir());
  mkdir(dir, 0700);
  for (int i = 0; i < 4; i++) {
    snprintf(name, sizeof name, "idx/%s", names[i]);
    fuzz_write(path, name, part[i], len[i]);
  }
  dataset_import_t imp;
  if (dataset_import(&imp, "fashion-mnist", dir, limit) == 0) dataset_import_free(&imp);
  return 0;
}
