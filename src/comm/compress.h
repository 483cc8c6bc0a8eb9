/* compress.h - the place of the compressors: what a local method's averaging would do to
 * a vector before it goes on the wire (top-k, quantisation, error feedback), one row of
 * comm_compressors[] each (compress.c). Today the table holds the identity, "none", which
 * every averaging uses implicitly; no config key chooses a row yet. A new compressor is a
 * row, its function and a test; its state buffers are declared in the row like an
 * optimizer's (optim.h). */
#ifndef DPT_DIST_COMPRESS_H
#define DPT_DIST_COMPRESS_H

#include <stddef.h>

/* The most state buffers (each n floats, e.g. an error-feedback residual) a row declares. */
#define COMM_MAX_STATE 1

typedef struct {
  const char *name;   /* the spelling a config key will read */
  const char *label;  /* for tables */
  int nstate;         /* state buffers of the vector's length, at most COMM_MAX_STATE */
  /* x (n floats) becomes what the receivers see; state: the row's buffers */
  void (*compress)(float *x, size_t n, float *const *state);
  /* bytes on the wire for n floats (the byte accounting of comm_t) */
  size_t (*wire_bytes)(size_t n);
} comm_compressor_t;

extern const comm_compressor_t comm_compressors[];
extern const int comm_ncompressors;
/* The row called name; NULL when there is none. */
const comm_compressor_t *comm_compressor_find(const char *name);

#endif
