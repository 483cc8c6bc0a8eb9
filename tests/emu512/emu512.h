/* emu512.h - the AVX-512 intrinsics dpt's kernels use, emulated with AVX2, so that an
 * AVX2 CPU runs the AVX-512 paths (make emu512; docs/ARCHITECTURE.md).
 *
 * make emu512 compiles every file with -include tests/emu512/emu512.h -DNN_EMULATE_AVX512:
 * kernel.h then compiles the AVX-512 kernels for AVX2 (NN_TARGET_AVX512) and kernel.c
 * offers DPT_KERNEL=avx512 on any AVX2 CPU; the macros below turn each _mm512_* call
 * into two _mm256_* calls on the vector's halves. Each emulated operation is the AVX-512
 * one lane by lane: the same IEEE operation (one rounding for the fused multiply-add), the
 * same lanes masked off (their loads never read memory, their stores never write it).
 *
 * What it checks: the order of every sum's operations, the register and sum blocks, the
 * tails and masks of the AVX-512 kernels, through the unit tests that compare the paths
 * bit for bit. What it cannot: the real instructions (their encoding, the compiler's
 * AVX-512 code, register allocation, zmm state) and their speed; that needs an AVX-512
 * CPU, where the same tests run the real path. An intrinsic missing below stops the
 * build (GCC cannot inline an AVX-512 intrinsic into an AVX2 function): add it here. */
#ifndef DPT_EMU512_H
#define DPT_EMU512_H

#if !defined(__x86_64__) || !defined(NN_EMULATE_AVX512)
#error "emu512.h is for make emu512: x86-64, with -DNN_EMULATE_AVX512"
#endif

#include <immintrin.h>

#define EMU512 __attribute__((target("avx2,fma"), always_inline)) static inline

/* 16 floats: lanes 0-7 in lo, 8-15 in hi */
typedef struct {
  __m256 lo, hi;
} emu512_t;

/* lane i all ones where bit i of bits is set (8 lanes) */
EMU512 __m256i emu512_lanes(unsigned bits) {
  const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)(bits & 0xffu)), bit), bit);
}

EMU512 emu512_t emu512_setzero_ps(void) {
  return (emu512_t){_mm256_setzero_ps(), _mm256_setzero_ps()};
}
EMU512 emu512_t emu512_set1_ps(float x) { return (emu512_t){_mm256_set1_ps(x), _mm256_set1_ps(x)}; }
EMU512 emu512_t emu512_loadu_ps(const float *p) {
  return (emu512_t){_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)};
}
EMU512 void emu512_storeu_ps(float *p, emu512_t a) {
  _mm256_storeu_ps(p, a.lo);
  _mm256_storeu_ps(p + 8, a.hi);
}
EMU512 emu512_t emu512_add_ps(emu512_t a, emu512_t b) {
  return (emu512_t){_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)};
}
EMU512 emu512_t emu512_fmadd_ps(emu512_t a, emu512_t b, emu512_t c) {
  return (emu512_t){_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
}
/* masked-off lanes are zero and never read */
EMU512 emu512_t emu512_maskz_loadu_ps(__mmask16 m, const float *p) {
  return (emu512_t){_mm256_maskload_ps(p, emu512_lanes(m)),
                    _mm256_maskload_ps(p + 8, emu512_lanes(m >> 8u))};
}
/* masked-off lanes are never written */
EMU512 void emu512_mask_storeu_ps(float *p, __mmask16 m, emu512_t a) {
  _mm256_maskstore_ps(p, emu512_lanes(m), a.lo);
  _mm256_maskstore_ps(p + 8, emu512_lanes(m >> 8u), a.hi);
}

#define __m512 emu512_t
#define _mm512_setzero_ps emu512_setzero_ps
#define _mm512_set1_ps emu512_set1_ps
#define _mm512_loadu_ps emu512_loadu_ps
#define _mm512_storeu_ps emu512_storeu_ps
#define _mm512_add_ps emu512_add_ps
#define _mm512_fmadd_ps emu512_fmadd_ps
#define _mm512_maskz_loadu_ps emu512_maskz_loadu_ps
#define _mm512_mask_storeu_ps emu512_mask_storeu_ps

#endif
