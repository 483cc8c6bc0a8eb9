/* test_compress.c - the compressors (src/comm/compress.*) on hand-made vectors: exact
 * encode/decode, rounding, ties, zeros, denormals, NaN and Inf refused, the degenerate
 * cases that must be the dense exchange bit for bit, wire counts, the same bits for any
 * split of the participants, and the spellings. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/comm/compress.h"
#include "../../src/comm/compress_impl.h"
#include "../../src/comm/tree.h"
#include "../../src/core/err.h"
#include "test.h"

/* A two-layer toy: l1.weight (4 x 6), l1.bias (4), l2.weight (3 x 4), l2.bias (3), with
 * padding between them as the model's layout has; 80 floats. */
#define TOY_N 80
static const nn_tensor_t toy[4] = {
    {.offset = 0, .size = 24, .fan_in = 6, .is_bias = 0, .name = "l1.weight"},
    {.offset = 32, .size = 4, .fan_in = 6, .is_bias = 1, .name = "l1.bias"},
    {.offset = 48, .size = 12, .fan_in = 4, .is_bias = 0, .name = "l2.weight"},
    {.offset = 64, .size = 3, .fan_in = 4, .is_bias = 1, .name = "l2.bias"}};

/* deterministic values in (-2, 2), some below fp16's precision */
static void fill(float *x, int k, int round) {
  memset(x, 0, sizeof(float) * TOY_N);
  for (int t = 0; t < 4; t++)
    for (size_t i = 0; i < toy[t].size; i++) {
      unsigned h = (unsigned)(i * 2654435761u + (unsigned)k * 40503u + (unsigned)round * 9973u + (unsigned)t * 7919u);
      x[toy[t].offset + i] = ((float)(h % 20001u) - 10000.0f) / 5001.0f;
    }
}

static void opts(comm_compress_opts_t *o, const char *spelling) {
  comm_compress_defaults(o);
  if (comm_compress_parse(spelling, o) < 0) test_failed(__FILE__, __LINE__, "%s", dpt_errmsg());
}

/* rounds of K participants with vectors from fill() (or xs when given), outputs of the
 * last round into out; -1 on the first failing round */
static int run_rounds(const comm_compress_opts_t *o, int K, int rounds, float (*xs)[TOY_N],
                      float *out, comm_ctx_t *c, comm_peer_t *peers) {
  float x[8][TOY_N];
  const float *xp[8];
  DPT_ASSERT(K <= 8);
  if (comm_ctx_init(c, o, toy, 4, TOY_N) < 0) return -1;
  for (int k = 0; k < K; k++) comm_peer_init(&peers[k], c);
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < K; k++) {
      if (xs) memcpy(x[k], xs[k], sizeof x[k]);
      else fill(x[k], k, r);
      xp[k] = x[k];
    }
    if (comm_compress_mean(c, peers, K, xp, out) < 0) return -1;
  }
  return 0;
}

static void release(comm_ctx_t *c, comm_peer_t *peers, int K) {
  for (int k = 0; k < K; k++) comm_peer_free(&peers[k]);
  comm_ctx_free(c);
}

/* the mean of `rounds` rounds under spelling s, K participants (fill's vectors or xs) */
static void mean_of(const char *s, int K, int rounds, float (*xs)[TOY_N], float *out) {
  comm_compress_opts_t o;
  comm_ctx_t c;
  comm_peer_t peers[8];
  opts(&o, s);
  CHECK_OK(run_rounds(&o, K, rounds, xs, out, &c, peers));
  release(&c, peers, K);
}

TEST(compress_spellings_parse_print_and_refuse) {
  const char *good[] = {"none", "fp16", "bf16", "int8", "topk:0.01", "topk:1", "powersgd:4"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    comm_compress_opts_t o;
    char text[64];
    comm_compress_defaults(&o);
    CHECK_OK(comm_compress_parse(good[i], &o));
    comm_compress_text(&o, text, sizeof text);
    CHECK(!strcmp(text, good[i]));
  }
  const char *bad[] = {"", "zip", "topk", "topk:", "topk:0", "topk:1.5", "topk:nan", "topk: 0.1",
                       "topk:0.1x", "powersgd", "powersgd:0", "powersgd:2.5", "powersgd:-1",
                       "fp16:2", "none ", "int8\x1b[2J"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    comm_compress_opts_t o;
    comm_compress_defaults(&o);
    CHECK_FAILS(comm_compress_parse(bad[i], &o));
    CHECK(strstr(dpt_errmsg(), "expected none, fp16, bf16, int8, topk:RATIO (0 < RATIO <= 1) "
                               "or powersgd:RANK (an integer >= 1)"));
    CHECK(!strchr(dpt_errmsg(), '\x1b'));
  }
}

