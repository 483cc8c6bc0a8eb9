/* h5edit.h - the HDF5 file a reader target opens, made from the fuzz input: an edit
 * script applied to a copy of a valid dpt file, so the reader sees well-formed HDF5 with
 * wrong content: objects and attributes deleted, replaced by others of another type, rank
 * or shape (datasets up to 2^59 elements, stored as empty chunks), or overwritten with
 * the input's bytes.
 *
 * With DPT_FUZZ_RAW_HDF5 set in the environment, an input that starts with HDF5's
 * signature is the file itself (the corpus' .h5 seeds). That mode mostly exercises
 * libhdf5's own parser, and 1.10.8 frees a wild pointer on a damaged link table within
 * seconds (tests/fuzz/libhdf5/), which dpt cannot fix: it is off by default, so that a
 * campaign keeps to dpt's code. */
#ifndef DPT_FUZZ_H5EDIT_H
#define DPT_FUZZ_H5EDIT_H

#include <stddef.h>
#include <stdint.h>

/* Writes fuzz_dir()/input.h5 from data and base (a dpt file); path (4096) gets it. */
void fuzz_h5_file(const uint8_t *data, size_t size, const char *base, char *path);

#endif
