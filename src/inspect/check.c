/* check.c - validates a dpt file against its schema (hdf5-schema/<kind>.yaml): every
 * required group, attribute and dataset with its type, shape (rank, numeric dims, dims
 * named after integer attributes, the same symbol the same size within a group),
 * maxdims, chunked layout, filters and units; `complete` = 1; and checksums against the
 * bytes they cover: a group's `X_crc32` attribute for its dataset X (dataset files), a
 * dataset's own `crc32` attribute (checkpoints), both zlib crc32 of the data as stored.
 * Objects the schema does not describe are warnings, except attributes of open groups
 * (no attributes listed, e.g. /config).
 * A run file's /config attributes must have their key's type (schema 1.1). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/crc.h"
#include "../core/err.h"
#include "../h5/h5util.h"
#include "../io/runfile.h"
#include "inspect.h"
#include "schema.h"

#define MAX_DEPTH 32
#define MAX_OBJECTS 100000

typedef struct {
  char *scope, *name, *source; /* symbol `name` within group `scope` came from `source` */
  long long value;
} binding_t;

typedef struct {
  hid_t file;
  const insp_schema_t *s;
  insp_report_t *r;
  binding_t *bind;
  int nbind;
  int objects;
} checker_t;

/* --- reporting -------------------------------------------------------------------- */

static void say(insp_report_t *r, int warning, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(insp_report_t *r, int warning, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (r->n == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 16;
    r->lines = dpt_realloc(r->lines, sizeof *r->lines * (size_t)r->cap);
    r->is_warning = dpt_realloc(r->is_warning, sizeof *r->is_warning * (size_t)r->cap);
  }
  r->lines[r->n] = dpt_strdup(buf);
  r->is_warning[r->n++] = warning;
  if (warning) r->warnings++;
  else r->errors++;
}

static void parent_of(const char *path, char *buf, size_t cap) {
  if (buf != path) snprintf(buf, cap, "%s", path);
  char *slash = strrchr(buf, '/');
  if (slash == buf) buf[1] = '\0';
  else if (slash) *slash = '\0';
}

/* "where" for messages: "/metrics/val_acc" or "/provenance: attribute 'hostname'". */
static void where(char *buf, size_t cap, const char *path, const char *attr) {
  if (attr) snprintf(buf, cap, "%s: attribute '%s'", path, attr);
  else snprintf(buf, cap, "%s", path);
}

/* --- objects ---------------------------------------------------------------------- */

/* The type of the object at an absolute path, walking it one link at a time (H5Lexists
 * fails rather than answering "no" when a middle component is missing). */
static H5I_type_t object_at(hid_t file, const char *path) {
  if (!strcmp(path, "/")) return H5I_GROUP;
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char saved = *p;
    *p = '\0';
    if (H5Lexists(file, buf, H5P_DEFAULT) <= 0) return H5I_BADID;
    if (saved == '\0') break;
    *p = saved;
  }
  hid_t obj = H5Oopen(file, path, H5P_DEFAULT);
  if (obj < 0) return H5I_BADID;
  H5I_type_t t = H5Iget_type(obj);
  H5Oclose(obj);
  return t;
}

/* --- symbols in dims -------------------------------------------------------------- */

static int int_attr(hid_t file, const char *group, const char *name, long long *v) {
  hid_t g = H5Oopen(file, group, H5P_DEFAULT);
  if (g < 0) return 0;
  int found = 0;
  if (H5Aexists(g, name) > 0) {
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    int64_t x;
    if (t >= 0 && H5Tget_class(t) == H5T_INTEGER) {
      if (h5_attr_read(a, name, H5T_NATIVE_INT64, 1, &x, sizeof x) == 0) {
        *v = x;
        found = 1;
      } else {
        dpt_clear_error(); /* not a symbol's size: the schema check reports the attribute */
      }
    }
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
  }
  H5Oclose(g);
  return found;
}

/* Checks one symbolic dimension: a scalar integer attribute of that name in the group or
 * an ancestor, else in any group the schema lists, else the size the symbol first had in
 * this group. */
