/* status.c - the reports on a sweep's tasks: dpt-sweep status (states, progress, ETA),
 * results (accuracies as Markdown) and complete (the job scripts' check of one run). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/printable.h"
#include "../core/strbuf.h"
#include "commands.h"
#include "progress.h"
#include "view.h"

/* A manifest string in a format: a shared spec's values reach the manifest, so a
 * terminal escape code in one is printed escaped. */
static void print_text(const char *fmt, const char *s) {
  char buf[1024];
  printf(fmt, dpt_printable(buf, sizeof buf, s, 0));
}

/* Characters a terminal shows for s (UTF-8 continuation bytes take no column). */
static int shown_width(const char *s) {
  int w = 0;
  for (; *s; s++) w += ((unsigned char)*s & 0xc0) != 0x80;
  return w;
}

/* The task table's cells, a header and a row per task (ncols = 4 + axes); manifest
 * strings escaped. */
static char **task_cells(const sweep_view_t *v, int ncols) {
  char **cell = dpt_alloc(sizeof(char *) * (size_t)((v->m.nrows + 1) * ncols));
  const char *head[] = {"task", "job", "state", "attempts"};
  for (int c = 0; c < 4; c++) cell[c] = dpt_strdup(head[c]);
  for (int a = 0; a < v->m.axes.n; a++) cell[4 + a] = dpt_printable_dup(v->m.axes.v[a]);
  for (int i = 0; i < v->m.nrows; i++) {
    const sweep_row_t *r = &v->m.rows[i];
    char **row = cell + (i + 1) * ncols, *array = dpt_printable_dup(r->array);
    row[0] = dpt_strf("%d", r->task);
    row[1] = dpt_strf("%s[%d]", array, r->index);
    row[2] = dpt_strdup(sweep_state_names[v->state[i]]);
    row[3] = dpt_strf("%d", v->files[i].attempts);
    for (int a = 0; a < v->m.axes.n; a++) row[4 + a] = dpt_printable_dup(r->values.v[a]);
    dpt_free(array);
  }
  return cell;
}

/* The task table: tab-separated for scripts, and on a terminal in columns padded to
 * their widest cell. */
static void print_tasks(const sweep_view_t *v) {
  int ncols = 4 + v->m.axes.n, nrows = v->m.nrows + 1, align = isatty(STDOUT_FILENO);
  char **cell = task_cells(v, ncols);
  int *width = dpt_alloc(sizeof(int) * (size_t)ncols);
  for (int c = 0; c < ncols; c++) {
    width[c] = 0;
    for (int i = 0; i < nrows; i++)
      if (shown_width(cell[i * ncols + c]) > width[c]) width[c] = shown_width(cell[i * ncols + c]);
  }
  for (int i = 0; i < nrows; i++) {
    for (int c = 0; c < ncols; c++) {
      const char *t = cell[i * ncols + c];
      if (c) fputs(align ? "  " : "\t", stdout);
      fputs(t, stdout);
      if (align && c < ncols - 1) printf("%*s", width[c] - shown_width(t), "");
    }
    putchar('\n');
  }
  for (int i = 0; i < nrows * ncols; i++) dpt_free(cell[i]);
  dpt_free(cell);
  dpt_free(width);
}

/* How well a log line says why a task failed: 2 for dpt's own errors (its programs start
 * them with their name: "dpt-train: rank 0: ..."), 1 for a line naming an error, a kill
 * or a signal (MPI, Slurm, the C library), else 0. */
static int error_rank(const char *s) {
  if (!strncmp(s, "dpt-", 4)) return 2;
  return strcasestr(s, "error") || strcasestr(s, "killed") || strcasestr(s, "signal");
}

/* The last line of the best error_rank among the last 64 KiB of the log (its last line
 * when none names an error); 0 when the log holds no text. */
static int last_error_line(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  if (fseek(f, -65536L, SEEK_END) != 0) rewind(f);
  char line[1024];
  int best = -1;
  buf[0] = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    int rank = error_rank(line);
    if (!line[strspn(line, " \t")] || rank < best) continue;
    snprintf(buf, cap, "%s", line);
    best = rank;
  }
  fclose(f);
  return buf[0] != 0;
}