TEST(compress_rows_declare_their_state) {
  CHECK(comm_ncompressors == 6);
  for (int i = 0; i < comm_ncompressors; i++)
    CHECK(comm_compressor_find(comm_compressors[i].name) == &comm_compressors[i]);
  const comm_compressor_t *t = &comm_compressors[COMP_TOPK], *p = &comm_compressors[COMP_POWERSGD];
  CHECK(t->nstate == 1 && t->state[0].scope == COMM_SCOPE_PEER);
  CHECK(p->nstate == 2 && p->state[0].scope == COMM_SCOPE_PEER && p->state[1].scope == COMM_SCOPE_SHARED);
  CHECK(comm_compressors[COMP_INT8].nstate == 0 && comm_compressors[COMP_FP16].nstate == 0);
  comm_compress_opts_t o;
  comm_plan_t pl;
  opts(&o, "powersgd:2");
  CHECK_OK(comm_plan_init(&pl, &o, toy, 4, TOY_N));
  /* l1.weight 4x6 at rank 2: (4+6)*2*2 = 40 > 24, dense; so is everything else */
  CHECK(pl.qlen == 0 && comm_state_len(&pl, 0) == TOY_N && pl.dense_floats == 43);
}

/* --- fp16, bf16 --- */

TEST(compress_fp16_of_representable_values_is_dense) {
  static const float vals[] = {1.5f, -2.0f, 0.25f, 65504.0f, -65504.0f, 0x1p-24f, -0x1p-14f,
                               0.0f, -0.0f, 1000.5f, 3.0f * 0x1p-20f};
  float xs[3][TOY_N], a[TOY_N], b[TOY_N];
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < TOY_N; i++) xs[k][i] = vals[(i + 3 * k) % 11];
  mean_of("none", 3, 1, xs, a);
  mean_of("fp16", 3, 1, xs, b);
  CHECK(!memcmp(a, b, sizeof a));
  mean_of("bf16", 3, 1, xs, b); /* 1000.5 and 65504 are not bf16 values */
  CHECK(memcmp(a, b, sizeof a));
}

TEST(compress_fp16_rounds_to_nearest_even) {
  CHECK(comm_f16_to_f32(comm_f32_to_f16(1.0f + 0x1p-11f)) == 1.0f);
  CHECK(comm_f16_to_f32(comm_f32_to_f16(1.0f + 3 * 0x1p-11f)) == 1.0f + 0x1p-9f);
  CHECK(comm_f16_to_f32(comm_f32_to_f16(0x1p-25f)) == 0.0f);          /* tie to 0 */
  CHECK(comm_f16_to_f32(comm_f32_to_f16(3 * 0x1p-25f)) == 0x1p-23f);  /* tie to even 2 */
  CHECK(comm_f16_to_f32(comm_f32_to_f16(1e-40f)) == 0.0f);             /* a float denormal */
  CHECK(comm_f16_to_f32(comm_f32_to_f16(-0x1.ffcp-15f)) == -0x1p-14f); /* 1023.5 steps: to 1024 */
  CHECK(comm_f16_to_f32(comm_f32_to_f16(65519.0f)) == 65504.0f);
  CHECK(comm_f32_to_f16(65520.0f) == 0x7c00);
#ifdef __FLT16_MAX__
  /* every 97th float bit pattern below fp16's overflow against the compiler's cast */
  for (uint32_t u = 0; u < 0x477ff000u; u += 97) {
    float f;
    memcpy(&f, &u, 4);
    _Float16 h = (_Float16)f;
    uint16_t bits;
    memcpy(&bits, &h, 2);
    if (comm_f32_to_f16(f) != bits || comm_f16_to_f32(bits) != (float)h) {
      CHECK(!"fp16 differs from the compiler's _Float16");
      break;
    }
  }
#endif
}

