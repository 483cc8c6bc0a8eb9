/* peak.c - the FP32 FMA peak of one core, the yardstick the step's GFLOP/s are a fraction
 * of: independent chains of vector fused multiply-adds in registers, no loads, on the
 * widest path the CPU runs (AVX-512: 24 chains of 16 lanes, AVX2: 12 of 8; enough chains
 * to cover the FMA latency of every unit). */
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "bench.h"
#include "../src/nn/kernel.h"

#define PEAK_STEPS 25000000L /* loop steps per timing: about 50-70 ms, long enough for the clock to ramp up */

#ifdef NN_HAVE_X86
/* NAME(steps, sink) for one instruction set: N chains of vectors of LANES floats; returns
 * the FLOPs done, the chains' sum to *sink so that none can be left out. */
#define FMA_CHAINS(NAME, TARGET, VEC, SET1, FMADD, ADD, FIRST, N, LANES)        \
  TARGET static double NAME(long steps, float *sink) {                        \
    VEC acc[N], x = SET1(1.0f - 0x1p-20f), y = SET1(0x1p-22f);                \
    _Pragma("GCC unroll 24") for (int i = 0; i < N; i++) acc[i] = SET1((float)i); \
    for (long s = 0; s < steps; s++)                                          \
      _Pragma("GCC unroll 24") for (int i = 0; i < N; i++) acc[i] = FMADD(acc[i], x, y); \
    for (int i = 1; i < N; i++) acc[0] = ADD(acc[0], acc[i]);                 \
    *sink = FIRST(acc[0]);                                                    \
    return (double)steps * N * LANES * 2;                                     \
  }
FMA_CHAINS(chains_avx2, NN_TARGET_AVX2, __m256, _mm256_set1_ps, _mm256_fmadd_ps,
           _mm256_add_ps, _mm256_cvtss_f32, 12, 8)
FMA_CHAINS(chains_avx512, NN_TARGET_AVX512, __m512, _mm512_set1_ps, _mm512_fmadd_ps,
           _mm512_add_ps, _mm512_cvtss_f32, 24, 16)
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
