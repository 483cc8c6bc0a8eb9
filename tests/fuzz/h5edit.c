/* h5edit.c - edit scripts over dpt HDF5 files (see h5edit.h). A script is a sequence of
 * operations of a few bytes each: op, item (an object or attribute of the base file, by
 * index in name order), then the op's arguments; missing bytes read as zero. */
#include "h5edit.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/err.h"
#include "fuzz.h"

enum { MAX_ITEMS = 256, MAX_OPS = 16, SMALL = 4096 };

typedef struct {
  char obj[256];
  char attr[128];  /* "" for the object itself */
} item_t;

typedef struct {
  item_t items[MAX_ITEMS];
  int n;
} items_t;

typedef struct {
  const uint8_t *p;
  size_t left;
} cursor_t;

static unsigned byte(cursor_t *c) {
  if (!c->left) return 0;
  c->left--;
  return *c->p++;
}

static void add(items_t *it, const char *obj, const char *attr) {
  if (it->n == MAX_ITEMS) return;
  snprintf(it->items[it->n].obj, sizeof it->items[0].obj, "%s", obj);
  snprintf(it->items[it->n].attr, sizeof it->items[0].attr, "%s", attr);
  it->n++;
}

static herr_t on_link(hid_t g, const char *name, const H5L_info_t *info, void *p) {
  (void)g, (void)info;
  add(p, name, "");
  return 0;
}

typedef struct { items_t *it; const char *obj; } attr_ctx_t;

static herr_t on_attr(hid_t loc, const char *name, const H5A_info_t *info, void *p) {
  (void)loc, (void)info;
  attr_ctx_t *a = p;
  add(a->it, a->obj, name);
  return 0;
}

/* Every object below the root (in name order), then every attribute of each object. */
static void collect(hid_t file, items_t *it) {
  it->n = 0;
  add(it, "/", "");
  H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, on_link, it);
  int nobj = it->n;
  for (int i = 0; i < nobj; i++) {
    attr_ctx_t a = {it, it->items[i].obj};
    H5Aiterate_by_name(file, it->items[i].obj, H5_INDEX_NAME, H5_ITER_INC, NULL, on_attr, &a,
                       H5P_DEFAULT);
  }
}

/* A file type from one byte: the integer and float types dpt uses, fixed or variable
 * strings. */