TEST(compress_bf16_rounds_and_keeps_denormals_it_can) {
  CHECK(comm_bf16_to_f32(comm_f32_to_bf16(1.0f + 0x1p-8f)) == 1.0f);
  CHECK(comm_bf16_to_f32(comm_f32_to_bf16(1.0f + 3 * 0x1p-8f)) == 1.0f + 0x1p-6f);
  CHECK(comm_bf16_to_f32(comm_f32_to_bf16(0x1p-133f)) == 0x1p-133f); /* a denormal */
  CHECK(comm_bf16_to_f32(comm_f32_to_bf16(0x1p-140f)) == 0.0f);
  CHECK(comm_bf16_to_f32(comm_f32_to_bf16(-3.0f)) == -3.0f);
}

TEST(compress_casts_refuse_values_beyond_their_range) {
  float xs[2][TOY_N], out[TOY_N];
  fill(xs[0], 0, 0), fill(xs[1], 1, 0);
  xs[1][48 + 5] = 70000.0f;
  comm_compress_opts_t o;
  comm_ctx_t c;
  comm_peer_t peers[2];
  opts(&o, "fp16");
  CHECK_FAILS(run_rounds(&o, 2, 1, xs, out, &c, peers));
  CHECK(strstr(dpt_errmsg(), "'l2.weight'") && strstr(dpt_errmsg(), "index 5") &&
        strstr(dpt_errmsg(), "round 0") && strstr(dpt_errmsg(), "participant 1") &&
        strstr(dpt_errmsg(), "65504"));
  release(&c, peers, 2);
  xs[1][48 + 5] = FLT_MAX;
  opts(&o, "bf16");
  CHECK_FAILS(run_rounds(&o, 2, 1, xs, out, &c, peers));
  CHECK(strstr(dpt_errmsg(), "bf16") && strstr(dpt_errmsg(), "'l2.weight'"));
  release(&c, peers, 2);
}

/* --- NaN and Inf --- */

TEST(compress_nan_and_inf_are_refused_naming_tensor_and_round) {
  for (int row = 0; row < comm_ncompressors; row++) {
    const char *spell[] = {"none", "fp16", "bf16", "int8", "topk:0.5", "powersgd:1"};
    comm_compress_opts_t o;
    comm_ctx_t c;
    comm_peer_t peers[3];
    float out[TOY_N];
    opts(&o, spell[row]);
    o.start_iter = 0;
    CHECK_OK(run_rounds(&o, 3, 1, NULL, out, &c, peers));
    float x[3][TOY_N];
    const float *xp[3] = {x[0], x[1], x[2]};
    for (int k = 0; k < 3; k++) fill(x[k], k, 1);
    x[2][64 + 1] = row % 2 ? INFINITY : NAN;
    CHECK_FAILS(comm_compress_mean(&c, peers, 3, xp, out));
    const char *m = dpt_errmsg();
    CHECK(strstr(m, "'l2.bias'") && strstr(m, "index 1") && strstr(m, "round 1") &&
          strstr(m, "participant 2") && strstr(m, row % 2 ? "Inf" : "NaN") &&
          strstr(m, comm_compressors[row].name));
    release(&c, peers, 3);
  }
}

/* --- int8 --- */

TEST(compress_int8_exact_on_its_grid_and_zero_on_zeros) {
  float xs[1][TOY_N], out[TOY_N];
  memset(xs, 0, sizeof xs);
  for (int i = 0; i < 24; i++) xs[0][i] = (float)((i * 11) % 255 - 127); /* max 127: scale 1 */
  xs[0][5] = 127.0f;
  for (int i = 0; i < 12; i++) xs[0][48 + i] = (float)(i - 6) * 0.25f; /* scale 6/127: not exact */
  mean_of("int8", 1, 1, xs, out);
  CHECK(!memcmp(out, xs[0], sizeof(float) * 24));
  for (int i = 32; i < 36; i++) CHECK(out[i] == 0.0f && !signbit(out[i])); /* a zero tensor */
  for (int i = 0; i < 12; i++) CHECK(fabsf(out[48 + i] - xs[0][48 + i]) <= 1.5f / 127.0f + 1e-6f);
}

