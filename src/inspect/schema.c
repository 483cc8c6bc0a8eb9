/* schema.c - reads hdf5-schema/KIND.yaml (HDF5/JSON vocabulary) into insp_schema_t through
 * the core YAML document loader, which resolves the anchors and aliases the files use. */
#include "schema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/boolword.h"
#include "../core/err.h"
#include "../core/ydoc.h"

/* --- YAML helpers ----------------------------------------------------------------- */

static char *get_str(const ydoc_node_t *map, const char *key) {
  const char *v = ydoc_scalar(ydoc_get(map, key));
  return v ? dpt_strdup(v) : NULL;
}

/* A flag such as `optional`: the boolean words of boolword.h; absent or anything else is
 * false. */
static int get_bool(const ydoc_node_t *map, const char *key) {
  const char *v = ydoc_scalar(ydoc_get(map, key));
  int b = 0;
  if (v && dpt_parse_bool(v, &b) < 0) b = 0;
  dpt_clear_error();
  return b;
}

static int bad(const ydoc_t *d, const ydoc_node_t *n, const char *what) {
  return ydoc_fail(d, n, "%s", what);
}

/* A sequence of scalars into out[]; returns the count or -1. */
static int get_list(const ydoc_t *d, const ydoc_node_t *seq, char **out, const char *what) {
  if (seq->kind != YDOC_SEQ) return bad(d, seq, what);
  int n = 0;
  for (int i = 0; i < seq->n; i++) {
    const char *v = ydoc_scalar(seq->items[i]);
    if (!v || n == INSP_MAX_RANK) return bad(d, seq, what);
    out[n++] = dpt_strdup(v);
  }
  return n;
}

/* --- types, shapes, attributes ---------------------------------------------------- */

static int load_type(const ydoc_t *d, ydoc_node_t *n, insp_type_t *t) {
  if (!n) return 0;
  const char *s = ydoc_scalar(n);
  if (s) { /* hdf5-json allows a predefined type by name: type: H5T_STD_I64LE */
    t->base = dpt_strdup(s);
    t->cls = dpt_strdup(!strncmp(s, "H5T_IEEE_", 9) ? "H5T_FLOAT"
                        : !strncmp(s, "H5T_STD_", 8) ? "H5T_INTEGER" : s);
    if (!strcmp(t->cls, t->base)) { dpt_free(t->base); t->base = NULL; }
    return 0;
  }
  if (n->kind != YDOC_MAP) return bad(d, n, "`type` must be a name or a mapping");
  t->cls = get_str(n, "class");
  t->base = get_str(n, "base");
  t->cset = get_str(n, "charSet");
  t->strpad = get_str(n, "strPad");
  t->length = get_str(n, "length");
  return 0;
}

static int load_shape(const ydoc_t *d, ydoc_node_t *n, insp_shape_t *sh) {
  sh->rank = -1;
  if (!n) return 0;
  if (n->kind != YDOC_MAP) return bad(d, n, "`shape` must be a mapping");
  sh->cls = get_str(n, "class");
  ydoc_node_t *dims = ydoc_get(n, "dims"), *maxdims = ydoc_get(n, "maxdims");
  if (dims && (sh->rank = get_list(d, dims, sh->dims, "`dims` must be a short list")) < 0)
    return -1;
  if (maxdims && (sh->nmax = get_list(d, maxdims, sh->maxdims, "bad `maxdims`")) < 0)
    return -1;
  if (sh->cls && !strcmp(sh->cls, "H5S_SCALAR")) sh->rank = 0;
  return 0;
}

static void free_type(insp_type_t *t) {
  dpt_free(t->cls);
  dpt_free(t->base);
  dpt_free(t->cset);
  dpt_free(t->strpad);
  dpt_free(t->length);
}

static void free_shape(insp_shape_t *sh) {
  for (int i = 0; i < sh->rank; i++) dpt_free(sh->dims[i]);
  for (int i = 0; i < sh->nmax; i++) dpt_free(sh->maxdims[i]);
}

static int load_attr(const ydoc_t *d, ydoc_node_t *n, const char *name, insp_attr_t *a) {
  memset(a, 0, sizeof *a);
  a->shape.rank = -1;
  if (n->kind != YDOC_MAP) return bad(d, n, "an attribute must be a mapping");
  a->name = name ? dpt_strdup(name) : get_str(n, "name");
  if (!a->name) return bad(d, n, "attribute without a `name`");
  a->optional = get_bool(n, "optional");
  if (load_type(d, ydoc_get(n, "type"), &a->type) < 0) return -1;
  return load_shape(d, ydoc_get(n, "shape"), &a->shape);
}

