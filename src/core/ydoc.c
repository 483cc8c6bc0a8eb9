/* ydoc.c - YAML documents as trees with positions (see ydoc.h). The tree is built from
 * libyaml's events rather than its document loader, so that depth, expanded size and
 * aliases are checked while reading, before any reader walks the tree. */
#include "ydoc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "err.h"
#include "readfile.h"

typedef struct {
  ydoc_node_t *node; /* the open sequence or map; node->n is set when it closes */
  int len, cap;      /* items so far (a map's keys and values alike), allocated */
  char *anchor;      /* its anchor, registered when it closes; NULL when none */
} frame_t;

typedef struct {
  char *name;
  ydoc_node_t *node;
} anchor_t;

typedef struct {
  ydoc_t *d;
  ydoc_opts_t o;
  frame_t *st;
  int depth;
  anchor_t *anchors;
  int nanchors;
  size_t expanded; /* nodes so far, aliases expanded */
} build_t;

/* ---------------------------------------------------------------- messages */

/* "grid.model.optimizer[1]": where the reader is; "(top level)" at the root. */
static void path_text(const build_t *b, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < b->depth && len < cap; i++) {
    const frame_t *f = &b->st[i];
    if (f->node->kind == YDOC_MAP && f->len > 0) {
      const ydoc_node_t *key = f->node->items[(f->len - 1) / 2 * 2];
      len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? "." : "",
                              key->kind == YDOC_SCALAR ? key->text : "?");
    } else if (f->node->kind == YDOC_SEQ && f->len > 0) {
      len += (size_t)snprintf(buf + len, cap - len, "[%d]", f->len - 1);
    }
  }
  if (!buf[0]) snprintf(buf, cap, "(top level)");
}

static int fail_here(const build_t *b, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_here(const build_t *b, const yaml_mark_t *m, const char *fmt, ...) {
  char msg[1024], where[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  path_text(b, where, sizeof where);
  if (b->o.one_line) return dpt_fail("%s: %s: %s", b->d->name, where, msg);
  return dpt_fail("%s:%zu: %s: %s", b->d->name, m->line + 1, where, msg);
}

static int syntax_error(const build_t *b, const yaml_parser_t *p) {
  const char *name = b->d->name, *problem = p->problem ? p->problem : "unknown problem";
  if (p->error == YAML_READER_ERROR)
    return dpt_fail("%s: YAML read error at byte %zu: %s", name, p->problem_offset, problem);
  if (b->o.one_line) return dpt_fail("%s: YAML syntax error: %s", name, problem);
  return dpt_fail("%s:%zu:%zu: YAML syntax error: %s%s%s", name, p->problem_mark.line + 1,
                  p->problem_mark.column + 1, problem, p->context ? " " : "",
                  p->context ? p->context : "");
}

/* ---------------------------------------------------------------- building */

static ydoc_node_t *new_node(build_t *b, ydoc_kind_t kind, const yaml_mark_t *m) {
  ydoc_t *d = b->d;
  if (d->nnodes == d->cap) {
    d->cap = d->cap ? 2 * d->cap : 64;
    d->nodes = dpt_realloc(d->nodes, sizeof *d->nodes * d->cap);
  }
  ydoc_node_t *n = dpt_alloc(sizeof *n);
  n->kind = kind;
  n->line = (int)m->line + 1;
  n->column = (int)m->column + 1;
  n->weight = 1;
  d->nodes[d->nnodes++] = n;
  return n;
}

/* Places n as the root or as the next item of the open container. */
static void attach(build_t *b, ydoc_node_t *n) {
  if (!b->depth) {
    b->d->root = n;
    return;
  }
  frame_t *f = &b->st[b->depth - 1];
  if (f->len == f->cap) {
    f->cap = f->cap ? 2 * f->cap : 8;
    f->node->items = dpt_realloc(f->node->items, sizeof *f->node->items * (size_t)f->cap);
  }
  f->node->items[f->len++] = n;
  f->node->weight += n->weight;
}

static int count(build_t *b, const yaml_mark_t *m, size_t nodes) {
  b->expanded += nodes;
  if (b->expanded > b->o.max_nodes)
    return fail_here(b, m, "more than %zu YAML nodes (aliases expanded)", b->o.max_nodes);
  return 0;
}

static char *anchor_copy(const yaml_char_t *anchor) {
  return anchor ? dpt_strdup((const char *)anchor) : NULL;
}

static void add_anchor(build_t *b, char *name, ydoc_node_t *n) {
  if (!name) return;
  b->anchors = dpt_realloc(b->anchors, sizeof *b->anchors * (size_t)(b->nanchors + 1));
  b->anchors[b->nanchors++] = (anchor_t){name, n};
}

static int on_alias(build_t *b, const yaml_event_t *ev) {
  const char *name = (const char *)ev->data.alias.anchor;
  if (!b->o.allow_aliases)
    return fail_here(b, &ev->start_mark,
                     "YAML aliases (*%s) are not allowed; write the value out", name);
  for (int i = 0; i < b->depth; i++)
    if (b->st[i].anchor && !strcmp(b->st[i].anchor, name))
      return fail_here(b, &ev->start_mark, "YAML alias *%s refers to a node that holds it",
                       name);
  for (int i = b->nanchors - 1; i >= 0; i--) /* a redefined anchor: the latest counts */
    if (!strcmp(b->anchors[i].name, name)) {
      TRY(count(b, &ev->start_mark, b->anchors[i].node->weight));
      attach(b, b->anchors[i].node);
      return 0;
    }
  return fail_here(b, &ev->start_mark, "unknown YAML alias *%s", name);
fail:
  return -1;
}

static int on_scalar(build_t *b, const yaml_event_t *ev) {
  TRY(count(b, &ev->start_mark, 1));
  ydoc_node_t *n = new_node(b, YDOC_SCALAR, &ev->start_mark);
  n->len = ev->data.scalar.length;
  n->text = dpt_alloc(n->len + 1);
  memcpy(n->text, ev->data.scalar.value, n->len);
  n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  attach(b, n);
  add_anchor(b, anchor_copy(ev->data.scalar.anchor), n);
  return 0;
fail:
  return -1;
}

static int on_open(build_t *b, const yaml_event_t *ev) {
  int is_map = ev->type == YAML_MAPPING_START_EVENT;
  if (b->depth == b->o.max_depth)
    return fail_here(b, &ev->start_mark, "nested more than %d levels deep", b->o.max_depth);
  TRY(count(b, &ev->start_mark, 1));
  ydoc_node_t *n = new_node(b, is_map ? YDOC_MAP : YDOC_SEQ, &ev->start_mark);
  attach(b, n);
  const yaml_char_t *anchor =
      is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
  b->st[b->depth++] = (frame_t){n, 0, 0, anchor_copy(anchor)};
  return 0;
fail:
  return -1;
}

static void on_close(build_t *b) {
  frame_t *f = &b->st[--b->depth];
  ydoc_node_t *n = f->node;
  n->n = n->kind == YDOC_MAP ? f->len / 2 : f->len;
  if (b->depth) b->st[b->depth - 1].node->weight += n->weight - 1; /* attach counted 1 */
  add_anchor(b, f->anchor, n);
}

/* One event; *done at the end of the stream. */
static int on_event(build_t *b, const yaml_event_t *ev, int *docs, int *done) {
  switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
      if (++*docs > 1)
        return dpt_fail("%s:%zu: a second YAML document (after ---); expected one",
                        b->d->name, ev->start_mark.line + 1);
      return 0;
    case YAML_ALIAS_EVENT: return on_alias(b, ev);
    case YAML_SCALAR_EVENT: return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: return on_open(b, ev);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: on_close(b); return 0;
    case YAML_STREAM_END_EVENT: *done = 1; return 0;
    default: return 0;
  }
}

int ydoc_load(ydoc_t *d, const char *name, const char *text, size_t len,
              const ydoc_opts_t *opts) {
  memset(d, 0, sizeof *d);
  d->name = dpt_strdup(name);
  build_t b = {.d = d};
  if (opts) b.o = *opts;
  if (b.o.max_depth <= 0) b.o.max_depth = YDOC_MAX_DEPTH;
  if (!b.o.max_nodes) b.o.max_nodes = YDOC_MAX_NODES;
  b.st = dpt_alloc(sizeof *b.st * (size_t)b.o.max_depth);
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) DPT_PANIC("yaml_parser_initialize");
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  int rc = 0, docs = 0, done = 0;
  while (!done && rc == 0) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      rc = syntax_error(&b, &parser);
      break;
    }
    rc = on_event(&b, &ev, &docs, &done);
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  while (b.depth > 0) dpt_free(b.st[--b.depth].anchor);
  for (int i = 0; i < b.nanchors; i++) dpt_free(b.anchors[i].name);
  dpt_free(b.anchors);
  dpt_free(b.st);
  if (rc < 0) ydoc_free(d);
  return rc;
}

