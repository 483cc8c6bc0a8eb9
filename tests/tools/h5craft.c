/* h5craft - crafts hostile HDF5 files and checks their contents for the bats tests, so
 * that no test needs Python or h5py:
 *   h5craft FILE DATASET DIMS      e.g. h5craft run.h5 /metrics/val_acc 9x2
 *     replaces DATASET by one of the same type and attributes but the shape DIMS (chunked,
 *     nothing stored, so it reads as fill values): a file that claims more than it holds;
 *   h5craft --deflated FILE DATASET DIMS     the same, but the new dataset's zeros are
 *     written, deflated: a small file that really holds that many values;
 *   h5craft --delete FILE OBJECT             unlinks OBJECT;
 *   h5craft --attr-array FILE OBJECT ATTR N  replaces ATTR by an array of N float64s whose
 *     bytes are all 0x41 (a crafted /config value);
 *   h5craft --set FILE DATASET INDEX VALUE   sets element INDEX of a float dataset to VALUE
 *     (strtod: inf, nan, -1, 3e307) and, when the dataset has a crc32 attribute, writes
 *     the crc32 of its new bytes there (a crafted file, not a damaged one);
 *   h5craft --delete-attr FILE OBJECT ATTR   deletes ATTR of OBJECT (a file of an older dpt);
 *   h5craft --set-str FILE OBJECT ATTR TEXT  replaces ATTR by the scalar string TEXT;
 *   h5craft --set-attr FILE OBJECT ATTR VALUE  writes VALUE (strtod) into the existing
 *     number attribute ATTR, in its own type;
 *   h5craft --flip FILE DATASET INDEX        flips the lowest bit of element INDEX (flat);
 *   h5craft --flip-attr FILE OBJECT ATTR     flips the lowest bit of an integer attribute;
 *   h5craft --rows-agree FILE DATASET [REF]  exit 0 when every row of the 2-D float DATASET
 *     equals the 1-D REF, or without REF equals row 0 and row 0 is not all zero. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static herr_t copy_attr(hid_t src, const char *name, const H5A_info_t *info, void *dst) {
  (void)info;
  hid_t a = H5Aopen(src, name, H5P_DEFAULT);
  hid_t type = H5Aget_type(a), space = H5Aget_space(a);
  size_t bytes = H5Tget_size(type) * (size_t)H5Sget_simple_extent_npoints(space);
  void *buf = calloc(1, bytes + 1);
  hid_t b = H5Acreate2(*(hid_t *)dst, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = buf && b >= 0 && H5Aread(a, type, buf) >= 0 && H5Awrite(b, type, buf) >= 0 ? 0 : -1;
  free(buf);
  H5Aclose(b);
  H5Sclose(space);
  H5Tclose(type);
  H5Aclose(a);
  return rc;
}

/* The whole dataset as floats; n its element count, row the length of one row. */
static float *read_floats(hid_t file, const char *name, hsize_t *n, hsize_t *row) {
  hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
  if (d < 0) return NULL;
  hid_t space = H5Dget_space(d);
  hsize_t dims[8] = {0};
  int rank = H5Sget_simple_extent_dims(space, dims, NULL);
  *n = (hsize_t)H5Sget_simple_extent_npoints(space);
  *row = rank > 1 ? *n / dims[0] : *n;
  float *v = malloc(sizeof(float) * (*n ? *n : 1));
  if (v && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
    free(v);
    v = NULL;
  }
  H5Sclose(space);
  H5Dclose(d);
  return v;
}

static int rows_agree(hid_t file, const char *name, const char *ref_name) {
  hsize_t n, row, rn, rrow;
  float *v = read_floats(file, name, &n, &row), *ref = v;
  if (!v) return fprintf(stderr, "h5craft: cannot read %s\n", name), 1;
  if (ref_name && (!(ref = read_floats(file, ref_name, &rn, &rrow)) || rn != row))
    return fprintf(stderr, "h5craft: %s is not one row of %s\n", ref_name, name), 1;
  int zero = 1;
  for (hsize_t j = 0; j < row; j++) zero = zero && ref[j] == 0;
  if (!ref_name && zero) return fprintf(stderr, "h5craft: %s: row 0 is all zero\n", name), 1;
  for (hsize_t i = 0; i < n; i++)
    if (memcmp(&v[i], &ref[i % row], sizeof(float)) != 0)
      return fprintf(stderr, "h5craft: %s: row %llu differs at %llu\n", name,
                     (unsigned long long)(i / row), (unsigned long long)(i % row)), 1;
  return 0;
}

