/* csvrow.h - the seed's results table: one CSV row per finished run (config keys and
 * final accuracies), appended so that users keep their spreadsheets. */
#ifndef DPT_CSVROW_H
#define DPT_CSVROW_H

#include "../config/config.h"
#include "runfile.h"

/* Appends a row to path, writing the header first when the file is new or empty. */
int csv_append_run(const char *path, const dpt_config_t *cfg, const run_info_t *info);

#endif
