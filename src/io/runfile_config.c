/* runfile_config.c - the run file's config: the resolved YAML as the root attribute
 * `config`, and /config with one typed attribute per key (see runfile.h). */
#include "runfile.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../config/config_keys.h"
#include "../core/err.h"
#include "../h5/h5util.h"

/* --- /config: one typed attribute per key (schema 1.1) ----------------------------
 * The key table (config_keys.c) gives each key's type: int keys are H5T_STD_I64LE, the
 * seed H5T_STD_U64LE, floats H5T_IEEE_F64LE, booleans the enum {FALSE 0, TRUE 1} over
 * H5T_STD_I8LE (h5py's own bool, read back as numpy.bool_), the rest strings; a key left
 * at `auto` is the string "auto". Files of schema 1.0 hold strings only. */

runfile_kind_t runfile_config_kind(const char *key) {
  const cfg_key_t *k = cfg_key_find(key);
  if (!k) return RUNCFG_UNKNOWN;
  switch (k->type) {
  case T_INT: return RUNCFG_INT;
  case T_U64: return RUNCFG_UINT;
  case T_FLOAT: return RUNCFG_FLOAT;
  case T_BOOL: return RUNCFG_BOOL;
  default: return RUNCFG_STRING;
  }
}

/* The enum h5py writes for numpy.bool_; the caller closes it. */
static hid_t bool_type(void) {
  hid_t t = H5Tenum_create(H5T_STD_I8LE);
  int8_t v = 0;
  H5Tenum_insert(t, "FALSE", &v);
  v = 1;
  H5Tenum_insert(t, "TRUE", &v);
  return t;
}

static int scalar_attr(hid_t obj, const char *name, hid_t type, const void *value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  int rc = attr >= 0 && H5Awrite(attr, type, value) >= 0 ? 0 : -1;
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(space);
  return rc < 0 ? dpt_fail("cannot write HDF5 attribute '%s'", name) : 0;
}

typedef struct { hid_t group; const dpt_config_t *cfg; int rc; } attr_ctx_t;

static int typed_attr(hid_t g, const dpt_config_t *cfg, const char *key, const char *text) {
  const cfg_key_t *k = cfg_key_find(key);
  const char *field = (const char *)cfg + k->off;
  if (!strcmp(text, "auto")) return h5_attr_str(g, key, text);
  switch (runfile_config_kind(key)) {
  case RUNCFG_INT: return h5_attr_i64(g, key, *(const int *)field);
  case RUNCFG_UINT: return scalar_attr(g, key, H5T_STD_U64LE, (const uint64_t *)field);
  case RUNCFG_FLOAT: return h5_attr_f64(g, key, *(const double *)field);
  case RUNCFG_BOOL: {
    int8_t v = *(const int *)field != 0;
    hid_t t = bool_type();
    int rc = scalar_attr(g, key, t, &v);
    H5Tclose(t);
    return rc;
  }
  default: return h5_attr_str(g, key, text);
  }
}

static void config_attr(void *ctx, const char *key, const char *value) {
  attr_ctx_t *a = ctx;
  if (a->rc == 0) a->rc = typed_attr(a->group, a->cfg, key, value);
}

int runfile_config_write(hid_t file, const dpt_config_t *cfg) {
  char *yaml = config_to_yaml(cfg);
  int rc = h5_attr_str(file, "config", yaml);
  dpt_free(yaml);
  if (rc < 0) return -1;
  attr_ctx_t a = {H5Gcreate2(file, "config", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), cfg, 0};
  if (a.group < 0) return dpt_fail("cannot create group /config");
  config_each(cfg, config_attr, &a);
  H5Gclose(a.group);
  return a.rc;
}

int runfile_config_type_ok(const char *key, hid_t type, const char **expected) {
  runfile_kind_t kind = runfile_config_kind(key);
  static const char *const want[] = {
      [RUNCFG_INT] = "H5T_STD_I64LE", [RUNCFG_UINT] = "H5T_STD_U64LE",
      [RUNCFG_FLOAT] = "H5T_IEEE_F64LE", [RUNCFG_BOOL] = "an enum {FALSE 0, TRUE 1} of H5T_STD_I8LE",
      [RUNCFG_STRING] = "a string"};
  if (kind == RUNCFG_UNKNOWN) return -1;
  *expected = want[kind];
  H5T_class_t cls = H5Tget_class(type);
  if (cls == H5T_STRING) return kind == RUNCFG_STRING || cfg_key_find(key)->autoable;
  switch (kind) {
  case RUNCFG_INT: return H5Tequal(type, H5T_STD_I64LE) > 0;
  case RUNCFG_UINT: return H5Tequal(type, H5T_STD_U64LE) > 0;
  case RUNCFG_FLOAT: return H5Tequal(type, H5T_IEEE_F64LE) > 0;
  case RUNCFG_BOOL: {
    hid_t t = bool_type();
    int ok = H5Tequal(type, t) > 0;
    H5Tclose(t);
    return ok;
  }
  default: return 0;
  }
}

/* A typed attribute's value as config_each spells it: the number goes into the key's
 * field of a scratch config, which cfg_key_text prints. */
static int typed_text(hid_t attr, hid_t type, const cfg_key_t *k, char **text) {
  dpt_config_t scratch;
  char *field = (char *)&scratch + k->off;
  int rc;
  if (k->type == T_FLOAT) {
    rc = h5_attr_read(attr, k->key, H5T_NATIVE_DOUBLE, 1, field, sizeof(double));
  } else if (k->type == T_U64) {
    rc = h5_attr_read(attr, k->key, H5T_NATIVE_UINT64, 1, field, sizeof(uint64_t));
  } else if (k->type == T_BOOL) {
    int8_t b = 0;
    rc = h5_attr_read(attr, k->key, type, 1, &b, sizeof b);
    *(int *)field = b;
  } else {
    int64_t i = 0;
    rc = h5_attr_read(attr, k->key, H5T_NATIVE_INT64, 1, &i, sizeof i);
    *(int *)field = (int)i;
  }
  if (rc < 0) return dpt_wrap("/config");
  char buf[64];
  cfg_key_text(&scratch, k, buf, sizeof buf);
  *text = dpt_strdup(buf);
  return 0;
}

int runfile_config_read(hid_t group, const char *key, char **text) {
  if (H5Aexists(group, key) <= 0) return dpt_fail("/config: no attribute '%s'", key);
  hid_t attr = H5Aopen(group, key, H5P_DEFAULT);
  if (attr < 0) return dpt_fail("/config: cannot open attribute '%s'", key);
  hid_t type = H5Aget_type(attr);
  const char *expected;
  int rc;
  if (H5Tget_class(type) == H5T_STRING)
    rc = h5_read_attr_str(group, key, text);
  else if (runfile_config_type_ok(key, type, &expected) != 1)
    rc = dpt_fail("/config: attribute '%s' is not %s", key,
                  runfile_config_kind(key) == RUNCFG_UNKNOWN ? "a string (unknown key)"
                                                             : expected);
  else
    rc = typed_text(attr, type, cfg_key_find(key), text);
  H5Tclose(type);
  H5Aclose(attr);
  return rc;
}

