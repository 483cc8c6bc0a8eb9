/* rng.h - counter-based random numbers: every draw is a pure function of a key and a
 * counter, so results never depend on which process or in which order they are drawn.
 * Keys are built from (seed, purpose, worker, epoch, sample) with rng_key(). */
#ifndef DPT_RNG_H
#define DPT_RNG_H

#include <stdint.h>

/* Purposes keep streams for different uses apart. */
enum { RNG_INIT = 1, RNG_SPLIT, RNG_SHUFFLE, RNG_AUGMENT, RNG_SHARD, RNG_INT8, RNG_POWERSGD };

static inline uint64_t rng_mix(uint64_t z) {
  /* splitmix64's finaliser: a bijection with full avalanche. */
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t rng_key(uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b) {
  return rng_mix(rng_mix(rng_mix(rng_mix(seed) ^ purpose) ^ a) ^ b);
}

/* The counter-th 64-bit draw of stream `key`. */
static inline uint64_t rng_at(uint64_t key, uint64_t counter) {
  return rng_mix(key ^ rng_mix(counter));
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double rng_unit(uint64_t bits) { return (double)(bits >> 11) * 0x1.0p-53; }

/* Uniform integer in [0, n) (n > 0), bias below 2^-32 for n < 2^32. */
static inline uint64_t rng_below(uint64_t bits, uint64_t n) {
  return (uint64_t)(((unsigned __int128)bits * n) >> 64);
}

/* Fisher-Yates shuffle of idx[0..n) driven by stream `key`. */
void rng_shuffle(int64_t *idx, int64_t n, uint64_t key);

#endif