static void check_symbol(checker_t *c, const char *group, const char *sym, long long got,
                         const char *what, int axis) {
  char scope[1024], src[1100];
  long long v;
  snprintf(scope, sizeof scope, "%s", group);
  for (;;) {
    if (int_attr(c->file, scope, sym, &v)) {
      snprintf(src, sizeof src, "attribute %s of %s", sym, scope);
      goto compare;
    }
    if (!strcmp(scope, "/")) break;
    parent_of(scope, scope, sizeof scope);
  }
  for (int i = 0; i < c->s->ngroups; i++)
    if (int_attr(c->file, c->s->groups[i].path, sym, &v)) {
      snprintf(src, sizeof src, "attribute %s of %s", sym, c->s->groups[i].path);
      goto compare;
    }
  for (int i = 0; i < c->nbind; i++) {
    binding_t *b = &c->bind[i];
    if (!strcmp(b->scope, group) && !strcmp(b->name, sym)) {
      v = b->value;
      snprintf(src, sizeof src, "as in %s", b->source);
      goto compare;
    }
  }
  c->bind = dpt_realloc(c->bind, sizeof *c->bind * (size_t)(c->nbind + 1));
  c->bind[c->nbind++] = (binding_t){dpt_strdup(group), dpt_strdup(sym), dpt_strdup(what), got};
  return;
compare:
  if (v != got)
    say(c->r, 0, "%s: dimension %d is %lld, expected %s = %lld (%s)", what, axis + 1, got, sym,
        v, src);
}

/* --- types and shapes ------------------------------------------------------------- */