TEST(compress_int8_rounding_is_unbiased_and_keyed_by_round) {
  float xs[1][TOY_N], out[TOY_N], first[TOY_N];
  comm_compress_opts_t o;
  comm_ctx_t c;
  comm_peer_t peer;
  memset(xs, 0, sizeof xs);
  for (int i = 0; i < 24; i++) xs[0][i] = 0.3f + (float)i / 24; /* max < 1.3 */
  opts(&o, "int8");
  o.seed = 7;
  CHECK_OK(comm_ctx_init(&c, &o, toy, 4, TOY_N));
  comm_peer_init(&peer, &c);
  const float *xp[1] = {xs[0]};
  double mean[24] = {0};
  int differ = 0;
  for (int r = 0; r < 4000; r++) {
    CHECK_OK(comm_compress_mean(&c, &peer, 1, xp, out));
    if (r == 0) memcpy(first, out, sizeof out);
    else differ |= memcmp(first, out, sizeof out) != 0;
    for (int i = 0; i < 24; i++) mean[i] += out[i] / 4000.0;
  }
  CHECK(differ);
  double scale = (0.3 + 23.0 / 24) / 127; /* a rounding step: the error's sd is below step/2 */
  for (int i = 0; i < 24; i++) CHECK(fabs(mean[i] - xs[0][i]) < 4 * 0.5 * scale / sqrt(4000.0));
  comm_peer_free(&peer);
  comm_ctx_free(&c);
}

TEST(compress_int8_denormal_chunks_stay_finite_and_close) {
  float xs[1][TOY_N], out[TOY_N];
  memset(xs, 0, sizeof xs);
  for (int i = 0; i < 24; i++) xs[0][i] = (float)(i - 12) * 1e-40f;
  mean_of("int8", 1, 1, xs, out);
  for (int i = 0; i < 24; i++) CHECK(isfinite(out[i]) && fabsf(out[i] - xs[0][i]) <= 1.2e-39f / 127 * 1.01f + 1.5e-45f);
}

/* --- top-k --- */

TEST(compress_topk_ties_go_to_the_lower_index) {
  comm_compress_opts_t o;
  comm_ctx_t c;
  comm_peer_t peer;
  opts(&o, "topk:0.5"); /* l1.bias (4): k 2; l2.bias (3): floor(1.5 + 0.5) = 2 */
  CHECK_OK(comm_ctx_init(&c, &o, toy, 4, TOY_N));
  comm_peer_init(&peer, &c);
  CHECK(c.plan.t[1].k == 2 && c.plan.t[3].k == 2 && c.plan.t[0].k == 12);
  float x[TOY_N] = {0}, out[TOY_N];
  x[32] = 1, x[33] = -3, x[34] = 3, x[35] = -3;      /* l1.bias: 33 and 34 */
  x[64] = -0.5f, x[65] = 0.5f, x[66] = 0.5f;         /* l2.bias: 64 and 65 */
  const float *xp[1] = {x};
  CHECK_OK(comm_compress_mean(&c, &peer, 1, xp, out));
  CHECK(out[32] == 0 && out[33] == -3 && out[34] == 3 && out[35] == 0);
  CHECK(out[64] == -0.5f && out[65] == 0.5f && out[66] == 0);
  CHECK(peer.buf[0][32] == 1 && peer.buf[0][35] == -3 && peer.buf[0][33] == 0 && peer.buf[0][66] == 0.5f);
  /* the payload: values then indices in increasing order */
  comm_round_begin(&c);
  comm_wire_t w;
  comm_wire(&c, 0, &w);
  uint8_t *p = malloc(w.bytes);
  memset(peer.buf[0], 0, sizeof(float) * TOY_N);
  CHECK_OK(comm_encode(&c, &peer, 0, 0, x, p));
  uint32_t idx[2];
  float val[2];
  memcpy(val, p + c.plan.t[1].b_off, 8);
  memcpy(idx, p + c.plan.t[1].b_off + 8, 8);
  CHECK(idx[0] == 1 && idx[1] == 2 && val[0] == -3 && val[1] == 3);
  free(p);
  comm_peer_free(&peer);
  comm_ctx_free(&c);
}

