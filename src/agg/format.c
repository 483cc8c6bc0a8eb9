/* format.c - Markdown, CSV, LaTeX and JSON writers (see format.h). */
#include "format.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/csv.h"
#include "../core/err.h"
#include "../core/numfmt.h"

int agg_format_parse(const char *name, agg_format_t *f) {
  if (!strcmp(name, "md") || !strcmp(name, "markdown")) *f = AGG_MARKDOWN;
  else if (!strcmp(name, "csv")) *f = AGG_CSV;
  else if (!strcmp(name, "latex") || !strcmp(name, "tex")) *f = AGG_LATEX;
  else if (!strcmp(name, "json")) *f = AGG_JSON;
  else return dpt_fail("unknown format '%s' (md, csv, latex or json)", name);
  return 0;
}

/* ---------------------------------------------------------------- numbers for reading */

static int is_acc(int field) { return field >= 0 && strstr(agg_fields[field].name, "acc"); }
static int is_loss(int field) { return field >= 0 && strstr(agg_fields[field].name, "loss"); }
/* A count of bytes (not a ratio of two, as vs_dense_bytes). */
static int is_bytes(int field) {
  return field >= 0 && strstr(agg_fields[field].name, "bytes") &&
         agg_field_relative(field, NULL) < 0;
}

static void show_number(char *buf, size_t cap, double x, int field, const agg_style_t *st) {
  if (field >= 0 && (is_acc(field) || is_loss(field))) {
    int pct = st->percent && is_acc(field);
    int digits = st->digits >= 0 ? st->digits : pct ? 2 : 4;
    snprintf(buf, cap, "%.*f", digits, pct ? 100 * x : x);
  } else if (is_bytes(field)) { /* kB, MB, GB for reading; CSV and JSON keep the bytes */
    if (x < 0) {
      size_t n = (size_t)snprintf(buf, cap, "-");
      if (n < cap) dpt_format_bytes(buf + n, cap - n, -x);
    } else {
      dpt_format_bytes(buf, cap, x);
    }
  } else if (field >= 0 && agg_fields[field].fmt) {
    snprintf(buf, cap, agg_fields[field].fmt, x);
  } else if (x == floor(x) && fabs(x) < 1e15) {
    snprintf(buf, cap, "%.0f", x);
  } else {
    snprintf(buf, cap, "%.1f", x);
  }
}

static const char *heading(const agg_table_t *t, int c, const agg_style_t *st, char *buf,
                           size_t cap) {
  if (st->percent && c >= t->nkeys && is_acc(t->field[c])) {
    snprintf(buf, cap, "%s (%%)", t->label[c]);
    return buf;
  }
  return t->label[c];
}

/* The count of the row's group, when the table has an n column; -1 otherwise. */
static int row_count(const agg_table_t *t, int r) {
  for (int c = 0; c < t->ncols; c++)
    if (t->field[c] == AGG_COL_COUNT) return agg_cell(t, r, c)->st.n;
  return -1;
}

/* "0.9012 ± 0.0031", "0.9012 ± 0.0031 (n=2)", "–". pm is the plus-minus sign. */
static void cell_text(char *buf, size_t cap, const agg_table_t *t, int r, int c,
                      const agg_style_t *st, const char *pm, const char *dash) {
  const agg_cell_t *x = agg_cell(t, r, c);
  if (t->field[c] == AGG_COL_COUNT) {
    snprintf(buf, cap, "%d", x->st.n);
    return;
  }
  if (x->st.n == 0) {
    snprintf(buf, cap, "%s", dash);
    return;
  }
  char m[64], s[64] = "";
  show_number(m, sizeof m, x->st.mean, t->field[c], st);
  double spread = st->se ? x->st.std / sqrt(x->st.n) : x->st.std;
  if (x->st.n > 1) show_number(s, sizeof s, spread, t->field[c], st);
  int group = row_count(t, r);
  size_t len = (size_t)snprintf(buf, cap, "%s%s%s", m, x->st.n > 1 ? pm : "", s);
  if (len < cap && x->st.n != group) snprintf(buf + len, cap - len, " (n=%d)", x->st.n);
}

/* ---------------------------------------------------------------- paired differences */

/* The number with its sign: "+0.0300", "-0.0100". */
static void signed_number(char *buf, size_t cap, double x, int field, const agg_style_t *st) {
  int plus = x > 0 && cap > 1;
  if (plus) buf[0] = '+';
  show_number(buf + plus, cap - (size_t)plus, x, field, st);
}