static int is_number(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

static const char *cset_name(H5T_cset_t c) {
  return c == H5T_CSET_UTF8 ? "H5T_CSET_UTF8" : c == H5T_CSET_ASCII ? "H5T_CSET_ASCII" : "?";
}

static const char *strpad_name(H5T_str_t p) {
  return p == H5T_STR_NULLTERM ? "H5T_STR_NULLTERM"
         : p == H5T_STR_NULLPAD ? "H5T_STR_NULLPAD"
         : p == H5T_STR_SPACEPAD ? "H5T_STR_SPACEPAD" : "?";
}

static void check_type(checker_t *c, const char *what, hid_t type, const insp_type_t *want) {
  char got[64];
  H5T_class_t cls = H5Tget_class(type);
  insp_type_name(type, got, sizeof got);
  if (want->cls && strcmp(want->cls, insp_class_name(cls)) != 0) {
    say(c->r, 0, "%s: type %s, expected %s", what, got, want->base ? want->base : want->cls);
    return;
  }
  if (want->base && strcmp(want->base, got) != 0) {
    say(c->r, 0, "%s: type %s, expected %s", what, got, want->base);
    return;
  }
  if (cls != H5T_STRING) return;
  int var = H5Tis_variable_str(type) > 0;
  if (!want->length && var)
    say(c->r, 0, "%s: variable-length string, expected fixed-length", what);
  else if (want->length && !strcmp(want->length, "H5T_VARIABLE") && !var)
    say(c->r, 0, "%s: fixed-length string, expected variable-length", what);
  else if (want->length && is_number(want->length) &&
           (var || H5Tget_size(type) != (size_t)atoll(want->length)))
    say(c->r, 0, "%s: string of %zu bytes, expected %s", what, H5Tget_size(type),
        want->length);
  if (want->cset && strcmp(want->cset, cset_name(H5Tget_cset(type))) != 0)
    say(c->r, 0, "%s: charSet %s, expected %s", what, cset_name(H5Tget_cset(type)), want->cset);
  if (want->strpad && strcmp(want->strpad, strpad_name(H5Tget_strpad(type))) != 0)
    say(c->r, 0, "%s: strPad %s, expected %s", what, strpad_name(H5Tget_strpad(type)),
        want->strpad);
}

static void fmt_dims(char *buf, size_t cap, int rank, const hsize_t *d) {
  size_t n = (size_t)snprintf(buf, cap, "(");
  for (int i = 0; i < rank && n < cap; i++) {
    if (d[i] == H5S_UNLIMITED)
      n += (size_t)snprintf(buf + n, cap - n, "%sH5S_UNLIMITED", i ? ", " : "");
    else
      n += (size_t)snprintf(buf + n, cap - n, "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
  }
  if (n < cap) snprintf(buf + n, cap - n, ")");
}

static void fmt_want(char *buf, size_t cap, int rank, char *const *d) {
  size_t n = (size_t)snprintf(buf, cap, "(");
  for (int i = 0; i < rank && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", d[i]);
  if (n < cap) snprintf(buf + n, cap - n, ")");
}

static void check_shape(checker_t *c, const char *what, const char *group, hid_t space,
                        const insp_shape_t *want) {
  H5S_class_t cls = H5Sget_simple_extent_type(space);
  int rank = H5Sget_simple_extent_ndims(space);
  hsize_t dims[H5S_MAX_RANK], maxdims[H5S_MAX_RANK];
  char got[256], exp[256];
  if (rank < 0 || rank > H5S_MAX_RANK || H5Sget_simple_extent_dims(space, dims, maxdims) < 0) {
    say(c->r, 0, "%s: unreadable dataspace (damaged?)", what);
    return;
  }
  fmt_dims(got, sizeof got, rank, dims);
  if (want->cls && !strcmp(want->cls, "H5S_SCALAR")) {
    if (cls != H5S_SCALAR) say(c->r, 0, "%s: shape %s, expected scalar", what, got);
    return;
  }
  if (want->cls && !strcmp(want->cls, "H5S_NULL")) {
    if (cls != H5S_NULL) say(c->r, 0, "%s: has a value, expected H5S_NULL", what);
    return;
  }
  if (want->rank < 0) return;
  fmt_want(exp, sizeof exp, want->rank, want->dims);
  if (cls != H5S_SIMPLE) {
    say(c->r, 0, "%s: %s, expected shape %s", what, cls == H5S_SCALAR ? "scalar" : "no value",
        exp);
    return;
  }
  if (rank != want->rank) {
    say(c->r, 0, "%s: rank %d %s, expected rank %d %s", what, rank, got, want->rank, exp);
    return;
  }
  for (int i = 0; i < rank; i++) {
    if (is_number(want->dims[i])) {
      if (dims[i] != (hsize_t)atoll(want->dims[i]))
        say(c->r, 0, "%s: shape %s, expected %s", what, got, exp);
    } else {
      check_symbol(c, group, want->dims[i], (long long)dims[i], what, i);
    }
  }
  for (int i = 0; i < want->nmax && i < rank; i++) {
    const char *m = want->maxdims[i];
    int bad = !strcmp(m, "H5S_UNLIMITED") ? maxdims[i] != H5S_UNLIMITED
              : is_number(m)              ? maxdims[i] != (hsize_t)atoll(m)
                                          : 0;
    if (bad) {
      fmt_dims(got, sizeof got, rank, maxdims);
      fmt_want(exp, sizeof exp, want->nmax, want->maxdims);
      say(c->r, 0, "%s: maxdims %s, expected %s", what, got, exp);
      break;
    }
  }
}

/* --- attributes ------------------------------------------------------------------- */

static void check_attr(checker_t *c, hid_t obj, const char *path, const char *group,
                       const insp_attr_t *a) {
  char what[1200];
  where(what, sizeof what, path, a->name);
  if (H5Aexists(obj, a->name) <= 0) {
    if (!a->optional)
      say(c->r, 0, "%s missing%s", what,
          !strcmp(a->name, "complete") ? " (the writer never finished this file)" : "");
    return;
  }
  hid_t attr = H5Aopen(obj, a->name, H5P_DEFAULT);
  if (attr < 0) {
    say(c->r, 0, "%s: cannot be opened (damaged?)", what);
    return;
  }
  hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
  if (type < 0 || space < 0) say(c->r, 0, "%s: unreadable type or shape (damaged?)", what);
  else {
    check_type(c, what, type, &a->type);
    check_shape(c, what, group, space, &a->shape);
  }
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  H5Aclose(attr);
}

static void check_units(checker_t *c, hid_t dset, const char *path, const char *units) {
  char *got = NULL;
  if (H5Aexists(dset, "units") <= 0) {
    say(c->r, 0, "%s: no 'units' attribute, expected \"%s\"", path, units);
  } else if (h5_read_attr_str(dset, "units", &got) < 0) {
    say(c->r, 0, "%s: 'units' is not a fixed-length string", path);
  } else if (strcmp(got, units) != 0) {
    say(c->r, 0, "%s: units \"%s\", expected \"%s\"", path, got, units);
  }
  dpt_free(got);
}

/* --- datasets --------------------------------------------------------------------- */

static void check_layout(checker_t *c, hid_t dset, const char *path, const insp_dset_t *d) {
  hid_t dcpl = H5Dget_create_plist(dset);
  if (dcpl < 0) return;
  H5D_layout_t layout = H5Pget_layout(dcpl);
  const char *name = layout == H5D_CHUNKED      ? "H5D_CHUNKED"
                     : layout == H5D_CONTIGUOUS ? "H5D_CONTIGUOUS"
                     : layout == H5D_COMPACT    ? "H5D_COMPACT"
                                                : "H5D_VIRTUAL";
  if (d->layout && strcmp(d->layout, name) != 0) {
    say(c->r, 0, "%s: layout %s, expected %s", path, name, d->layout);
  } else if (layout == H5D_CHUNKED) {
    hsize_t chunk[H5S_MAX_RANK];
    int rank = H5Pget_chunk(dcpl, H5S_MAX_RANK, chunk);
    for (int i = 0; i < d->nchunk && i < rank; i++)
      if (is_number(d->chunk[i]) && chunk[i] != (hsize_t)atoll(d->chunk[i])) {
        char got[256], exp[256];
        fmt_dims(got, sizeof got, rank, chunk);
        fmt_want(exp, sizeof exp, d->nchunk, d->chunk);
        say(c->r, 0, "%s: chunk %s, expected %s", path, got, exp);
        break;
      }
    int nf = H5Pget_nfilters(dcpl);
    for (int k = 0; k < d->nfilters; k++) {
      int found = 0;
      for (int i = 0; i < nf && !found; i++) {
        unsigned flags, cd[8];
        size_t ncd = 8;
        found = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, 0, NULL, NULL) ==
                d->filters[k];
      }
      if (!found) say(c->r, 0, "%s: filter %d missing", path, d->filters[k]);
    }
  }
  H5Pclose(dcpl);
}

/* The group or dataset (kind) the schema describes at path, open; -1 after saying why
 * not: not there (said only when required), of the other kind, or damaged. */
static hid_t open_described(checker_t *c, const char *path, H5I_type_t kind, int required) {
  const char *what = kind == H5I_GROUP ? "group" : "dataset";
  H5I_type_t t = object_at(c->file, path);
  if (t == H5I_BADID) {
    if (required) say(c->r, 0, "%s: %s missing", path, what);
    return -1;
  }
  if (t != kind) {
    say(c->r, 0, "%s: not a %s", path, what);
    return -1;
  }
  hid_t obj = H5Oopen(c->file, path, H5P_DEFAULT);
  if (obj < 0) say(c->r, 0, "%s: cannot be opened (damaged?)", path);
  return obj;
}

static void check_dset(checker_t *c, const insp_dset_t *d) {
  char group[1024];
  parent_of(d->path, group, sizeof group);
  const insp_group_t *g = insp_schema_group(c->s, group);
  /* Everything in an optional group that is absent is absent with it. */
  int required = !d->optional && !(g && g->optional && object_at(c->file, group) == H5I_BADID);
  hid_t dset = open_described(c, d->path, H5I_DATASET, required);
  if (dset < 0) return;
  hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
  if (type < 0 || space < 0) say(c->r, 0, "%s: unreadable type or shape (damaged?)", d->path);
  else {
    check_type(c, d->path, type, &d->type);
    check_shape(c, d->path, group, space, &d->shape);
    check_layout(c, dset, d->path, d);
  }
  if (d->units) check_units(c, dset, d->path, d->units);
  for (int i = 0; i < d->nattrs; i++) check_attr(c, dset, d->path, group, &d->attrs[i]);
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  H5Oclose(dset);
}

static void check_group(checker_t *c, const insp_group_t *g) {
  hid_t obj = open_described(c, g->path, H5I_GROUP, !g->optional);
  if (obj < 0) return;
  for (int i = 0; i < g->nattrs; i++) check_attr(c, obj, g->path, g->path, &g->attrs[i]);
  H5Oclose(obj);
}

/* --- checksums -------------------------------------------------------------------- */

/* crc32 of a dataset's bytes as stored, read in slabs of whole rows. */
static int dataset_crc(hid_t dset, uint32_t *crc) {
  hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
  int rc = -1, rank = H5Sget_simple_extent_ndims(space);
  hsize_t dims[H5S_MAX_RANK];
  H5T_class_t cls = H5Tget_class(type);
  if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && rank >= 0 && rank <= H5S_MAX_RANK &&
      H5Sget_simple_extent_dims(space, dims, NULL) >= 0 &&
      h5_check_extent(dset, "", rank, dims) == 0) {
    size_t esize = H5Tget_size(type), row = esize;
    for (int i = 1; i < rank; i++) row *= dims[i];
    hsize_t nrows = rank ? dims[0] : 1, step = row ? (16u << 20) / row : 1;
    if (step < 1) step = 1;
    /* No bytes to read (rows of none, or no rows however wide: a 0 x 2^31 x 6 shape is
     * empty), so nothing to allocate either. */
    if (!row) nrows = 0;
    unsigned char *buf = nrows ? dpt_alloc(row * (size_t)(step < nrows ? step : nrows)) : NULL;
    uint32_t z = 0;
    rc = 0;
    for (hsize_t r0 = 0; r0 < nrows && rc == 0; r0 += step) {
      hsize_t start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
      for (int i = 0; i < rank; i++) count[i] = dims[i];
      if (rank) {
        start[0] = r0;
        count[0] = nrows - r0 < step ? nrows - r0 : step;
      }
      hid_t mem = rank ? H5Screate_simple(rank, count, NULL) : H5Screate(H5S_SCALAR);
      if ((rank && H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) < 0) ||
          H5Dread(dset, type, mem, space, H5P_DEFAULT, buf) < 0)
        rc = -1;
      else
        z = dpt_crc32(z, buf, row * (size_t)(rank ? count[0] : 1));
      H5Sclose(mem);
    }
    dpt_free(buf);
    *crc = z;
  }
  H5Sclose(space);
  H5Tclose(type);
  return rc;
}

