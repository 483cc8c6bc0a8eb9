/* test_optim_large.c - LARS and LAMB (every variant), AdamW through opt_step, and the
 * large-batch learning-rate scaling, against independent double-precision computations
 * of spec/algorithms.md's formulas.
 *
 * The "model" is two tensors in a 10-float buffer: a weight of 6 at offset 0, two
 * padding floats, a bias of 2 at offset 8. The padding carries a nonzero gradient, which
 * must neither count in LAMB's global norm nor be touched. */
#include <math.h>
#include <string.h>

#include "../../src/config/config.h"
#include "../../src/core/err.h"
#include "../../src/optim/optim.h"
#include "test.h"

#define N 10
#define STEPS 3
static const size_t OFF[2] = {0, 8}, SIZE[2] = {6, 2};
static const int BIAS[2] = {0, 1};

static void tiny_model(nn_model_t *m) {
  memset(m, 0, sizeof *m);
  m->ntensors = 2;
  for (int k = 0; k < 2; k++) {
    m->tensors[k].offset = OFF[k];
    m->tensors[k].size = SIZE[k];
    m->tensors[k].is_bias = BIAS[k];
  }
  m->nparams = N;
}

static const float W0[N] = {0.5f, -0.25f, 0.75f, -1.0f, 0.125f, 0.3f, 0, 0, 0.1f, -0.2f};
static const float GRADS[STEPS][N] = {
    {0.2f, -0.4f, 0.1f, 0.3f, -0.05f, 0.6f, 7.0f, -7.0f, 0.05f, -0.1f},
    {0.1f, 0.0f, -0.5f, 0.2f, 0.3f, -0.2f, 7.0f, -7.0f, 0.0f, 0.0f}, /* zero bias grad */
    {-0.3f, 0.2f, 0.25f, -0.1f, 0.4f, 0.05f, 7.0f, -7.0f, 0.2f, 0.3f},
};

static opt_hparams_t hparams(opt_kind_t kind, double wd, int exclude_1d) {
  dpt_config_t cfg;
  opt_hparams_t hp;
  config_defaults(&cfg);
  cfg.optimizer = kind;
  cfg.optim.weight_decay = wd;
  cfg.optim.exclude_1d = exclude_1d;
  opt_hparams_for(&hp, &cfg.optim, cfg.optimizer);
  return hp;
}

static double dnorm(const double *x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += x[i] * x[i];
  return sqrt(s);
}

/* ---- LARS reference: spec/algorithms.md, "LARS ... per tensor" ---- */
static void lars_ref(const opt_hparams_t *hp, double *w, double *buf, const float *gf, int t,
                     double lr) {
  for (int k = 0; k < 2; k++) {
    double *wk = w + OFF[k], *bk = buf + OFF[k], g[6], d[6];
    size_t n = SIZE[k];
    int skip = hp->exclude_1d && BIAS[k];
    double wd = skip ? 0 : hp->weight_decay;
    for (size_t i = 0; i < n; i++) {
      g[i] = gf[OFF[k] + i];
      d[i] = g[i] + wd * wk[i];
    }
    double wn = dnorm(wk, n), gn = dnorm(g, n), dn = dnorm(d, n), trust = 1;
    if (!skip) {
      if (hp->lars_variant == LARS_SEED) {
        if (wn > 0 && dn > 0) trust = 0.3 * wn / (dn + 1e-6);
      } else if (wn > 0 && gn > 0) {
        trust = hp->trust_coefficient * wn / (gn + wd * wn + hp->lars_eps);
        if (hp->lars_variant == LARS_LARC && hp->larc_clip) trust = fmin(trust / lr, 1);
      }
    }
    for (size_t i = 0; i < n; i++) {
      if (hp->lars_variant == LARS_LARC) {
        double di = trust * d[i];
        bk[i] = t == 1 ? di : hp->momentum * bk[i] + di;
        wk[i] -= lr * bk[i];
      } else {
        bk[i] = hp->momentum * bk[i] + lr * trust * d[i]; /* buf starts at 0 */
        wk[i] -= bk[i];
      }
    }
  }
}