/* "+0.0300 [+0.0100, +0.0500] (3 pairs)", "+0.0300 (1 pair)", "baseline" or dash. */
static void diff_text(char *buf, size_t cap, const agg_cell_t *x, int field,
                      const agg_style_t *st, const char *dash) {
  char m[64], lo[64], hi[64];
  if (x->base || x->diff.n == 0) {
    snprintf(buf, cap, "%s", x->base ? "baseline" : dash);
    return;
  }
  signed_number(m, sizeof m, x->diff.mean, field, st);
  if (x->diff.n < 2) {
    snprintf(buf, cap, "%s (1 pair)", m);
    return;
  }
  signed_number(lo, sizeof lo, x->diff.lo, field, st);
  signed_number(hi, sizeof hi, x->diff.hi, field, st);
  snprintf(buf, cap, "%s [%s, %s] (%d pairs)", m, lo, hi, x->diff.n);
}

/* Column c's cells carry paired differences. */
static int compared(const agg_table_t *t, int c) {
  return t->baseline && c >= t->nkeys && t->field[c] >= 0 &&
         (t->diff_col < 0 || c == t->diff_col);
}

/* ---------------------------------------------------------------- tables for reading */

/* What tells Markdown and LaTeX apart inside a table: escaping, signs and the frame of
 * a row (open, then cells with `sep` between them, each between before and after,
 * then close). */
typedef struct {
  void (*text)(FILE *out, const char *s); /* a key or heading, escaped */
  const char *pm, *dash, *bold;           /* plus-minus, an empty cell, best ("%s") */
  const char *open, *sep, *before, *after, *close;
  const char *delta;                      /* "Δ ", written as it is */
} dialect_t;

/* The paired-difference column after a group table's compared column: its heading when
 * r < 0, else row r's difference, bold when its interval excludes zero. */
static void write_diff_cell(FILE *out, const agg_table_t *t, int r, const agg_style_t *st,
                            const dialect_t *d) {
  char buf[256];
  int f = t->field[t->diff_col];
  fputs(d->sep, out);
  fputs(d->before, out);
  if (r < 0) {
    fputs(d->delta, out);
    snprintf(buf, sizeof buf, "%s%s", agg_fields[f].label,
             st->percent && is_acc(f) ? " (points)" : "");
    d->text(out, buf);
  } else {
    const agg_cell_t *x = agg_cell(t, r, t->diff_col);
    diff_text(buf, sizeof buf, x, f, st, d->dash);
    fprintf(out, agg_paired_excludes_zero(&x->diff) ? d->bold : "%s", buf);
  }
  fputs(d->after, out);
}

/* A pivot's cell with its difference to the baseline: "MEAN ± SD (n=k); Δ DIFF". */
static void pivot_diff_text(char *buf, size_t cap, const agg_table_t *t, int r, int c,
                            const agg_style_t *st, const dialect_t *d) {
  size_t len = strlen(buf);
  const agg_cell_t *x = agg_cell(t, r, c);
  if (x->st.n == 0 || len + 8 >= cap) return;
  len += (size_t)snprintf(buf + len, cap - len, "; %s", d->delta);
  if (len < cap) diff_text(buf + len, cap - len, x, t->field[c], st, d->dash);
}

/* The headings when r < 0, else row r. */
static void write_row(FILE *out, const agg_table_t *t, int r, const agg_style_t *st,
                      const dialect_t *d) {
  char buf[256];
  fputs(d->open, out);
  for (int c = 0; c < t->ncols; c++) {
    const agg_cell_t *x = r < 0 ? NULL : agg_cell(t, r, c);
    fputs(c ? d->sep : "", out);
    fputs(d->before, out);
    if (!x) {
      d->text(out, heading(t, c, st, buf, sizeof buf));
    } else if (x->text) {
      d->text(out, x->text);
    } else {
      cell_text(buf, sizeof buf, t, r, c, st, d->pm, d->dash);
      int pivot_diff = compared(t, c) && t->diff_col < 0;
      if (pivot_diff) pivot_diff_text(buf, sizeof buf, t, r, c, st, d);
      int bold = x->best || (pivot_diff && agg_paired_excludes_zero(&x->diff));
      fprintf(out, bold ? d->bold : "%s", buf);
    }
    fputs(d->after, out);
    if (t->baseline && c == t->diff_col) write_diff_cell(out, t, r, st, d);
  }
  fputs(d->close, out);
}

static void md_text(FILE *out, const char *s) {
  if (!*s) {
    fputs("(none)", out);
    return;
  }
  for (; *s; s++) {
    if (*s == '|') fputc('\\', out);
    fputc(*s, out);
  }
}

