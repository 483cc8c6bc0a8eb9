/* test_compress_reference.c - dpt's PowerSGD and top-k against the oracles in
 * tests/reference/compress.h5 (make_compress_reference.py: PyTorch 1.13's own
 * powerSGD_hook over a real gloo group of 2, and top-k with error feedback in float64),
 * on the seed LeNet's tensors. The inputs come from a formula both sides compute exactly
 * (compress_input); the first PowerSGD Q is the file's, put into dpt's state as a warm
 * start, as the script put it into the hook's.
 *
 * Tolerances. Top-k: every input is a multiple of 2^-12 below 2^20 in size, so every
 * float32 sum of inputs and residuals here is exact and the mean is one correctly rounded
 * division by 3, the float64 result rounded once: dpt must match bit for bit. PowerSGD:
 * the hook's float32 mean is within f32_vs_f64_rel (7.2e-6 when written) of its own
 * float64 run, relative to each tensor's RMS; dpt (float32 values, float64 sums) must be
 * within 4x that of the hook's float32 mean, and so must its residuals (the exact input
 * minus that mean: the same error), both relative to the mean's RMS per tensor. Observed
 * when written: dpt's mean 5.1e-6 from the hook's. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/comm/compress.h"
#include "../../src/core/err.h"
#include "../../src/core/rng.h"
#include "../../src/h5/h5util.h"
#include "../../src/nn/model.h"
#include "test.h"

#define CREF_PATH "tests/reference/compress.h5"
#define CREF_TENSORS 10

/* the script's h(): rng_mix chained over the parts */
static uint64_t hmix(int n, const uint64_t *p) {
  uint64_t z = rng_mix(p[0]);
  for (int i = 1; i < n; i++) z = rng_mix(z ^ p[i]);
  return z;
}

/* The script's input of participant k in round t for tensor T (rows x cols, 1-D when
 * is_bias) into out: exact float32 values. */
static void compress_input(int T, const nn_tensor_t *ts, int k, int t, float *out) {
  size_t cols = ts->is_bias ? 1 : (size_t)ts->fan_in;
  for (size_t i = 0; i < ts->size; i++) {
    uint64_t pn[5] = {3, (uint64_t)k, (uint64_t)t, (uint64_t)T, i};
    int64_t v = (int64_t)(hmix(5, pn) % 2049) - 1024;
    for (int c = 0; c < 6 && !ts->is_bias; c++) {
      uint64_t pu[4] = {1, (uint64_t)T, (uint64_t)c, i / cols}, pv[4] = {2, (uint64_t)T, (uint64_t)c, i % cols};
      v += ((int64_t)(hmix(4, pu) % 17) - 8) * ((int64_t)(hmix(4, pv) % 17) - 8) * (1 << (12 - c));
    }
    out[i] = (float)v * 0x1p-12f;
  }
}

typedef struct {
  nn_model_t m;
  int64_t rounds, nsample;
  int64_t *sample;   /* indices into the concatenated tensors */
  size_t *flat;      /* the same in dpt's flat layout */
  int *tensor;       /* the tensor of each sample */
} cref_t;

static int cref_load(cref_t *r, hid_t f) {
  int rank;
  hsize_t dims[4];
  int64_t sizes[CREF_TENSORS];
  TRY(h5_read_attr_i64(f, "rounds", &r->rounds));
  TRY(h5_dataset_dims(f, "sizes", &rank, dims));
  if (dims[0] != CREF_TENSORS) TRY(dpt_fail("sizes: %llu tensors", (unsigned long long)dims[0]));
  TRY(h5_read_rows(f, "sizes", H5T_NATIVE_INT64, CREF_TENSORS, sizes));
  for (int i = 0; i < CREF_TENSORS; i++)
    if ((size_t)sizes[i] != r->m.tensors[i].size) TRY(dpt_fail("tensor %d: size %lld", i, (long long)sizes[i]));
  TRY(h5_dataset_dims(f, "sample_index", &rank, dims));
  r->nsample = (int64_t)dims[0];
  r->sample = dpt_alloc(sizeof(int64_t) * dims[0]);
  r->flat = dpt_alloc(sizeof(size_t) * dims[0]);
  r->tensor = dpt_alloc(sizeof(int) * dims[0]);
  TRY(h5_read_rows(f, "sample_index", H5T_NATIVE_INT64, dims[0], r->sample));
  for (int64_t j = 0; j < r->nsample; j++) {
    int64_t at = r->sample[j];
    int T = 0;
    while (T < CREF_TENSORS - 1 && at >= sizes[T]) at -= sizes[T++];
    r->tensor[j] = T;
    r->flat[j] = r->m.tensors[T].offset + (size_t)at;
  }
  return 0;
fail:
  return -1;
}

