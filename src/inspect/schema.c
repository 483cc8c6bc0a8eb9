/* schema.c - reads hdf5-schema/KIND.yaml (HDF5/JSON vocabulary) into insp_schema_t. libyaml's
 * document loader resolves the anchors and aliases (&images / *images) the files use. */
#include "schema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "../core/err.h"

typedef struct {
  yaml_document_t doc;
  const char *file;
} ydoc_t;

/* --- YAML helpers ----------------------------------------------------------------- */

static const char *scalar(yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *get(ydoc_t *d, yaml_node_t *map, const char *key) {
  if (!map || map->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
       p++) {
    const char *k = scalar(yaml_document_get_node(&d->doc, p->key));
    if (k && strcmp(k, key) == 0) return yaml_document_get_node(&d->doc, p->value);
  }
  return NULL;
}

static char *get_str(ydoc_t *d, yaml_node_t *map, const char *key) {
  const char *v = scalar(get(d, map, key));
  return v ? dpt_strdup(v) : NULL;
}

static int get_bool(ydoc_t *d, yaml_node_t *map, const char *key) {
  const char *v = scalar(get(d, map, key));
  return v && (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "yes"));
}

static int bad(ydoc_t *d, yaml_node_t *n, const char *what) {
  return dpt_fail("%s:%lu: %s", d->file, n ? (unsigned long)n->start_mark.line + 1 : 0UL,
                  what);
}

/* A sequence of scalars into out[]; returns the count or -1. */
static int get_list(ydoc_t *d, yaml_node_t *seq, char **out, const char *what) {
  if (seq->type != YAML_SEQUENCE_NODE) return bad(d, seq, what);
  int n = 0;
  for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
       i++) {
    const char *v = scalar(yaml_document_get_node(&d->doc, *i));
    if (!v || n == INSP_MAX_RANK) return bad(d, seq, what);
    out[n++] = dpt_strdup(v);
  }
  return n;
}

/* --- types, shapes, attributes ---------------------------------------------------- */

static int load_type(ydoc_t *d, yaml_node_t *n, insp_type_t *t) {
  if (!n) return 0;
  const char *s = scalar(n);
  if (s) { /* hdf5-json allows a predefined type by name: type: H5T_STD_I64LE */
    t->base = dpt_strdup(s);
    t->cls = dpt_strdup(!strncmp(s, "H5T_IEEE_", 9) ? "H5T_FLOAT"
                        : !strncmp(s, "H5T_STD_", 8) ? "H5T_INTEGER" : s);
    if (!strcmp(t->cls, t->base)) { dpt_free(t->base); t->base = NULL; }
    return 0;
  }
  if (n->type != YAML_MAPPING_NODE) return bad(d, n, "`type` must be a name or a mapping");
  t->cls = get_str(d, n, "class");
  t->base = get_str(d, n, "base");
  t->cset = get_str(d, n, "charSet");
  t->strpad = get_str(d, n, "strPad");
  t->length = get_str(d, n, "length");
  return 0;
}

