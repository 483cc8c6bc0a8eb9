/* runfile_info.c - run.h5's /provenance and /results attributes, written and read from
 * one table (see runfile_info.h). */
#include "runfile_info.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "../core/printable.h"
#include "../h5/h5util.h"

typedef enum { A_STR, A_I64, A_F64 } attr_type_t;

/* A part is written and read whole: REQUIRED fails the read when any attribute is
 * missing; METHOD, DATA, TEST, CRC and WORKERS are read when their first attribute exists (the
 * test results then must all be there; the others are dropped quietly). */
typedef enum {
  P_PROVENANCE, P_METHOD, P_DATA, P_RESULTS, P_WORKERS, P_TEST, P_CRC
} part_t;

static const struct {
  const char *group;
  unsigned has;  /* RUNFILE_HAS_* the part sets; 0: a field of info says it */
  int if_test;   /* written only with the test results */
  int lenient;   /* absent or unreadable leaves it out, never a failure */
} parts[] = {
    [P_PROVENANCE] = {"provenance", RUNFILE_HAS_PROVENANCE, 0, 0},
    [P_METHOD] = {"provenance", 0, 0, 1}, /* info.method "" says it is absent */
    [P_DATA] = {"provenance", RUNFILE_HAS_DATA_CRC, 0, 1},
    [P_RESULTS] = {"results", RUNFILE_HAS_RESULTS, 0, 0},
    [P_WORKERS] = {"results", RUNFILE_HAS_WORKERS, 0, 1},
    [P_TEST] = {"results", 0, 1, 0},
    [P_CRC] = {"results", RUNFILE_HAS_CRC, 1, 1},
};
#define NPARTS (sizeof parts / sizeof parts[0])

typedef struct {
  part_t part;
  const char *name;
  attr_type_t type;
  size_t offset, size; /* in run_info_t */
} attr_t;