/* The note under a Markdown table: what ±, n, Δ and bold mean. */
static void markdown_note(FILE *out, const agg_table_t *t, const agg_style_t *st) {
  double level = 100 * AGG_CONFIDENCE;
  fprintf(out, "\n_mean ± %s over n runs%s; ",
          st->se ? "standard error (sample standard deviation / √n)"
                 : "sample standard deviation",
          t->pivot_field >= 0 ? "; (n=k): runs in the cell" : "");
  if (t->best_of) {
    fputs("each ", out);
    fputs(t->pivot_field >= 0 ? "cell" : "row", out);
    fputs(": the runs at the ", out);
    md_text(out, t->best_of);
    fprintf(out, " whose mean %s is the %s (a tie: the smaller value), shown %s; ",
            agg_fields[t->select_field].label,
            agg_fields[t->select_field].better < 0 ? "lowest" : "highest",
            t->pivot_field >= 0 ? "in the table below" : "in its column");
  }
  if (t->baseline) {
    fputs("Δ: mean paired difference to the baseline (", out);
    md_text(out, t->baseline);
    fprintf(out, ") over the seeds both have, [its %g%% Student-t interval] (pairs); "
                 "**bold**: the interval excludes zero._\n", level);
  } else {
    fprintf(out, "**bold**: best in its column, ahead of every other row by a paired "
                 "difference (same seeds) whose %g%% interval excludes zero._\n", level);
  }
}

/* ---------------------------------------------------------------- chosen values */

/* A pivot whose cells carry the value of best_of they were chosen at (a group table
 * has it as a key column). */
static int pivot_chosen(const agg_table_t *t) { return t->best_of && t->pivot_field >= 0; }

/* The text of best_of a pivot cell's runs were chosen at, "" for runs without the key,
 * NULL for a cell without runs. */
static const char *chosen_text(const agg_table_t *t, const agg_cell_t *x) {
  if (!x->run) return NULL;
  const char *s = agg_key_text(x->run, t->best_of);
  return s ? s : "";
}

/* A pivot's chosen values as a table of text cells (its keys, headings and texts
 * borrowed; free only v->cell, v->field): the same rows and columns, each value cell the
 * text of best_of its runs were chosen at (dash without runs). */
static void chosen_view(const agg_table_t *t, agg_table_t *v, const char *dash) {
  memset(v, 0, sizeof *v);
  v->nrows = t->nrows;
  v->ncols = t->ncols;
  v->nkeys = t->nkeys;
  v->name = t->name;
  v->label = t->label;
  v->pivot_field = -1;
  v->diff_col = -1;
  v->field = dpt_alloc(sizeof(int) * (size_t)t->ncols);
  v->cell = dpt_alloc(sizeof(agg_cell_t) * (size_t)(t->nrows ? t->nrows : 1) * (size_t)t->ncols);
  for (int c = 0; c < t->ncols; c++) v->field[c] = AGG_COL_KEY;
  for (int r = 0; r < t->nrows; r++)
    for (int c = 0; c < t->ncols; c++) {
      const agg_cell_t *x = agg_cell(t, r, c);
      const char *text = x->text ? x->text : chosen_text(t, x);
      agg_cell(v, r, c)->text = (char *)(text ? text : dash);
    }
}

static void chosen_free(agg_table_t *v) {
  dpt_free(v->cell);
  dpt_free(v->field);
}

/* The headings, the alignment row and the rows. */
static void markdown_grid(FILE *out, const agg_table_t *t, const agg_style_t *st,
                          const dialect_t *md) {
  write_row(out, t, -1, st, md);
  fputc('|', out);
  for (int c = 0; c < t->ncols; c++) {
    fputs(c < t->nkeys ? " --- |" : " ---: |", out);
    if (t->baseline && c == t->diff_col) fputs(" ---: |", out);
  }
  fputc('\n', out);
  for (int r = 0; r < t->nrows; r++) write_row(out, t, r, st, md);
}

static void write_markdown(FILE *out, const agg_table_t *t, const agg_style_t *st) {
  static const dialect_t md = {md_text, " ± ", "–", "**%s**", "|", "", " ", " |", "\n", "Δ "};
  if (t->title) fprintf(out, "**%s**\n\n", t->title);
  markdown_grid(out, t, st, &md);
  markdown_note(out, t, st);
  if (!pivot_chosen(t)) return;
  agg_table_t v;
  chosen_view(t, &v, md.dash);
  fputs("\n**", out);
  md_text(out, t->best_of);
  fprintf(out, " chosen per cell** (%s mean %s)\n\n",
          agg_fields[t->select_field].better < 0 ? "lowest" : "highest",
          agg_fields[t->select_field].label);
  markdown_grid(out, &v, st, &md);
  chosen_free(&v);
}