/* Runs STEPS steps of opt_step and of the reference from w0; checks w and the buffer. */
static void run_lars(int line, const opt_hparams_t *hp, const float *w0, double lr) {
  nn_model_t m;
  opt_state_t st;
  float w[N];
  double wr[N], br[N] = {0};
  tiny_model(&m);
  opt_state_init(&st, N, OPT_LARS);
  memcpy(w, w0, sizeof w);
  for (int i = 0; i < N; i++) wr[i] = w0[i];
  for (int t = 1; t <= STEPS; t++) {
    if (opt_step(hp, &m, w, GRADS[t - 1], &st, lr) < 0)
      test_failed(__FILE__, line, "opt_step: %s", dpt_errmsg());
    lars_ref(hp, wr, br, GRADS[t - 1], t, lr);
    for (int i = 0; i < N; i++) {
      double tol = 1e-6 * (fabs(wr[i]) > 1 ? fabs(wr[i]) : 1);
      if (!(fabs(w[i] - wr[i]) <= tol) || !(fabs(st.m[i] - br[i]) <= 1e-6))
        test_failed(__FILE__, line, "variant %d step %d w[%d] = %.9g buf %.9g, expected %.9g %.9g",
                    hp->lars_variant, t, i, w[i], st.m[i], wr[i], br[i]);
    }
  }
  /* the padding between the tensors is never touched */
  CHECK(w[6] == w0[6] && w[7] == w0[7]);
  opt_state_free(&st);
}

TEST(lars_each_variant_three_steps_match_double_reference) {
  for (int v = LARS_PAPER; v <= LARS_SEED; v++)
    for (int ex = 0; ex <= 1; ex++)
      for (int wdi = 0; wdi < 2; wdi++) {
        opt_hparams_t hp = hparams(OPT_LARS, wdi ? 0.01 : 0.0, ex);
        hp.lars_variant = v;
        run_lars(__LINE__, &hp, W0, 0.1);
        hp.trust_coefficient = 0.02; /* apex LARC's default: larger steps */
        run_lars(__LINE__, &hp, W0, 0.5);
      }
}

/* optim.exclude_1d: auto follows each variant's source, so that the seed's LARS and LAMB
 * adapt and decay the biases too; true and false override it. */
