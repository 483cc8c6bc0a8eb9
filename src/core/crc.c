/* crc.c - crc32 of large buffers (see crc.h). */
#include "crc.h"

#include <limits.h>
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