static void tex_text(FILE *out, const char *s) {
  if (!*s) {
    fputs("(none)", out);
    return;
  }
  for (; *s; s++) {
    switch (*s) {
      case '&': case '%': case '$': case '#': case '_': case '{': case '}':
        fputc('\\', out);
        fputc(*s, out);
        break;
      case '~': fputs("\\textasciitilde{}", out); break;
      case '^': fputs("\\textasciicircum{}", out); break;
      case '\\': fputs("\\textbackslash{}", out); break;
      default: fputc(*s, out);
    }
  }
}

/* One tabular: the column types, the rules, the headings and the rows. */
static void latex_grid(FILE *out, const agg_table_t *t, const agg_style_t *st,
                       const dialect_t *tex) {
  fputs("\\begin{tabular}{", out);
  for (int c = 0; c < t->ncols; c++)
    fputs(c < t->nkeys ? "l" : c == t->diff_col ? "rr" : "r", out); /* rr: and its Δ */
  fputs("}\n\\toprule\n", out);
  write_row(out, t, -1, st, tex);
  fputs("\\midrule\n", out);
  for (int r = 0; r < t->nrows; r++) write_row(out, t, r, st, tex);
  fputs("\\bottomrule\n\\end{tabular}\n", out);
}

/* LaTeX with booktabs rules (a pivot with best_of: a second tabular of the values
 * chosen). */
static void write_latex(FILE *out, const agg_table_t *t, const agg_style_t *st) {
  static const dialect_t tex = {tex_text, " $\\pm$ ", "--", "\\textbf{%s}", "", " & ", "",
                                "", " \\\\\n", "$\\Delta$ "};
  if (t->title) {
    fputs("% ", out);
    fputs(t->title, out);
    fputc('\n', out);
  }
  fputs("% needs \\usepackage{booktabs}\n", out);
  latex_grid(out, t, st, &tex);
  if (!pivot_chosen(t)) return;
  agg_table_t v;
  chosen_view(t, &v, tex.dash);
  fprintf(out, "%% %s chosen per cell (%s mean %s)\n", t->best_of,
          agg_fields[t->select_field].better < 0 ? "lowest" : "highest",
          agg_fields[t->select_field].name);
  latex_grid(out, &v, st, &tex);
  chosen_free(&v);
}

/* ---------------------------------------------------------------- CSV (RFC 4180) */

static void csv_number(FILE *out, double x) {
  char buf[DPT_DOUBLE_CHARS];
  if (isnan(x)) return;
  dpt_format_double(buf, sizeof buf, x);
  fputs(buf, out);
}

/* ",MEAN,LO,HI,N" of a cell's paired difference (empty numbers for the baseline's own
 * cells and where there is none). */
static void csv_diff(FILE *out, const agg_cell_t *x) {
  double v[3] = {x->diff.mean, x->diff.lo, x->diff.hi};
  for (int k = 0; k < 3; k++) {
    fputc(',', out);
    csv_number(out, x->diff.n ? v[k] : NAN);
  }
  fprintf(out, ",%d", x->diff.n);
}

static void write_csv(FILE *out, const agg_table_t *t) {
  char buf[512];
  for (int c = 0; c < t->ncols; c++) {
    if (c) fputc(',', out);
    if (c < t->nkeys || t->field[c] == AGG_COL_COUNT) {
      dpt_csv_field(out, t->name[c]);
    } else {
      const char *sfx[] = {"_mean", "_std", "_n", "_diff_mean", "_diff_lo", "_diff_hi",
                           "_diff_n"};
      for (int k = 0; k < (compared(t, c) ? 7 : 3); k++) {
        snprintf(buf, sizeof buf, "%s%s", t->name[c], sfx[k]);
        if (k) fputc(',', out);
        dpt_csv_field(out, buf);
      }
      if (pivot_chosen(t)) {
        snprintf(buf, sizeof buf, "%s_%s", t->name[c], t->best_of);
        fputc(',', out);
        dpt_csv_field(out, buf);
      }
    }
  }
  fputc('\n', out);
  for (int r = 0; r < t->nrows; r++) {
    for (int c = 0; c < t->ncols; c++) {
      const agg_cell_t *x = agg_cell(t, r, c);
      if (c) fputc(',', out);
      if (x->text) {
        dpt_csv_field(out, x->text);
      } else if (t->field[c] == AGG_COL_COUNT) {
        fprintf(out, "%d", x->st.n);
      } else {
        csv_number(out, x->st.n ? x->st.mean : NAN);
        fputc(',', out);
        csv_number(out, x->st.std);
        fprintf(out, ",%d", x->st.n);
        if (compared(t, c)) csv_diff(out, x);
        if (pivot_chosen(t)) {
          const char *text = chosen_text(t, x);
          fputc(',', out);
          if (text) dpt_csv_field(out, text);
        }
      }
    }
    fputc('\n', out);
  }
}

