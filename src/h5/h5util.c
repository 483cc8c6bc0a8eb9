/* h5util.c - see h5util.h. */
#include "h5util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/crc.h"
#include "../core/err.h"
#include "../core/fsutil.h"

#ifndef DPT_VERSION
#define DPT_VERSION "unknown"
#endif

static void quiet_hdf5(void) {
  static int done;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    done = 1;
  }
}

static herr_t innermost(unsigned n, const H5E_error2_t *e, void *buf) {
  if (n == 0 && e->desc && e->desc[0]) snprintf(buf, 512, "%s", e->desc);
  return 0;
}

const char *h5_error_cause(void) {
  static char buf[512];
  snprintf(buf, sizeof buf, "no HDF5 error recorded");
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, buf);
  return buf;
}

void h5_iso_time(char *buf, size_t cap) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

hid_t h5_create_tmp(const char *path, char *tmp, size_t tmpcap, const char *schema,
                    const char *schema_version, const char *creator, hid_t fapl) {
  quiet_hdf5();
  if (dpt_tmp_name(tmp, tmpcap, path) < 0) return -1;
  /* The 1.8+ format checksums its metadata, so damage is detected, not read as data. */
  hid_t access = fapl == H5P_DEFAULT ? H5Pcreate(H5P_FILE_ACCESS) : H5Pcopy(fapl);
  /* A one-process file is built in memory and written out by h5_close_publish: a
   * failed write to disk (a full file system) inside HDF5 1.10 leaves a half-closed file
   * that crashes the library's clean-up at exit; a failed write() is just an error. */
  if (fapl == H5P_DEFAULT) H5Pset_fapl_core(access, 1 << 20, 0);
  H5Pset_libver_bounds(access, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, access);
  H5Pclose(access);
  if (file < 0) return dpt_fail("%s: cannot create HDF5 file", tmp);
  unsigned maj, min, rel;
  char version[64], now[32];
  H5get_libversion(&maj, &min, &rel);
  snprintf(version, sizeof version, "%u.%u.%u", maj, min, rel);
  h5_iso_time(now, sizeof now);
  if (h5_attr_str(file, "schema", schema) < 0 ||
      h5_attr_str(file, "schema_version", schema_version) < 0 ||
      h5_attr_str(file, "creator", creator) < 0 ||
      h5_attr_str(file, "creator_version", DPT_VERSION) < 0 ||
      h5_attr_str(file, "hdf5_version", version) < 0 ||
      h5_attr_str(file, "file_time", now) < 0) {
    h5_abandon(file, tmp);
    return -1;
  }
  return file;
}

static int in_memory(hid_t file) {
  hid_t access = H5Fget_access_plist(file);
  int core = access >= 0 && H5Pget_driver(access) == H5FD_CORE;
  if (access >= 0) H5Pclose(access);
  return core;
}

/* HDF5 before 2.0 clears the open-for-write flag in the image's version 2/3 superblock
 * but leaves the checksum over it as it was (HDFGroup/hdf5#5489), so nothing could open
 * the file: the checksum is recomputed over the superblock as the image has it. */
static void fix_superblock_checksum(uint8_t *image, size_t n) {
  static const uint8_t signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (n < 12 || memcmp(image, signature, 8) != 0 || (image[8] != 2 && image[8] != 3)) return;
  size_t at = 12 + 4 * (size_t)image[9]; /* four addresses of size-of-offsets bytes */
  if (at + 4 > n) return;
  uint32_t sum = dpt_lookup3(image, at, 0);
  for (int i = 0; i < 4; i++) image[at + i] = (uint8_t)(sum >> (8 * i));
}

/* The image of an in-memory file, written to tmp; the file is closed either way. */
static int write_image(hid_t file, const char *tmp) {
  /* the image is the memory as it is: the superblock's end of file only after a flush */
  ssize_t n = H5Fflush(file, H5F_SCOPE_GLOBAL) < 0 ? -1 : H5Fget_file_image(file, NULL, 0);
  void *image = n > 0 ? malloc((size_t)n) : NULL;
  int got = image && H5Fget_file_image(file, image, (size_t)n) == n;
  H5Fclose(file);
  if (got) fix_superblock_checksum(image, (size_t)n);
  int rc = got ? dpt_write_tmp(tmp, image, (size_t)n)
               : dpt_fail("%s: cannot take the image of the HDF5 file (%zd bytes)", tmp, n);
  free(image);
  return rc;
}

