/* h5craft - crafts hostile HDF5 files for the bats tests (tests/cli/hostile-files.bats).
 *   h5craft FILE DATASET DIMS      e.g. h5craft run.h5 /metrics/val_acc 9x2
 * Replaces DATASET by one of the same type and attributes but the shape DIMS (chunked,
 * nothing stored, so it reads as fill values): a file that claims more than it holds. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: h5craft FILE DATASET DIMS (e.g. 4294967297x28)\n");
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
  H5Pset_chunk(dcpl, rank, chunk);
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s.crafted", argv[2]);
  hid_t dset = H5Dcreate2(file, tmp, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  int ok = dset >= 0 && H5Aiterate2(old, H5_INDEX_NAME, H5_ITER_INC, NULL, copy_attr, &dset) >= 0;
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
