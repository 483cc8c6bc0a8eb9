/* open.c - opening a file of unknown kind safely, and naming HDF5 types the way h5dump
 * and the schema files do. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "../h5/h5util.h"
#include "inspect.h"
#include "schema.h"

void insp_report_free(insp_report_t *r) {
  for (int i = 0; i < r->n; i++) dpt_free(r->lines[i]);
  dpt_free(r->lines);
  dpt_free(r->is_warning);
  dpt_free(r->schema_file);
  memset(r, 0, sizeof *r);
}

hid_t insp_open(const char *path, int max_major, char **schema, char **version) {
  *schema = *version = NULL;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* failures become dpt errors, not stack dumps */
  if (access(path, R_OK) != 0) return dpt_fail("%s: no such file (or not readable)", path);
  if (dpt_check_regular(path) < 0) return -1; /* HDF5 would block on a FIFO */
  htri_t is = H5Fis_hdf5(path);
  if (is <= 0)
    return dpt_fail("%s: not an HDF5 file (no HDF5 signature: foreign or damaged)", path);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    return dpt_fail("%s: cannot open as HDF5: damaged or truncated (the library refused "
                    "its metadata)", path);
  if (H5Aexists(file, "schema") <= 0) {
    H5Fclose(file);
    return dpt_fail("%s: not a dpt file (HDF5, but no root attribute 'schema')", path);
  }
  if (h5_read_attr_str(file, "schema", schema) < 0 ||
      h5_read_attr_str(file, "schema_version", version) < 0) {
    dpt_wrap("%s: not a readable dpt file", path);
    goto fail;
  }
  int major = insp_version_major(*version);
  if (major < 0) {
    dpt_fail("%s: schema_version '%s' is not \"MAJOR.MINOR\" (damaged?)", path, *version);
    goto fail;
  }
  if (max_major > 0 && major > max_major) {
    dpt_fail("%s: a %s file of schema version %s, newer than this dpt understands "
             "(major %d); upgrade dpt to read it", path, *schema, *version, max_major);
    goto fail;
  }
  return file;
fail:
  dpt_free(*schema);
  dpt_free(*version);
  *schema = *version = NULL;
  H5Fclose(file);
  return -1;
}

const char *insp_class_name(H5T_class_t cls) {
  switch (cls) {
    case H5T_INTEGER: return "H5T_INTEGER";
    case H5T_FLOAT: return "H5T_FLOAT";
    case H5T_STRING: return "H5T_STRING";
    case H5T_COMPOUND: return "H5T_COMPOUND";
    case H5T_ENUM: return "H5T_ENUM";
    case H5T_ARRAY: return "H5T_ARRAY";
    case H5T_VLEN: return "H5T_VLEN";
    case H5T_OPAQUE: return "H5T_OPAQUE";
    case H5T_BITFIELD: return "H5T_BITFIELD";
    case H5T_REFERENCE: return "H5T_REFERENCE";
    case H5T_TIME: return "H5T_TIME";
    default: return "H5T_NO_CLASS";
  }
}

void insp_type_name(hid_t type, char *buf, size_t cap) {
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  const char *order = H5Tget_order(type) == H5T_ORDER_BE ? "BE" : "LE";
  if (cls == H5T_INTEGER) {
    snprintf(buf, cap, "H5T_STD_%c%zu%s", H5Tget_sign(type) == H5T_SGN_NONE ? 'U' : 'I',
             size * 8, order);
    return;
  }
  if (cls == H5T_FLOAT) {
    const char *name = H5Tequal(type, H5T_IEEE_F32LE) > 0   ? "H5T_IEEE_F32LE"
                       : H5Tequal(type, H5T_IEEE_F64LE) > 0 ? "H5T_IEEE_F64LE"
                       : H5Tequal(type, H5T_IEEE_F32BE) > 0 ? "H5T_IEEE_F32BE"
                       : H5Tequal(type, H5T_IEEE_F64BE) > 0 ? "H5T_IEEE_F64BE"
                                                            : NULL;
    if (name) {
      snprintf(buf, cap, "%s", name);
      return;
    }
    snprintf(buf, cap, "H5T_FLOAT (%zu bytes, not IEEE)", size);
    return;
  }
  snprintf(buf, cap, "%s", insp_class_name(cls));
}