TEST(compress_topk_zeros_and_denormals) {
  float xs[1][TOY_N], out[TOY_N];
  memset(xs, 0, sizeof xs);
  xs[0][32] = 1e-40f, xs[0][33] = 3e-41f, xs[0][34] = -2e-40f; /* l1.bias, k 1 at 0.25 */
  comm_compress_opts_t o;
  comm_ctx_t c;
  comm_peer_t peer;
  opts(&o, "topk:0.25");
  CHECK_OK(run_rounds(&o, 1, 1, xs, out, &c, &peer));
  CHECK(out[34] == -2e-40f && out[32] == 0 && out[33] == 0);
  CHECK(peer.buf[0][32] == 1e-40f && peer.buf[0][34] == 0);
  for (int i = 0; i < 24; i++) CHECK(out[i] == 0 && peer.buf[0][i] == 0); /* all zeros */
  release(&c, &peer, 1);
}

TEST(compress_topk_ratio_one_with_error_feedback_is_dense) {
  float a[TOY_N], b[TOY_N];
  for (int rounds = 1; rounds <= 4; rounds++) {
    mean_of("none", 3, rounds, NULL, a);
    mean_of("topk:1", 3, rounds, NULL, b);
    CHECK(!memcmp(a, b, sizeof a));
  }
}

TEST(compress_topk_error_feedback_loses_nothing) {
  /* dyadic inputs: every sum exact, so what was sent plus what is kept is the input */
  comm_compress_opts_t o;
  comm_ctx_t c;
  comm_peer_t peer;
  opts(&o, "topk:0.1");
  CHECK_OK(comm_ctx_init(&c, &o, toy, 4, TOY_N));
  comm_peer_init(&peer, &c);
  float x[TOY_N], out[TOY_N];
  double sent[TOY_N] = {0}, in[TOY_N] = {0};
  const float *xp[1] = {x};
  for (int r = 0; r < 6; r++) {
    fill(x, 0, r);
    for (int i = 0; i < TOY_N; i++) x[i] = roundf(x[i] * 1024) / 1024, in[i] += x[i];
    CHECK_OK(comm_compress_mean(&c, &peer, 1, xp, out));
    for (int i = 0; i < TOY_N; i++) sent[i] += out[i];
  }
  for (int i = 0; i < TOY_N; i++) CHECK(sent[i] + peer.buf[0][i] == in[i]);
  comm_peer_free(&peer);
  comm_ctx_free(&c);
}

/* --- PowerSGD --- */

TEST(compress_powersgd_warmup_is_dense) {
  comm_compress_opts_t o;
  comm_ctx_t c;
  comm_peer_t peers[3];
  float a[TOY_N], b[TOY_N];
  opts(&o, "powersgd:1");
  o.start_iter = 3;
  for (int rounds = 1; rounds <= 3; rounds++) {
    mean_of("none", 3, rounds, NULL, a);
    CHECK_OK(run_rounds(&o, 3, rounds, NULL, b, &c, peers));
    CHECK(!memcmp(a, b, sizeof a) && c.q_ready == 0);
    for (int i = 0; i < TOY_N; i++) CHECK(peers[0].buf[0][i] == 0);
    release(&c, peers, 3);
  }
  CHECK_OK(run_rounds(&o, 3, 4, NULL, b, &c, peers)); /* round 3 compresses l1.weight */
  CHECK(memcmp(a, b, sizeof a) && c.q_ready == 1);
  release(&c, peers, 3);
}

TEST(compress_powersgd_recovers_a_rank_one_matrix) {
  /* 8 x 10 = 80 floats: (8 + 10) * 1 * 2 = 36 < 80, compressed at rank 1 */
  static const nn_tensor_t one = {.offset = 0, .size = 80, .fan_in = 10, .is_bias = 0, .name = "w"};
  comm_compress_opts_t o;
  comm_ctx_t c;
  comm_peer_t peers[2];
  opts(&o, "powersgd:1");
  o.start_iter = 0;
  CHECK_OK(comm_ctx_init(&c, &o, &one, 1, 80));
  CHECK(!c.plan.t[0].dense && c.plan.plen == 8 && c.plan.qlen == 10);
  float x[2][80], out[80];
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 10; j++) {
      x[0][i * 10 + j] = (float)(i - 3) * (float)(j + 1) * 0.5f;
      x[1][i * 10 + j] = (float)(i - 3) * (float)(j + 1) * 1.5f; /* the mean: (i-3)(j+1) */
    }
  for (int k = 0; k < 2; k++) comm_peer_init(&peers[k], &c);
  const float *xp[2] = {x[0], x[1]};
  CHECK_OK(comm_compress_mean(&c, peers, 2, xp, out));
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 10; j++) CHECK(fabsf(out[i * 10 + j] - (float)((i - 3) * (j + 1))) <= 1e-4f);
  /* the residual is each participant's distance to the mean, as the hook keeps it */
  CHECK(fabsf(peers[0].buf[0][79] - (x[0][79] - out[79])) <= 1e-5f);
  release(&c, peers, 2);
}

