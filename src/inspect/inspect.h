/* inspect.h - looking inside any dpt HDF5 file: opening one of unknown kind (open.c), a
 * readable summary of a dataset, run or checkpoint (summary.c), a check against its
 * schema in hdf5-schema/ (check.c; the schema files: schema.h), a checkpoint's weights
 * for PyTorch (export_torch.c), and a command's list of files, each read in a child
 * process (files.c). Damaged, foreign and future-version files give a dpt error, never
 * garbage. */
#ifndef DPT_INSPECT_H
#define DPT_INSPECT_H

#include <hdf5.h>
#include <stdio.h>

/* Differences found by a check, one line each ("/metrics/val_acc: type ..."). */
typedef struct {
  char **lines;
  int *is_warning;
  int n, cap;
  int errors, warnings;
  char *schema_file; /* the YAML checked against */
} insp_report_t;

void insp_report_free(insp_report_t *r);

/* Opens a dpt file read-only: it must be HDF5 and carry root `schema` and
 * `schema_version` strings (returned, dpt_free them). A major version above max_major is
 * refused politely. Returns the file id or -1 with a message naming path. */
hid_t insp_open(const char *path, int max_major, char **schema, char **version);

/* Checks path against <schema_dir>/<kind>.yaml chosen by its root `schema`. Returns 0
 * when the check ran (r holds the differences; r->errors == 0 means the file conforms),
 * -1 when it could not (not HDF5, not a dpt file, future major version, no schema). */
int insp_check(const char *path, const char *schema_dir, insp_report_t *r);

/* Prints a readable summary of path to out. schema_dir may be NULL (major version 1 is
 * then the newest understood). Returns 0 or -1. */
int insp_summary(FILE *out, const char *path, const char *schema_dir);

/* The summaries of paths[0..n) on stdout (with check: their checks against the schema
 * directory of insp_schema_dir), each file read in a child process; a file's failure is
 * reported on stderr and the next file follows. Returns how many files failed (could not
 * be read, or with check do not conform), or -1 when the check cannot start (no schema
 * directory). */
int insp_files(char *const *paths, int n, int check);

/* Writes the final weights of checkpoint ckpt to out for PyTorch (hdf5-schema/torch.yaml).
 * data_path: the dataset whose shape and statistics the model used; NULL = the
 * checkpoint's data.path. Returns 0 or -1; out is never left half-written. */
int insp_export_torch(const char *ckpt, const char *out, const char *data_path);

/* Standard name of an HDF5 type ("H5T_STD_I64LE", "H5T_IEEE_F32LE", "H5T_STRING") and
 * of its class ("H5T_INTEGER"). */
void insp_type_name(hid_t type, char *buf, size_t cap);
const char *insp_class_name(H5T_class_t cls);

#endif