/* The integer attribute `attr` of holder (at holder_path) against the crc32 of dset's
 * data (at dset_path). */
static void compare_crc(checker_t *c, hid_t holder, const char *holder_path, const char *attr,
                        hid_t dset, const char *dset_path) {
  int64_t want;
  uint32_t got;
  if (h5_read_attr_i64(holder, attr, &want) < 0)
    say(c->r, 0, "%s: attribute '%s' unreadable", holder_path, attr);
  else if (dataset_crc(dset, &got) < 0)
    say(c->r, 0, "%s: data cannot be read (damaged or truncated file)", dset_path);
  else if ((int64_t)got != want)
    say(c->r, 0, "%s: crc32 of the data is %u, attribute %s says %lld (damaged data)",
        dset_path, got, attr, (long long)want);
}

typedef struct {
  checker_t *c;
  const char *path;
  hid_t group;
} crc_ctx_t;

static herr_t crc_attr(hid_t loc, const char *name, const H5A_info_t *info, void *op) {
  (void)loc;
  (void)info;
  crc_ctx_t *x = op;
  size_t n = strlen(name);
  if (n <= 6 || strcmp(name + n - 6, "_crc32") != 0) return 0;
  char dname[256];
  snprintf(dname, sizeof dname, "%.*s", (int)(n - 6), name);
  if (H5Lexists(x->group, dname, H5P_DEFAULT) <= 0) return 0;
  char path[1300];
  snprintf(path, sizeof path, "%s%s%s", x->path, strcmp(x->path, "/") ? "/" : "", dname);
  hid_t dset = H5Dopen2(x->group, dname, H5P_DEFAULT);
  if (dset < 0) return 0;
  compare_crc(x->c, x->group, x->path, name, dset, path);
  H5Dclose(dset);
  return 0;
}

