/* manifest.c - reading a sweep directory back: manifest.tsv and arrays.tsv (what
 * expand wrote) and submitted.tsv (what submit recorded); layout in sweep.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "../core/readfile.h"
#include "../core/strbuf.h"
#include "../core/strlist.h"
#include "sweep.h"
#include "textio.h"

/* Parses manifest.tsv's text (modified) into m: the name line, the header, the rows. */
static int parse_manifest(char *text, const char *path, sweep_manifest_t *m) {
  static const char head[] = "# dpt-sweep manifest of ";
  char *f[4096];
  int lineno = 0, cols = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    lineno++;
    if (!strncmp(line, head, sizeof head - 1) && !m->name)
      m->name = dpt_strf("%.*s", (int)strcspn(line + sizeof head - 1, ":"), line + sizeof head - 1);
    if (line[0] == '#') continue;
    int n = sweep_split_tabs(line, f, 4096);
    if (!cols) {
      if (n < 7 || strcmp(f[0], "task"))
        return dpt_fail("%s:%d: expected the column header", path, lineno);
      cols = n;
      for (int i = 7; i < n; i++) strlist_push(&m->axes, f[i]);
      continue;
    }
    if (n != cols) return dpt_fail("%s:%d: %d columns, expected %d", path, lineno, n, cols);
    if ((m->nrows & (m->nrows - 1)) == 0)
      m->rows = dpt_realloc(m->rows, (size_t)(m->nrows ? 2 * m->nrows : 1) * sizeof *m->rows);
    sweep_row_t *r = &m->rows[m->nrows++];
    *r = (sweep_row_t){.task = atoi(f[0]), .array_id = atoi(f[1] + 1), .index = atoi(f[2]),
                       .ranks = atoi(f[3]), .time_min = atoi(f[4]),
                       .run_dir = dpt_strdup(f[5]), .hash = dpt_strdup(f[6])};
    snprintf(r->array, sizeof r->array, "%s", f[1]);
    for (int i = 7; i < n; i++) strlist_push(&r->values, f[i]);
  }
  if (!m->name)
    return dpt_fail("%s: no '# dpt-sweep manifest of NAME' line (dpt-sweep expand writes it)",
                    path);
  return 0;
}

/* Parses arrays.tsv's text (modified) into m->arrays. */
static int parse_arrays(char *text, const char *path, sweep_manifest_t *m) {
  char *f[16];
  int header = 1;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    if (header) {
      header = 0;
      continue;
    }
    if (sweep_split_tabs(line, f, 16) != 7) return dpt_fail("%s: expected 7 columns", path);
    m->arrays = dpt_realloc(m->arrays, (size_t)(m->narrays + 1) * sizeof *m->arrays);
    sweep_array_row_t *a = &m->arrays[m->narrays++];
    *a = (sweep_array_row_t){.ranks = atoi(f[1]), .time_min = atoi(f[2]),
                             .mem_per_cpu_mb = atoi(f[3]), .cpus_per_rank = atoi(f[4]),
                             .throttle = atoi(f[5]), .ntasks = atoi(f[6])};
    snprintf(a->array, sizeof a->array, "%s", f[0]);
  }
  return 0;
}

/* Reads dir/name whole and parses it with parse. */
static int read_tsv(const char *dir, const char *name, sweep_manifest_t *m,
                    int (*parse)(char *text, const char *path, sweep_manifest_t *m)) {
  char path[4200], *text;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  TRY(dpt_read_file(path, DPT_TEXT_MAX, &text, NULL));
  int rc = parse(text, path, m);
  dpt_free(text);
  return rc;
fail:
  return -1;
}

int sweep_manifest_read(const char *dir, sweep_manifest_t *m) {
  memset(m, 0, sizeof *m);
  char path[4200];
  snprintf(path, sizeof path, "%s/manifest.tsv", dir);
  if (!dpt_file_exists(path))
    return dpt_fail("%s: not a sweep directory (no manifest.tsv; dpt-sweep expand makes one)",
                    dir);
  m->dir = dpt_strdup(dir);
  if (read_tsv(dir, "manifest.tsv", m, parse_manifest) < 0 ||
      read_tsv(dir, "arrays.tsv", m, parse_arrays) < 0) {
    sweep_manifest_free(m);
    return -1;
  }
  return 0;
}

void sweep_manifest_free(sweep_manifest_t *m) {
  for (int i = 0; i < m->nrows; i++) {
    strlist_free(&m->rows[i].values);
    dpt_free(m->rows[i].run_dir);
    dpt_free(m->rows[i].hash);
  }
  strlist_free(&m->axes);
  dpt_free(m->rows);
  dpt_free(m->arrays);
  dpt_free(m->dir);
  dpt_free(m->name);
  memset(m, 0, sizeof *m);
}

/* ---- submissions ---- */

int sweep_submissions_read(const char *dir, sweep_submission_t **subs, int *n) {
  char path[4200];
  *subs = NULL;
  *n = 0;
  snprintf(path, sizeof path, "%s/submitted.tsv", dir);
  char *text = NULL;
  int rc = dpt_read_file_opt(path, DPT_TEXT_MAX, &text, NULL);
  if (rc != 0) return rc < 0 ? -1 : 0;
  char *f[4];
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    if (line[0] == '#' || !strncmp(line, "job\t", 4)) continue;
    if (sweep_split_tabs(line, f, 4) != 3) continue;
    *subs = dpt_realloc(*subs, (size_t)(*n + 1) * sizeof **subs);
    sweep_submission_t *s = &(*subs)[(*n)++];
    s->job = dpt_strdup(f[0]);
    snprintf(s->array, sizeof s->array, "%s", f[1]);
    s->indices = dpt_strdup(f[2]);
  }
  dpt_free(text);
  return 0;
}

void sweep_submissions_free(sweep_submission_t *subs, int n) {
  for (int i = 0; i < n; i++) {
    dpt_free(subs[i].job);
    dpt_free(subs[i].indices);
  }
  dpt_free(subs);
}

int sweep_submissions_append(const char *dir, const sweep_submission_t *subs, int n) {
  char path[4200];
  snprintf(path, sizeof path, "%s/submitted.tsv", dir);
  char *old = NULL;
  if (dpt_read_file_opt(path, DPT_TEXT_MAX, &old, NULL) < 0) return -1;
  strbuf_t b = {0};
  strbuf_puts(&b, old && *old ? old : "job\tarray\tindices\n");
  dpt_free(old);
  for (int i = 0; i < n; i++)
    strbuf_printf(&b, "%s\t%s\t%s\n", subs[i].job, subs[i].array, subs[i].indices);
  int rc = sweep_write_text(path, b.s, SWEEP_DURABLE, 0);
  strbuf_free(&b);
  return rc;
}