static int load_shape(ydoc_t *d, yaml_node_t *n, insp_shape_t *sh) {
  sh->rank = -1;
  if (!n) return 0;
  if (n->type != YAML_MAPPING_NODE) return bad(d, n, "`shape` must be a mapping");
  sh->cls = get_str(d, n, "class");
  yaml_node_t *dims = get(d, n, "dims"), *maxdims = get(d, n, "maxdims");
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

static int load_attr(ydoc_t *d, yaml_node_t *n, const char *name, insp_attr_t *a) {
  memset(a, 0, sizeof *a);
  a->shape.rank = -1;
  if (n->type != YAML_MAPPING_NODE) return bad(d, n, "an attribute must be a mapping");
  a->name = name ? dpt_strdup(name) : get_str(d, n, "name");
  if (!a->name) return bad(d, n, "attribute without a `name`");
  a->optional = get_bool(d, n, "optional");
  if (load_type(d, get(d, n, "type"), &a->type) < 0) return -1;
  return load_shape(d, get(d, n, "shape"), &a->shape);
}

/* `attributes:` as hdf5-json's list of {name: ...}, or as a map name -> definition. */
static int load_attrs(ydoc_t *d, yaml_node_t *n, insp_attr_t **out, int *count) {
  *out = NULL;
  *count = 0;
  if (!n) return 0;
  if (n->type == YAML_SEQUENCE_NODE) {
    int len = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
    *out = dpt_alloc(sizeof **out * (size_t)(len ? len : 1));
    for (int i = 0; i < len; i++) {
      yaml_node_t *item = yaml_document_get_node(&d->doc, n->data.sequence.items.start[i]);
      if (load_attr(d, item, NULL, &(*out)[i]) < 0) return -1;
      (*count)++;
    }
    return 0;
  }
  if (n->type == YAML_MAPPING_NODE) {
    int len = (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    *out = dpt_alloc(sizeof **out * (size_t)(len ? len : 1));
    for (int i = 0; i < len; i++) {
      yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
      const char *name = scalar(yaml_document_get_node(&d->doc, p->key));
      if (!name) return bad(d, n, "attribute names must be strings");
      if (load_attr(d, yaml_document_get_node(&d->doc, p->value), name, &(*out)[i]) < 0)
        return -1;
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

static int load_dset(ydoc_t *d, yaml_node_t *n, char *path, insp_dset_t *ds) {
  memset(ds, 0, sizeof *ds);
  ds->path = path;
  ds->shape.rank = -1;
  if (n->type != YAML_MAPPING_NODE) return bad(d, n, "a dataset must be a mapping");
  ds->optional = get_bool(d, n, "optional");
  ds->units = get_str(d, n, "units");
  if (load_type(d, get(d, n, "type"), &ds->type) < 0 ||
      load_shape(d, get(d, n, "shape"), &ds->shape) < 0 ||
      load_attrs(d, get(d, n, "attributes"), &ds->attrs, &ds->nattrs) < 0)
    return -1;
  yaml_node_t *cp = get(d, n, "creationProperties");
  yaml_node_t *layout = get(d, cp, "layout");
  if (layout) {
    ds->layout = get_str(d, layout, "class");
    yaml_node_t *chunk = get(d, layout, "dims");
    if (chunk && (ds->nchunk = get_list(d, chunk, ds->chunk, "bad chunk `dims`")) < 0)
      return -1;
  }
  yaml_node_t *filters = get(d, cp, "filters");
  if (filters && filters->type == YAML_SEQUENCE_NODE) {
    for (yaml_node_item_t *i = filters->data.sequence.items.start;
         i < filters->data.sequence.items.top && ds->nfilters < INSP_MAX_RANK; i++) {
      const char *id = scalar(get(d, yaml_document_get_node(&d->doc, *i), "id"));
      if (id) ds->filters[ds->nfilters++] = atoi(id);
    }
  }
  return 0;
}

static insp_dset_t *new_dset(insp_schema_t *s) {
  s->dsets = dpt_realloc(s->dsets, sizeof *s->dsets * (size_t)(s->ndsets + 1));
  return &s->dsets[s->ndsets++];
}

static int load_datasets(ydoc_t *d, yaml_node_t *n, const char *group, insp_schema_t *s) {
  if (!n) return 0;
  if (n->type != YAML_MAPPING_NODE) return bad(d, n, "`datasets` must be a mapping");
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    const char *name = scalar(yaml_document_get_node(&d->doc, p->key));
    if (!name) return bad(d, n, "dataset names must be strings");
    char *path = join(group, name);
    if (insp_schema_dset(s, path)) {
      dpt_free(path);
      return bad(d, n, "a dataset is described twice");
    }
    if (load_dset(d, yaml_document_get_node(&d->doc, p->value), path, new_dset(s)) < 0)
      return -1;
  }
  return 0;
}

static int load_groups(ydoc_t *d, yaml_node_t *n, insp_schema_t *s) {
  if (!n) return 0;
  if (n->type != YAML_MAPPING_NODE) return bad(d, n, "`groups` must be a mapping");
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    const char *path = scalar(yaml_document_get_node(&d->doc, p->key));
    yaml_node_t *def = yaml_document_get_node(&d->doc, p->value);
    if (!path || path[0] != '/') return bad(d, n, "group paths must start with '/'");
    if (def->type != YAML_MAPPING_NODE) return bad(d, def, "a group must be a mapping");
    s->groups = dpt_realloc(s->groups, sizeof *s->groups * (size_t)(s->ngroups + 1));
    insp_group_t *g = &s->groups[s->ngroups++];
    memset(g, 0, sizeof *g);
    g->path = dpt_strdup(path);
    g->optional = get_bool(d, def, "optional");
    if (load_attrs(d, get(d, def, "attributes"), &g->attrs, &g->nattrs) < 0) return -1;
    g->open = g->nattrs == 0;
    if (load_datasets(d, get(d, def, "datasets"), path, s) < 0) return -1;
  }
  return 0;
}

int insp_schema_load(insp_schema_t *s, const char *yaml_path) {
  memset(s, 0, sizeof *s);
  s->file = dpt_strdup(yaml_path);
  FILE *f = fopen(yaml_path, "rb");
  if (!f) return dpt_fail("%s: cannot open schema file", yaml_path);
  yaml_parser_t parser;
  ydoc_t d = {.file = yaml_path};
  if (!yaml_parser_initialize(&parser)) DPT_PANIC("yaml_parser_initialize");
  yaml_parser_set_input_file(&parser, f);
  int ok = yaml_parser_load(&parser, &d.doc);
  if (!ok) {
    dpt_fail("%s:%lu: %s", yaml_path, (unsigned long)parser.problem_mark.line + 1,
             parser.problem ? parser.problem : "YAML error");
    yaml_parser_delete(&parser);
    fclose(f);
    return -1;
  }
  yaml_parser_delete(&parser);
  fclose(f);
  int rc = 0;
  yaml_node_t *root = yaml_document_get_root_node(&d.doc);
  if (!root || root->type != YAML_MAPPING_NODE) {
    rc = bad(&d, root, "a schema must be a mapping");
  } else {
    s->schema = get_str(&d, root, "schema");
    s->version = get_str(&d, root, "schema_version");
    if (!s->schema || !s->version)
      rc = bad(&d, root, "missing `schema` or `schema_version`");
    else if (insp_version_major(s->version) < 0)
      rc = bad(&d, root, "`schema_version` is not \"MAJOR.MINOR\"");
    else if (load_groups(&d, get(&d, root, "groups"), s) < 0 ||
             load_datasets(&d, get(&d, root, "datasets"), "/", s) < 0)
      rc = -1;
  }
  yaml_document_delete(&d.doc);
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
