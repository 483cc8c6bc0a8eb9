/* test_model.c - the engine against finite differences and hand computation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/config/config.h"
#include "../../src/core/err.h"
#include "../../src/core/rng.h"
#include "../../src/nn/layers.h"
#include "../../src/nn/model.h"
#include "test.h"

static void random_fill(float *x, size_t n, uint64_t key, float scale) {
  for (size_t i = 0; i < n; i++) x[i] = (float)((2 * rng_unit(rng_at(key, i)) - 1) * scale);
}

/* Which piece of the piecewise-smooth loss we are on: the pooling argmaxes and the
 * open/closed state of every ReLU. Finite differences are only valid within a piece. */
static uint64_t piece_signature(const nn_model_t *m, int n) {
  uint64_t sig = 0;
  for (int i = 0; i < m->nconv; i++) {
    size_t sz = (size_t)m->conv[i].ph * m->conv[i].pw * m->conv[i].cout * n;
    for (size_t j = 0; j < sz; j++)
      sig = rng_mix(sig ^ (m->argmax[i][j] * 2u + (m->pooled[i][j] > 0)));
  }
  for (int i = 0; i < m->nfc - 1; i++)
    for (size_t j = 0; j < (size_t)m->fc_out[i] * n; j++)
      sig = rng_mix(sig ^ (m->fc_act[i][j] > 0));
  return sig;
}

/* Central differences of the summed loss for every parameter whose +-h neighbourhood
 * stays on one smooth piece; each tensor's analytic gradient must match to 0.5% in
 * relative L2 norm, and at least half the entries must be away from kinks. */
static void check_gradients(nn_model_t *m, int n) {
  size_t in_size = (size_t)m->in_h * m->in_w * m->in_c;
  float *params = dpt_alloc(sizeof(float) * m->nparams);
  float *grads = dpt_alloc(sizeof(float) * m->nparams);
  float *input = dpt_alloc(sizeof(float) * in_size * n);
  uint8_t labels[16];
  nn_init_params(m, params, 7);
  random_fill(input, in_size * n, 99, 1.0f);
  for (int i = 0; i < n; i++) labels[i] = (uint8_t)(i % m->num_classes);
  int correct = 0;
  nn_forward_backward(m, params, grads, input, labels, n, &correct);
  nn_forward(m, params, input, labels, n, &correct, NULL);
  uint64_t base = piece_signature(m, n);
  const float h = 1e-3f;
  for (int t = 0; t < m->ntensors; t++) {
    const nn_tensor_t *ts = &m->tensors[t];
    double diff2 = 0, norm2 = 0;
    size_t skipped = 0;
    for (size_t i = 0; i < ts->size; i++) {
      float *p = &params[ts->offset + i], saved = *p;
      *p = saved + h;
      double lp = nn_forward(m, params, input, labels, n, &correct, NULL);
      int smooth = piece_signature(m, n) == base;
      *p = saved - h;
      double lm = nn_forward(m, params, input, labels, n, &correct, NULL);
      smooth = smooth && piece_signature(m, n) == base;
      *p = saved;
      if (!smooth) {
        skipped++;
        continue;
      }
      double fd = (lp - lm) / (2 * h), g = grads[ts->offset + i];
      diff2 += (fd - g) * (fd - g);
      norm2 += g * g;
    }
    if (!(norm2 > 0)) test_failed(__FILE__, __LINE__, "%s: zero gradient", ts->name);
    double rel = sqrt(diff2 / norm2);
    if (!(rel < 5e-3))
      test_failed(__FILE__, __LINE__, "%s: relative gradient error %.3g", ts->name, rel);
    if (skipped * 2 > ts->size)
      test_failed(__FILE__, __LINE__, "%s: %zu of %zu entries at kinks", ts->name, skipped,
                  ts->size);
  }
  dpt_free(params);
  dpt_free(grads);
  dpt_free(input);
}

TEST(model_gradients_match_finite_differences) {
  nn_model_t m;
  static const int conv[] = {3, 4}, fc[] = {6};
  CHECK_OK(nn_model_init_custom(&m, 2, conv, 3, 1, fc, 2, 14, 14, 3, 4));
  check_gradients(&m, 4);
  nn_model_free(&m);
}

TEST(model_gradients_5x5_kernels) {
  nn_model_t m;
  static const int conv[] = {4, 5}, fc[] = {7, 6};
  CHECK_OK(nn_model_init_custom(&m, 2, conv, 5, 2, fc, 3, 16, 16, 4, 3));
  check_gradients(&m, 3);
  nn_model_free(&m);
}

TEST(model_presets_have_paper_sizes) {
  nn_model_t m;
  CHECK_OK(nn_model_init(&m, NN_LENET, 3, 32, 32, 100, 2));
  /* conv1 64*75+64, conv2 64*1600+64, fc 1600*384+384, 384*192+192, 192*100+100 */
  size_t expected = 4864 + 102464 + 614784 + 73920 + 19300;
  size_t total = 0;
  for (int t = 0; t < m.ntensors; t++) total += m.tensors[t].size;
  CHECK(total == expected);
  CHECK_NEAR(m.flops_per_image / 1e6, 80.7, 0.01);
  CHECK(m.conv[1].ph == 5 && m.conv[1].cout == 64 && m.fc_in[0] == 1600);
  nn_model_free(&m);
  CHECK_OK(nn_model_init(&m, NN_LENET5, 1, 32, 32, 10, 2));
  CHECK(m.fc_in[0] == 400 && m.fc_out[0] == 120 && m.fc_out[1] == 84 && m.fc_out[2] == 10);
  nn_model_free(&m);
  /* The name is parsed once, by the config: an unknown one is refused there by name. */
  dpt_config_t c;
  const char *sets[] = {"model.name=ResNet"};
  CHECK_FAILS(config_load_string(&c, "", "t", sets, 1));
  CHECK(strstr(dpt_errmsg(), "model.name") && strstr(dpt_errmsg(), "LeNet5") &&
        strstr(dpt_errmsg(), "ResNet"));
  dpt_clear_error();
  sets[0] = "model.name=LeNet5";
  CHECK_OK(config_load_string(&c, "", "t", sets, 1));
  CHECK(c.model == NN_LENET5 && !strcmp(nn_model_name(c.model), "LeNet5"));
}

