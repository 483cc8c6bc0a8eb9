/* crc.c - crc32 of large buffers and the lookup3 hash (see crc.h). */
#include "crc.h"

#include <limits.h>
#include <string.h>
#include <zlib.h>

uint32_t dpt_crc32(uint32_t crc, const void *buf, size_t n) {
  const Bytef *p = buf;
  uLong c = crc;
  while (n > 0) {
    uInt chunk = n > UINT_MAX ? UINT_MAX : (uInt)n;
    c = crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return (uint32_t)c;
}

#define ROT(x, k) (((x) << (k)) | ((x) >> (32 - (k))))

static uint32_t le32(const uint8_t *k) {
  return k[0] | (uint32_t)k[1] << 8 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 24;
}

uint32_t dpt_lookup3(const void *buf, size_t n, uint32_t initval) {
  const uint8_t *k = buf;
  uint32_t a, b, c;
  a = b = c = 0xdeadbeefu + (uint32_t)n + initval;
  if (n == 0) return c;
  for (; n > 12; n -= 12, k += 12) {
    a += le32(k), b += le32(k + 4), c += le32(k + 8);
    a -= c, a ^= ROT(c, 4), c += b;
    b -= a, b ^= ROT(a, 6), a += c;
    c -= b, c ^= ROT(b, 8), b += a;
    a -= c, a ^= ROT(c, 16), c += b;
    b -= a, b ^= ROT(a, 19), a += c;
    c -= b, c ^= ROT(b, 4), b += a;
  }
  /* the last 1-12 bytes, zero-padded: zeros add nothing */
  uint8_t tail[12] = {0};
  memcpy(tail, k, n);
  a += le32(tail), b += le32(tail + 4), c += le32(tail + 8);
  c ^= b, c -= ROT(b, 14);
  a ^= c, a -= ROT(c, 11);
  b ^= a, b -= ROT(a, 25);
  c ^= b, c -= ROT(b, 16);
  a ^= c, a -= ROT(c, 4);
  b ^= a, b -= ROT(a, 14);
  c ^= b, c -= ROT(b, 24);
  return c;
}
