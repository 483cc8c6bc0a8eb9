/* compress.c - (g) the compressors' cost on the seed LeNet's parameter vector (1x32x32
 * inputs, 10 classes, as for Fashion-MNIST): one round of K = 4 participants in one
 * process (comm_compress_mean: every participant's encode, the decodes summed in the
 * tree order, the finish), per participant, next to the dense exchange ("none") and the
 * bytes each participant sends. */
#include <math.h>
#include <stdio.h>

#include "../src/comm/compress.h"
#include "../src/core/err.h"
#include "bench.h"

#define BENCH_K 4

/* CPU seconds of one round of o's compressor on m's vector, per participant; *bytes:
 * what a participant sends in a round (all stages) */
static double round_seconds(const nn_model_t *m, const char *spelling, size_t *bytes) {
  comm_compress_opts_t o;
  comm_compress_defaults(&o);
  if (comm_compress_parse(spelling, &o) < 0) return -1;
  o.start_iter = 0; /* PowerSGD from the first round */
  comm_ctx_t c;
  comm_peer_t peers[BENCH_K];
  float *x[BENCH_K], *out;
  if (comm_ctx_init(&c, &o, m->tensors, m->ntensors, m->nparams) < 0) return -1;
  out = dpt_alloc(sizeof(float) * m->nparams);
  for (int k = 0; k < BENCH_K; k++) {
    comm_peer_init(&peers[k], &c);
    x[k] = dpt_alloc(sizeof(float) * m->nparams);
    for (size_t i = 0; i < m->nparams; i++) x[k][i] = 1e-3f * sinf((float)(i * (k + 3)));
  }
  int rounds = 0, stages = comm_round_begin(&c);
  *bytes = 0;
  for (int s = 0; s < stages; s++) {
    comm_wire_t w;
    comm_wire(&c, s, &w);
    *bytes += w.bytes;
  }
  double t0 = bench_cpu_now(), per = 0;
  while (per >= 0 && (rounds < 3 || bench_cpu_now() - t0 < 0.5)) {
    if (comm_compress_mean(&c, peers, BENCH_K, (const float *const *)x, out) < 0) per = -1;
    rounds++;
  }
  if (per == 0) per = (bench_cpu_now() - t0) / rounds / BENCH_K;
  for (int k = 0; k < BENCH_K; k++) comm_peer_free(&peers[k]), dpt_free(x[k]);
  comm_ctx_free(&c);
  dpt_free(out);
  return per;
}

void bench_compress(void) {
  static const char *const spellings[] = {"none", "fp16", "bf16", "int8", "topk:0.01",
                                          "powersgd:4"};
  nn_model_t m;
  if (nn_model_init(&m, NN_LENET, 1, 32, 32, 10, 1) < 0) {
    fprintf(stderr, "dpt-bench: %s\n", dpt_errmsg());
    return;
  }
  size_t floats = 0;
  for (int i = 0; i < m.ntensors; i++) floats += m.tensors[i].size;
  printf("\n(g) compressors: one round of K = %d participants on the seed LeNet for 1x32x32 "
         "inputs, 10 classes (%zu floats), 1 rank, CPU time per participant (encode, its "
         "share of the decodes and sums)\n", BENCH_K, floats);
  size_t dense_bytes = 0;
  double dense_s = 0;
  for (size_t i = 0; i < sizeof spellings / sizeof *spellings; i++) {
    size_t bytes;
    double s = round_seconds(&m, spellings[i], &bytes);
    if (s < 0) {
      fprintf(stderr, "dpt-bench: %s: %s\n", spellings[i], dpt_errmsg());
      break;
    }
    if (i == 0) dense_bytes = bytes, dense_s = s;
    printf("  %-11s %10zu bytes sent (%6.1fx fewer)   %8.3f ms/round", spellings[i], bytes,
           (double)dense_bytes / (double)bytes, s * 1e3);
    /* below this link speed the bytes saved take longer to send than the extra CPU */
    if (i > 0 && s > dense_s && bytes < dense_bytes)
      printf("   pays below %.0f MB/s", (double)(dense_bytes - bytes) / (s - dense_s) / 1e6);
    printf("\n");
  }
  nn_model_free(&m);
}