TEST(exclude_1d_auto_per_variant) {
  static const struct {
    const char *opt, *variant;
    int excludes;
  } want[] = {{"LARS", "optim.lars_variant=paper", 0}, {"LARS", "optim.lars_variant=seed", 0},
              {"LARS", "optim.lars_variant=larc", 1},  {"LAMB", "optim.lamb_variant=paper", 0},
              {"LAMB", "optim.lamb_variant=seed", 0},  {"LAMB", "optim.lamb_variant=apex", 1}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    dpt_config_t c;
    opt_hparams_t hp;
    char opt[64];
    snprintf(opt, sizeof opt, "model.optimizer=%s", want[i].opt);
    const char *sets[] = {opt, want[i].variant, "optim.exclude_1d=true"};
    for (int n = 2; n <= 3; n++) {
      CHECK_OK(config_load_string(&c, "", "t.yaml", sets, n));
      opt_hparams_for(&hp, &c.optim, c.optimizer);
      if (hp.exclude_1d != (n == 3 ? 1 : want[i].excludes))
        test_failed(__FILE__, __LINE__, "%s %s%s: exclude_1d %d", want[i].opt, want[i].variant,
                    n == 3 ? " exclude_1d=true" : "", hp.exclude_1d);
    }
  }
  /* The seed's LARS from `lars_variant: seed` alone, by hand on the bias: w = (0.1, -0.2),
   * g = (0.05, -0.1), wd 1e-3, lr 0.1: d = g + wd*w = 1.002*g (w = 2g), |d| =
   * 1.002*0.05*sqrt(5), |w| = sqrt(0.05); trust = 0.3*|w|/(|d| + 1e-6) = 0.599; buf =
   * lr*trust*d; w -= buf: (0.0970, -0.1940). Excluded, the bias would take w - lr*g =
   * (0.095, -0.19). */
  dpt_config_t c;
  opt_hparams_t hp;
  const char *seed[] = {"model.optimizer=LARS", "optim.lars_variant=seed"};
  CHECK_OK(config_load_string(&c, "", "t.yaml", seed, 2));
  opt_hparams_for(&hp, &c.optim, c.optimizer);
  nn_model_t m;
  opt_state_t st;
  float w[N], g[N] = {0};
  tiny_model(&m);
  memcpy(w, W0, sizeof w);
  g[8] = 0.05f, g[9] = -0.1f;
  opt_state_init(&st, N, OPT_LARS);
  CHECK_OK(opt_step(&hp, &m, w, g, &st, 0.1));
  double d0 = 0.05 + 1e-3 * 0.1, d1 = -0.1 - 1e-3 * 0.2;
  double trust = 0.3 * sqrt(0.05) / (sqrt(d0 * d0 + d1 * d1) + 1e-6);
  /* float32 inputs (0.1f, 0.05f, ...) differ from these decimals by ~1e-8 relative */
  CHECK_NEAR(w[8], 0.1 - 0.1 * trust * d0, 1e-7);
  CHECK_NEAR(w[9], -0.2 - 0.1 * trust * d1, 1e-7);
  opt_state_free(&st);
}

TEST(lars_larc_clip) {
  opt_hparams_t hp = hparams(OPT_LARS, 0.01, 1);
  hp.lars_variant = LARS_LARC;
  hp.larc_clip = 1;
  hp.trust_coefficient = 0.02;
  run_lars(__LINE__, &hp, W0, 0.1);  /* trust/lr < 1: clipped ratio used */
  run_lars(__LINE__, &hp, W0, 1e-3); /* trust/lr > 1 for the weight: min() gives 1 */
}

TEST(lars_zero_weights_and_zero_gradient_give_trust_one) {
  float wz[N] = {0};
  for (int v = LARS_PAPER; v <= LARS_SEED; v++) {
    opt_hparams_t hp = hparams(OPT_LARS, 0.01, 0);
    hp.lars_variant = v;
    run_lars(__LINE__, &hp, wz, 0.1);
  }
  /* Hand values, paper, first step: a zero weight tensor takes the plain SGD step
   * (trust 1): w = 0 - lr*g; a zero gradient with wd 0 leaves w unchanged. */
  nn_model_t m;
  opt_state_t st;
  opt_hparams_t hp = hparams(OPT_LARS, 0.0, 0);
  float w[N] = {0}, g[N] = {0};
  tiny_model(&m);
  w[8] = 0.5f, w[9] = -0.5f; /* bias nonzero, its gradient zero */
  g[0] = 0.25f;              /* weight zero, its gradient nonzero */
  opt_state_init(&st, N, OPT_LARS);
  CHECK_OK(opt_step(&hp, &m, w, g, &st, 0.1));
  CHECK_NEAR(w[0], -0.025, 1e-8);
  CHECK(w[1] == 0 && w[8] == 0.5f && w[9] == -0.5f);
  opt_state_free(&st);
}

