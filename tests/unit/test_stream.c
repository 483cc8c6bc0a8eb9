/* test_stream.c - Streaming DiLoCo's fragments and schedule (src/train/stream.c) by hand:
 * the cuts of the seed's LeNet, and which fragment sends and lands after which step. */
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/train/method.h"
#include "test.h"

TEST(stream_cut_whole_tensors_nearest_the_share) {
  nn_model_t m;
  CHECK_OK(nn_model_init(&m, NN_LENET, 1, 32, 32, 10, 1));
  /* conv1 1600 + 64, conv2 102400 + 64, fc1 614400 + 384, fc2 73728 + 192, fc3 1920 + 10 */
  CHECK(m.nparams == 794768 && m.ngrad == 794768);
  size_t lo[11];
  CHECK_OK(train_stream_cut(&m, 1, lo));
  CHECK(lo[0] == 0 && lo[1] == 794768);
  /* half is 397384: the starts of fc1.weight (104128) and fc1.bias (718528) are 293256
   * and 321144 away */
  CHECK_OK(train_stream_cut(&m, 2, lo));
  CHECK(lo[0] == 0 && lo[1] == 104128 && lo[2] == 794768);
  /* ten fragments of ten tensors: one each, every cut a tensor start */
  CHECK_OK(train_stream_cut(&m, 10, lo));
  CHECK(lo[1] == 1600 && lo[2] == 1664 && lo[9] == 794752 && lo[10] == 794768);
  CHECK_FAILS(train_stream_cut(&m, 11, lo));
  CHECK(strstr(dpt_errmsg(), "model.outer.fragments = 11, but the model has 10 trained tensors"));
  nn_model_free(&m);
}

TEST(stream_schedule_staggered_with_delay) {
  /* H = 8, F = 2, tau = 3, T = 12: fragment 0 (offset 4) sends after steps 1 and 9 (0-based
   * 0 and 8) and lands 3 later; fragment 1 (offset 8) sends after step 5 and lands after
   * 8; at the epoch's end fragment 1 (next landing after 16) is flushed, fragment 0 lands */
  train_stream_t st = {.F = 2, .tau = 3};
  char sends[2][13] = {"", ""}, lands[2][13] = {"", ""};
  for (int f = 0; f < 2; f++)
    for (int s = 0; s < 12; s++) {
      int o = train_stream_sends(&st, 8, 12, f, s);
      sends[f][s] = o < 0 ? '.' : (char)('0' + o);
      lands[f][s] = train_stream_lands(&st, 8, 12, f, s) ? 'x' : '.';
    }
  CHECK(!strcmp(sends[0], "3.......3..."));
  CHECK(!strcmp(lands[0], "...x.......x"));
  CHECK(!strcmp(sends[1], "....3......0"));
  CHECK(!strcmp(lands[1], ".......x...x"));
  CHECK(train_stream_prev(&st, 8, 12, 0) == -1);
  CHECK(train_stream_prev(&st, 8, 12, 4) == 0);
  CHECK(train_stream_prev(&st, 8, 12, 11) == 8);
  /* F = 1, tau = 0: DiLoCo, every H steps and at the epoch's end */
  st = (train_stream_t){.F = 1, .tau = 0};
  for (int s = 0; s < 12; s++) {
    int every = (s + 1) % 5 == 0 || s == 11;
    CHECK(train_stream_lands(&st, 5, 12, 0, s) == every);
    CHECK((train_stream_sends(&st, 5, 12, 0, s) == 0) == every);
  }
}
