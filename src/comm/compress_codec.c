/* compress_codec.c - the one-stage compressors, one tensor at a time: fp16 and bf16
 * casts, int8 with a scale per chunk and stochastic rounding, top-k with error feedback.
 * Payload sections are written with memcpy (no alignment assumed). */
#include <math.h>
#include <string.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "compress_impl.h"

/* --- fp16 and bf16: values cast for the exchange, summed in float32 after decoding --- */

uint16_t comm_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x477ff000u) return sign | 0x7c00u; /* >= 65520 rounds to Inf */
  if (ax < 0x38800000u) {                       /* below 2^-14: fp16's subnormals */
    float a = fabsf(f) * 0x1p24f;               /* exact: a power-of-two scaling */
    return sign | (uint16_t)nearbyintf(a);      /* ties to even; 1024 is 2^-14, normal */
  }
  ax += 0x0fffu + ((ax >> 13) & 1u); /* round to nearest even at bit 13 */
  return sign | (uint16_t)((ax - 0x38000000u) >> 13);
}

float comm_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) {
    float v = (float)m * 0x1p-24f; /* exact */
    return sign ? -v : v;
  }
  uint32_t x = sign | ((e == 31 ? 255 : e + 112) << 23) | (m << 13);
  float f;
  memcpy(&f, &x, 4);
  return f;
}

uint16_t comm_f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  x += 0x7fffu + ((x >> 16) & 1u); /* round to nearest even at bit 16 */
  return (uint16_t)(x >> 16);
}

float comm_bf16_to_f32(uint16_t h) {
  uint32_t x = (uint32_t)h << 16;
  float f;
  memcpy(&f, &x, 4);
  return f;
}

void comm_fp16_plan(comm_plan_t *pl, comm_tplan_t *t, comm_part_t *part) {
  (void)pl;
  part->coll = COMM_ALLREDUCE;
  t->b_off = part->bytes;
  part->values += t->size;
  part->bytes += t->size * sizeof(uint16_t);
}

/* A 16-bit cast of a tensor: to/from the format, its name and largest finite value. */
typedef struct {
  uint16_t (*to)(float);
  float (*from)(uint16_t);
  uint16_t inf; /* the bits of +Inf */
  const char *name;
  double max;
} cast_t;

static const cast_t fp16 = {comm_f32_to_f16, comm_f16_to_f32, 0x7c00u, "fp16", 65504.0};
static const cast_t bf16 = {comm_f32_to_bf16, comm_bf16_to_f32, 0x7f80u, "bf16", 0x1.fep127};

/* -1 naming the tensor, index, round and participant on a value beyond the format */
static int cast_encode(const cast_t *f, const comm_ctx_t *c, const comm_tplan_t *t, int k,
                       const float *acc, uint8_t *dst) {
  for (size_t i = 0; i < t->size; i++) {
    uint16_t h = f->to(acc[i]);
    if ((h & 0x7fffu) == f->inf)
      return dpt_fail("compressor %s: tensor '%s' holds %g at index %zu in round %lld "
                      "(participant %d), beyond %s's largest value %g",
                      f->name, t->name, (double)acc[i], i, (long long)c->rounds, k, f->name,
                      f->max);
    memcpy(dst + 2 * i, &h, 2);
  }
  return 0;
}

static void cast_decode(const cast_t *f, const comm_tplan_t *t, const uint8_t *src, float *out) {
  for (size_t i = 0; i < t->size; i++) {
    uint16_t h;
    memcpy(&h, src + 2 * i, 2);
    out[i] = f->from(h);
  }
}

int comm_fp16_encode(const comm_ctx_t *c, const comm_tplan_t *t, int k, const float *acc,
                     float *resid, uint8_t *dst) {
  (void)resid;
  return cast_encode(&fp16, c, t, k, acc, dst);
}

void comm_fp16_decode(const comm_tplan_t *t, const uint8_t *src, float *out) {
  cast_decode(&fp16, t, src, out);
}

int comm_bf16_encode(const comm_ctx_t *c, const comm_tplan_t *t, int k, const float *acc,
                     float *resid, uint8_t *dst) {
  (void)resid;
  return cast_encode(&bf16, c, t, k, acc, dst);
}

void comm_bf16_decode(const comm_tplan_t *t, const uint8_t *src, float *out) {
  cast_decode(&bf16, t, src, out);
}

/* --- int8: per chunk of COMM_INT8_CHUNK values a float32 scale max|x|/127, then
 * q = floor(x/scale) + (u < frac(x/scale)), u uniform from the stream keyed by (seed,
 * participant, round) at the value's flat index, so E[q*scale] = x and the bits depend
 * on nothing else. Layout per tensor: its scales, then its int8 values. --- */

static size_t int8_chunks(size_t size) { return (size + COMM_INT8_CHUNK - 1) / COMM_INT8_CHUNK; }
static size_t chunk_end(size_t lo, size_t size) {
  return lo + COMM_INT8_CHUNK < size ? lo + COMM_INT8_CHUNK : size;
}

void comm_int8_plan(comm_plan_t *pl, comm_tplan_t *t, comm_part_t *part) {
  (void)pl;
  size_t chunks = int8_chunks(t->size);
  part->coll = COMM_ALLGATHER;
  t->b_off = part->bytes;
  part->values += t->size;
  part->scales += chunks;
  part->bytes += t->size + chunks * sizeof(float);
}

