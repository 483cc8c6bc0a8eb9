/* h5util.h - the small layer every dpt HDF5 file goes through: the root attributes every
 * dpt file carries (schema, schema_version, creator, ...: hdf5-schema/README.md), typed
 * attributes, datasets with units, atomic publication, and reading with schema checks.
 * HDF5's own error printing is off; failures become dpt errors. */
#ifndef DPT_H5UTIL_H
#define DPT_H5UTIL_H

#include <hdf5.h>
#include <stdint.h>

/* Creates "<path>.tmp.HOST.PID" (tmp receives its name) with the root attributes
 * schema, schema_version, creator, creator_version, hdf5_version, file_time.
 * fapl may be H5P_DEFAULT (the file is then built in memory and written by
 * h5_close_publish) or an MPI-IO access list. Returns the file id or -1. */
hid_t h5_create_tmp(const char *path, char *tmp, size_t tmpcap, const char *schema,
                    const char *schema_version, const char *creator, hid_t fapl);
/* Closes the file (all objects must be closed) and publishes tmp onto path. */
int h5_close_publish(hid_t file, const char *tmp, const char *path);
/* Closes and removes an unfinished temporary file after an error. */
void h5_abandon(hid_t file, const char *tmp);

int h5_attr_str(hid_t obj, const char *name, const char *value);
int h5_attr_i64(hid_t obj, const char *name, int64_t value);
int h5_attr_f64(hid_t obj, const char *name, double value);
int h5_attr_f64v(hid_t obj, const char *name, const double *values, int n);
int h5_attr_i64v(hid_t obj, const char *name, const int64_t *values, int n);
/* A 1-D array of n fixed-length UTF-8 strings (padded to the longest). */
int h5_attr_strv(hid_t obj, const char *name, const char *const *values, int n);

/* Writes a whole dataset. filetype e.g. H5T_STD_U8LE, memtype e.g. H5T_NATIVE_UINT8.
 * units may be NULL (not a metric). Compressed and chunked when `deflate` > 0. */
int h5_write_array(hid_t loc, const char *name, hid_t filetype, hid_t memtype, int rank,
                   const hsize_t *dims, const void *data, const char *units, int deflate);
/* A per-epoch series: 1-D, chunked, maxdims H5S_UNLIMITED, with units. */
int h5_write_series(hid_t loc, const char *name, hid_t filetype, hid_t memtype,
                    hsize_t n, const void *data, const char *units);
/* A long series (a row per communication round): as h5_write_series, in chunks of
 * H5_PACKED_CHUNK values, byte-shuffled and deflated (level 4). */
#define H5_PACKED_CHUNK 4096
int h5_write_packed_series(hid_t loc, const char *name, hid_t filetype, hid_t memtype,
                           hsize_t n, const void *data, const char *units);

/* Opens path read-only and checks root attribute `schema` equals expected and that
 * schema_version's major number is one this build knows (max_major). */
hid_t h5_open_checked(const char *path, const char *expected_schema, int max_major);
/* Opens path as h5_open_checked does, calls read(file, out, need) and closes it: the
 * head readers of the formats' owners. Errors name the path. */
int h5_read_file(const char *path, const char *expected_schema, int max_major,
                 int (*read)(hid_t file, void *out, unsigned need), void *out, unsigned need);
/* The one attribute read: checks, before H5Aread, that the open attribute holds exactly
 * n values (a scalar is one) of a class memtype can take (numbers as numbers, an enum as
 * that enum, fixed-length strings), and that n values of memtype fit in cap bytes of buf.
 * Errors name the attribute. */
int h5_attr_read(hid_t attr, const char *name, hid_t memtype, hssize_t n, void *buf,
                 size_t cap);
int h5_read_attr_str(hid_t obj, const char *name, char **value); /* dpt_free() it */
int h5_read_attr_i64(hid_t obj, const char *name, int64_t *value);
int h5_read_attr_f64(hid_t obj, const char *name, double *value);
int h5_read_attr_f64v(hid_t obj, const char *name, double *values, int n);
/* Refuses a dataset of `rank` dims whose byte size overflows size_t or exceeds what
 * the file stores for it (decompressed): what a reader may allocate from dims. */
int h5_check_extent(hid_t dset, const char *name, int rank, const hsize_t *dims);
/* Reads the dataset's dims (up to 8) and rank, checked by h5_check_extent. */
int h5_dataset_dims(hid_t loc, const char *name, int *rank, hsize_t *dims);
/* Fails unless the dataset has exactly this rank and these dims. */
int h5_check_dims(hid_t loc, const char *name, int rank, const hsize_t *want);
/* Reads a whole 1-D dataset of exactly n elements into caller memory of memtype. */
int h5_read_array(hid_t loc, const char *name, hid_t memtype, hsize_t n, void *data);
/* Reads only the first `rows` entries along the dataset's first dimension. */
int h5_read_rows(hid_t loc, const char *name, hid_t memtype, hsize_t rows, void *data);

/* The innermost message of the HDF5 error stack: the cause of the last failed call
 * (e.g. the MPI-IO or system error), for messages. */
const char *h5_error_cause(void);

/* "YYYY-MM-DDTHH:MM:SSZ" for now. */
void h5_iso_time(char *buf, size_t cap);

#endif
