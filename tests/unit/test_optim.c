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

/* AdamW with gradients of the size of eps, where the step depends on where eps goes and
 * on the precision of the bias corrections: 1 - b2 = 0.001 in double, but 1 - 0.999f is
 * 0.000999987 in float (sqrt: 6.4e-6 off), eps before the bias correction is eps/sqrt(bc2)
 * = 3.2e-7 at t = 1, and eps inside the square root is sqrt(1e-8) = 1e-4. Each weight
 * starts every step at 0 with wd = 0 (the moments never read w), so the step is w itself,
 * which float32 resolves to 6e-8 relative. The expected values are the spec's formula in
 * double. A correct float32 step (PyTorch 1.13's AdamW gives the same bits here) is
 * within 2.5e-7 relative of them for t <= 10 (a dozen roundings of 6e-8, and the float
 * betas' errors cancel against the double bias corrections); float32 bias corrections are
 * 3e-6 to 8e-6 off, eps before the correction 0.96, eps inside the root 0.9999. Hence a
 * tolerance of 1e-6 relative. */
TEST(adamw_eps_sized_gradients_hand_values) {
  const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  /* constant g: m_t = (1 - b1^t) g and v_t = (1 - b2^t) g^2, so mh = g and vh = g^2 at
   * every t and the step is lr*g/(|g| + eps): -lr/2 for g = eps */
  const float g[4] = {1e-8f, -1e-8f, 2.5e-9f, 4e-8f};
  float w[4], m[4] = {0}, v[4] = {0};
  for (int t = 1; t <= 10; t++) {
    for (int i = 0; i < 4; i++) w[i] = 0;
    opt_adamw_step(4, w, g, m, v, t, lr, b1, b2, eps, 0.0);
    for (int i = 0; i < 4; i++) {
      double want = -lr * g[i] / (fabs((double)g[i]) + eps);
      if (!(fabs(w[i] - want) <= 1e-6 * fabs(want)))
        test_failed(__FILE__, __LINE__, "t %d g %g: step %.9g, expected %.9g (rel %.2g)", t,
                    g[i], w[i], want, fabs(w[i] - want) / fabs(want));
    }
  }
  CHECK(fabs(-5e-4 - w[0]) <= 5e-10); /* by hand: g = eps gives exactly -lr/2 */
}

/* Varying eps-sized gradients with sign changes, against the spec's recurrences in double.
 * When m nearly cancels, a relative bound is meaningless, so the bound is 5e-7*lr on
 * the step: a correct float32 step stays within 1e-7*lr, float32 bias corrections are
 * 3.7e-6*lr off, the eps placements 0.9*lr and more. */
TEST(adamw_eps_sized_varying_gradients) {
  const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const float g[5][2] = {{1e-8f, -3e-8f}, {-2e-8f, 1e-8f}, {5e-9f, 2e-8f}, {3e-8f, -5e-9f},
                         {-1e-8f, -1e-8f}};
  float w[2], m[2] = {0}, v[2] = {0};
  double mr[2] = {0}, vr[2] = {0};
  for (int t = 1; t <= 5; t++) {
    w[0] = w[1] = 0;
    opt_adamw_step(2, w, g[t - 1], m, v, t, lr, b1, b2, eps, 0.0);
    for (int i = 0; i < 2; i++) {
      double gi = g[t - 1][i];
      mr[i] = b1 * mr[i] + (1 - b1) * gi;
      vr[i] = b2 * vr[i] + (1 - b2) * gi * gi;
      double mh = mr[i] / (1 - pow(b1, t)), vh = vr[i] / (1 - pow(b2, t));
      double want = -lr * mh / (sqrt(vh) + eps);
      if (!(fabs(w[i] - want) <= 5e-7 * lr))
        test_failed(__FILE__, __LINE__, "t %d i %d: step %.9g, expected %.9g (%.2g lr off)", t,
                    i, w[i], want, fabs(w[i] - want) / lr);
    }
  }
}

TEST(schedule_warmup_then_cosine) {
  CHECK_NEAR(sched_lr(0.1, 0, 10, 0, SCHED_COSINE), 0.1, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 5, 10, 0, SCHED_COSINE), 0.05, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 9, 10, 0, SCHED_COSINE), 0.1 * (1 + cos(M_PI * 0.9)) / 2, 1e-15);
  /* warm-up: 0.1*lr0 at e=0, rising linearly; cosine restarts at lr0 after it */
  CHECK_NEAR(sched_lr(0.1, 0, 12, 2, SCHED_COSINE), 0.01, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 1, 12, 2, SCHED_COSINE), 0.055, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 2, 12, 2, SCHED_COSINE), 0.1, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 7, 12, 2, SCHED_COSINE), 0.05, 1e-15);
  CHECK_NEAR(sched_lr(0.1, 7, 12, 0, SCHED_CONSTANT), 0.1, 1e-15);
}
