/* test_optim.c - SGDM, AdamW and the schedule against independent double-precision
 * computations of spec/algorithms.md's formulas. */
#include <math.h>

#include "../../src/core/err.h"
#include "../../src/optim/optim.h"
#include "test.h"

TEST(sgdm_three_steps_match_double_reference) {
  float w[3] = {0.5f, -1.0f, 0.0f}, buf[3] = {9, 9, 9};
  double wr[3] = {0.5, -1.0, 0.0}, br[3];
  const double lr = 0.1, mu = 0.9, wd = 0.01;
  const float grads[3][3] = {{0.2f, -0.4f, 1.0f}, {0.1f, 0.0f, -0.5f}, {-0.3f, 0.2f, 0.25f}};
  for (int t = 1; t <= 3; t++) {
    opt_sgdm_step(3, w, grads[t - 1], buf, t, lr, mu, wd);
    for (int i = 0; i < 3; i++) {
      double d = grads[t - 1][i] + wd * wr[i];
      br[i] = t == 1 ? d : mu * br[i] + d; /* first step: the buffer is d itself */
      wr[i] -= lr * br[i];
      CHECK_NEAR(w[i], wr[i], 1e-6);
      CHECK_NEAR(buf[i], br[i], 1e-6);
    }
  }
  /* hand value: w0 after step 1 = 0.5 - 0.1*(0.2 + 0.005) */
  float w1[1] = {0.5f}, b1[1];
  const float g1[1] = {0.2f};
  opt_sgdm_step(1, w1, g1, b1, 1, lr, mu, wd);
  CHECK_NEAR(w1[0], 0.4795, 1e-7);
}

TEST(adamw_three_steps_match_double_reference) {
  float w[3] = {0.5f, -1.0f, 0.0f}, m[3] = {0}, v[3] = {0};
  double wr[3] = {0.5, -1.0, 0.0}, mr[3] = {0}, vr[3] = {0};
  const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
  const float grads[3][3] = {{0.2f, -0.4f, 0.0f}, {0.1f, 0.0f, -0.5f}, {-0.3f, 0.2f, 0.25f}};
  for (int t = 1; t <= 3; t++) {
    opt_adamw_step(3, w, grads[t - 1], m, v, t, lr, b1, b2, eps, wd);
    for (int i = 0; i < 3; i++) {
      double g = grads[t - 1][i];
      wr[i] -= lr * wd * wr[i];
      mr[i] = b1 * mr[i] + (1 - b1) * g;
      vr[i] = b2 * vr[i] + (1 - b2) * g * g;
      double mh = mr[i] / (1 - pow(b1, t)), vh = vr[i] / (1 - pow(b2, t));
      wr[i] -= lr * mh / (sqrt(vh) + eps);
      CHECK_NEAR(w[i], wr[i], 1e-6);
    }
  }
  /* Adam's first step moves each weight with a nonzero gradient by lr (sign of g),
   * after decay: w = 0.5*(1 - lr*wd) - lr for w0 = 0.5, g = 0.2. */
  float w1[1] = {0.5f}, m1[1] = {0}, v1[1] = {0};
  const float g1[1] = {0.2f};
  opt_adamw_step(1, w1, g1, m1, v1, 1, lr, b1, b2, eps, wd);
  CHECK_NEAR(w1[0], 0.5 * (1 - lr * wd) - lr * 0.2 / (0.2 + eps), 1e-7);
}

TEST(schedule_warmup_then_cosine) {
  CHECK_NEAR(sched_lr(0.1, 0, 10, 0, 1), 0.1, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 5, 10, 0, 1), 0.05, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 9, 10, 0, 1), 0.1 * (1 + cos(M_PI * 0.9)) / 2, 1e-15);
  /* warm-up: 0.1*lr0 at e=0, rising linearly; cosine restarts at lr0 after it */
  CHECK_NEAR(sched_lr(0.1, 0, 12, 2, 1), 0.01, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 1, 12, 2, 1), 0.055, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 2, 12, 2, 1), 0.1, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 7, 12, 2, 1), 0.05, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 7, 12, 0, 0), 0.1, 1e-15);
}