TEST(lars_hand_values_first_step) {
  /* paper, one tensor of [3, 4] (|w| = 5), g = [0.6, 0.8] (|g| = 1), wd 0, eta 0.001:
   * trust = 0.001*5/(1 + 1e-8); w = w - 0.1*trust*g. */
  nn_model_t m;
  opt_state_t st;
  opt_hparams_t hp = hparams(OPT_LARS, 0.0, 1);
  memset(&m, 0, sizeof m);
  m.ntensors = 1;
  m.tensors[0].size = 2;
  float w[2] = {3, 4}, g[2] = {0.6f, 0.8f};
  double trust = 0.005 / (1 + 1e-8);
  opt_state_init(&st, 2, OPT_LARS);
  CHECK_OK(opt_step(&hp, &m, w, g, &st, 0.1));
  CHECK_NEAR(w[0], 3 - 0.1 * trust * 0.6, 1e-7);
  CHECK_NEAR(w[1], 4 - 0.1 * trust * 0.8, 1e-7);
  /* larc's first step: the buffer is d = trust*g itself, not lr*trust*g */
  hp.lars_variant = LARS_LARC;
  float w2[2] = {3, 4};
  opt_state_free(&st);
  opt_state_init(&st, 2, OPT_LARS);
  st.m[0] = st.m[1] = 9; /* stale: the first step must not read it */
  CHECK_OK(opt_step(&hp, &m, w2, g, &st, 0.1));
  CHECK_NEAR(st.m[0], trust * 0.6, 1e-9);
  CHECK_NEAR(st.m[1], trust * 0.8, 1e-9);
  CHECK_NEAR(w2[1], 4 - 0.1 * trust * 0.8, 1e-7);
  /* seed: trust = 0.3*5/(1 + 1e-6) */
  hp.lars_variant = LARS_SEED;
  float w3[2] = {3, 4};
  opt_state_free(&st);
  opt_state_init(&st, 2, OPT_LARS);
  CHECK_OK(opt_step(&hp, &m, w3, g, &st, 0.1));
  CHECK_NEAR(w3[0], 3 - 0.1 * 1.5 / (1 + 1e-6) * 0.6, 1e-7);
  opt_state_free(&st);
}

/* ---- LAMB reference: spec/algorithms.md, "LAMB likewise" ---- */
static void lamb_ref(const opt_hparams_t *hp, double *w, double *m, double *v, const float *gf,
                     int t, double lr) {
  const double b1 = hp->beta1, b2 = hp->beta2, eps = hp->lamb_eps;
  double G = 0, scale = 1;
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < SIZE[k]; i++) G += (double)gf[OFF[k] + i] * gf[OFF[k] + i];
  G = sqrt(G);
  if (hp->lamb_variant == LAMB_APEX) scale = 1 / fmax(1, G);
  if (hp->lamb_variant == LAMB_SEED) scale = fmin(1, 1 / (G + 1e-6));
  for (int k = 0; k < 2; k++) {
    double *wk = w + OFF[k], *mk = m + OFF[k], *vk = v + OFF[k], u[6];
    size_t n = SIZE[k];
    int skip = hp->exclude_1d && BIAS[k];
    double wd = skip ? 0 : hp->weight_decay;
    for (size_t i = 0; i < n; i++) {
      double g = scale * gf[OFF[k] + i];
      mk[i] = b1 * mk[i] + (1 - b1) * g;
      vk[i] = b2 * vk[i] + (1 - b2) * g * g;
      double mh = mk[i], vh = vk[i];
      if (hp->lamb_variant != LAMB_SEED) mh /= 1 - pow(b1, t), vh /= 1 - pow(b2, t);
      u[i] = mh / (sqrt(vh) + eps) + wd * wk[i];
    }
    double wn = dnorm(wk, n), un = dnorm(u, n), trust = 1;
    int use = !skip && (hp->lamb_variant == LAMB_PAPER || wd != 0);
    if (use && wn > 0 && un > 0) {
      double z = wn;
      if (hp->clamp_lower > 0) z = fmax(z, hp->clamp_lower);
      if (hp->clamp_upper > 0) z = fmin(z, hp->clamp_upper);
      trust = z / un;
    }
    for (size_t i = 0; i < n; i++) wk[i] -= lr * trust * u[i];
  }
}

