/* ydoc.h - a YAML document loaded with libyaml into a small tree whose every node knows
 * its line and column, so that each reader (config, sweep spec, study, schema) can report
 * "FILE:LINE: KEY: expected ..., got VALUE" the same way.
 *
 * Hostile input is bounded here once: nesting depth, the size of the tree with aliases
 * expanded (so "billion laughs" documents fail instead of exhausting memory or time),
 * aliases refused where a reader allows none, a self-referential alias always refused
 * (no cyclic trees), and one document per text. */
#ifndef DPT_YDOC_H
#define DPT_YDOC_H

#include <stddef.h>

#define YDOC_MAX_DEPTH 32
#define YDOC_MAX_NODES 1000000
#define YDOC_MAX_BYTES ((size_t)64 << 20) /* of a file ydoc_load_file reads */

typedef enum { YDOC_SCALAR, YDOC_SEQ, YDOC_MAP } ydoc_kind_t;

typedef struct ydoc_node {
  ydoc_kind_t kind;
  int line, column;         /* 1-based, where the node starts */
  char *text;               /* scalar: its text, NUL-terminated (may hold NULs: len) */
  size_t len;
  int plain;                /* scalar written without quotes or block style */
  int n;                    /* sequence: items; map: pairs */
  struct ydoc_node **items; /* sequence: items[i]; map: key items[2i], value items[2i+1] */
  size_t weight;            /* nodes below and including this one, aliases expanded */
} ydoc_node_t;

typedef struct {
  char *name;          /* file name (or "--set X") for messages */
  ydoc_node_t *root;   /* NULL for an empty document */
  ydoc_node_t **nodes; /* every node, for ydoc_free (an alias shares its anchor's node) */
  size_t nnodes, cap;
} ydoc_t;

typedef struct {
  int allow_aliases; /* 0: an alias fails naming where it is; 1: it is the anchored node */
  int one_line;      /* the text is a one-line value (a --set): errors name no position */
  int max_depth;     /* 0: YDOC_MAX_DEPTH */
  size_t max_nodes;  /* with aliases expanded; 0: YDOC_MAX_NODES */
} ydoc_opts_t;

/* Parses text (len bytes) named `name`; opts may be NULL (no aliases, default bounds).
 * Errors: "NAME:LINE:COL: YAML syntax error: ...", "NAME: YAML read error at byte N:
 * ...", "NAME:LINE: PATH: YAML aliases (*A) are not allowed; write the value out",
 * "NAME:LINE: PATH: nested more than N levels deep", ... On failure d is empty. */
int ydoc_load(ydoc_t *d, const char *name, const char *text, size_t len,
              const ydoc_opts_t *opts);
/* ydoc_load of a whole file (at most YDOC_MAX_BYTES), named by its path. */
int ydoc_load_file(ydoc_t *d, const char *path, const ydoc_opts_t *opts);
void ydoc_free(ydoc_t *d);

/* The scalar's text, or NULL for a missing node, a map or a sequence. */
const char *ydoc_scalar(const ydoc_node_t *n);
/* The value of key in map, or NULL when map is NULL, not a map, or lacks the key. */
ydoc_node_t *ydoc_get(const ydoc_node_t *map, const char *key);
/* "'text'", "a map" or "a sequence" (n must not be NULL), for messages. */
const char *ydoc_describe(const ydoc_node_t *n, char *buf, size_t cap);
/* Fails with "NAME:LINE: <fmt ...>" (the line of n; "NAME: ..." when n is NULL). */
int ydoc_fail(const ydoc_t *d, const ydoc_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fails with "NAME:LINE: KEY: expected WHAT, got VALUE" (VALUE as ydoc_describe says
 * it: the config's wording), or "NAME: KEY: missing; expected WHAT" when n is NULL. */
int ydoc_expected(const ydoc_t *d, const ydoc_node_t *n, const char *key, const char *what);

#endif