/* ---------------------------------------------------------------- JSON */

static void json_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(out, "\\%c", ch);
    else if (ch == '\n') fputs("\\n", out);
    else if (ch < 0x20) fprintf(out, "\\u%04x", ch);
    else fputc(ch, out);
  }
  fputc('"', out);
}

static void json_number(FILE *out, double x) {
  char buf[DPT_DOUBLE_CHARS];
  if (isnan(x) || isinf(x)) {
    fputs("null", out);
    return;
  }
  dpt_format_double(buf, sizeof buf, x);
  fputs(buf, out);
}

/* , "baseline": B, "diff": {"mean": M, "lo": L, "hi": H, "n": N} or null. */
static void json_diff(FILE *out, const agg_cell_t *x) {
  fprintf(out, ", \"baseline\": %s, \"diff\": ", x->base ? "true" : "false");
  if (x->diff.n == 0) {
    fputs("null", out);
    return;
  }
  fputs("{\"mean\": ", out);
  json_number(out, x->diff.mean);
  fputs(", \"lo\": ", out);
  json_number(out, x->diff.lo);
  fputs(", \"hi\": ", out);
  json_number(out, x->diff.hi);
  fprintf(out, ", \"n\": %d}", x->diff.n);
}

static void json_string_or_null(FILE *out, const char *s) {
  if (s) json_string(out, s);
  else fputs("null", out);
}

static void write_json(FILE *out, const agg_table_t *t) {
  fputs("{\"title\": ", out);
  json_string_or_null(out, t->title);
  fputs(",\n \"value\": ", out);
  if (t->pivot_field >= 0) json_string(out, agg_fields[t->pivot_field].name);
  else fputs("null", out);
  fputs(",\n \"baseline\": ", out);
  json_string_or_null(out, t->baseline);
  fputs(",\n \"best_of\": ", out);
  json_string_or_null(out, t->best_of);
  fputs(",\n \"select_by\": ", out);
  json_string_or_null(out, t->best_of ? agg_fields[t->select_field].name : NULL);
  fputs(",\n \"columns\": [", out);
  for (int c = 0; c < t->ncols; c++) {
    if (c) fputs(", ", out);
    json_string(out, t->name[c]);
  }
  fputs("],\n \"rows\": [", out);
  for (int r = 0; r < t->nrows; r++) {
    fputs(r ? ",\n  {" : "\n  {", out);
    for (int c = 0; c < t->ncols; c++) {
      const agg_cell_t *x = agg_cell(t, r, c);
      if (c) fputs(", ", out);
      json_string(out, t->name[c]);
      fputs(": ", out);
      if (x->text) {
        json_string(out, x->text);
      } else if (t->field[c] == AGG_COL_COUNT) {
        fprintf(out, "%d", x->st.n);
      } else {
        fputs("{\"mean\": ", out);
        json_number(out, x->st.n ? x->st.mean : NAN);
        fputs(", \"std\": ", out);
        json_number(out, x->st.std);
        fprintf(out, ", \"n\": %d, \"best\": %s", x->st.n, x->best ? "true" : "false");
        if (compared(t, c)) json_diff(out, x);
        if (pivot_chosen(t)) {
          fputs(", ", out);
          json_string(out, t->best_of);
          fputs(": ", out);
          json_string_or_null(out, chosen_text(t, x));
        }
        fputc('}', out);
      }
    }
    fputc('}', out);
  }
  fputs("]}\n", out);
}

void agg_csv_number(FILE *out, double x) { csv_number(out, x); }
void agg_json_number(FILE *out, double x) { json_number(out, x); }
void agg_json_string(FILE *out, const char *s) { json_string(out, s); }

int agg_table_write(FILE *out, const agg_table_t *t, agg_format_t f, const agg_style_t *style) {
  agg_style_t def = {0, -1, 0};
  const agg_style_t *st = style ? style : &def;
  switch (f) {
    case AGG_MARKDOWN: write_markdown(out, t, st); break;
    case AGG_CSV: write_csv(out, t); break;
    case AGG_LATEX: write_latex(out, t, st); break;
    case AGG_JSON: write_json(out, t); break;
  }
  if (fflush(out) != 0 || ferror(out)) return dpt_fail("cannot write the table");
  return 0;
}
