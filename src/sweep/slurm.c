/* slurm.c - the Slurm commands dpt-sweep runs and the formats they speak (see slurm.h). */
#include "slurm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/fsutil.h"
#include "../core/strbuf.h"
#include "proc.h"

int sweep_have_cmd(const char *name) {
  const char *path = getenv("PATH");
  if (!path) return 0;
  char buf[4096];
  for (const char *p = path; *p;) {
    size_t n = strcspn(p, ":");
    snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, name);
    if (access(buf, X_OK) == 0) return 1;
    p += n;
    if (*p) p++;
  }
  return 0;
}

int sweep_cluster_max_array_size(void) {
  if (!sweep_have_cmd("scontrol") ||
      (!getenv("SLURM_CONF") && !dpt_file_exists("/etc/slurm/slurm.conf")))
    return 0;
  char *out;
  char *argv[] = {"scontrol", "show", "config", NULL};
  int v = 0;
  if (sweep_run_cmd(argv, &out, 0, "/dev/null") == 0) { /* no value is no limit known */
    char *p = strstr(out, "\nMaxArraySize");
    if (p && (p = strchr(p, '='))) v = atoi(p + 1);
  }
  dpt_free(out);
  dpt_clear_error();
  return v > 0 ? v : 0;
}

static int parse_job_id(const char *out, char *job, size_t cap) {
  size_t n = strspn(out, "0123456789");
  if (!n || n >= cap) return -1;
  snprintf(job, cap, "%.*s", (int)n, out);
  return 0;
}

int sweep_sbatch(const char *option, const char *script, char *job, size_t cap) {
  char *out = NULL;
  char *argv[] = {"sbatch", "--parsable", (char *)(option ? option : script),
                  (char *)(option ? script : NULL), NULL};
  int st = sweep_run_cmd(argv, &out, 0, NULL);
  int rc = 0;
  if (st < 0) rc = dpt_wrap("sbatch %s", script);
  else if (st != 0 || parse_job_id(out, job, cap) < 0)
    rc = dpt_fail("sbatch %s failed (status %d): %s", script, st, out ? out : "");
  dpt_free(out);
  return rc;
}

void sweep_index_each(const char *list, void (*fn)(void *ctx, int index), void *ctx) {
  const char *p = list;
  while (*p && *p != '%') {
    char *end;
    long a = strtol(p, &end, 10), b = a;
    if (end == p) break;
    p = end;
    if (*p == '-') {
      b = strtol(p + 1, &end, 10);
      p = end;
    }
    for (long i = a; i <= b && i - a < 10000000; i++) fn(ctx, (int)i);
    if (*p == ',') p++;
  }
}

sweep_queue_t sweep_queue_parse(const char *s) {
  static const char *const running[] = {"RUNNING", "COMPLETING", "CONFIGURING", "STAGE_OUT",
                                        "SIGNALING", "RESIZING"};
  static const char *const pending[] = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
                                        "SUSPENDED", "RESV_DEL_HOLD", "STOPPED"};
  if (!s) return SWEEP_Q_NONE;
  for (size_t i = 0; i < sizeof running / sizeof running[0]; i++)
    if (!strcmp(s, running[i])) return SWEEP_Q_RUNNING;
  for (size_t i = 0; i < sizeof pending / sizeof pending[0]; i++)
    if (!strcmp(s, pending[i])) return SWEEP_Q_PENDING;
  return SWEEP_Q_ENDED;
}

/* "--name=NAME-a0,NAME-a1,...,NAME-aggregate": only this sweep's jobs. */
static char *name_option(const sweep_manifest_t *m) {
  strbuf_t b = {0};
  strbuf_puts(&b, "--name=");
  for (int a = 0; a <= m->narrays; a++)
    strbuf_printf(&b, "%s%s-%s", a ? "," : "", m->name,
                  a < m->narrays ? m->arrays[a].array : "aggregate");
  return strbuf_take(&b);
}

int sweep_squeue(const sweep_manifest_t *m,
                 void (*fn)(void *ctx, const char *job, const char *indices, sweep_queue_t q),
                 void *ctx) {
  char *names = name_option(m), *text = NULL;
  char *argv[] = {"squeue", "--me", "-h", "-r", names, "-o", "%i %T", NULL};
  /* Its complaints (no controller, no configuration) would be printed raw: the caller
   * says once that squeue did not answer. */
  int st = sweep_run_cmd(argv, &text, 0, "/dev/null");
  dpt_free(names);
  if (st != 0) {
    dpt_free(text);
    return st < 0 ? -1 : dpt_fail("squeue exited with status %d", st);
  }
  /* Lines "JOB_INDEX STATE", or "JOB_[LIST] STATE" for tasks not yet started. */
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *sp = strchr(line, ' '), *us = strchr(line, '_');
    if (!sp || !us || us > sp) continue;
    *sp = 0;
    *us = 0;
    const char *idx = us + 1;
    if (*idx == '[') idx++;
    fn(ctx, line, idx, sweep_queue_parse(sp + 1));
  }
  dpt_free(text);
  return 0;
}
