/* test_outer.c - the outer optimizers of the local methods (src/optim/outer.c): SlowMo
 * and Nesterov against double-precision forms of spec/algorithms.md, the plain cases, and
 * a whole DiLoCo run (inner AdamW + outer Nesterov) against PyTorch's
 * (tests/reference/diloco.txt, written by make_diloco_reference.py). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/optim/optim.h"
#include "../../src/optim/outer.h"
#include "test.h"

#define REF_PATH "tests/reference/diloco.txt"

TEST(outer_nesterov_matches_double_reference) {
  opt_outer_t o = {OUTER_NESTEROV, 0.7, 0.9};
  float x0[2] = {1.0f, -0.5f}, b[2] = {7, 7};
  double xr[2] = {1.0, -0.5}, br[2];
  const float means[3][2] = {{0.9f, -0.4f}, {0.8f, -0.45f}, {0.85f, -0.2f}};
  int64_t steps = 0;
  for (int r = 0; r < 3; r++) {
    opt_outer_step(&o, 2, x0, means[r], b, &steps, 0.05);
    for (int i = 0; i < 2; i++) {
      double delta = xr[i] - means[r][i];
      br[i] = r == 0 ? delta : 0.9 * br[i] + delta; /* first step: the buffer is delta */
      xr[i] -= 0.7 * (delta + 0.9 * br[i]);
      CHECK_NEAR(x0[i], xr[i], 1e-6);
      CHECK_NEAR(b[i], br[i], 1e-6);
    }
  }
  CHECK(steps == 3);
}

TEST(outer_slowmo_matches_double_reference) {
  opt_outer_t o = {OUTER_SLOWMO, 0.5, 0.6};
  float x0[2] = {1.0f, -0.5f}, u[2] = {0, 0};
  double xr[2] = {1.0, -0.5}, ur[2] = {0, 0};
  const float means[2][2] = {{0.9f, -0.4f}, {0.8f, -0.45f}};
  const double gamma = 0.05;
  int64_t steps = 0;
  for (int r = 0; r < 2; r++) {
    opt_outer_step(&o, 2, x0, means[r], u, &steps, gamma);
    for (int i = 0; i < 2; i++) {
      ur[i] = 0.6 * ur[i] + (xr[i] - means[r][i]) / gamma;
      xr[i] -= 0.5 * gamma * ur[i];
      CHECK_NEAR(x0[i], xr[i], 1e-5);
    }
  }
}

/* none, slowmo(1, 0) and nesterov(1, 0) are x0 = mean exactly, even where x0 - (x0 -
 * mean) would round: 1 - (1 - 1e-8f) is not 1e-8f. */
TEST(outer_plain_cases_copy_the_mean) {
  const opt_outer_t plain[3] = {{OUTER_NONE, 0.7, 0.9}, {OUTER_SLOWMO, 1.0, 0.0},
                                {OUTER_NESTEROV, 1.0, 0.0}};
  for (int k = 0; k < 3; k++) {
    float x0[2] = {1.0f, 3.0f}, mean[2] = {1e-8f, -2.5e-9f}, buf[2] = {0, 0};
    int64_t steps = 0;
    CHECK(opt_outer_is_plain(&plain[k]));
    opt_outer_step(&plain[k], 2, x0, mean, buf, &steps, 0.1);
    CHECK(!memcmp(x0, mean, sizeof mean));
  }
  opt_outer_t diloco = {OUTER_NESTEROV, 0.7, 0.9};
  CHECK(!opt_outer_is_plain(&diloco));
}

static int read_floats(FILE *f, float *out, int n) {
  for (int i = 0; i < n; i++)
    if (fscanf(f, "%f", &out[i]) != 1) return -1;
  return 0;
}

/* K workers, H inner AdamW steps each on 0.5*sum(a*(w - c_k)^2), then one outer Nesterov
 * step, for several rounds: x0 after every round as PyTorch computed it. */
TEST(diloco_matches_pytorch) {
  FILE *f = fopen(REF_PATH, "r");
  CHECK(f != NULL);
  if (!f) return;
  char line[256];
  int n, K, H, R;
  double lr, b1, b2, eps, wd, eta, mu;
  int ok = fgets(line, sizeof line, f) && fscanf(f, "%d %d %d %d", &n, &K, &H, &R) == 4 &&
           fscanf(f, "%lf %lf %lf %lf %lf %lf %lf", &lr, &b1, &b2, &eps, &wd, &eta, &mu) == 7 &&
           n > 0 && n <= 64 && K > 0 && K <= 8 && R > 0 && R <= 16;
  CHECK(ok);
  if (!ok) {
    fclose(f);
    return;
  }
  float x0[64], a[64], c[8][64], want[16][64], xa[64], buf[64] = {0}, g[64];
  ok = read_floats(f, x0, n) == 0 && read_floats(f, a, n) == 0;
  for (int k = 0; ok && k < K; k++) ok = read_floats(f, c[k], n) == 0;
  for (int r = 0; ok && r < R; r++) ok = read_floats(f, want[r], n) == 0;
  fclose(f);
  CHECK(ok);
  if (!ok) return;
  opt_hparams_t hp = {.kind = OPT_ADAMW, .beta1 = b1, .beta2 = b2, .eps = eps, .weight_decay = wd};
  opt_outer_t outer = {OUTER_NESTEROV, eta, mu};
  opt_state_t st[8];
  float w[8][64];
  for (int k = 0; k < K; k++) opt_state_init(&st[k], (size_t)n, OPT_ADAMW);
  int64_t steps = 0;
  for (int r = 0; r < R; r++) {
    for (int k = 0; k < K; k++) {
      memcpy(w[k], x0, sizeof(float) * n);
      for (int s = 0; s < H; s++) {
        for (int i = 0; i < n; i++) g[i] = (w[k][i] - c[k][i]) * a[i];
        CHECK_OK(opt_step(&hp, NULL, w[k], g, &st[k], lr));
      }
    }
    for (int i = 0; i < n; i++) {
      xa[i] = w[0][i];
      for (int k = 1; k < K; k++) xa[i] += w[k][i];
      xa[i] /= (float)K;
    }
    opt_outer_step(&outer, (size_t)n, x0, xa, buf, &steps, lr);
    for (int i = 0; i < n; i++) CHECK_NEAR(x0[i], want[r][i], 2e-6);
  }
  for (int k = 0; k < K; k++) opt_state_free(&st[k]);
}
