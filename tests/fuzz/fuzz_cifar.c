/* fuzz_cifar.c - target "cifar": a CIFAR-10 (six files) or CIFAR-100 (two files) import
 * of binary records. Input: a mode byte (bit 7: CIFAR-100; bits 0-6: the --limit, 0 =
 * all), then the files as fuzz_split() pieces in the order of `names`. */
#include <stdio.h>
#include <sys/stat.h>

#include "../../src/data/import.h"
#include "fuzz.h"

static const char *const names10[6] = {"data_batch_1.bin", "data_batch_2.bin",
                                       "data_batch_3.bin", "data_batch_4.bin",
                                       "data_batch_5.bin", "test_batch.bin"};
static const char *const names100[2] = {"train.bin", "test.bin"};

FUZZ_TARGET(cifar) {
  if (size < 1) return 0;
  int is100 = data[0] >> 7, nfiles = is100 ? 2 : 6;
  int64_t limit = data[0] & 0x7f;
  const char *const *names = is100 ? names100 : names10;
  const uint8_t *part[6];
  size_t len[6];
  char dir[4096], name[64], path[4096];
  fuzz_split(data + 1, size - 1, nfiles, part, len);
  snprintf(dir, sizeof dir, "%s/%s", fuzz_dir(), is100 ? "c100" : "c10");
  mkdir(dir, 0700);
  for (int i = 0; i < nfiles; i++) {
    snprintf(name, sizeof name, "%s/%s", is100 ? "c100" : "c10", names[i]);
    fuzz_write(path, name, part[i], len[i]);
  }
  dataset_import_t imp;
  if (dataset_import(&imp, is100 ? "cifar100" : "cifar10", dir, limit) == 0)
    dataset_import_free(&imp);
  return 0;
}