/* Flips the lowest bit of element index of a dataset, or of an integer attribute. */
static int flip(hid_t file, const char *name, const char *attr, hsize_t index) {
  hid_t obj = attr ? H5Oopen(file, name, H5P_DEFAULT) : H5Dopen2(file, name, H5P_DEFAULT);
  if (obj < 0) return fprintf(stderr, "h5craft: cannot open %s\n", name), 1;
  hid_t a = attr ? H5Aopen(obj, attr, H5P_DEFAULT) : obj;
  hid_t type = attr ? H5Aget_type(a) : H5Dget_type(a);
  hid_t space = attr ? H5Aget_space(a) : H5Dget_space(a);
  size_t esize = H5Tget_size(type), n = (size_t)H5Sget_simple_extent_npoints(space);
  unsigned char *buf = calloc(n ? n : 1, esize);
  int ok = a >= 0 && buf && index < n &&
           (attr ? H5Aread(a, type, buf) : H5Dread(a, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf)) >= 0;
  if (ok) {
    /* the least significant byte: the first one on little-endian types, else the last */
    size_t lsb = H5Tget_order(type) == H5T_ORDER_BE ? esize - 1 : 0;
    buf[index * esize + lsb] ^= 1;
    ok = (attr ? H5Awrite(a, type, buf) : H5Dwrite(a, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf)) >= 0;
  }
  free(buf);
  H5Sclose(space);
  H5Tclose(type);
  if (attr) H5Aclose(a);
  H5Oclose(obj);
  if (!ok) fprintf(stderr, "h5craft: cannot flip %s%s%s\n", name, attr ? " " : "", attr ? attr : "");
  return ok ? 0 : 1;
}

/* Replaces attribute attr of object name by one of this type and space, holding buf. */
static int put_attr(hid_t file, const char *name, const char *attr, hid_t type, hid_t space,
                    const void *buf) {
  hid_t obj = H5Oopen(file, name, H5P_DEFAULT);
  if (obj >= 0 && H5Aexists(obj, attr) > 0) H5Adelete(obj, attr);
  hid_t a = obj < 0 ? -1 : H5Acreate2(obj, attr, type, space, H5P_DEFAULT, H5P_DEFAULT);
  int ok = buf && a >= 0 && H5Awrite(a, type, buf) >= 0;
  if (a >= 0) H5Aclose(a);
  if (obj >= 0) H5Oclose(obj);
  if (!ok) fprintf(stderr, "h5craft: cannot write %s %s\n", name, attr);
  return ok ? 0 : 1;
}

static int attr_array(hid_t file, const char *name, const char *attr, hsize_t n) {
  unsigned char *buf = malloc(n * sizeof(double));
  if (buf) memset(buf, 0x41, n * sizeof(double));
  hid_t space = H5Screate_simple(1, &n, NULL);
  int rc = put_attr(file, name, attr, H5T_IEEE_F64LE, space, buf);
  H5Sclose(space);
  free(buf);
  return rc;
}

static int set_str(hid_t file, const char *name, const char *attr, const char *text) {
  hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
  H5Tset_size(type, strlen(text) + 1);
  H5Tset_cset(type, H5T_CSET_UTF8);
  int rc = put_attr(file, name, attr, type, space, text);
  H5Sclose(space);
  H5Tclose(type);
  return rc;
}

/* The dataset's crc32 attribute, if any, made to match its bytes as stored. */
static int fix_crc(hid_t d) {
  if (H5Aexists(d, "crc32") <= 0) return 1;
  hid_t type = H5Dget_type(d), space = H5Dget_space(d);
  size_t bytes = H5Tget_size(type) * (size_t)H5Sget_simple_extent_npoints(space);
  unsigned char *buf = malloc(bytes + 1);
  int ok = buf && H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
  long long crc = ok ? (long long)crc32(0, buf, (uInt)bytes) : 0;
  hid_t a = ok ? H5Aopen(d, "crc32", H5P_DEFAULT) : -1;
  ok = a >= 0 && H5Awrite(a, H5T_NATIVE_LLONG, &crc) >= 0;
  if (a >= 0) H5Aclose(a);
  free(buf);
  H5Sclose(space);
  H5Tclose(type);
  return ok;
}

static int set_value(hid_t file, const char *name, hsize_t index, double value) {
  hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
  if (d < 0) return fprintf(stderr, "h5craft: cannot open %s\n", name), 1;
  hid_t space = H5Dget_space(d), mem = H5Screate(H5S_SCALAR);
  hsize_t count = 1;
  int ok = H5Sselect_elements(space, H5S_SELECT_SET, 1, &index) >= 0 &&
           H5Sget_select_npoints(space) == (hssize_t)count &&
           H5Dwrite(d, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, &value) >= 0 && fix_crc(d);
  H5Sclose(mem);
  H5Sclose(space);
  H5Dclose(d);
  if (!ok) fprintf(stderr, "h5craft: cannot set %s[%llu]\n", name, (unsigned long long)index);
  return ok ? 0 : 1;
}

/* Rewritten whole (HDF5 1.10 fails to modify an attribute in dense storage in place). */
static int set_attr(hid_t file, const char *name, const char *attr, double value) {
  hid_t a = H5Aopen_by_name(file, name, attr, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) return fprintf(stderr, "h5craft: cannot open %s %s\n", name, attr), 1;
  hid_t type = H5Aget_type(a), space = H5Aget_space(a), conv = H5Tcopy(type);
  H5Aclose(a);
  /* the value in the attribute's own type, then written as such */
  unsigned char buf[64] = {0};
  memcpy(buf, &value, sizeof value);
  int ok = H5Tget_size(type) <= sizeof buf &&
           H5Tconvert(H5T_NATIVE_DOUBLE, conv, 1, buf, NULL, H5P_DEFAULT) >= 0;
  int rc = ok ? put_attr(file, name, attr, type, space, buf) : 1;
  H5Tclose(conv);
  H5Sclose(space);
  H5Tclose(type);
  return rc;
}

