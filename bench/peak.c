/* peak.c - the FP32 FMA peak of one core, the yardstick the step's GFLOP/s are a fraction
 * of: independent chains of vector fused multiply-adds in registers, no loads, on the
 * widest path the CPU runs (AVX-512: 24 chains of 16 lanes, AVX2: 12 of 8; enough chains
 * to cover the FMA latency of every unit). */
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "bench.h"
#include "../src/nn/kernel.h"

#define PEAK_STEPS 2000000L /* loop steps per timing: 0.1-0.5 s on the vector paths */

#ifdef NN_HAVE_X86
/* Returns the FLOPs done; the sum goes to *sink so that nothing can be left out. */
NN_TARGET_AVX2 static double chains_avx2(long steps, float *sink) {
  __m256 acc[12], x = _mm256_set1_ps(1.0f - 0x1p-20f), y = _mm256_set1_ps(0x1p-22f);
#pragma GCC unroll 12
  for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i);
  for (long s = 0; s < steps; s++)
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  for (int i = 1; i < 12; i++) acc[0] = _mm256_add_ps(acc[0], acc[i]);
  *sink = _mm256_cvtss_f32(acc[0]);
  return (double)steps * 12 * 8 * 2;
}

NN_TARGET_AVX512 static double chains_avx512(long steps, float *sink) {
  __m512 acc[24], x = _mm512_set1_ps(1.0f - 0x1p-20f), y = _mm512_set1_ps(0x1p-22f);
#pragma GCC unroll 24
  for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_ps((float)i);
  for (long s = 0; s < steps; s++)
#pragma GCC unroll 24
    for (int i = 0; i < 24; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  for (int i = 1; i < 24; i++) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  *sink = _mm512_cvtss_f32(acc[0]);
  return (double)steps * 24 * 16 * 2;
}
#endif

double bench_fma_peak(const char **how) {
  *how = "no vector path: not measured";
#ifdef NN_HAVE_X86
  int wide = nn_kernel_supported(NN_KERNEL_AVX512);
  if (!wide && !nn_kernel_supported(NN_KERNEL_AVX2)) return 0;
  *how = wide ? "avx512, 24 chains of 16-lane FMAs in registers"
              : "avx2, 12 chains of 8-lane FMAs in registers";
  volatile float sink;
  float s;
  double best = 0;
  for (int r = 0; r < 5; r++) { /* the best of 5: another process's time slice only slows */
    double t0 = bench_cpu_now();
    double flops = wide ? chains_avx512(PEAK_STEPS, &s) : chains_avx2(PEAK_STEPS, &s);
    double gf = flops / (bench_cpu_now() - t0) * 1e-9;
    sink = s;
    if (gf > best) best = gf;
  }
  (void)sink;
  return best;
#else
  return 0;
#endif
}
