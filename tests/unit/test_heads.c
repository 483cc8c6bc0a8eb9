/* test_heads.c - the head readers beside the formats' owners (src/data/dataset_head.c,
 * src/train/checkpoint_head.c) and the checkpoint summary that reads through them: it
 * shows what a dpt checkpoint holds, never a number found under a guessed name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/err.h"
#include "../../src/data/dataset.h"
#include "../../src/h5/h5util.h"
#include "../../src/inspect/inspect.h"
#include "../../src/train/checkpoint_head.h"
#include "test.h"

/* A checkpoint-schema file whose root holds the given integer attributes. */
static void write_ckpt(const char *path, const char *const *names, const int64_t *values,
                       int n) {
  char tmp[4096];
  hid_t f = h5_create_tmp(path, tmp, sizeof tmp, CKPT_SCHEMA, CKPT_SCHEMA_VERSION, "test",
                          H5P_DEFAULT);
  CHECK(f >= 0);
  for (int i = 0; i < n; i++) CHECK_OK(h5_attr_i64(f, names[i], values[i]));
  CHECK_OK(h5_close_publish(f, tmp, path));
}

static char *summary_of(const char *path) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  CHECK_OK(insp_summary(out, path, NULL));
  fclose(out);
  return text;
}

TEST(checkpoint_summary_never_guesses_attribute_names) {
  char path[] = "/tmp/dpt-test-heads-XXXXXX.h5";
  int fd = mkstemps(path, 3);
  CHECK(fd >= 0);
  close(fd);
  /* names no dpt checkpoint has: a summary that guessed would show 7, 9 and 3 */
  const char *guessed[] = {"epochs_done", "global_step", "workers", "complete"};
  const int64_t gv[] = {7, 9, 3, 1};
  write_ckpt(path, guessed, gv, 4);
  char *text = summary_of(path);
  CHECK(text && strstr(text, "position    epoch ?, step ?, K ?"));
  free(text);
  /* the names checkpoint.c writes are shown */
  const char *real[] = {"epoch", "step", "num_workers", "nparams", "complete"};
  const int64_t rv[] = {4, 120, 2, 44426, 1};
  write_ckpt(path, real, rv, 5);
  text = summary_of(path);
  CHECK(text && strstr(text, "position    epoch 4, step 120, K 2"));
  CHECK(text && strstr(text, "model       44426 parameters"));
  free(text);
  /* a reader that needs a field fails naming it */
  ckpt_head_t h;
  CHECK_FAILS(ckpt_head_open(path, &h, CKPT_HEAD_CONFIG));
  CHECK(strstr(dpt_errmsg(), "config") && strstr(dpt_errmsg(), path));
  dpt_clear_error();
  CHECK_OK(ckpt_head_open(path, &h, CKPT_HEAD_EPOCH | CKPT_HEAD_NPARAMS));
  CHECK(h.epoch == 4 && h.nparams == 44426 && !(h.has & CKPT_HEAD_BEST));
  ckpt_head_free(&h);
  unlink(path);
}

TEST(dataset_head_reads_sizes_without_images) {
  char path[] = "/tmp/dpt-test-heads-XXXXXX.h5";
  int fd = mkstemps(path, 3);
  CHECK(fd >= 0);
  close(fd);
  char tmp[4096];
  hid_t f = h5_create_tmp(path, tmp, sizeof tmp, DATASET_SCHEMA, DATASET_SCHEMA_VERSION,
                          "test", H5P_DEFAULT);
  CHECK(f >= 0);
  CHECK_OK(h5_attr_str(f, "name", "tiny"));
  CHECK_OK(h5_attr_i64(f, "channels", 1));
  const char *groups[] = {"train", "test"};
  const hsize_t n[] = {5, 3};
  for (int i = 0; i < 2; i++) {
    hid_t g = H5Gcreate2(f, groups[i], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    uint8_t zeros[5 * 4] = {0};
    hsize_t dims[4] = {n[i], 1, 2, 2};
    CHECK_OK(h5_write_array(g, "images", H5T_STD_U8LE, H5T_NATIVE_UINT8, 4, dims, zeros,
                            NULL, 0));
    H5Gclose(g);
  }
  CHECK_OK(h5_close_publish(f, tmp, path));
  dataset_head_t h;
  CHECK_OK(dataset_head_open(path, &h, DS_HEAD_SPLITS));
  CHECK(h.train_n == 5 && h.test_n == 3 && h.channels == 1 && h.height == 0);
  CHECK(h.name && !strcmp(h.name, "tiny") && !(h.has & DS_HEAD_NORM));
  dataset_head_free(&h);
  /* a needed field the file lacks (here mean and std) is an error */
  CHECK_FAILS(dataset_head_open(path, &h, DS_HEAD_SPLITS | DS_HEAD_NORM));
  dpt_clear_error();
  unlink(path);
}