/* A dataset's own `crc32` attribute. */
static void check_own_crc(checker_t *c, hid_t dset, const char *path) {
  if (H5Aexists(dset, "crc32") > 0) compare_crc(c, dset, path, "crc32", dset, path);
}

/* --- objects the schema does not describe ---------------------------------------- */

static int listed_attr(const insp_attr_t *a, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(a[i].name, name)) return 1;
  return 0;
}

/* Is path a group the schema names, or the parent of something it names? */
static int known_group(const insp_schema_t *s, const char *path) {
  if (insp_schema_group(s, path)) return 1;
  size_t n = strlen(path);
  for (int i = 0; i < s->ndsets; i++)
    if (!strncmp(s->dsets[i].path, path, n) && s->dsets[i].path[n] == '/') return 1;
  for (int i = 0; i < s->ngroups; i++)
    if (!strncmp(s->groups[i].path, path, n) && s->groups[i].path[n] == '/') return 1;
  return !strcmp(path, "/");
}

typedef struct {
  checker_t *c;
  const char *path;
  const insp_attr_t *listed;
  int nlisted;
  const char *units; /* a dataset's expected `units`: allowed */
} extra_ctx_t;

static herr_t extra_attr(hid_t loc, const char *name, const H5A_info_t *info, void *op) {
  (void)loc;
  (void)info;
  extra_ctx_t *x = op;
  if (x->units && !strcmp(name, "units")) return 0;
  if (!listed_attr(x->listed, x->nlisted, name))
    say(x->c->r, 1, "%s: attribute '%s' is not in the schema", x->path, name);
  return 0;
}

