/* kpaths.c - see kpaths.h. */
#include "kpaths.h"

#include "test.h"

int test_kernel_paths(nn_kernel_t *out) {
  int n = 0;
  for (int k = 0; k < NN_KERNEL_COUNT; k++)
    if (nn_kernel_supported((nn_kernel_t)k)) out[n++] = (nn_kernel_t)k;
#ifdef NN_HAVE_X86
  if (!nn_kernel_supported(NN_KERNEL_AVX2))
    test_failed(__FILE__, __LINE__, "no AVX2 on this x86-64 CPU: the vector paths are untested");
#endif
#ifdef NN_EMULATE_AVX512
  if (!nn_kernel_supported(NN_KERNEL_AVX512))
    test_failed(__FILE__, __LINE__, "make emu512: the emulated AVX-512 path is not available");
#endif
  return n;
}