/* a group's samples and norms: out (rounds, nsample), residual (rounds, K, nsample),
 * out_norm (rounds, T), the L2 norm of each whole tensor of the mean */
typedef struct {
  float *out, *res;
  double *out_norm;
} cref_run_t;

static int run_load(hid_t f, const char *group, const cref_t *r, int K, cref_run_t *run) {
  hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
  if (g < 0) return dpt_fail("no group /%s", group);
  run->out = dpt_alloc(sizeof(float) * (size_t)(r->rounds * r->nsample));
  run->res = dpt_alloc(sizeof(float) * (size_t)(r->rounds * K * r->nsample));
  run->out_norm = dpt_alloc(sizeof(double) * (size_t)r->rounds * CREF_TENSORS);
  int rc = h5_read_rows(g, "out", H5T_NATIVE_FLOAT, (hsize_t)r->rounds, run->out);
  if (rc == 0) rc = h5_read_rows(g, "residual", H5T_NATIVE_FLOAT, (hsize_t)r->rounds, run->res);
  if (rc == 0) rc = h5_read_rows(g, "out_norm", H5T_NATIVE_DOUBLE, (hsize_t)r->rounds, run->out_norm);
  H5Gclose(g);
  return rc;
}

static void run_free(cref_run_t *run) {
  dpt_free(run->out), dpt_free(run->res), dpt_free(run->out_norm);
}

/* the largest |dpt - ref| over the samples, each divided by the RMS of its tensor (from
 * the reference's norms; tol 0: bitwise) */
static double worst(const cref_t *r, const float *dpt, const float *ref, const double *norm) {
  double w = 0;
  for (int64_t j = 0; j < r->nsample; j++) {
    double rms = norm[r->tensor[j]] / sqrt((double)r->m.tensors[r->tensor[j]].size);
    double d = fabs((double)dpt[r->flat[j]] - ref[j]);
    if (d > 0) w = fmax(w, rms > 0 ? d / rms : INFINITY);
  }
  return w;
}

/* the largest |norm - ref| / ref over the tensors: every entry of the mean counts */
static double worst_norm(const cref_t *r, const float *out, const double *ref) {
  double w = 0;
  for (int T = 0; T < CREF_TENSORS; T++) {
    const nn_tensor_t *ts = &r->m.tensors[T];
    double ss = 0;
    for (size_t i = 0; i < ts->size; i++) ss += (double)out[ts->offset + i] * out[ts->offset + i];
    if (ref[T] > 0) w = fmax(w, fabs(sqrt(ss) - ref[T]) / ref[T]);
  }
  return w;
}

/* K participants through `rounds` rounds of c; the worst deviations of the mean and of
 * the residuals from run, both relative to the mean's RMS per tensor (a residual is the
 * exact input minus the mean, so its error is the mean's) */
static void replay(const cref_t *r, comm_ctx_t *c, int K, const cref_run_t *run, double *wout,
                   double *wres, double *wnorm) {
  comm_peer_t *peers = dpt_alloc(sizeof(comm_peer_t) * (size_t)K);
  float **x = dpt_alloc(sizeof(float *) * (size_t)K), *out = dpt_alloc(sizeof(float) * r->m.nparams);
  for (int k = 0; k < K; k++) comm_peer_init(&peers[k], c), x[k] = dpt_alloc(sizeof(float) * r->m.nparams);
  *wout = *wres = *wnorm = 0;
  for (int t = 0; t < r->rounds; t++) {
    for (int k = 0; k < K; k++)
      for (int T = 0; T < CREF_TENSORS; T++)
        compress_input(T, &r->m.tensors[T], k, t, x[k] + r->m.tensors[T].offset);
    CHECK_OK(comm_compress_mean(c, peers, K, (const float *const *)x, out));
    *wout = fmax(*wout, worst(r, out, run->out + t * r->nsample, run->out_norm + t * CREF_TENSORS));
    *wnorm = fmax(*wnorm, worst_norm(r, out, run->out_norm + t * CREF_TENSORS));
    for (int k = 0; k < K; k++)
      *wres = fmax(*wres, worst(r, peers[k].buf[0], run->res + (t * K + k) * r->nsample,
                                run->out_norm + t * CREF_TENSORS));
  }
  for (int k = 0; k < K; k++) comm_peer_free(&peers[k]), dpt_free(x[k]);
  dpt_free(peers), dpt_free(x), dpt_free(out);
}

