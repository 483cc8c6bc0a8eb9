/* runfile_info.h - the attributes of run.h5's /provenance and /results (run_info_t), one
 * table driving both runfile_write and runfile_read. Internal to src/io. */
#ifndef DPT_RUNFILE_INFO_H
#define DPT_RUNFILE_INFO_H

#include <hdf5.h>

#include "runfile.h"

/* Writes the groups /provenance and /results; the test results and weights_crc32 only
 * when info->has_test. */
int runfile_info_write(hid_t file, const run_info_t *info);
/* Reads group `group` ("provenance" or "results") into r->info and sets its RUNFILE_HAS_*
 * bits. Fails with "no /GROUP group" or "/GROUP: REASON" when an attribute every run has
 * is missing or unreadable, or the test results are present in part; weights_crc32 and
 * the worker counts are left out of `has` when absent. */
int runfile_info_read(hid_t file, const char *group, runfile_t *r);
/* Opens group `name` of file, or fails with "no /NAME group". */
hid_t runfile_open_group(hid_t file, const char *name);

#endif