/* `attributes:` as hdf5-json's list of {name: ...}, or as a map name -> definition. */
static int load_attrs(const ydoc_t *d, ydoc_node_t *n, insp_attr_t **out, int *count) {
  *out = NULL;
  *count = 0;
  if (!n) return 0;
  if (n->kind == YDOC_SEQ) {
    *out = dpt_alloc(sizeof **out * (size_t)(n->n ? n->n : 1));
    for (int i = 0; i < n->n; i++) {
      if (load_attr(d, n->items[i], NULL, &(*out)[i]) < 0) return -1;
      (*count)++;
    }
    return 0;
  }
  if (n->kind == YDOC_MAP) {
    *out = dpt_alloc(sizeof **out * (size_t)(n->n ? n->n : 1));
    for (int i = 0; i < n->n; i++) {
      const char *name = ydoc_scalar(n->items[2 * i]);
      if (!name) return bad(d, n, "attribute names must be strings");
      if (load_attr(d, n->items[2 * i + 1], name, &(*out)[i]) < 0) return -1;
      (*count)++;
    }
    return 0;
  }
  return bad(d, n, "`attributes` must be a list or a mapping");
}

static void free_attrs(insp_attr_t *a, int n) {
  for (int i = 0; i < n; i++) {
    dpt_free(a[i].name);
    free_type(&a[i].type);
    free_shape(&a[i].shape);
  }
  dpt_free(a);
}

/* --- groups and datasets ---------------------------------------------------------- */

static char *join(const char *group, const char *name) {
  if (name[0] == '/') return dpt_strdup(name);
  size_t n = strlen(group) + strlen(name) + 2;
  char *p = dpt_alloc(n);
  snprintf(p, n, "%s%s%s", group, strcmp(group, "/") ? "/" : "", name);
  return p;
}

static int load_dset(const ydoc_t *d, ydoc_node_t *n, char *path, insp_dset_t *ds) {
  memset(ds, 0, sizeof *ds);
  ds->path = path;
  ds->shape.rank = -1;
  if (n->kind != YDOC_MAP) return bad(d, n, "a dataset must be a mapping");
  ds->optional = get_bool(n, "optional");
  ds->units = get_str(n, "units");
  if (load_type(d, ydoc_get(n, "type"), &ds->type) < 0 ||
      load_shape(d, ydoc_get(n, "shape"), &ds->shape) < 0 ||
      load_attrs(d, ydoc_get(n, "attributes"), &ds->attrs, &ds->nattrs) < 0)
    return -1;
  ydoc_node_t *cp = ydoc_get(n, "creationProperties");
  ydoc_node_t *layout = ydoc_get(cp, "layout");
  if (layout) {
    ds->layout = get_str(layout, "class");
    ydoc_node_t *chunk = ydoc_get(layout, "dims");
    if (chunk && (ds->nchunk = get_list(d, chunk, ds->chunk, "bad chunk `dims`")) < 0)
      return -1;
  }
  ydoc_node_t *filters = ydoc_get(cp, "filters");
  if (filters && filters->kind == YDOC_SEQ) {
    for (int i = 0; i < filters->n && ds->nfilters < INSP_MAX_RANK; i++) {
      const char *id = ydoc_scalar(ydoc_get(filters->items[i], "id"));
      if (id) ds->filters[ds->nfilters++] = atoi(id);
    }
  }
  return 0;
}

static insp_dset_t *new_dset(insp_schema_t *s) {
  s->dsets = dpt_realloc(s->dsets, sizeof *s->dsets * (size_t)(s->ndsets + 1));
  return &s->dsets[s->ndsets++];
}

static int load_datasets(const ydoc_t *d, ydoc_node_t *n, const char *group, insp_schema_t *s) {
  if (!n) return 0;
  if (n->kind != YDOC_MAP) return bad(d, n, "`datasets` must be a mapping");
  for (int i = 0; i < n->n; i++) {
    const char *name = ydoc_scalar(n->items[2 * i]);
    if (!name) return bad(d, n, "dataset names must be strings");
    char *path = join(group, name);
    if (insp_schema_dset(s, path)) {
      dpt_free(path);
      return bad(d, n, "a dataset is described twice");
    }
    if (load_dset(d, n->items[2 * i + 1], path, new_dset(s)) < 0)
      return -1;
  }
  return 0;
}

static int load_groups(const ydoc_t *d, ydoc_node_t *n, insp_schema_t *s) {
  if (!n) return 0;
  if (n->kind != YDOC_MAP) return bad(d, n, "`groups` must be a mapping");
  for (int i = 0; i < n->n; i++) {
    const char *path = ydoc_scalar(n->items[2 * i]);
    const ydoc_node_t *def = n->items[2 * i + 1];
    if (!path || path[0] != '/') return bad(d, n, "group paths must start with '/'");
    if (def->kind != YDOC_MAP) return bad(d, def, "a group must be a mapping");
    s->groups = dpt_realloc(s->groups, sizeof *s->groups * (size_t)(s->ngroups + 1));
    insp_group_t *g = &s->groups[s->ngroups++];
    memset(g, 0, sizeof *g);
    g->path = dpt_strdup(path);
    g->optional = get_bool(def, "optional");
    if (load_attrs(d, ydoc_get(def, "attributes"), &g->attrs, &g->nattrs) < 0) return -1;
    g->open = g->nattrs == 0;
    if (load_datasets(d, ydoc_get(def, "datasets"), path, s) < 0) return -1;
  }
  return 0;
}

