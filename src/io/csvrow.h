/* csvrow.h - the seed's results table: one CSV row per finished run (config keys and
 * final accuracies), appended so that users keep their spreadsheets. */
#ifndef DPT_CSVROW_H
#define DPT_CSVROW_H

#include "../config/config.h"
#include "runfile.h"

/* Appends a row to dir/rel (experiment.output, relative to the run directory), writing
 * the header first when the file is new or empty. Refuses a symbolic link on the way, a
 * file that is not regular (a FIFO) or has another hard link, and a file whose first
 * line is not the header: nothing but a dpt table is ever appended to. */
int csv_append_run(const char *dir, const char *rel, const dpt_config_t *cfg,
                   const run_info_t *info);

#endif