static void run_lamb(int line, const opt_hparams_t *hp, const float *w0, double gscale,
                     double lr) {
  nn_model_t mo;
  opt_state_t st;
  float w[N], g[N];
  double wr[N], mr[N] = {0}, vr[N] = {0};
  tiny_model(&mo);
  opt_state_init(&st, N, OPT_LAMB);
  memcpy(w, w0, sizeof w);
  for (int i = 0; i < N; i++) wr[i] = w0[i];
  for (int t = 1; t <= STEPS; t++) {
    for (int i = 0; i < N; i++) g[i] = (float)(gscale * GRADS[t - 1][i]);
    if (opt_step(hp, &mo, w, g, &st, lr) < 0)
      test_failed(__FILE__, line, "opt_step: %s", dpt_errmsg());
    lamb_ref(hp, wr, mr, vr, g, t, lr);
    for (int i = 0; i < N; i++) {
      double tol = 2e-6 * (fabs(wr[i]) > 1 ? fabs(wr[i]) : 1);
      if (!(fabs(w[i] - wr[i]) <= tol) || !(fabs(st.m[i] - mr[i]) <= 1e-6 * gscale) ||
          !(fabs(st.v[i] - vr[i]) <= 1e-6 * gscale * gscale))
        test_failed(__FILE__, line, "variant %d step %d w[%d] = %.9g, expected %.9g",
                    hp->lamb_variant, t, i, w[i], wr[i]);
    }
  }
  CHECK(w[6] == w0[6] && w[7] == w0[7]);
  CHECK(st.m[6] == 0 && st.v[7] == 0);
  opt_state_free(&st);
}

TEST(lamb_each_variant_three_steps_match_double_reference) {
  float wz[N] = {0};
  for (int v = LAMB_PAPER; v <= LAMB_SEED; v++)
    for (int ex = 0; ex <= 1; ex++)
      for (int wdi = 0; wdi < 2; wdi++) {
        opt_hparams_t hp = hparams(OPT_LAMB, wdi ? 0.01 : 0.0, ex);
        hp.lamb_variant = v;
        run_lamb(__LINE__, &hp, W0, 1.0, 0.01);  /* G ~ 1.2 (padding excluded; ~10 with it) */
        run_lamb(__LINE__, &hp, W0, 0.1, 0.01);  /* G < 1: no clipping */
        run_lamb(__LINE__, &hp, W0, 20.0, 0.01); /* G >> 1 */
        run_lamb(__LINE__, &hp, wz, 1.0, 0.01);  /* zero weights: trust 1 */
      }
}

TEST(lamb_phi_clamp) {
  opt_hparams_t hp = hparams(OPT_LAMB, 0.01, 1);
  hp.clamp_lower = 2.0; /* |w| ~ 1.5 is raised to 2 */
  run_lamb(__LINE__, &hp, W0, 1.0, 0.01);
  hp.clamp_lower = 0;
  hp.clamp_upper = 0.5; /* ... or cut to 0.5 */
  run_lamb(__LINE__, &hp, W0, 1.0, 0.01);
}

TEST(lamb_hand_values_first_step) {
  /* paper, one tensor [3, 4], g = [0.6, 0.8], wd 0: after bias correction mh = g and
   * vh = g^2, so u = g/(|g| + eps) elementwise = sign(g)*|g_i|/(|g_i| + 1e-6);
   * trust = |w|/|u| = 5/|u|, w = w - lr*5*u/|u|. */
  nn_model_t m;
  opt_state_t st;
  opt_hparams_t hp = hparams(OPT_LAMB, 0.0, 1);
  memset(&m, 0, sizeof m);
  m.ntensors = 1;
  m.tensors[0].size = 2;
  float w[2] = {3, 4}, g[2] = {0.6f, 0.8f};
  double u0 = 0.6 / (0.6 + 1e-6), u1 = 0.8 / (0.8 + 1e-6), un = sqrt(u0 * u0 + u1 * u1);
  opt_state_init(&st, 2, OPT_LAMB);
  CHECK_OK(opt_step(&hp, &m, w, g, &st, 0.01));
  CHECK_NEAR(w[0], 3 - 0.01 * 5 * u0 / un, 1e-6);
  CHECK_NEAR(w[1], 4 - 0.01 * 5 * u1 / un, 1e-6);
  /* a zero gradient: u = wd*w, trust = |w|/(wd*|w|) = 1/wd, so w = w - lr*w */
  hp.weight_decay = 0.1;
  float w2[2] = {3, 4}, gz[2] = {0, 0};
  opt_state_free(&st);
  opt_state_init(&st, 2, OPT_LAMB);
  CHECK_OK(opt_step(&hp, &m, w2, gz, &st, 0.01));
  CHECK_NEAR(w2[0], 3 * (1 - 0.01), 1e-6);
  CHECK_NEAR(w2[1], 4 * (1 - 0.01), 1e-6);
  opt_state_free(&st);
}