int insp_schema_load(insp_schema_t *s, const char *yaml_path) {
  memset(s, 0, sizeof *s);
  s->file = dpt_strdup(yaml_path);
  /* The files share definitions through anchors and aliases (&images / *images). */
  const ydoc_opts_t opts = {.allow_aliases = 1};
  ydoc_t doc;
  if (ydoc_load_file(&doc, yaml_path, &opts) < 0) {
    insp_schema_free(s);
    return -1;
  }
  const ydoc_t *d = &doc;
  int rc = 0;
  const ydoc_node_t *root = d->root;
  if (!root || root->kind != YDOC_MAP) {
    rc = bad(d, root, "a schema must be a mapping");
  } else {
    s->schema = get_str(root, "schema");
    s->version = get_str(root, "schema_version");
    if (!s->schema || !s->version)
      rc = bad(d, root, "missing `schema` or `schema_version`");
    else if (insp_version_major(s->version) < 0)
      rc = bad(d, root, "`schema_version` is not \"MAJOR.MINOR\"");
    else if (load_groups(d, ydoc_get(root, "groups"), s) < 0 ||
             load_datasets(d, ydoc_get(root, "datasets"), "/", s) < 0)
      rc = -1;
  }
  ydoc_free(&doc);
  if (rc < 0) insp_schema_free(s);
  return rc;
}

void insp_schema_free(insp_schema_t *s) {
  for (int i = 0; i < s->ngroups; i++) {
    dpt_free(s->groups[i].path);
    free_attrs(s->groups[i].attrs, s->groups[i].nattrs);
  }
  for (int i = 0; i < s->ndsets; i++) {
    insp_dset_t *d = &s->dsets[i];
    dpt_free(d->path);
    dpt_free(d->units);
    dpt_free(d->layout);
    free_type(&d->type);
    free_shape(&d->shape);
    for (int k = 0; k < d->nchunk; k++) dpt_free(d->chunk[k]);
    free_attrs(d->attrs, d->nattrs);
  }
  void *owned[] = {s->groups, s->dsets, s->file, s->schema, s->version};
  for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) dpt_free(owned[i]);
  memset(s, 0, sizeof *s);
}

const insp_group_t *insp_schema_group(const insp_schema_t *s, const char *path) {
  for (int i = 0; i < s->ngroups; i++)
    if (!strcmp(s->groups[i].path, path)) return &s->groups[i];
  return NULL;
}

const insp_dset_t *insp_schema_dset(const insp_schema_t *s, const char *path) {
  for (int i = 0; i < s->ndsets; i++)
    if (!strcmp(s->dsets[i].path, path)) return &s->dsets[i];
  return NULL;
}

int insp_version_major(const char *version) {
  const char *p = version;
  if (!isdigit((unsigned char)*p)) return -1;
  long major = strtol(p, (char **)&p, 10);
  if (*p != '.' || !isdigit((unsigned char)p[1]) || major > 1000000) return -1;
  return (int)major;
}

/* --- locating the schema files ---------------------------------------------------- */

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int insp_schema_dir(char *buf, size_t cap, const char *exe) {
  const char *env = getenv("DPT_SCHEMA_DIR");
  if (env && *env) {
    if (!is_dir(env)) return dpt_fail("DPT_SCHEMA_DIR=%s is not a directory", env);
    snprintf(buf, cap, "%s", env);
    return 0;
  }
  char self[4096];
  ssize_t n = -1;
  if (exe) {
    snprintf(self, sizeof self, "%s", exe);
    n = (ssize_t)strlen(self);
  } else {
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n >= 0) self[n] = '\0';
  }
  if (n > 0) {
    char *slash = strrchr(self, '/');
    if (slash) {
      *slash = '\0';
      char guess[4200], real[4096];
      snprintf(guess, sizeof guess, "%s/../hdf5-schema", self);
      if (is_dir(guess) && realpath(guess, real)) {
        snprintf(buf, cap, "%s", real);
        return 0;
      }
    }
  }
  snprintf(buf, cap, "hdf5-schema");
  if (is_dir(buf)) return 0;
  return dpt_fail("cannot find the hdf5-schema directory (set DPT_SCHEMA_DIR, or keep it "
                  "next to bin/)");
}

int insp_schema_path(char *buf, size_t cap, const char *dir, const char *schema_name) {
  if (strncmp(schema_name, "dpt-", 4) != 0 || !schema_name[4] || strchr(schema_name, '/'))
    return dpt_fail("'%s' is not a dpt file kind (dpt-dataset, dpt-run, dpt-checkpoint)",
                    schema_name);
  snprintf(buf, cap, "%s/%s.yaml", dir, schema_name + 4);
  if (access(buf, R_OK) != 0)
    return dpt_fail("no schema for '%s' files: %s does not exist", schema_name, buf);
  return 0;
}