static int8_t int8_round(float v, uint64_t bits) {
  double fl = floor((double)v);
  double q = fl + (rng_unit(bits) < (double)v - fl); /* v - fl exact in double */
  return (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

int comm_int8_encode(const comm_ctx_t *c, const comm_tplan_t *t, int k, const float *acc,
                     float *resid, uint8_t *dst) {
  (void)resid;
  uint64_t key = rng_key(c->plan.opt.seed, RNG_INT8, (uint64_t)k, (uint64_t)c->rounds);
  size_t chunks = int8_chunks(t->size);
  int8_t *q = (int8_t *)(dst + chunks * sizeof(float));
  for (size_t ch = 0; ch < chunks; ch++) {
    size_t lo = ch * COMM_INT8_CHUNK, hi = chunk_end(lo, t->size);
    float max = 0;
    for (size_t i = lo; i < hi; i++) max = fabsf(acc[i]) > max ? fabsf(acc[i]) : max;
    float scale = max / 127.0f;
    memcpy(dst + ch * sizeof(float), &scale, sizeof scale);
    for (size_t i = lo; i < hi; i++)
      q[i] = scale > 0 ? int8_round(acc[i] / scale, rng_at(key, t->off + i)) : 0;
  }
  return 0;
}

void comm_int8_decode(const comm_tplan_t *t, const uint8_t *src, float *out) {
  size_t chunks = int8_chunks(t->size);
  const int8_t *q = (const int8_t *)(src + chunks * sizeof(float));
  for (size_t ch = 0; ch < chunks; ch++) {
    float scale;
    memcpy(&scale, src + ch * sizeof(float), sizeof scale);
    size_t lo = ch * COMM_INT8_CHUNK, hi = chunk_end(lo, t->size);
    for (size_t i = lo; i < hi; i++) out[i] = (float)q[i] * scale;
  }
}

/* --- top-k: per tensor the k = max(1, floor(RATIO*size + 1/2)) entries of largest
 * magnitude (ties: the lower index first), sent as k float32 values then their k uint32
 * indices in increasing order; what is not sent stays in the residual (error feedback,
 * Stich et al. 2018, Karimireddy et al. 2019). --- */

/* |v| as an integer: finite floats order by magnitude as their bits without the sign. */
static uint32_t mag(float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  return u & 0x7fffffffu;
}

/* The k-th largest magnitude key of a[0..n) (1 <= k <= n) by radix selection, 8 bits a
 * pass from the top; *ties: how many entries equal to it are among the k. */
static uint32_t kth_largest(const float *a, size_t n, size_t k, size_t *ties) {
  uint32_t prefix = 0, mask = 0;
  size_t hist[256];
  for (int shift = 24; shift >= 0; shift -= 8) {
    memset(hist, 0, sizeof hist);
    for (size_t i = 0; i < n; i++) {
      uint32_t u = mag(a[i]);
      if ((u & mask) == prefix) hist[(u >> shift) & 255u]++;
    }
    int b = 255;
    for (; b > 0 && hist[b] < k; b--) k -= hist[b];
    prefix |= (uint32_t)b << shift;
    mask |= 255u << shift;
  }
  *ties = k;
  return prefix;
}

void comm_topk_plan(comm_plan_t *pl, comm_tplan_t *t, comm_part_t *part) {
  double want = floor(pl->opt.ratio * (double)t->size + 0.5);
  t->k = want < 1 ? 1 : want > (double)t->size ? t->size : (size_t)want;
  part->coll = COMM_ALLGATHER;
  t->b_off = part->bytes;
  part->values += t->k;
  part->indices += t->k;
  part->bytes += t->k * (sizeof(float) + sizeof(uint32_t));
}

int comm_topk_encode(const comm_ctx_t *c, const comm_tplan_t *t, int k, const float *acc,
                     float *resid, uint8_t *dst) {
  (void)c, (void)k;
  DPT_ASSERT(resid);
  size_t ties, sent = 0;
  uint32_t kth = kth_largest(acc, t->size, t->k, &ties);
  uint8_t *idx = dst + t->k * sizeof(float);
  for (size_t i = 0; i < t->size; i++) {
    uint32_t u = mag(acc[i]);
    int take = u > kth || (u == kth && ties > 0);
    if (u == kth && take) ties--;
    resid[i] = take ? 0.0f : acc[i];
    if (!take) continue;
    uint32_t at = (uint32_t)i;
    memcpy(dst + sent * sizeof(float), &acc[i], sizeof(float));
    memcpy(idx + sent * sizeof(uint32_t), &at, sizeof at);
    sent++;
  }
  DPT_ASSERT(sent == t->k);
  return 0;
}

void comm_topk_decode(const comm_tplan_t *t, const uint8_t *src, float *out) {
  const uint8_t *idx = src + t->k * sizeof(float);
  for (size_t j = 0; j < t->k; j++) {
    uint32_t at;
    memcpy(&at, idx + j * sizeof at, sizeof at);
    DPT_ASSERT(at < t->size);
    memcpy(&out[at], src + j * sizeof(float), sizeof(float));
  }
}