static void walk(checker_t *c, hid_t group, const char *path, int depth) {
  const insp_group_t *g = insp_schema_group(c->s, path);
  if (g && !g->open) {
    extra_ctx_t x = {c, path, g->attrs, g->nattrs, NULL};
    hsize_t idx = 0;
    H5Aiterate2(group, H5_INDEX_NAME, H5_ITER_INC, &idx, extra_attr, &x);
  }
  crc_ctx_t cx = {c, path, group};
  hsize_t cidx = 0;
  H5Aiterate2(group, H5_INDEX_NAME, H5_ITER_INC, &cidx, crc_attr, &cx);
  H5G_info_t info;
  if (H5Gget_info(group, &info) < 0) {
    say(c->r, 0, "%s: cannot list the group (damaged?)", path);
    return;
  }
  for (hsize_t i = 0; i < info.nlinks; i++) {
    char name[512], child[1600];
    if (H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                           H5P_DEFAULT) < 0) {
      say(c->r, 0, "%s: cannot read link %llu (damaged?)", path, (unsigned long long)i);
      continue;
    }
    snprintf(child, sizeof child, "%s%s%s", path, strcmp(path, "/") ? "/" : "", name);
    if (++c->objects > MAX_OBJECTS) {
      say(c->r, 0, "%s: more than %d objects, stopped looking", path, MAX_OBJECTS);
      return;
    }
    H5L_info_t li;
    if (H5Lget_info(group, name, &li, H5P_DEFAULT) < 0 || li.type != H5L_TYPE_HARD) {
      say(c->r, 1, "%s: a soft or external link, not in the schema", child);
      continue;
    }
    hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj < 0) {
      say(c->r, 0, "%s: cannot be opened (damaged?)", child);
      continue;
    }
    H5I_type_t t = H5Iget_type(obj);
    const insp_dset_t *d = insp_schema_dset(c->s, child);
    if (t == H5I_GROUP) {
      if (!known_group(c->s, child) || d)
        say(c->r, 1, "%s: group not in the schema", child);
      else if (depth < MAX_DEPTH)
        walk(c, obj, child, depth + 1);
    } else if (t == H5I_DATASET) {
      check_own_crc(c, obj, child);
      if (!d) {
        say(c->r, 1, "%s: dataset not in the schema", child);
      } else {
        extra_ctx_t x = {c, child, d->attrs, d->nattrs, d->units};
        hsize_t idx = 0;
        H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, extra_attr, &x);
      }
    } else {
      say(c->r, 1, "%s: named datatype, not in the schema", child);
    }
    H5Oclose(obj);
  }
}

/* --- /config of a run file: typed attributes --------------------------------------- */

/* Schema 1.1 run files store each config key with its own type (src/io/runfile.c); 1.0
 * files stored strings, which stay readable and pass. */
static herr_t config_type(hid_t loc, const char *name, const H5A_info_t *info, void *op) {
  (void)info;
  checker_t *c = op;
  hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
  if (attr < 0) {
    say(c->r, 0, "/config: attribute '%s' cannot be opened (damaged?)", name);
    return 0;
  }
  hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
  const char *expected = NULL;
  char got[64];
  insp_type_name(type, got, sizeof got);
  int ok = runfile_config_type_ok(name, type, &expected);
  if (ok < 0)
    say(c->r, 1, "/config: attribute '%s' is not a config key this dpt knows", name);
  else if (!ok)
    say(c->r, 0, "/config: attribute '%s': type %s, expected %s", name, got, expected);
  else if (H5Tget_class(type) == H5T_STRING && runfile_config_kind(name) != RUNCFG_STRING) {
    /* A number or boolean key is a string only when left at auto. */
    char *v = NULL;
    if (h5_read_attr_str(loc, name, &v) < 0 || strcmp(v, "auto"))
      say(c->r, 0, "/config: attribute '%s': the string '%s', expected %s or \"auto\"", name,
          v ? v : "?", expected);
    dpt_free(v);
    dpt_clear_error();
  }
  else if (H5Sget_simple_extent_type(space) != H5S_SCALAR)
    say(c->r, 0, "/config: attribute '%s': not a scalar", name);
  H5Sclose(space);
  H5Tclose(type);
  H5Aclose(attr);
  return 0;
}