int ydoc_load_file(ydoc_t *d, const char *path, const ydoc_opts_t *opts) {
  char *text;
  size_t len;
  memset(d, 0, sizeof *d);
  TRY(dpt_read_file(path, YDOC_MAX_BYTES, &text, &len));
  int rc = ydoc_load(d, path, text, len, opts);
  dpt_free(text);
  return rc;
fail:
  return -1;
}

void ydoc_free(ydoc_t *d) {
  for (size_t i = 0; i < d->nnodes; i++) {
    dpt_free(d->nodes[i]->text);
    dpt_free(d->nodes[i]->items);
    dpt_free(d->nodes[i]);
  }
  dpt_free(d->nodes);
  dpt_free(d->name);
  memset(d, 0, sizeof *d);
}

/* ---------------------------------------------------------------- reading the tree */

const char *ydoc_scalar(const ydoc_node_t *n) {
  return n && n->kind == YDOC_SCALAR ? n->text : NULL;
}

ydoc_node_t *ydoc_get(const ydoc_node_t *map, const char *key) {
  if (!map || map->kind != YDOC_MAP) return NULL;
  for (int i = 0; i < map->n; i++) {
    const char *k = ydoc_scalar(map->items[2 * i]);
    if (k && !strcmp(k, key)) return map->items[2 * i + 1];
  }
  return NULL;
}

const char *ydoc_describe(const ydoc_node_t *n, char *buf, size_t cap) {
  if (n->kind == YDOC_MAP) return "a map";
  if (n->kind == YDOC_SEQ) return "a sequence";
  snprintf(buf, cap, "'%s'", n->text);
  return buf;
}

int ydoc_fail(const ydoc_t *d, const ydoc_node_t *n, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (!n) return dpt_fail("%s: %s", d->name, msg);
  return dpt_fail("%s:%d: %s", d->name, n->line, msg);
}

int ydoc_expected(const ydoc_t *d, const ydoc_node_t *n, const char *key, const char *what) {
  char buf[256];
  if (!n) return ydoc_fail(d, NULL, "%s: missing; expected %s", key, what);
  return ydoc_fail(d, n, "%s: expected %s, got %s", key, what, ydoc_describe(n, buf, sizeof buf));
}