#define A(part, field, type) \
  {part, #field, type, offsetof(run_info_t, field), sizeof(((run_info_t *)0)->field)}
/* In the order written; a part's attributes stay together, its first one marks it. */
static const attr_t attrs[] = {
    A(P_PROVENANCE, hostname, A_STR), A(P_PROVENANCE, start_time, A_STR),
    A(P_PROVENANCE, end_time, A_STR), A(P_PROVENANCE, mpi_ranks, A_I64),
    A(P_PROVENANCE, blas_threads, A_I64), A(P_PROVENANCE, slurm_job_id, A_STR),
    A(P_PROVENANCE, slurm_array_job_id, A_STR), A(P_PROVENANCE, slurm_array_task_id, A_STR),
    A(P_PROVENANCE, train_images, A_I64), A(P_PROVENANCE, val_images, A_I64),
    A(P_PROVENANCE, test_images, A_I64),
    A(P_METHOD, method, A_STR),
    A(P_DATA, train_images_crc32, A_I64), A(P_DATA, train_labels_crc32, A_I64),
    A(P_DATA, test_images_crc32, A_I64), A(P_DATA, test_labels_crc32, A_I64),
    A(P_RESULTS, epochs_run, A_I64), A(P_RESULTS, best_epoch, A_I64),
    A(P_RESULTS, best_val_acc, A_F64), A(P_RESULTS, stopped_early, A_I64),
    A(P_RESULTS, wall_time, A_F64),
    A(P_WORKERS, num_workers, A_I64), A(P_WORKERS, averagings_total, A_I64),
    A(P_TEST, test_acc_last, A_F64), A(P_TEST, test_loss_last, A_F64),
    A(P_TEST, test_loss_best, A_F64), A(P_TEST, test_acc_best, A_F64),
    A(P_CRC, weights_crc32, A_I64),
};
#define NATTRS (sizeof attrs / sizeof attrs[0])

static int write_attr(hid_t g, const attr_t *a, const run_info_t *info) {
  const char *field = (const char *)info + a->offset;
  switch (a->type) {
  case A_STR: return h5_attr_str(g, a->name, field);
  case A_I64: return h5_attr_i64(g, a->name, *(const int64_t *)field);
  case A_F64: return h5_attr_f64(g, a->name, *(const double *)field);
  }
  return -1;
}

/* The numbers whose range a reader checks (run_value_check); the others are free. */
static const struct { const char *name; run_range_t range; } ranges[] = {
    {"epochs_run", RUN_V_EPOCHS}, {"best_epoch", RUN_V_EPOCHS},
    {"best_val_acc", RUN_V_ACC}, {"wall_time", RUN_V_NONNEG},
    {"test_acc_last", RUN_V_ACC}, {"test_loss_last", RUN_V_LOSS},
    {"test_acc_best", RUN_V_ACC}, {"test_loss_best", RUN_V_LOSS},
};

static int in_range(const char *name, double x) {
  for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
    if (!strcmp(ranges[i].name, name)) {
      char what[64];
      snprintf(what, sizeof what, "attribute '%s'", name);
      return run_value_check(ranges[i].range, x, what);
    }
  return 0;
}

static int read_attr(hid_t g, const attr_t *a, run_info_t *info) {
  char *field = (char *)info + a->offset;
  char *text = NULL;
  switch (a->type) {
  case A_STR:
    if (h5_read_attr_str(g, a->name, &text) < 0) return -1;
    dpt_printable(field, a->size, text, 0); /* truncated to fit */
    dpt_free(text);
    return 0;
  case A_I64:
    if (h5_read_attr_i64(g, a->name, (int64_t *)field) < 0) return -1;
    return in_range(a->name, (double)*(int64_t *)field);
  case A_F64:
    if (h5_read_attr_f64(g, a->name, (double *)field) < 0) return -1;
    return in_range(a->name, *(double *)field);
  }
  return -1;
}

int runfile_info_write(hid_t file, const run_info_t *info) {
  const char *groups[] = {"provenance", "results"};
  for (int i = 0; i < 2; i++) {
    hid_t g = H5Gcreate2(file, groups[i], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return dpt_fail("cannot create group /%s", groups[i]);
    int rc = 0;
    for (size_t a = 0; rc == 0 && a < NATTRS; a++) {
      part_t p = attrs[a].part;
      if (!strcmp(parts[p].group, groups[i]) && (!parts[p].if_test || info->has_test))
        rc = write_attr(g, &attrs[a], info);
    }
    H5Gclose(g);
    if (rc < 0) return -1;
  }
  return 0;
}

/* One part of group g: 1 read, 0 absent (optional), -1 failed. */
static int read_part(hid_t g, part_t p, run_info_t *info) {
  size_t a = 0;
  while (attrs[a].part != p) a++;
  if (p != P_PROVENANCE && p != P_RESULTS && H5Aexists(g, attrs[a].name) <= 0) return 0;
  for (; a < NATTRS && attrs[a].part == p; a++)
    if (read_attr(g, &attrs[a], info) < 0) return -1;
  return 1;
}

int runfile_info_read(hid_t file, const char *group, runfile_t *r) {
  hid_t g = runfile_open_group(file, group);
  if (g < 0) return -1;
  int rc = 0;
  unsigned has = 0;
  for (size_t p = 0; rc == 0 && p < NPARTS; p++) {
    if (strcmp(parts[p].group, group)) continue;
    int got = read_part(g, (part_t)p, &r->info);
    if (got < 0 && parts[p].lenient) {
      dpt_clear_error();
    } else if (got < 0) {
      rc = dpt_wrap("/%s", group);
    } else if (got) {
      has |= parts[p].has;
      if (p == P_TEST) r->info.has_test = 1;
    }
  }
  H5Gclose(g);
  if (rc == 0) r->has |= has;
  else r->info.has_test = 0;
  return rc;
}

hid_t runfile_open_group(hid_t file, const char *name) {
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0) return dpt_fail("no /%s group", name);
  hid_t g = H5Gopen2(file, name, H5P_DEFAULT);
  if (g < 0) return dpt_fail("cannot open /%s", name);
  return g;
}
