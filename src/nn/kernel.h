/* kernel.h - which vector path the layer kernels take: scalar, AVX2 or AVX-512.
 *
 * The binaries are built for baseline x86-64 (or any architecture); the AVX2 and AVX-512
 * kernels are compiled with function-level target attributes and chosen at run time
 * from the CPU. DPT_KERNEL=scalar|avx2|avx512 forces a path. Every path sums in the same
 * order with the same fused multiply-adds, so all of them give the same bits.
 *
 * Blocked sums: a long sum (a conv output over its taps, an fc output over its inputs, a
 * weight gradient over positions) is cut into blocks of at most NN_SUM_BLOCK consecutive
 * terms; each block is one FMA chain from 0, and the blocks' sums are added in order to
 * the first. One chain over all the terms errs by about sqrt(n) roundings of the running
 * sum (7e-7 rms relative for fc1's 1,600 terms); blocks keep each chain short and the
 * additions few (tests/unit/test_sums.c). Each kernel says where its blocks start. */
#ifndef DPT_KERNEL_H
#define DPT_KERNEL_H

#ifndef NN_SUM_BLOCK
#define NN_SUM_BLOCK 64 /* terms per FMA chain of a blocked sum; a build may override it */
#endif

/* NN_SUM_BLOCK as the kernels were compiled: the summation order run.h5 and
 * checkpoint.h5 record as their root attribute `sum_block` (files of builds before
 * blocked sums lack it: they summed each output in one chain). */
int nn_sum_block(void);

typedef enum { NN_KERNEL_SCALAR, NN_KERNEL_AVX2, NN_KERNEL_AVX512, NN_KERNEL_COUNT } nn_kernel_t;

/* Picks the path once per process: DPT_KERNEL if set (an unknown name, or a path this
 * binary or CPU cannot run, fails naming the variable and value), else the widest the
 * CPU supports. Later calls return the first answer. */
int nn_kernel_init(void);
/* The current path (nn_kernel_init's choice; the widest supported when it was not run). */
nn_kernel_t nn_kernel(void);
/* Switches to path k (tests, benchmarks); fails when the CPU or the build lacks it. */
int nn_kernel_set(nn_kernel_t k);
int nn_kernel_supported(nn_kernel_t k);
const char *nn_kernel_name(nn_kernel_t k);

/* Compiled only on x86-64 with GCC or clang, unless DPT_NO_X86 turns them off (the check
 * that the portable code builds without x86 intrinsics). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(DPT_NO_X86)
#define NN_HAVE_X86 1
#define NN_TARGET_AVX2 __attribute__((target("avx2,fma")))
#ifdef NN_EMULATE_AVX512
/* make emu512 only, never bin/: the AVX-512 kernels compiled for AVX2, their intrinsics
 * pairs of AVX2 ones (tests/emu512/emu512.h), and the path available on AVX2 CPUs */
#define NN_TARGET_AVX512 NN_TARGET_AVX2
#else
#define NN_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#endif
#endif

/* On the scalar kernels: a clone built for FMA CPUs, chosen when the program loads, where
 * fmaf is one instruction instead of a call into libm (the baseline x86-64 build has no
 * FMA). fmaf rounds once either way: the same bits, and the scalar path, which tests
 * compare bit for bit with the vector ones, runs three times as fast (a ResNet-20 run). */
#ifdef NN_HAVE_X86
#define NN_SCALAR_FMA __attribute__((target_clones("fma", "default")))
#else
#define NN_SCALAR_FMA
#endif

#endif