/* "task 3 failed: LINE (exit status 1) (log: PATH)", one line per failed task. */
static void print_failures(const sweep_view_t *v, const char *dir) {
  for (int i = 0; i < v->m.nrows; i++) {
    if (v->state[i] != TASK_FAILED) continue;
    char log[PATH_MAX], why[1024] = "";
    int has_log = sweep_task_log(v, dir, i, log, sizeof log);
    printf("task %d failed: ", v->m.rows[i].task);
    if (has_log && last_error_line(log, why, sizeof why)) print_text("%s", why);
    else printf("%s", has_log ? "its log is empty" : "no log");
    if (v->files[i].last_exit > 0) printf(" (exit status %d)", v->files[i].last_exit);
    if (has_log) print_text(" (log: %s)", log);
    printf("\n");
  }
}

/* "total ..." and the bar "[####----] 2/4 done (50%)  ETA 3m10s". */
static void print_totals(const sweep_view_t *v, const char *eta) {
  int count[TASK_NSTATES] = {0};
  for (int i = 0; i < v->m.nrows; i++) count[v->state[i]]++;
  printf("total %d task(s):", v->m.nrows);
  for (int s = 0; s < TASK_NSTATES; s++)
    printf("%s %d %s", s ? "," : "", count[s], sweep_state_names[s]);
  printf("\n");
  int width = 40, done = count[TASK_DONE], n = v->m.nrows;
  int fill = n ? (int)((long)done * width / n) : 0;
  printf("[");
  for (int i = 0; i < width; i++) putchar(i < fill ? '#' : '-');
  printf("] %d/%d done (%d%%)  ETA %s\n", done, n, n ? (int)(100L * done / n) : 0, eta);
}

int sweep_cmd_status(const char *dir, int summary_only) {
  sweep_view_t v;
  if (sweep_view_load(&v, dir) < 0) return -1;
  if (!summary_only) {
    print_tasks(&v);
    print_failures(&v, dir);
  }
  char eta[32];
  sweep_progress_report(stdout, dir, &v.m, v.state, eta, sizeof eta);
  if (v.nsubs && !v.queue_asked)
    printf("note: no squeue on PATH (Slurm is not available here); states come from the "
           "run files only\n");
  else if (v.nsubs && !v.queue_ok)
    print_text("note: squeue did not answer (%s); states come from the run files only\n",
               v.queue_error);
  print_totals(&v, eta);
  sweep_view_free(&v);
  return 0;
}

int sweep_cmd_results(const char *dir) {
  sweep_view_t v;
  if (sweep_view_load(&v, dir) < 0) return -1;
  printf("| task |");
  for (int a = 0; a < v.m.axes.n; a++) print_text(" %s |", v.m.axes.v[a]);
  printf(" state | best val acc | test acc (last) | test acc (best) |\n|---:|");
  for (int a = 0; a < v.m.axes.n; a++) printf("---|");
  printf("---|---:|---:|---:|\n");
  for (int i = 0; i < v.m.nrows; i++) {
    const sweep_row_t *r = &v.m.rows[i];
    const sweep_task_files_t *f = &v.files[i];
    printf("| %d |", r->task);
    for (int a = 0; a < v.m.axes.n; a++) print_text(" %s |", r->values.v[a]);
    printf(" %s |", sweep_state_names[v.state[i]]);
    if (f->has_results)
      printf(" %.4f | %.4f | %.4f |\n", f->best_val_acc, f->test_acc_last, f->test_acc_best);
    else
      printf(" - | - | - |\n");
  }
  sweep_view_free(&v);
  return 0;
}

int sweep_cmd_complete(const char *run_dir) {
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/run.h5", run_dir);
  sweep_task_files_t f;
  sweep_run_file(path, &f);
  if (sweep_run_complete(&f)) {
    printf("%s: complete\n", path);
    return 0;
  }
  printf("%s: not complete (%s)\n", path, sweep_run_status_text(&f));
  return 1;
}