static void check_config_types(checker_t *c, const char *version) {
  const char *dot = strchr(version, '.');
  if ((insp_version_major(version) == 1 && (!dot || atoi(dot + 1) < 1)) ||
      object_at(c->file, "/config") != H5I_GROUP)
    return;
  hid_t g = H5Gopen2(c->file, "/config", H5P_DEFAULT);
  if (g < 0) return;
  hsize_t idx = 0;
  H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, config_type, c);
  H5Gclose(g);
}

/* --- metric values of a run file or checkpoint ------------------------------------ */

/* Accuracies, losses and epoch numbers in range (run_metrics_check); a /metrics whose
 * shapes are wrong is left to the schema checks above. */
static void check_metric_values(checker_t *c) {
  if (object_at(c->file, "/metrics") != H5I_GROUP) return;
  hid_t g = H5Gopen2(c->file, "/metrics", H5P_DEFAULT);
  if (g < 0) return;
  run_metrics_t m = {0};
  uint32_t has = 0;
  if (runfile_read_metrics(g, &m, &has) == 0 && run_metrics_check(&m) < 0)
    say(c->r, 0, "%s", dpt_errmsg());
  dpt_clear_error();
  run_metrics_free(&m);
  H5Gclose(g);
}

/* The communication ledger's values (ledger_check) and sizes, when the file has one. */
static void check_rounds_values(checker_t *c) {
  ledger_t l = {0};
  if (runfile_read_rounds(c->file, &l) < 0) say(c->r, 0, "%s", dpt_errmsg());
  dpt_clear_error();
  ledger_free(&l);
}

/* --- the whole file --------------------------------------------------------------- */

int insp_check(const char *path, const char *schema_dir, insp_report_t *r) {
  memset(r, 0, sizeof *r);
  char *schema = NULL, *version = NULL, yaml[4096];
  hid_t file = insp_open(path, 0, &schema, &version);
  if (file < 0) return -1;
  insp_schema_t s;
  int rc = -1;
  if (insp_schema_path(yaml, sizeof yaml, schema_dir, schema) < 0 ||
      insp_schema_load(&s, yaml) < 0) {
    dpt_wrap("%s", path);
    goto out;
  }
  r->schema_file = dpt_strdup(yaml);
  int major = insp_version_major(version), known = insp_version_major(s.version);
  if (strcmp(s.schema, schema) != 0) {
    dpt_fail("%s: schema file %s describes '%s', not '%s'", path, yaml, s.schema, schema);
  } else if (major > known) {
    dpt_fail("%s: a %s file of schema version %s, newer than this dpt understands "
             "(major %d); upgrade dpt to read it", path, schema, version, known);
  } else {
    checker_t c = {.file = file, .s = &s, .r = r};
    if (major < known)
      say(r, 0, "/: attribute 'schema_version' is %s, an older major version than %s",
          version, s.version);
    int64_t complete;
    if (H5Aexists(file, "complete") > 0 &&
        (h5_read_attr_i64(file, "complete", &complete) < 0 || complete != 1))
      say(r, 0, "/: attribute 'complete' is not 1 (the writer never finished this file)");
    else if (H5Aexists(file, "complete") <= 0 && !(insp_schema_group(&s, "/") &&
             listed_attr(insp_schema_group(&s, "/")->attrs,
                         insp_schema_group(&s, "/")->nattrs, "complete")))
      say(r, 0, "/: attribute 'complete' missing (the writer never finished this file)");
    for (int i = 0; i < s.ngroups; i++) check_group(&c, &s.groups[i]);
    for (int i = 0; i < s.ndsets; i++) check_dset(&c, &s.dsets[i]);
    walk(&c, file, "/", 0);
    if (!strcmp(schema, RUN_SCHEMA)) check_config_types(&c, version);
    if (!strcmp(schema, RUN_SCHEMA) || !strcmp(schema, CKPT_SCHEMA)) {
      check_metric_values(&c);
      check_rounds_values(&c);
    }
    for (int i = 0; i < c.nbind; i++) {
      dpt_free(c.bind[i].scope);
      dpt_free(c.bind[i].name);
      dpt_free(c.bind[i].source);
    }
    dpt_free(c.bind);
    rc = 0;
  }
  insp_schema_free(&s);
out:
  dpt_free(schema);
  dpt_free(version);
  H5Fclose(file);
  return rc;
}
