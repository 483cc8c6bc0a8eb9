/* manifest.c - reading a sweep directory back: manifest.tsv and arrays.tsv (what
 * expand wrote) and submitted.tsv (what submit recorded); layout in sweep.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "sweep.h"
#include "textio.h"

int sweep_manifest_read(const char *dir, sweep_manifest_t *m) {
  memset(m, 0, sizeof *m);
  char path[4200];
  snprintf(path, sizeof path, "%s/manifest.tsv", dir);
  if (!dpt_file_exists(path))
    return dpt_fail("%s: not a sweep directory (no manifest.tsv; dpt-sweep expand makes one)",
                    dir);
  char *text = sweep_read_text(path, 0);
  if (!text) return -1;
  m->dir = dpt_strdup(dir);
  char *f[4096];
  int lineno = 0, cols = 0, rc = 0;
  for (char *line = strtok(text, "\n"); line && rc == 0; line = strtok(NULL, "\n")) {
    lineno++;
    static const char head[] = "# dpt-sweep manifest of ";
    if (!strncmp(line, head, sizeof head - 1) && !m->name) {
      size_t n = strcspn(line + sizeof head - 1, ":");
      m->name = dpt_alloc(n + 1);
      memcpy(m->name, line + sizeof head - 1, n);
    }
    if (line[0] == '#') continue;
    int n = sweep_split_tabs(line, f, 4096);
    if (!cols) {
      if (n < 7 || strcmp(f[0], "task")) {
        rc = dpt_fail("%s:%d: expected the column header", path, lineno);
        break;
      }
      cols = n;
      m->naxes = n - 7;
      m->axes = dpt_alloc((size_t)(m->naxes + 1) * sizeof *m->axes);
      for (int i = 0; i < m->naxes; i++) m->axes[i] = dpt_strdup(f[7 + i]);
      continue;
    }
    if (n != cols) {
      rc = dpt_fail("%s:%d: %d columns, expected %d", path, lineno, n, cols);
      break;
    }
    if ((m->nrows & (m->nrows - 1)) == 0)
      m->rows = dpt_realloc(m->rows, (size_t)(m->nrows ? 2 * m->nrows : 1) * sizeof *m->rows);
    sweep_row_t *r = &m->rows[m->nrows++];
    memset(r, 0, sizeof *r);
    r->task = atoi(f[0]);
    snprintf(r->array, sizeof r->array, "%s", f[1]);
    r->array_id = atoi(f[1] + 1);
    r->index = atoi(f[2]);
    r->ranks = atoi(f[3]);
    r->time_min = atoi(f[4]);
    r->run_dir = dpt_strdup(f[5]);
    r->hash = dpt_strdup(f[6]);
    r->values = dpt_alloc((size_t)(m->naxes + 1) * sizeof *r->values);
    for (int i = 0; i < m->naxes; i++) r->values[i] = dpt_strdup(f[7 + i]);
  }
  dpt_free(text);
  if (rc == 0 && !m->name)
    rc = dpt_fail("%s: no '# dpt-sweep manifest of NAME' line (dpt-sweep expand writes it)", path);
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/arrays.tsv", dir);
    text = sweep_read_text(path, 0);
    if (!text) rc = -1;
    int header = 1;
    for (char *line = text ? strtok(text, "\n") : NULL; line && rc == 0; line = strtok(NULL, "\n")) {
      if (header) {
        header = 0;
        continue;
      }
      int n = sweep_split_tabs(line, f, 16);
      if (n != 7) {
        rc = dpt_fail("%s: expected 7 columns", path);
        break;
      }
      m->arrays = dpt_realloc(m->arrays, (size_t)(m->narrays + 1) * sizeof *m->arrays);
      sweep_array_row_t *a = &m->arrays[m->narrays++];
      snprintf(a->array, sizeof a->array, "%s", f[0]);
      a->ranks = atoi(f[1]);
      a->time_min = atoi(f[2]);
      a->mem_per_cpu_mb = atoi(f[3]);
      a->cpus_per_rank = atoi(f[4]);
      a->throttle = atoi(f[5]);
      a->ntasks = atoi(f[6]);
    }
    dpt_free(text);
  }
  if (rc < 0) sweep_manifest_free(m);
  return rc;
}

void sweep_manifest_free(sweep_manifest_t *m) {
  for (int i = 0; i < m->nrows; i++) {
    for (int a = 0; a < m->naxes; a++) dpt_free(m->rows[i].values[a]);
    dpt_free(m->rows[i].values);
    dpt_free(m->rows[i].run_dir);
    dpt_free(m->rows[i].hash);
  }
  for (int a = 0; a < m->naxes; a++) dpt_free(m->axes[a]);
  dpt_free(m->axes);
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
  char *text = sweep_read_text(path, 1);
  if (!text) return dpt_file_exists(path) ? -1 : 0;
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
  char *old = sweep_read_text(path, 1);
  if (!old && dpt_file_exists(path)) return -1;
  strbuf_t b = {0};
  strbuf_puts(&b, old && *old ? old : "job\tarray\tindices\n");
  dpt_free(old);
  for (int i = 0; i < n; i++) strbuf_printf(&b, "%s\t%s\t%s\n", subs[i].job, subs[i].array, subs[i].indices);
  int rc = sweep_write_text(path, b.s, SWEEP_DURABLE, 0);
  dpt_free(b.s);
  return rc;
}

