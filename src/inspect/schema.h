/* schema.h - the machine-readable layouts in hdf5-schema/KIND.yaml, loaded into plain data.
 *
 * The files use the HDF Group's HDF5/JSON vocabulary in YAML: `groups:` maps a group path
 * to its `attributes` (a list of {name, type, shape}) and `datasets` (a map of names
 * relative to the group); a top-level `datasets:` maps full paths. A `type` has `class`
 * (H5T_INTEGER, H5T_FLOAT, H5T_STRING, ...) and `base` (H5T_STD_I64LE, ...); a `shape` has
 * `class` (H5S_SCALAR, H5S_SIMPLE) and `dims`/`maxdims` whose entries are numbers,
 * H5S_UNLIMITED or symbols (a name such as `channels` or `epochs`). Anything marked
 * `optional: true` may be missing. A group whose schema lists no attributes is open: it
 * may hold any attributes (e.g. /config, one per config key). */
#ifndef DPT_INSPECT_SCHEMA_H
#define DPT_INSPECT_SCHEMA_H

#include <stddef.h>

#define INSP_MAX_RANK 8

typedef struct {
  char *cls;    /* H5T_INTEGER, H5T_FLOAT, H5T_STRING, ...; NULL = any */
  char *base;   /* H5T_STD_I64LE, H5T_IEEE_F64LE, ...; NULL = not given */
  char *cset;   /* strings: H5T_CSET_UTF8 / H5T_CSET_ASCII; NULL = not given */
  char *strpad; /* strings: H5T_STR_NULLTERM, ...; NULL = not given */
  char *length; /* strings: a number or H5T_VARIABLE; NULL = fixed-length, any size */
} insp_type_t;

typedef struct {
  char *cls;                      /* H5S_SCALAR | H5S_SIMPLE | NULL (not given) */
  int rank;                       /* entries in dims, -1 when not given */
  char *dims[INSP_MAX_RANK];      /* "100", a symbol such as "channels" */
  int nmax;                       /* entries in maxdims, 0 when not given */
  char *maxdims[INSP_MAX_RANK];   /* "H5S_UNLIMITED", a number or a symbol */
} insp_shape_t;

typedef struct {
  char *name;
  int optional;
  insp_type_t type;
  insp_shape_t shape;
} insp_attr_t;

typedef struct {
  char *path;   /* absolute, e.g. "/metrics/val_acc" */
  int optional;
  insp_type_t type;
  insp_shape_t shape;
  char *units;  /* expected value of the `units` attribute; NULL = none required */
  char *layout; /* H5D_CHUNKED, H5D_CONTIGUOUS, ...; NULL = not given */
  int nchunk;
  char *chunk[INSP_MAX_RANK];
  int nfilters;
  int filters[INSP_MAX_RANK]; /* H5Z filter ids that must be present */
  insp_attr_t *attrs;
  int nattrs;
} insp_dset_t;

typedef struct {
  char *path;   /* absolute, "/" for the root */
  int optional;
  int open;     /* no attributes listed: any attribute is allowed */
  insp_attr_t *attrs;
  int nattrs;
} insp_group_t;

typedef struct {
  char *file;      /* the YAML file it came from */
  char *schema;    /* e.g. "dpt-run" */
  char *version;   /* e.g. "1.0" */
  insp_group_t *groups;
  int ngroups;
  insp_dset_t *dsets;
  int ndsets;
} insp_schema_t;

/* Loads one schema file. Returns 0, or -1 with a message naming the file and line. */
int insp_schema_load(insp_schema_t *s, const char *yaml_path);
void insp_schema_free(insp_schema_t *s);

/* The schema directory: $DPT_SCHEMA_DIR, else <dir of exe>/../hdf5-schema, else
 * ./hdf5-schema (exe may be NULL: /proc/self/exe). Returns 0, or -1 when none exists. */
int insp_schema_dir(char *buf, size_t cap, const char *exe);
/* "<dir>/<kind>.yaml" for a file whose root `schema` is "dpt-<kind>". */
int insp_schema_path(char *buf, size_t cap, const char *dir, const char *schema_name);

const insp_group_t *insp_schema_group(const insp_schema_t *s, const char *path);
const insp_dset_t *insp_schema_dset(const insp_schema_t *s, const char *path);

/* Major number of "MAJOR.MINOR" (-1 when it is not of that form). */
int insp_version_major(const char *version);

#endif
