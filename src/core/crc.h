/* crc.h - zlib's crc32 over a buffer of any size, for the checksums dpt records (dataset
 * images and labels, source files, weights, checkpoint state). */
#ifndef DPT_CRC_H
#define DPT_CRC_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc (0 to start) over n bytes of buf. zlib takes a uInt length, so longer
 * buffers go in chunks; the result is the same as one call over the whole buffer. */
uint32_t dpt_crc32(uint32_t crc, const void *buf, size_t n);

#endif