static int read_rel(hid_t f, double *rel) {
  hid_t g = H5Gopen2(f, "powersgd", H5P_DEFAULT);
  if (g < 0) return dpt_fail("no group /powersgd");
  int rc = h5_read_attr_f64(g, "f32_vs_f64_rel", rel);
  H5Gclose(g);
  return rc;
}

static int open_ref(cref_t *r, hid_t *f) {
  memset(r, 0, sizeof *r);
  if (nn_model_init(&r->m, NN_LENET, 1, 32, 32, 10, 1) < 0) return -1;
  *f = h5_open_checked(CREF_PATH, "dpt-compress-reference", 1);
  if (*f < 0) return -1;
  return cref_load(r, *f);
}

/* One comparison: the file, a group's run, and dpt's exchange. */
typedef struct {
  cref_t r;
  hid_t f;
  cref_run_t run;
  comm_ctx_t c;
  double wout, wres, wnorm; /* replay's worst deviations */
} cfix_t;

static void close_ref(cfix_t *x) {
  if (x->f >= 0) H5Fclose(x->f);
  dpt_free(x->r.sample), dpt_free(x->r.flat), dpt_free(x->r.tensor);
  nn_model_free(&x->r.m);
  run_free(&x->run);
  comm_ctx_free(&x->c);
}

/* the file, group's run of K participants, and a context for o; -1 reported */
static int setup(cfix_t *x, const char *group, int K, const comm_compress_opts_t *o) {
  memset(x, 0, sizeof *x);
  x->f = -1;
  if (open_ref(&x->r, &x->f) < 0 || run_load(x->f, group, &x->r, K, &x->run) < 0 ||
      comm_ctx_init(&x->c, o, x->r.m.tensors, x->r.m.ntensors, x->r.m.nparams) < 0) {
    test_failed(__FILE__, __LINE__, "%s", dpt_errmsg());
    close_ref(x);
    return -1;
  }
  return 0;
}

TEST(compress_reference_powersgd_matches_pytorch_hook) {
  cfix_t x;
  comm_compress_opts_t o;
  comm_compress_defaults(&o);
  o.kind = COMP_POWERSGD, o.rank = 4, o.start_iter = 2, o.min_rate = 2;
  double rel = 0;
  int rank;
  hsize_t dims[2] = {0};
  if (setup(&x, "powersgd", 2, &o) < 0) return;
  CHECK_OK(read_rel(x.f, &rel));
  CHECK_OK(h5_dataset_dims(x.f, "powersgd/q_init", &rank, dims));
  CHECK(dims[0] == x.c.plan.qlen);
  if (dims[0] == x.c.plan.qlen) {
    CHECK_OK(h5_read_rows(x.f, "powersgd/q_init", H5T_NATIVE_FLOAT, dims[0], x.c.buf[1]));
    x.c.q_ready = 1;
    replay(&x.r, &x.c, 2, &x.run, &x.wout, &x.wres, &x.wnorm);
    if (getenv("DPT_REFERENCE_VERBOSE"))
      printf("powersgd: worst |dpt - hook| / RMS: mean %.3g, residual %.3g, tensor norms %.3g "
             "(hook f32 vs f64 %.3g)\n", x.wout, x.wres, x.wnorm, rel);
    CHECK(x.wout <= 4 * rel && x.wres <= 4 * rel && x.wnorm <= 4 * rel);
  }
  close_ref(&x);
}

TEST(compress_reference_topk_matches_float64_bitwise) {
  cfix_t x;
  comm_compress_opts_t o;
  comm_compress_defaults(&o);
  CHECK_OK(comm_compress_parse("topk:0.01", &o));
  if (setup(&x, "topk", 3, &o) < 0) return;
  replay(&x.r, &x.c, 3, &x.run, &x.wout, &x.wres, &x.wnorm);
  CHECK(x.wout == 0 && x.wres == 0);
  CHECK(x.wnorm <= 1e-6); /* float32 means' norms against float64's: rounding only */
  close_ref(&x);
}