int h5_close_publish(hid_t file, const char *tmp, const char *path) {
  if (in_memory(file)) {
    if (write_image(file, tmp) < 0) return -1;
    return dpt_publish(tmp, path);
  }
  int flushed = H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0; /* closed even when this fails */
  if (H5Fclose(file) < 0 || !flushed) {
    unlink(tmp);
    return dpt_fail("%s: cannot flush and close HDF5 file", tmp);
  }
  return dpt_publish(tmp, path);
}

void h5_abandon(hid_t file, const char *tmp) {
  if (file >= 0) H5Fclose(file);
  unlink(tmp);
}

static int write_attr(hid_t obj, const char *name, hid_t filetype, hid_t memtype,
                      hid_t space, const void *data) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  hid_t attr = H5Acreate2(obj, name, filetype, space, H5P_DEFAULT, H5P_DEFAULT);
  int rc = attr >= 0 && H5Awrite(attr, memtype, data) >= 0 ? 0 : -1;
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(space);
  return rc < 0 ? dpt_fail("cannot write HDF5 attribute '%s'", name) : 0;
}

int h5_attr_str(hid_t obj, const char *name, const char *value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, strlen(value) + 1);
  H5Tset_strpad(type, H5T_STR_NULLTERM);
  H5Tset_cset(type, H5T_CSET_UTF8);
  int rc = write_attr(obj, name, type, type, H5Screate(H5S_SCALAR), value);
  H5Tclose(type);
  return rc;
}

int h5_attr_i64(hid_t obj, const char *name, int64_t value) {
  return write_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, H5Screate(H5S_SCALAR),
                    &value);
}

int h5_attr_f64(hid_t obj, const char *name, double value) {
  return write_attr(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, H5Screate(H5S_SCALAR),
                    &value);
}

int h5_attr_f64v(hid_t obj, const char *name, const double *values, int n) {
  hsize_t dims[1] = {(hsize_t)n};
  return write_attr(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                    H5Screate_simple(1, dims, NULL), values);
}

int h5_attr_i64v(hid_t obj, const char *name, const int64_t *values, int n) {
  hsize_t dims[1] = {(hsize_t)n};
  return write_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64,
                    H5Screate_simple(1, dims, NULL), values);
}

int h5_attr_strv(hid_t obj, const char *name, const char *const *values, int n) {
  size_t width = 1;
  for (int i = 0; i < n; i++)
    if (strlen(values[i]) + 1 > width) width = strlen(values[i]) + 1;
  /* Fixed-length strings need one contiguous, zero-padded buffer. */
  char *buf = dpt_alloc(width * (size_t)(n > 0 ? n : 1));
  for (int i = 0; i < n; i++) memcpy(buf + width * (size_t)i, values[i], strlen(values[i]));
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, width);
  H5Tset_strpad(type, H5T_STR_NULLTERM);
  H5Tset_cset(type, H5T_CSET_UTF8);
  hsize_t dims[1] = {(hsize_t)n};
  int rc = write_attr(obj, name, type, type, H5Screate_simple(1, dims, NULL), buf);
  H5Tclose(type);
  dpt_free(buf);
  return rc;
}