static int reshape(int argc, char **argv, int deflated);

static int tool(int argc, char **argv) {
  const char *op = argv[1];
  if (!strcmp(op, "--deflated")) return reshape(argc - 1, argv + 1, 1);
  int readonly = !strcmp(op, "--rows-agree");
  hid_t file = H5Fopen(argv[2], readonly ? H5F_ACC_RDONLY : H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0) return fprintf(stderr, "h5craft: cannot open %s\n", argv[2]), 1;
  int rc;
  if (!strcmp(op, "--delete") && argc == 4) {
    rc = H5Ldelete(file, argv[3], H5P_DEFAULT) < 0;
  } else if (!strcmp(op, "--delete-attr") && argc == 5) {
    rc = H5Adelete_by_name(file, argv[3], argv[4], H5P_DEFAULT) < 0;
  } else if (!strcmp(op, "--flip") && argc == 5) {
    rc = flip(file, argv[3], NULL, strtoull(argv[4], NULL, 10));
  } else if (!strcmp(op, "--flip-attr") && argc == 5) {
    rc = flip(file, argv[3], argv[4], 0);
  } else if (!strcmp(op, "--attr-array") && argc == 6) {
    rc = attr_array(file, argv[3], argv[4], strtoull(argv[5], NULL, 10));
  } else if (!strcmp(op, "--set") && argc == 6) {
    rc = set_value(file, argv[3], strtoull(argv[4], NULL, 10), strtod(argv[5], NULL));
  } else if (!strcmp(op, "--set-attr") && argc == 6) {
    rc = set_attr(file, argv[3], argv[4], strtod(argv[5], NULL));
  } else if (!strcmp(op, "--set-str") && argc == 6) {
    rc = set_str(file, argv[3], argv[4], argv[5]);
  } else if (readonly && (argc == 4 || argc == 5)) {
    rc = rows_agree(file, argv[3], argc == 5 ? argv[4] : NULL);
  } else {
    fprintf(stderr, "h5craft: usage: see the opening comment of tests/tools/h5craft.c\n");
    rc = 2;
  }
  if (H5Fclose(file) < 0) rc = 1;
  return rc;
}

int main(int argc, char **argv) {
  if (argc >= 4 && argv[1][0] == '-') return tool(argc, argv);
  return reshape(argc, argv, 0);
}

/* argv: FILE DATASET DIMS. Deflated: the zeros are written, compressed. */
static int reshape(int argc, char **argv, int deflated) {
  if (argc != 4) {
    fprintf(stderr, "usage: h5craft FILE DATASET DIMS (e.g. 4294967297x28), or a --option\n");
    return 2;
  }
  hsize_t dims[8], maxdims[8], chunk[8];
  int rank = 0;
  for (char *p = argv[3]; *p && rank < 8; rank++) {
    dims[rank] = strtoull(p, &p, 10);
    maxdims[rank] = H5S_UNLIMITED;
    chunk[rank] = 1;
    if (*p == 'x') p++;
  }
  chunk[rank - 1] = 64;
  hid_t file = H5Fopen(argv[1], H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t old = file < 0 ? -1 : H5Dopen2(file, argv[2], H5P_DEFAULT);
  if (old < 0) return fprintf(stderr, "h5craft: cannot open %s in %s\n", argv[2], argv[1]), 1;
  hid_t type = H5Dget_type(old), space = H5Screate_simple(rank, dims, maxdims);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hsize_t total = 1;
  for (int i = 0; i < rank; i++) total *= dims[i];
  if (deflated) {
    chunk[rank - 1] = dims[rank - 1] < 65536 ? (dims[rank - 1] ? dims[rank - 1] : 1) : 65536;
    H5Pset_deflate(dcpl, 9);
  }
  H5Pset_chunk(dcpl, rank, chunk);
  void *zeros = deflated ? calloc(total ? total : 1, H5Tget_size(type)) : NULL;
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s.crafted", argv[2]);
  hid_t dset = H5Dcreate2(file, tmp, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  int ok = dset >= 0 && H5Aiterate2(old, H5_INDEX_NAME, H5_ITER_INC, NULL, copy_attr, &dset) >= 0;
  if (ok && deflated)
    ok = zeros && H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros) >= 0;
  free(zeros);
  H5Dclose(dset);
  H5Dclose(old);
  ok = ok && H5Ldelete(file, argv[2], H5P_DEFAULT) >= 0 &&
       H5Lmove(file, tmp, file, argv[2], H5P_DEFAULT, H5P_DEFAULT) >= 0;
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Tclose(type);
  if (H5Fclose(file) < 0) ok = 0;
  if (!ok) fprintf(stderr, "h5craft: could not replace %s in %s\n", argv[2], argv[1]);
  return ok ? 0 : 1;
}
