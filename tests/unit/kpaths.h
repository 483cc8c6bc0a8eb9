/* kpaths.h - the kernel paths a unit test compares bit for bit (test_kernels.c for LeNet's
 * layers, test_resnet.c for the ResNet's). */
#ifndef DPT_TEST_KPATHS_H
#define DPT_TEST_KPATHS_H

#include "../../src/nn/kernel.h"

/* Writes the paths to run to out (scalar first) and returns their count: every one this
 * CPU and build support. A path that should run and cannot is a test failure, never a
 * silent skip: AVX2 on x86-64 (all x86 CPUs dpt targets have it), and AVX-512 in the
 * emulated build of make emu512 (NN_EMULATE_AVX512). */
int test_kernel_paths(nn_kernel_t *out);

#endif
