/* fuzz.h - dpt's fuzz targets, built two ways from the same sources: with libFuzzer
 * (`make fuzz`: clang -fsanitize=fuzzer, one binary per target) and into the replay
 * driver (build/fuzz-replay, linked with the normal build and run by `make test`), which
 * feeds every kept input of tests/fuzz/regressions/ and tests/fuzz/corpus/ to its target.
 *
 * FUZZ_TARGET(name) { ... } defines a target's body over (data, size); it returns 0.
 * Files that the readers need are written into one scratch directory per process. */
#ifndef DPT_FUZZ_H
#define DPT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

#ifdef FUZZ_REPLAY
void fuzz_register(const char *name, fuzz_fn fn);
#define FUZZ_TARGET(name)                                                          \
  static int fuzz_##name(const uint8_t *data, size_t size);                        \
  __attribute__((constructor)) static void fuzz_register_##name(void) {            \
    fuzz_register(#name, fuzz_##name);                                             \
  }                                                                                \
  static int fuzz_##name(const uint8_t *data, size_t size)
#else
#define FUZZ_TARGET(name) int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#endif

/* The process's scratch directory (made on first use, removed at exit). */
const char *fuzz_dir(void);
/* Writes n bytes to fuzz_dir()/name; path (4096 bytes) gets its path. Panics on failure:
 * a full /tmp is no finding. */
void fuzz_write(char *path, const char *name, const void *bytes, size_t n);
/* Cuts data into nparts pieces: each but the last is a 4-byte little-endian length and
 * that many bytes (clamped to what is left); the last piece is the rest. */
void fuzz_split(const uint8_t *data, size_t size, int nparts, const uint8_t **part,
                size_t *len);
/* A nul-terminated copy of data (dpt_free it). */
char *fuzz_text(const uint8_t *data, size_t size);
/* dpt-inspect's check and summary of path: what each HDF5 target runs after its reader. */
void fuzz_inspect(const char *path);
/* MPI_Init once (MPI_COMM_WORLD of one process) for targets that need a communicator. */
void fuzz_mpi_init(void);

#endif
