/* test_estimate.c - the core-hours estimate of dpt-sweep expand: the images a run uses
 * after data.limit and val_fraction, the arithmetic at a given throughput, and the
 * throughput file make bench writes. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/err.h"
#include "../../src/sweep/estimate.h"
#include "test.h"

TEST(estimate_work_after_limit_and_validation_share) {
  sweep_task_t t = {.epochs = 10, .limit = 1000, .val_fraction = 0.1};
  sweep_work_t w;
  sweep_work_of(&t, 60000, 10000, &w);
  CHECK(w.train == 900 && w.val == 100 && w.test == 1000 && w.epochs == 10);
  t.limit = 0; /* all images: Fashion-MNIST's 54,000 + 6,000 */
  sweep_work_of(&t, 60000, 10000, &w);
  CHECK(w.train == 54000 && w.val == 6000 && w.test == 10000);
  t.limit = 20000; /* a limit above the test split leaves it whole */
  t.val_fraction = 0;
  sweep_work_of(&t, 60000, 10000, &w);
  CHECK(w.train == 20000 && w.val == 0 && w.test == 10000);
}

TEST(estimate_core_hours_at_a_given_throughput) {
  /* 10 epochs of 900 trained + 100 validated images, then 2 x 1000 test images:
   * 9000 + 10 * 100 / 3 + 2 * 1000 / 3 = 10,000 image equivalents, 10 s at 1000/s. */
  sweep_work_t w = {.train = 900, .val = 100, .test = 1000, .epochs = 10};
  CHECK_NEAR(sweep_core_hours(&w, 1000.0), 10.0 / 3600.0, 1e-12);
  CHECK_NEAR(sweep_core_hours(&w, 2000.0), 5.0 / 3600.0, 1e-12);
  /* The seed's CIFAR-100 run: 150 epochs of 45,000 + 5,000 / 3, 2 x 10,000 / 3 at the
   * end, at 3,000 images/s: 0.6489 core-hours. */
  sweep_work_t seed = {.train = 45000, .val = 5000, .test = 10000, .epochs = 150};
  CHECK_NEAR(sweep_core_hours(&seed, 3000.0),
             (150.0 * (45000 + 5000 / 3.0) + 20000 / 3.0) / 3000.0 / 3600.0, 1e-12);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

TEST(estimate_throughput_file) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/dpt-test-throughput-%d.txt", (int)getpid());
  double ips = 0;
  unlink(path);
  CHECK(sweep_throughput_read(path, "LeNet", &ips) == 1); /* absent: the caller's default */
  write_file(path, "# make bench\nimages_per_s_per_core 3123.5\n");
  CHECK(sweep_throughput_read(path, "LeNet", &ips) == 0 && ips == 3123.5);
  CHECK(sweep_throughput_read(path, "ResNet20", &ips) == 1); /* no figure for it */
  write_file(path, "# make bench\nimages_per_s_per_core fast\n");
  CHECK_FAILS(sweep_throughput_read(path, "LeNet", &ips));
  CHECK(strstr(dpt_errmsg(), ":2: images_per_s_per_core: expected a number > 0, got ' fast'"));
  write_file(path, "images_per_s_per_core -5\n");
  CHECK_FAILS(sweep_throughput_read(path, "LeNet", &ips));
  write_file(path, "images/s 3000\n");
  CHECK_FAILS(sweep_throughput_read(path, "LeNet", &ips));
  CHECK(strstr(dpt_errmsg(), "no line 'images_per_s_per_core V'"));
  dpt_clear_error();
  unlink(path);
}

/* One figure per model: its own line, LeNet's plain line, a deeper ResNet from ResNet-20's
 * (a ResNet of depth 6n + 2 costs n / 3 of ResNet-20), else the built-in default. */
TEST(estimate_throughput_per_model) {
  char path[64], src[512];
  snprintf(path, sizeof path, "/tmp/dpt-test-throughput-m-%d.txt", (int)getpid());
  double ips = 0;
  write_file(path, "images_per_s_per_core 2800\nimages_per_s_per_core.ResNet20 240\n"
                   "images_per_s_per_core.ResNet2 7\nimages_per_s_per_core.ResNet32 150\n");
  CHECK(sweep_model_throughput(path, NN_LENET, &ips, src, sizeof src) == 0 && ips == 2800);
  CHECK(!strcmp(src, path));
  CHECK(sweep_model_throughput(path, NN_LENET5, &ips, src, sizeof src) == 0 && ips == 2800);
  CHECK(sweep_model_throughput(path, NN_RESNET20, &ips, src, sizeof src) == 0 && ips == 240);
  CHECK(sweep_model_throughput(path, NN_RESNET32, &ips, src, sizeof src) == 0 && ips == 150);
  /* ResNet-56: n = 9, 240 x 3 / 9 = 80; "ResNet2" is not ResNet20's line. */
  CHECK(sweep_model_throughput(path, NN_RESNET56, &ips, src, sizeof src) == 0);
  CHECK_NEAR(ips, 80.0, 1e-9);
  CHECK(strstr(src, "ResNet20's figure in") && strstr(src, "x 3/9"));
  write_file(path, "images_per_s_per_core 2800\n");
  CHECK(sweep_model_throughput(path, NN_RESNET44, &ips, src, sizeof src) == 0);
  CHECK_NEAR(ips, SWEEP_DEFAULT_RESNET20_IMAGES_PER_S * 3.0 / 7.0, 1e-9);
  CHECK(strstr(src, "default: the throughput file has no figure"));
  write_file(path, "images_per_s_per_core 2800\nimages_per_s_per_core.ResNet20 x\n");
  CHECK_FAILS(sweep_model_throughput(path, NN_RESNET20, &ips, src, sizeof src));
  CHECK(strstr(dpt_errmsg(), ":2: images_per_s_per_core.ResNet20: expected a number > 0"));
  dpt_clear_error();
  unlink(path);
  CHECK(sweep_model_throughput(path, NN_LENET, &ips, src, sizeof src) == 0 &&
        ips == SWEEP_DEFAULT_IMAGES_PER_S && strstr(src, "no throughput file"));
}