static int finish_dataset(hid_t dset, hid_t memtype, const void *data, const char *units,
                          const char *name) {
  int rc = 0;
  if (dset < 0) return dpt_fail("cannot create HDF5 dataset '%s'", name);
  if (data && H5Dwrite(dset, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    rc = dpt_fail("cannot write HDF5 dataset '%s'", name);
  if (rc == 0 && units) rc = h5_attr_str(dset, "units", units);
  H5Dclose(dset);
  return rc;
}

int h5_write_array(hid_t loc, const char *name, hid_t filetype, hid_t memtype, int rank,
                   const hsize_t *dims, const void *data, const char *units, int deflate) {
  hid_t space = H5Screate_simple(rank, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hsize_t total = 1;
  for (int i = 0; i < rank; i++) total *= dims[i];
  if (deflate > 0 && total > 0) {
    /* Chunks of whole leading-dimension slices, about 1 MB each. */
    hsize_t chunk[8];
    hsize_t row = total / (dims[0] ? dims[0] : 1);
    for (int i = 0; i < rank; i++) chunk[i] = dims[i];
    chunk[0] = (1 << 20) / (row ? row : 1);
    if (chunk[0] < 1) chunk[0] = 1;
    if (chunk[0] > dims[0]) chunk[0] = dims[0];
    H5Pset_chunk(dcpl, rank, chunk);
    H5Pset_deflate(dcpl, (unsigned)deflate);
  }
  hid_t dset = H5Dcreate2(loc, name, filetype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  return finish_dataset(dset, memtype, data, units, name);
}

int h5_write_series(hid_t loc, const char *name, hid_t filetype, hid_t memtype,
                    hsize_t n, const void *data, const char *units) {
  hsize_t dims[1] = {n}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {256};
  hid_t space = H5Screate_simple(1, dims, maxdims);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 1, chunk);
  hid_t dset = H5Dcreate2(loc, name, filetype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  return finish_dataset(dset, memtype, n ? data : NULL, units, name);
}

int h5_write_packed_series(hid_t loc, const char *name, hid_t filetype, hid_t memtype,
                           hsize_t n, const void *data, const char *units) {
  hsize_t dims[1] = {n}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {H5_PACKED_CHUNK};
  hid_t space = H5Screate_simple(1, dims, maxdims);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 1, chunk);
  H5Pset_shuffle(dcpl);
  H5Pset_deflate(dcpl, 4);
  hid_t dset = H5Dcreate2(loc, name, filetype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  return finish_dataset(dset, memtype, n ? data : NULL, units, name);
}

hid_t h5_open_checked(const char *path, const char *expected_schema, int max_major) {
  quiet_hdf5();
  if (access(path, R_OK) != 0) return dpt_fail("%s: no such file (or not readable)", path);
  if (dpt_check_regular(path) < 0) return -1; /* HDF5 would block on a FIFO */
  htri_t is = H5Fis_hdf5(path);
  if (is <= 0) return dpt_fail("%s: not an HDF5 file, or damaged", path);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) return dpt_fail("%s: cannot open HDF5 file (damaged?)", path);
  char *schema = NULL, *version = NULL;
  if (h5_read_attr_str(file, "schema", &schema) < 0 ||
      h5_read_attr_str(file, "schema_version", &version) < 0) {
    H5Fclose(file);
    return dpt_wrap("%s: not a dpt file", path);
  }
  int major = atoi(version), rc = 0;
  if (strcmp(schema, expected_schema) != 0)
    rc = dpt_fail("%s: is a '%s' file, expected '%s'", path, schema, expected_schema);
  else if (major < 1 || major > max_major)
    rc = dpt_fail("%s: schema version %s is newer than this dpt understands (major %d); "
                  "upgrade dpt", path, version, max_major);
  dpt_free(schema);
  dpt_free(version);
  if (rc < 0) {
    H5Fclose(file);
    return -1;
  }
  return file;
}

static hid_t open_attr(hid_t obj, const char *name) {
  if (H5Aexists(obj, name) <= 0) return dpt_fail("missing attribute '%s'", name);
  hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
  if (attr < 0) return dpt_fail("cannot open attribute '%s'", name);
  return attr;
}

/* Whether a file type of class `have` may be read as memtype: numbers as numbers (HDF5
 * converts), an enum only as that very enum, strings of fixed length only. */
static int class_fits(hid_t type, hid_t memtype) {
  H5T_class_t have = H5Tget_class(type), want = H5Tget_class(memtype);
  switch (want) {
  case H5T_INTEGER:
  case H5T_FLOAT: return have == H5T_INTEGER || have == H5T_FLOAT;
  case H5T_ENUM: return H5Tequal(type, memtype) > 0;
  case H5T_STRING:
    return have == H5T_STRING && H5Tis_variable_str(type) <= 0 &&
           H5Tis_variable_str(memtype) <= 0;
  default: return 0;
  }
}

static const char *class_word(hid_t memtype) {
  switch (H5Tget_class(memtype)) {
  case H5T_INTEGER:
  case H5T_FLOAT: return "a number";
  case H5T_ENUM: return "the expected enum";
  case H5T_STRING: return "a fixed-length string";
  default: return "a supported type";
  }
}

int h5_read_file(const char *path, const char *expected_schema, int max_major,
                 int (*read)(hid_t file, void *out, unsigned need), void *out, unsigned need) {
  hid_t file = h5_open_checked(path, expected_schema, max_major);
  if (file < 0) return -1;
  int rc = read(file, out, need);
  H5Fclose(file);
  return rc < 0 ? dpt_wrap("%s", path) : 0;
}

int h5_attr_read(hid_t attr, const char *name, hid_t memtype, hssize_t n, void *buf,
                 size_t cap) {
  hid_t space = H5Aget_space(attr), type = H5Aget_type(attr);
  hssize_t count = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
  int fits = type >= 0 && class_fits(type, memtype);
  size_t esize = H5Tget_size(memtype);
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  /* H5Aread writes every element the file holds: the shape is checked first */
  if (!fits) return dpt_fail("attribute '%s' is not %s", name, class_word(memtype));
  if (count != n)
    return dpt_fail("attribute '%s' holds %lld values, expected %lld", name,
                    (long long)count, (long long)n);
  if (n < 1 || esize == 0 || (size_t)n > cap / esize)
    return dpt_fail("attribute '%s': %lld values of %zu bytes do not fit in %zu bytes",
                    name, (long long)n, esize, cap);
  if (H5Aread(attr, memtype, buf) < 0) return dpt_fail("cannot read attribute '%s'", name);
  return 0;
}

int h5_read_attr_str(hid_t obj, const char *name, char **value) {
  hid_t attr = open_attr(obj, name);
  if (attr < 0) return -1;
  hid_t type = H5Aget_type(attr);
  size_t n = type < 0 ? 0 : H5Tget_size(type);
  int rc;
  if (type < 0 || H5Tget_class(type) != H5T_STRING) {
    rc = dpt_fail("attribute '%s' is not a fixed-length string", name);
  } else {
    *value = dpt_alloc(n + 1);
    rc = h5_attr_read(attr, name, type, 1, *value, n + 1);
    if (rc < 0) {
      dpt_free(*value);
      *value = NULL;
    }
  }
  if (type >= 0) H5Tclose(type);
  H5Aclose(attr);
  return rc;
}

static int read_attr_num(hid_t obj, const char *name, hid_t memtype, void *out, int n) {
  hid_t attr = open_attr(obj, name);
  if (attr < 0) return -1;
  int rc = h5_attr_read(attr, name, memtype, n, out, (size_t)n * H5Tget_size(memtype));
  H5Aclose(attr);
  return rc;
}

int h5_read_attr_i64(hid_t obj, const char *name, int64_t *value) {
  return read_attr_num(obj, name, H5T_NATIVE_INT64, value, 1);
}
int h5_read_attr_f64(hid_t obj, const char *name, double *value) {
  return read_attr_num(obj, name, H5T_NATIVE_DOUBLE, value, 1);
}
int h5_read_attr_f64v(hid_t obj, const char *name, double *values, int n) {
  return read_attr_num(obj, name, H5T_NATIVE_DOUBLE, values, n);
}

/* Deflate cannot shrink data by more than 1032:1; the slack covers chunk headers. */
enum { MAX_DEFLATE_RATIO = 1032, STORAGE_SLACK = 1 << 16 };

int h5_check_extent(hid_t dset, const char *name, int rank, const hsize_t *dims) {
  hid_t type = H5Dget_type(dset), dcpl = H5Dget_create_plist(dset);
  size_t esize = type < 0 ? 0 : H5Tget_size(type);
  int filtered = dcpl >= 0 && H5Pget_nfilters(dcpl) > 0;
  if (type >= 0) H5Tclose(type);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (esize == 0) return dpt_fail("dataset '%s' has no readable type", name);
  /* bytes = esize * prod(dims), refused before it wraps around */
  hsize_t bytes = esize;
  for (int i = 0; i < rank; i++) {
    if (dims[i] && bytes > (hsize_t)SIZE_MAX / dims[i])
      return dpt_fail("dataset '%s' claims more elements than memory can address", name);
    bytes *= dims[i];
  }
  /* HDF5 reads chunks the file never stored as fill values: a tiny file can claim
   * terabytes. What a file holds bounds what a reader allocates. */
  hsize_t stored = H5Dget_storage_size(dset);
  hsize_t bound = stored > ((hsize_t)SIZE_MAX - STORAGE_SLACK) / MAX_DEFLATE_RATIO
                      ? (hsize_t)SIZE_MAX
                      : stored * (filtered ? MAX_DEFLATE_RATIO : 1) + STORAGE_SLACK;
  if (bytes > bound)
    return dpt_fail("dataset '%s' claims %llu bytes but the file stores only %llu for it "
                    "(crafted or damaged file)", name, (unsigned long long)bytes,
                    (unsigned long long)stored);
  return 0;
}

/* As h5_dataset_dims, keeping the dataset open for a read: its id (H5Dclose it) or -1. */
static hid_t h5_open_dims(hid_t loc, const char *name, int *rank, hsize_t *dims) {
  if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return dpt_fail("missing dataset '%s'", name);
  hid_t dset = H5Dopen2(loc, name, H5P_DEFAULT);
  if (dset < 0) return dpt_fail("cannot open dataset '%s'", name);
  hid_t space = H5Dget_space(dset);
  int r = H5Sget_simple_extent_ndims(space);
  int rc = 0;
  if (r < 0 || r > 8 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
    rc = dpt_fail("dataset '%s' has unsupported rank", name);
  } else {
    *rank = r;
    rc = h5_check_extent(dset, name, r, dims);
  }
  H5Sclose(space);
  if (rc == 0) return dset;
  H5Dclose(dset);
  return -1;
}

int h5_dataset_dims(hid_t loc, const char *name, int *rank, hsize_t *dims) {
  hid_t dset = h5_open_dims(loc, name, rank, dims);
  if (dset < 0) return -1;
  H5Dclose(dset);
  return 0;
}

static void shape_text(char *buf, size_t cap, int rank, const hsize_t *dims) {
  size_t n = 0;
  buf[0] = 0;
  for (int i = 0; i < rank && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%llu", i ? " x " : "",
                          (unsigned long long)dims[i]);
}

/* Fails unless the open dataset's rank and dims are exactly these. */
static int same_dims(const char *name, int r, const hsize_t *dims, int rank,
                     const hsize_t *want) {
  int same = r == rank;
  for (int i = 0; same && i < rank; i++) same = dims[i] == want[i];
  if (same) return 0;
  char got[200], exp[200];
  shape_text(got, sizeof got, r, dims);
  shape_text(exp, sizeof exp, rank, want);
  return dpt_fail("dataset '%s' has shape (%s), expected (%s)", name, got, exp);
}


int h5_check_dims(hid_t loc, const char *name, int rank, const hsize_t *want) {
  int r;
  hsize_t dims[8];
  if (h5_dataset_dims(loc, name, &r, dims) < 0) return -1;
  return same_dims(name, r, dims, rank, want);
}

int h5_read_array(hid_t loc, const char *name, hid_t memtype, hsize_t n, void *data) {
  int r;
  hsize_t dims[8], want[1] = {n};
  hid_t dset = h5_open_dims(loc, name, &r, dims);
  if (dset < 0) return -1;
  if (same_dims(name, r, dims, 1, want) < 0) {
    H5Dclose(dset);
    return -1;
  }
  int rc = H5Dread(dset, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0
               ? dpt_fail("cannot read dataset '%s' (damaged file?)", name)
               : 0;
  H5Dclose(dset);
  return rc;
}

int h5_read_rows(hid_t loc, const char *name, hid_t memtype, hsize_t rows, void *data) {
  if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return dpt_fail("missing dataset '%s'", name);
  hid_t dset = H5Dopen2(loc, name, H5P_DEFAULT);
  if (dset < 0) return dpt_fail("cannot open dataset '%s'", name);
  hid_t space = H5Dget_space(dset);
  hsize_t start[8] = {0}, count[8];
  int rank = H5Sget_simple_extent_ndims(space);
  int rc = 0;
  if (rank < 1 || rank > 8 || H5Sget_simple_extent_dims(space, count, NULL) < 0) {
    rc = dpt_fail("dataset '%s' has unsupported rank", name);
  } else if (rows > count[0]) {
    rc = dpt_fail("dataset '%s' has %llu rows, fewer than the %llu asked for", name,
                  (unsigned long long)count[0], (unsigned long long)rows);
  } else {
    count[0] = rows;
    rc = h5_check_extent(dset, name, rank, count);
  }
  if (rc == 0) {
    hid_t mem = H5Screate_simple(rank, count, NULL);
    if (H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(dset, memtype, mem, space, H5P_DEFAULT, data) < 0)
      rc = dpt_fail("cannot read dataset '%s' (damaged file?)", name);
    H5Sclose(mem);
  }
  H5Sclose(space);
  H5Dclose(dset);
  return rc;
}