TEST(adamw_through_opt_step_three_steps) {
  opt_hparams_t hp = hparams(OPT_ADAMW, 0.01, 1);
  opt_state_t st;
  float w[N];
  double wr[N], mr[N] = {0}, vr[N] = {0};
  const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
  memcpy(w, W0, sizeof w);
  for (int i = 0; i < N; i++) wr[i] = W0[i];
  opt_state_init(&st, N, OPT_ADAMW);
  for (int t = 1; t <= STEPS; t++) {
    CHECK_OK(opt_step(&hp, NULL, w, GRADS[t - 1], &st, lr)); /* needs no tensor list */
    for (int i = 0; i < N; i++) {
      double g = GRADS[t - 1][i];
      wr[i] -= lr * wd * wr[i]; /* decoupled decay on every element, biases too */
      mr[i] = b1 * mr[i] + (1 - b1) * g;
      vr[i] = b2 * vr[i] + (1 - b2) * g * g;
      double mh = mr[i] / (1 - pow(b1, t)), vh = vr[i] / (1 - pow(b2, t));
      wr[i] -= lr * mh / (sqrt(vh) + eps);
      CHECK_NEAR(w[i], wr[i], 1e-6);
    }
  }
  /* zero weight, zero gradient: stays 0 (m = v = 0, 0/(0 + eps) = 0) */
  float wz[1] = {0}, gz[1] = {0}, mz[1] = {0}, vz[1] = {0};
  opt_adamw_step(1, wz, gz, mz, vz, 1, lr, b1, b2, eps, wd);
  CHECK(wz[0] == 0);
  opt_state_free(&st);
}

TEST(lars_lamb_need_the_tensor_list) {
  opt_hparams_t hp = hparams(OPT_LARS, 0.01, 1);
  opt_state_t st;
  float w[N] = {0};
  opt_state_init(&st, N, OPT_LARS);
  CHECK_FAILS(opt_step(&hp, NULL, w, GRADS[0], &st, 0.1));
  CHECK(st.t == 0); /* a refused step is not counted */
  opt_state_free(&st);
  hp.kind = OPT_LAMB;
  opt_state_init(&st, N, OPT_LAMB);
  CHECK_FAILS(opt_step(&hp, NULL, w, GRADS[0], &st, 0.1));
  opt_state_free(&st);
}


/* The trainer's call: the config's rate, rule and reference batch. */
static double base_lr(const dpt_config_t *c, int batch) {
  return opt_base_lr(c->learning_rate, c->lr_scaling, c->lr_ref_batch, batch);
}

