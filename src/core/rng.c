/* rng.c - the one sequential helper over the counter-based streams of rng.h. */
#include "rng.h"

void rng_shuffle(int64_t *idx, int64_t n, uint64_t key) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)rng_below(rng_at(key, (uint64_t)i), (uint64_t)i + 1);
    int64_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}