static hid_t pick_type(cursor_t *c) {
  unsigned b = byte(c);
  static const hid_t *const fixed[5] = {&H5T_STD_I64LE_g, &H5T_STD_I32LE_g, &H5T_STD_U8LE_g,
                                         &H5T_IEEE_F64LE_g, &H5T_IEEE_F32LE_g};
  if (b % 7 < 5) return H5Tcopy(*fixed[b % 7]);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, b % 7 == 5 ? 1 + (b >> 3) % 16 : H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

/* Rank 0..4 and dims: small (0..8), or for datasets now and then huge (2^31..2^59). */
static int pick_shape(cursor_t *c, int allow_huge, hsize_t *dims, hsize_t *npoints) {
  int rank = (int)(byte(c) % 5);
  *npoints = 1;
  for (int i = 0; i < rank; i++) {
    unsigned b = byte(c);
    dims[i] = allow_huge && b >= 0xf8 ? (hsize_t)1 << (31 + 4 * (b - 0xf8)) : b % 9;
    *npoints = *npoints > SMALL ? *npoints : *npoints * dims[i];
  }
  return rank;
}

/* Element values from the script: raw bytes for fixed types, short strings for
 * variable ones (pointers into `strings`). */
static void *values(cursor_t *c, hid_t type, hsize_t n, char (*strings)[9]) {
  if (H5Tis_variable_str(type) > 0) {
    char **v = dpt_alloc(sizeof(char *) * (n ? n : 1));
    for (hsize_t i = 0; i < n; i++) {
      unsigned len = byte(c) % 9;
      for (unsigned k = 0; k < len; k++) strings[i][k] = (char)byte(c);
      strings[i][len] = 0;
      v[i] = strings[i];
    }
    return v;
  }
  size_t bytes = H5Tget_size(type) * (n ? n : 1);
  uint8_t *v = dpt_alloc(bytes);
  for (size_t i = 0; i < bytes; i++) v[i] = (uint8_t)byte(c);
  return v;
}

static void replace(hid_t file, const item_t *it, cursor_t *c) {
  static char strings[SMALL][9];
  hsize_t dims[5], max[5], chunk[5], n;
  hid_t type = pick_type(c);
  int rank = pick_shape(c, !it->attr[0], dims, &n);
  hid_t space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
  void *buf = n <= SMALL ? values(c, type, n, strings) : NULL;
  if (it->attr[0]) {
    H5Adelete_by_name(file, it->obj, it->attr, H5P_DEFAULT);
    hid_t a = H5Acreate_by_name(file, it->obj, it->attr, type, space, H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0 && buf) H5Awrite(a, type, buf);
    if (a >= 0) H5Aclose(a);
  } else if (strcmp(it->obj, "/") != 0) {
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (!buf && rank) {  /* too big to store: chunks that are never written */
      for (int i = 0; i < rank; i++) max[i] = H5S_UNLIMITED, chunk[i] = 1;
      H5Sset_extent_simple(space, rank, dims, max);
      H5Pset_chunk(dcpl, rank, chunk);
    }
    H5Ldelete(file, it->obj, H5P_DEFAULT);
    hid_t d = H5Dcreate2(file, it->obj, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d >= 0 && buf) H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    if (d >= 0) H5Dclose(d);
    H5Pclose(dcpl);
  }
  dpt_free(buf);
  H5Sclose(space);
  H5Tclose(type);
}

/* New bytes for the values of an attribute or dataset of a fixed-size type. */
static void overwrite(hid_t file, const item_t *it, cursor_t *c) {
  hid_t obj = it->attr[0] ? H5Aopen_by_name(file, it->obj, it->attr, H5P_DEFAULT, H5P_DEFAULT)
                          : H5Dopen2(file, it->obj, H5P_DEFAULT);
  if (obj < 0) return;
  hid_t type = it->attr[0] ? H5Aget_type(obj) : H5Dget_type(obj);
  hid_t space = it->attr[0] ? H5Aget_space(obj) : H5Dget_space(obj);
  hssize_t n = H5Sget_simple_extent_npoints(space);
  if (type >= 0 && H5Tis_variable_str(type) == 0 && H5Tdetect_class(type, H5T_VLEN) == 0 &&
      n >= 0 && n <= SMALL) {
    void *buf = values(c, type, (hsize_t)n, NULL);
    if (it->attr[0]) H5Awrite(obj, type, buf);
    else H5Dwrite(obj, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    dpt_free(buf);
  }
  H5Sclose(space);
  H5Tclose(type);
  if (it->attr[0]) H5Aclose(obj);
  else H5Dclose(obj);
}

static void edit(const char *path, cursor_t *c) {
  static items_t it;
  hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0) DPT_PANIC("cannot reopen %s", path);
  collect(file, &it);
  for (int op = 0; op < MAX_OPS && c->left; op++) {
    unsigned kind = byte(c) % 3;
    const item_t *target = &it.items[byte(c) % (unsigned)it.n];
    if (kind == 0 && target->attr[0]) H5Adelete_by_name(file, target->obj, target->attr, H5P_DEFAULT);
    else if (kind == 0 && strcmp(target->obj, "/") != 0) H5Ldelete(file, target->obj, H5P_DEFAULT);
    else if (kind == 1) replace(file, target, c);
    else if (kind == 2) overwrite(file, target, c);
  }
  H5Fclose(file);
}

void fuzz_h5_file(const uint8_t *data, size_t size, const char *base, char *path) {
  static const uint8_t signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (getenv("DPT_FUZZ_RAW_HDF5") && size >= 8 && memcmp(data, signature, 8) == 0) {
    fuzz_write(path, "input.h5", data, size);
    return;
  }
  /* the base file is read once per target; fuzz-replay runs several targets in one
   * process, each with its own base, so a new base path reads its file again */
  static uint8_t *copy;
  static size_t n;
  static char copied[4096];
  if (!copy || strcmp(copied, base) != 0) {
    snprintf(copied, sizeof copied, "%s", base);
    dpt_free(copy);
    FILE *f = fopen(base, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = (size_t)ftell(f)) == 0) DPT_PANIC("cannot read %s", base);
    copy = dpt_alloc(n);
    rewind(f);
    if (fread(copy, 1, n, f) != n) DPT_PANIC("cannot read %s", base);
    fclose(f);
  }
  fuzz_write(path, "input.h5", copy, n);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  cursor_t c = {data, size};
  edit(path, &c);
}