TEST(compress_powersgd_zero_input_stays_zero) {
  comm_compress_opts_t o;
  static const nn_tensor_t one = {.offset = 0, .size = 80, .fan_in = 10, .is_bias = 0, .name = "w"};
  comm_ctx_t c;
  comm_peer_t peer;
  opts(&o, "powersgd:2");
  o.start_iter = 0;
  CHECK_OK(comm_ctx_init(&c, &o, &one, 1, 80));
  comm_peer_init(&peer, &c);
  float x[80] = {0}, out[80];
  const float *xp[1] = {x};
  for (int r = 0; r < 2; r++) CHECK_OK(comm_compress_mean(&c, &peer, 1, xp, out));
  for (int i = 0; i < 80; i++) CHECK(out[i] == 0 && peer.buf[0][i] == 0);
  comm_peer_free(&peer);
  comm_ctx_free(&c);
}

TEST(compress_powersgd_sends_what_the_hook_sends) {
  /* the seed LeNet at rank 4: conv1.weight 64x25, conv2.weight 64x1600, fc1.weight
   * 384x1600, fc2.weight 192x384, fc3.weight 10x192 compressed, the five biases dense:
   * dense 64+64+384+192+10 = 714, P (64+64+384+192+10)*4 = 2856,
   * Q (25+1600+1600+384+192)*4 = 15204: 18774 floats, 75096 bytes a participant */
  nn_model_t m;
  CHECK_OK(nn_model_init(&m, NN_LENET, 1, 32, 32, 10, 1));
  comm_compress_opts_t o;
  comm_ctx_t c;
  opts(&o, "powersgd:4");
  CHECK_OK(comm_ctx_init(&c, &o, m.tensors, m.ntensors, m.nparams));
  comm_wire_t w0, w1;
  CHECK(comm_round_begin(&c) == 1); /* rounds 0..999: the warm-up */
  comm_wire(&c, 0, &w0);
  CHECK(w0.nparts == 1 && w0.part[0].values == 794762 && w0.bytes == 4 * 794762);
  c.rounds = o.start_iter;
  CHECK(comm_round_begin(&c) == 2);
  comm_wire(&c, 0, &w0);
  comm_wire(&c, 1, &w1);
  CHECK(w0.nparts == 2 && w0.part[0].values == 714 && w0.part[1].values == 2856);
  CHECK(w1.nparts == 1 && w1.part[0].values == 15204 && w1.part[0].coll == COMM_ALLREDUCE);
  CHECK(w0.bytes + w1.bytes == 75096);
  comm_ctx_free(&c);
  nn_model_free(&m);
}

/* --- wire counts of the one-stage rows, and the keep list --- */

TEST(compress_wire_counts) {
  struct {
    const char *s, *keep;
    int nparts;
    comm_collective_t coll;
    size_t values, indices, scales, bytes;
  } cases[] = {
      {"none", "", 1, COMM_ALLREDUCE, 43, 0, 0, 172},
      {"fp16", "", 1, COMM_ALLREDUCE, 43, 0, 0, 86},
      {"bf16", "", 1, COMM_ALLREDUCE, 43, 0, 0, 86},
      {"int8", "", 1, COMM_ALLGATHER, 43, 0, 4, 59},
      {"topk:0.1", "", 1, COMM_ALLGATHER, 2 + 1 + 1 + 1, 5, 0, 40},
      {"fp16", "biases", 2, COMM_ALLREDUCE, 36, 0, 0, 28 + 72},
      {"int8", "last", 2, COMM_ALLGATHER, 28, 0, 2, 60 + 28 + 8},
      {"topk:1", "l1,l2.bias", 2, COMM_ALLGATHER, 12, 12, 0, 124 + 96},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    comm_compress_opts_t o;
    comm_ctx_t c;
    comm_wire_t w;
    opts(&o, cases[i].s);
    snprintf(o.keep, sizeof o.keep, "%s", cases[i].keep);
    CHECK_OK(comm_ctx_init(&c, &o, toy, 4, TOY_N));
    CHECK(comm_round_begin(&c) == 1);
    comm_wire(&c, 0, &w);
    const comm_part_t *p = &w.part[w.nparts - 1];
    if (w.nparts != cases[i].nparts || p->coll != cases[i].coll || p->values != cases[i].values ||
        p->indices != cases[i].indices || p->scales != cases[i].scales || w.bytes != cases[i].bytes)
      test_failed(__FILE__, __LINE__, "%s keep '%s': %d parts, last %s %zu/%zu/%zu, %zu bytes",
                  cases[i].s, cases[i].keep, w.nparts, comm_collective_names[p->coll],
                  p->values, p->indices, p->scales, w.bytes);
    if (w.nparts == 2) CHECK(w.part[0].coll == COMM_ALLREDUCE && w.part[0].bytes == 4 * w.part[0].values);
    comm_ctx_free(&c);
  }
}

