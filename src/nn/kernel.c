/* kernel.c - run-time choice of the layer kernels' vector path (see kernel.h). */
#include "kernel.h"

#include <stdlib.h>
#include <string.h>

#include "../core/err.h"

static const char *const names[NN_KERNEL_COUNT] = {"scalar", "avx2", "avx512"};

/* -1 until chosen; the process's one kernel setting, like its config. */
static int current = -1;

const char *nn_kernel_name(nn_kernel_t k) { return names[k]; }

int nn_sum_block(void) { return NN_SUM_BLOCK; }

int nn_kernel_supported(nn_kernel_t k) {
  switch (k) {
    case NN_KERNEL_SCALAR: return 1;
#ifdef NN_HAVE_X86
    case NN_KERNEL_AVX2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case NN_KERNEL_AVX512:
#ifdef NN_EMULATE_AVX512 /* kernel.h */
      return nn_kernel_supported(NN_KERNEL_AVX2);
#else
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
             __builtin_cpu_supports("fma");
#endif
#endif
    default: return 0;
  }
}

static nn_kernel_t widest(void) {
  for (int k = NN_KERNEL_COUNT - 1; k > 0; k--)
    if (nn_kernel_supported((nn_kernel_t)k)) return (nn_kernel_t)k;
  return NN_KERNEL_SCALAR;
}

int nn_kernel_set(nn_kernel_t k) {
  if (!nn_kernel_supported(k))
    return dpt_fail("kernel path '%s' is not available: %s", names[k],
#ifdef NN_HAVE_X86
                    "this CPU lacks its instructions"
#else
                    "this build has no x86 vector kernels"
#endif
    );
  current = (int)k;
  return 0;
}

int nn_kernel_init(void) {
  if (current >= 0) return 0;
  const char *env = getenv("DPT_KERNEL");
  if (!env || !*env) {
    current = (int)widest();
    return 0;
  }
  for (int k = 0; k < NN_KERNEL_COUNT; k++)
    if (strcmp(env, names[k]) == 0)
      return nn_kernel_set((nn_kernel_t)k) < 0
                 ? dpt_wrap("DPT_KERNEL=%s", env)
                 : 0;
  return dpt_fail("DPT_KERNEL=%s: unknown kernel path (expected scalar, avx2 or avx512)", env);
}

nn_kernel_t nn_kernel(void) {
  if (current < 0) current = (int)widest();
  return (nn_kernel_t)current;
}