TEST(lr_scaling_rules) {
  dpt_config_t c;
  config_defaults(&c);
  CHECK(c.lr_scaling == LR_SCALE_NONE && c.lr_ref_batch == 64);
  c.learning_rate = 0.01;
  CHECK_NEAR(base_lr(&c, 4096), 0.01, 1e-15);
  c.lr_scaling = LR_SCALE_LINEAR;
  CHECK_NEAR(base_lr(&c, 4096), 0.64, 1e-15);
  CHECK_NEAR(base_lr(&c, 32), 0.005, 1e-15);
  c.lr_scaling = LR_SCALE_SQRT;
  CHECK_NEAR(base_lr(&c, 4096), 0.08, 1e-15);
  CHECK_NEAR(base_lr(&c, 128), 0.01 * sqrt(2.0), 1e-15);
  c.lr_ref_batch = 256;
  CHECK_NEAR(base_lr(&c, 1024), 0.02, 1e-15);
  /* the warm-up then starts from 0.1 x the scaled lr */
  CHECK_NEAR(sched_lr(base_lr(&c, 1024), 0, 10, 2, SCHED_COSINE), 0.002, 1e-15);
}

TEST(large_batch_config_keys) {
  dpt_config_t c;
  config_defaults(&c);
  CHECK(c.optim.lars_variant == LARS_PAPER && c.optim.lamb_variant == LAMB_PAPER);
  CHECK(c.optim.trust_coefficient == 0.001 && c.optim.lars_eps == 1e-8 && c.optim.lamb_eps == 1e-6);
  CHECK(c.optim.exclude_1d == -1 && c.optim.larc_clip == 0); /* auto */
  CHECK(c.optim.clamp_lower == 0 && c.optim.clamp_upper == 0);
  CHECK(c.dynamic.h_min == 4 && c.dynamic.h_max == 64 && c.dynamic.steepness == 0.5);
  CHECK(c.dynamic.midpoint == -1.0 && c.dynamic.dev_lower < c.dynamic.dev_upper);
  const char *sets[] = {"optim.lars_variant=larc", "optim.lamb_variant=SEED",
                        "optim.lr_scaling=sqrt", "optim.exclude_1d=false",
                        "model.work.dynamic.sigmoid_midpoint=60",
                        "model.work.dynamic.strategy=AvgLossLS",
                        "model.work.dynamic.n_losses=4"};
  CHECK_OK(config_load_string(&c, "model:\n  epochs: 10\n", "t.yaml", sets, 7));
  CHECK(c.optim.lars_variant == LARS_LARC && c.optim.lamb_variant == LAMB_SEED);
  CHECK(c.lr_scaling == LR_SCALE_SQRT && !c.optim.exclude_1d && c.dynamic.midpoint == 60);
  /* the resolved YAML reads back to the same config, "auto" included */
  const char *auto_mid[] = {"model.work.dynamic.sigmoid_midpoint=auto"};
  CHECK_OK(config_load_string(&c, "", "t.yaml", auto_mid, 1));
  CHECK(c.dynamic.midpoint == -1.0);
  char *yaml = config_to_yaml(&c);
  dpt_config_t back;
  CHECK_OK(config_load_string(&back, yaml, "resolved", NULL, 0));
  CHECK(memcmp(&c, &back, sizeof c) == 0);
  dpt_free(yaml);
  /* cross-key rules */
  const char *odd[] = {"model.work.dynamic.strategy=AvgLossLS"};
  CHECK_FAILS(config_load_string(&c, "", "t.yaml", odd, 1)); /* n_losses 3 is odd */
  const char *bounds[] = {"model.work.dynamic.h_min=32", "model.work.dynamic.h_max=16"};
  CHECK_FAILS(config_load_string(&c, "", "t.yaml", bounds, 2));
  const char *dev[] = {"model.work.dynamic.deviation_lower=0.1",
                       "model.work.dynamic.deviation_upper=0.01"};
  CHECK_FAILS(config_load_string(&c, "", "t.yaml", dev, 2));
  const char *clamp[] = {"optim.lamb_clamp_lower=2", "optim.lamb_clamp_upper=1"};
  CHECK_FAILS(config_load_string(&c, "", "t.yaml", clamp, 2));
  const char *bad[] = {"optim.lars_variant=nvidia"};
  CHECK_FAILS(config_load_string(&c, "", "t.yaml", bad, 1));
  CHECK(strstr(dpt_errmsg(), "paper, larc, seed") != NULL);
}