TEST(compress_keep_list_sends_chosen_tensors_dense) {
  float xs[2][TOY_N], a[TOY_N], b[TOY_N];
  fill(xs[0], 0, 0), fill(xs[1], 1, 0);
  mean_of("none", 2, 1, xs, a);
  comm_compress_opts_t o;
  comm_ctx_t c;
  comm_peer_t peers[2];
  opts(&o, "int8");
  snprintf(o.keep, sizeof o.keep, "biases,last");
  CHECK_OK(run_rounds(&o, 2, 1, xs, b, &c, peers));
  CHECK(!memcmp(a + 32, b + 32, 16) && !memcmp(a + 48, b + 48, 4 * 19)); /* dense: exact */
  CHECK(memcmp(a, b, 4 * 24));                                           /* int8: not */
  release(&c, peers, 2);
  const char *bad[] = {"conv9", "biases,", ",l1", "biases,,l1"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    snprintf(o.keep, sizeof o.keep, "%s", bad[i]);
    CHECK_FAILS(comm_ctx_init(&c, &o, toy, 4, TOY_N));
    CHECK(strstr(dpt_errmsg(), "keep list") && strstr(dpt_errmsg(), bad[i]));
  }
}

/* --- the same bits for any split of the participants --- */

typedef struct {
  const comm_ctx_t *c;
  int s;
  uint8_t **payload;
} leaf_t;

static void leaf(void *ctx, int64_t k, float *out) {
  const leaf_t *l = ctx;
  comm_decode(l->c, l->s, l->payload[k], out);
}

/* one round as P ranks would do it: participants encoded last to first, each rank
 * summing the tree nodes of its block, the nodes then combined in the tree's order */
static int split_round(comm_ctx_t *c, comm_peer_t *peers, int K, const float *const *x, int P,
                       float *out) {
  int stages = comm_round_begin(c);
  for (int s = 0; s < stages; s++) {
    comm_wire_t w;
    comm_wire(c, s, &w);
    uint8_t *payload[8];
    for (int k = K - 1; k >= 0; k--) {
      payload[k] = malloc(w.bytes + 1);
      if (comm_encode(c, &peers[k], k, s, x[k], payload[k]) < 0) return -1;
    }
    tree_node_t nodes[64];
    float *sums[64];
    int count = 0;
    tree_t tr;
    tree_init(&tr, w.sum_len, K);
    leaf_t l = {c, s, payload};
    for (int r = 0; r < P; r++) {
      int got = tree_cover(K, (int64_t)r * K / P, (int64_t)(r + 1) * K / P, nodes + count);
      for (int j = count; j < count + got; j++) {
        sums[j] = malloc(sizeof(float) * w.sum_len);
        tree_sum(&tr, nodes[j].lo, nodes[j].hi, leaf, &l, sums[j]);
      }
      count += got;
    }
    tree_combine(K, nodes, count, sums, w.sum_len);
    comm_stage_done(c, s, sums[0], K);
    for (int j = 0; j < count; j++) free(sums[j]);
    for (int k = 0; k < K; k++) free(payload[k]);
    tree_free(&tr);
  }
  comm_finish(c, K, out);
  for (int k = 0; k < K; k++) comm_peer_finish(c, &peers[k], out);
  comm_round_end(c);
  return 0;
}

