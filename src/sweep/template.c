/* template.c - filling the job templates of jobs/ and quoting values for their #SBATCH
 * lines (see template.h). */
#include "template.h"

#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "../core/readfile.h"
#include "../core/strbuf.h"

int sweep_fill_template(const char *tpl_path, const sweep_subst_t *subs, int nsubs, char **out) {
  char *tpl;
  if (dpt_read_file(tpl_path, DPT_TEXT_MAX, &tpl, NULL) < 0) return dpt_wrap("job template");
  strbuf_t b = {0};
  int rc = 0;
  for (char *line = tpl; *line && rc == 0;) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
    strbuf_t l = {0};
    int drop = 0;
    for (size_t i = 0; i < len;) {
      if (line[i] == '{' && i + 1 < len && line[i + 1] == '{') {
        char *end = strstr(line + i, "}}");
        if (!end || end >= line + len) {
          rc = dpt_fail("%s: unclosed {{ in a line", tpl_path);
          break;
        }
        size_t klen = (size_t)(end - line - i - 2);
        int k = 0;
        for (; k < nsubs; k++)
          if (strlen(subs[k].key) == klen && !strncmp(subs[k].key, line + i + 2, klen)) break;
        if (k == nsubs) {
          rc = dpt_fail("%s: unknown placeholder {{%.*s}}", tpl_path, (int)klen, line + i + 2);
          break;
        }
        if (!*subs[k].value) drop = 1;
        strbuf_puts(&l, subs[k].value);
        i = (size_t)(end - line) + 2;
      } else {
        strbuf_put(&l, line + i, 1);
        i++;
      }
    }
    if (!drop && l.s) strbuf_puts(&b, l.s);
    strbuf_free(&l);
    line += len;
  }
  dpt_free(tpl);
  if (rc < 0) {
    strbuf_free(&b);
    return -1;
  }
  *out = strbuf_take(&b);
  return 0;
}

/* sbatch (22.05) splits a directive's arguments at blanks and ends the line at a '#',
 * except inside quotes, which it removes; it has no escapes (it drops a backslash), so a
 * path goes in double quotes and sweep_script_safe() refuses one that holds a quote or a
 * backslash. In --output, Slurm expands
 * %-patterns: a literal '%' is written '%%' (--chdir takes it as it is). */
char *sweep_sbatch_word(const char *path, const char *pattern) {
  strbuf_t b = {0};
  strbuf_puts(&b, "\"");
  for (const char *p = path; *p; p++) {
    strbuf_put(&b, p, 1);
    if (pattern && *p == '%') strbuf_put(&b, "%", 1);
  }
  if (pattern) strbuf_puts(&b, pattern);
  strbuf_puts(&b, "\"");
  return strbuf_take(&b);
}

/* The job scripts quote paths in single quotes for the shell and in double quotes for
 * sbatch (sweep_sbatch_word), so quotes, backslashes (sbatch drops them: every task would
 * die without a log) and control characters cannot be carried. */
int sweep_script_safe(const char *path) {
  for (const char *p = path; *p; p++)
    if (*p == '\'' || *p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f) return 0;
  return 1;
}