/* PyTorch's default init is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases,
 * with fan_in = C_in*k*k or in_features, written here from the architecture (seed LeNet
 * on 3x32x32, 100 classes), not read back from the model. Per tensor of n values, with
 * b the bound: all within [-b, b]; the minimum and maximum within 10 b/(n+1) of -b and b
 * (the expected gap is 2b/(n+1): a shortfall this large has probability e^-5); mean and
 * variance within 5 standard errors of a uniform's (0, b^2/3). A half-width interval or
 * a wrong fan_in fails the bounds or the variance. */
TEST(init_is_pytorch_uniform_on_both_bounds) {
  static const struct { const char *name; int fan_in; } expect[] = {
      {"conv1.weight", 75},  {"conv1.bias", 75},  {"conv2.weight", 1600},
      {"conv2.bias", 1600},  {"fc1.weight", 1600}, {"fc1.bias", 1600},
      {"fc2.weight", 384},   {"fc2.bias", 384},   {"fc3.weight", 192},
      {"fc3.bias", 192}};
  nn_model_t m;
  CHECK_OK(nn_model_init(&m, NN_LENET, 3, 32, 32, 100, 1));
  CHECK(m.ntensors == 10);
  float *p = dpt_alloc(sizeof(float) * m.nparams);
  nn_init_params(&m, p, 1);
  for (int t = 0; t < m.ntensors && t < 10; t++) {
    const nn_tensor_t *ts = &m.tensors[t];
    CHECK(strcmp(ts->name, expect[t].name) == 0);
    double b = 1 / sqrt((double)expect[t].fan_in), n = (double)ts->size;
    double lo = INFINITY, hi = -INFINITY, sum = 0, sum2 = 0;
    for (size_t i = 0; i < ts->size; i++) {
      double v = p[ts->offset + i];
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
      sum += v;
      sum2 += v * v;
    }
    double mean = sum / n, var = sum2 / n - mean * mean, gap = 10 * b / (n + 1);
    if (!(lo >= -b && hi <= b && lo < -b + gap && hi > b - gap))
      test_failed(__FILE__, __LINE__, "%s: range [%.6g, %.6g], expected to fill [-%.6g, %.6g]",
                  ts->name, lo, hi, b, b);
    if (!(fabs(mean) < 5 * b / sqrt(3 * n)))
      test_failed(__FILE__, __LINE__, "%s: mean %.6g of U(-%.6g, %.6g)", ts->name, mean, b, b);
    if (!(fabs(var - b * b / 3) < 5 * sqrt(4.0 / 45) * b * b / sqrt(n)))
      test_failed(__FILE__, __LINE__, "%s: variance %.6g, expected %.6g", ts->name, var,
                  b * b / 3);
  }
  dpt_free(p);
  nn_model_free(&m);
}

/* conv+pool forward against a direct loop computation in double. */
TEST(conv_pool_forward_matches_direct_convolution) {
  nn_conv_shape_t s;
  nn_conv_shape_init(&s, 2, 3, 3, 6, 6);
  float in[72], w[3 * 18], b[3], pooled[2 * 2 * 3], scratch[16 * 18], out[16 * 18];
  uint8_t am[12];
  random_fill(in, 72, 1, 1);
  random_fill(w, 54, 2, 1);
  random_fill(b, 3, 3, 1);
  nn_conv_pool_forward(&s, in, w, b, pooled, am, scratch, out);
  for (int py = 0; py < 2; py++)
    for (int px = 0; px < 2; px++)
      for (int co = 0; co < 3; co++) {
        double best = -1e30;
        for (int dy = 0; dy < 2; dy++)
          for (int dx = 0; dx < 2; dx++) {
            int oy = 2 * py + dy, ox = 2 * px + dx;
            double acc = b[co];
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++)
                for (int ci = 0; ci < 2; ci++)
                  acc += (double)in[((oy + ky) * 6 + ox + kx) * 2 + ci] *
                         w[((co * 3 + ky) * 3 + kx) * 2 + ci];
            if (acc > best) best = acc;
          }
        CHECK_NEAR(pooled[(py * 2 + px) * 3 + co], best > 0 ? best : 0, 1e-5);
      }
}

TEST(xent_matches_hand_computation) {
  float logits[] = {1.0f, 2.0f, 0.5f, 0.0f, 0.0f, 3.0f}, d[6];
  uint8_t labels[] = {1, 0};
  int correct = 0;
  double loss = nn_xent_forward_backward(2, 3, logits, labels, d, &correct, NULL);
  double l0 = -log(exp(2.0) / (exp(1.0) + exp(2.0) + exp(0.5)));
  double l1 = -log(1.0 / (2.0 + exp(3.0)));
  CHECK_NEAR(loss, l0 + l1, 1e-6);
  CHECK(correct == 1);
  CHECK_NEAR(d[1], exp(2.0) / (exp(1.0) + exp(2.0) + exp(0.5)) - 1, 1e-6);
  CHECK_NEAR(d[3], 1.0 / (2.0 + exp(3.0)) - 1, 1e-6);
}