TEST(compress_every_row_gives_the_same_bits_on_any_split) {
  const char *spell[] = {"none", "fp16", "bf16", "int8", "topk:0.2", "powersgd:1"};
  static const nn_tensor_t one[2] = {
      {.offset = 0, .size = 80, .fan_in = 10, .is_bias = 0, .name = "w"},
      {.offset = 80, .size = 8, .fan_in = 10, .is_bias = 1, .name = "b"}};
  enum { K = 5, N = 88 };
  for (int row = 0; row < comm_ncompressors; row++)
    for (int P = 2; P <= 3; P++) {
      comm_compress_opts_t o;
      comm_ctx_t c1, c2;
      comm_peer_t p1[K], p2[K];
      float x[K][N], a[N], b[N];
      const float *xp[K];
      opts(&o, spell[row]);
      o.start_iter = 1, o.seed = 99;
      CHECK_OK(comm_ctx_init(&c1, &o, one, 2, N));
      CHECK_OK(comm_ctx_init(&c2, &o, one, 2, N));
      for (int k = 0; k < K; k++) comm_peer_init(&p1[k], &c1), comm_peer_init(&p2[k], &c2);
      int same = 1;
      for (int r = 0; r < 3; r++) {
        for (int k = 0; k < K; k++) {
          for (int i = 0; i < N; i++) x[k][i] = sinf((float)(i * 7 + k * 13 + r * 3)) * (1 + (float)(i % 10));
          xp[k] = x[k];
        }
        CHECK_OK(comm_compress_mean(&c1, p1, K, xp, a));
        CHECK_OK(split_round(&c2, p2, K, xp, P, b));
        same &= !memcmp(a, b, sizeof a);
        for (int k = 0; k < K; k++)
          for (int i = 0; i < COMM_MAX_STATE; i++)
            if (p1[k].buf[i]) same &= !memcmp(p1[k].buf[i], p2[k].buf[i], sizeof(float) * comm_state_len(&c1.plan, i));
      }
      if (!same) test_failed(__FILE__, __LINE__, "%s: P = %d differs", spell[row], P);
      for (int k = 0; k < K; k++) comm_peer_free(&p1[k]), comm_peer_free(&p2[k]);
      comm_ctx_free(&c1), comm_ctx_free(&c2);
    }
}

TEST(compress_powersgd_defaults_and_switches_are_the_hooks) {
  comm_compress_opts_t o;
  comm_compress_defaults(&o);
  CHECK(o.kind == COMP_NONE && o.start_iter == 1000 && o.min_rate == 2 && o.error_feedback == 1 &&
        o.warm_start == 1 && o.keep[0] == 0);
  static const nn_tensor_t one = {.offset = 0, .size = 80, .fan_in = 10, .is_bias = 0, .name = "w"};
  float x[80], out[80];
  const float *xp[1] = {x};
  for (int i = 0; i < 80; i++) x[i] = sinf((float)i) + (float)(i % 7);
  for (int variant = 0; variant < 3; variant++) { /* EF off; warm start off; defaults */
    comm_ctx_t c;
    comm_peer_t peer;
    opts(&o, "powersgd:1");
    o.start_iter = 0;
    if (variant == 0) o.error_feedback = 0;
    if (variant == 1) o.warm_start = 0;
    CHECK_OK(comm_ctx_init(&c, &o, &one, 1, 80));
    comm_peer_init(&peer, &c);
    for (int r = 0; r < 3; r++) {
      CHECK_OK(comm_compress_mean(&c, &peer, 1, xp, out));
      if (variant == 0) /* no error feedback: nothing kept between rounds */
        for (int i = 0; i < 80; i++) CHECK(peer.buf[0][i] == 0);
    }
    /* the next round's Q: last round's (orthogonalised: the same direction) with warm
     * start, a fresh draw without */
    float q[10];
    double dot = 0, qq = 0, nn = 0;
    memcpy(q, c.buf[1], sizeof q);
    comm_round_begin(&c);
    for (int i = 0; i < 10; i++) {
      dot += (double)q[i] * c.buf[1][i];
      qq += (double)q[i] * q[i];
      nn += (double)c.buf[1][i] * c.buf[1][i];
    }
    double cosine = fabs(dot) / sqrt(qq * nn);
    CHECK(variant == 1 ? cosine < 0.99 : cosine > 0.99999);
    comm_peer_free(&peer);
    comm_ctx_free(&c);
  }
}
