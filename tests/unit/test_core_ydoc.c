/* test_core_ydoc.c - unit tests of the YAML document loader (src/core/ydoc.c): the tree
 * and its positions, syntax errors with line and column, and hostile documents
 * (aliases, self-reference, nesting, expansion bombs, several documents). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/err.h"
#include "../../src/core/ydoc.h"
#include "test.h"

static int load(ydoc_t *d, const char *text, int aliases) {
  ydoc_opts_t o = {.allow_aliases = aliases};
  return ydoc_load(d, "t.yaml", text, strlen(text), &o);
}

/* The load fails and the message contains want. */
static void refused(const char *text, int aliases, const char *want) {
  ydoc_t d;
  if (load(&d, text, aliases) == 0) {
    test_failed(__FILE__, __LINE__, "loaded, expected '%s':\n%s", want, text);
    ydoc_free(&d);
  } else if (!strstr(dpt_errmsg(), want)) {
    test_failed(__FILE__, __LINE__, "message '%s', expected '%s'", dpt_errmsg(), want);
  }
  CHECK(d.root == NULL && d.nnodes == 0);
}

TEST(core_ydoc_builds_the_tree_with_positions) {
  ydoc_t d;
  CHECK_OK(load(&d, "model:\n  name: lenet\n  widths: [64, \"64\"]\nempty:\n", 0));
  const ydoc_node_t *model = ydoc_get(d.root, "model");
  CHECK(d.root && d.root->kind == YDOC_MAP && d.root->n == 2);
  CHECK(model && model->kind == YDOC_MAP && model->n == 2 && model->line == 2 &&
        model->column == 3);
  const ydoc_node_t *w = ydoc_get(model, "widths");
  CHECK(w && w->kind == YDOC_SEQ && w->n == 2 && w->line == 3 && w->column == 11);
  CHECK(w && w->items[0]->plain && !w->items[1]->plain && w->items[1]->column == 16 &&
        !strcmp(ydoc_scalar(w->items[1]), "64"));
  CHECK(!strcmp(ydoc_scalar(ydoc_get(model, "name")), "lenet"));
  const ydoc_node_t *e = ydoc_get(d.root, "empty");
  CHECK(e && e->plain && e->len == 0 && e->line == 4);
  CHECK(!ydoc_get(d.root, "nope") && !ydoc_get(w, "0") && !ydoc_scalar(model));
  CHECK_FAILS(ydoc_expected(&d, w, "model.widths", "a number"));
  CHECK(!strcmp(dpt_errmsg(), "t.yaml:3: model.widths: expected a number, got a sequence"));
  CHECK_FAILS(ydoc_expected(&d, ydoc_get(model, "name"), "model.name", "lenet5"));
  CHECK(!strcmp(dpt_errmsg(), "t.yaml:2: model.name: expected lenet5, got 'lenet'"));
  CHECK_FAILS(ydoc_expected(&d, ydoc_get(model, "depth"), "model.depth", "an integer"));
  CHECK(!strcmp(dpt_errmsg(), "t.yaml: model.depth: missing; expected an integer"));
  ydoc_free(&d);
  CHECK_OK(load(&d, "", 0)); /* an empty document has no root */
  CHECK(d.root == NULL);
  ydoc_free(&d);
}

TEST(core_ydoc_syntax_errors_name_line_and_column) {
  refused("a: 1\nb: [1, 2\nc: 3\n", 0, "t.yaml:3:2: YAML syntax error: did not find expected ',' or ']'");
  refused("a: 1\n  b: 2\n", 0, "t.yaml:2:4: YAML syntax error: mapping values are not allowed");
  refused("a: \"\xff\"\n", 0, "t.yaml: YAML read error at byte 4: invalid leading UTF-8 octet");
  ydoc_t d;
  ydoc_opts_t o = {.one_line = 1};
  CHECK_FAILS(ydoc_load(&d, "--set a=[1", "[1", 2, &o));
  CHECK(!strncmp(dpt_errmsg(), "--set a=[1: YAML syntax error: ", 31));
}

TEST(core_ydoc_aliases_refused_or_resolved) {
  refused("x: 1\nset: &a {model: *a}\n", 0,
          "t.yaml:2: set.model: YAML aliases (*a) are not allowed; write the value out");
  refused("grid: {e: &e [1, 2]}\nzip: [{w: *e}]\n", 0, "t.yaml:2: zip[0].w: YAML aliases (*e)");
  /* resolved: the alias is the anchored node itself */
  ydoc_t d;
  CHECK_OK(load(&d, "train: &img {dims: [3, 32]}\ntest: *img\n", 1));
  CHECK(ydoc_get(d.root, "test") == ydoc_get(d.root, "train"));
  CHECK(d.root->weight == 1 + 2 * 2 + 2 * 4); /* 2 keys, 2 x (map, key, seq, 2 items) */
  ydoc_free(&d);
  /* a self-referential alias would make a cycle: refused even where aliases are allowed */
  refused("set: &a {model: *a}\n", 1, "t.yaml:1: set.model: YAML alias *a refers to a node that holds it");
  refused("a: *nope\n", 1, "t.yaml:1: a: unknown YAML alias *nope");
}

TEST(core_ydoc_bounds_nesting_expansion_and_documents) {
  char deep[512] = "set: ";
  for (int i = 0; i < 40; i++) strcat(deep, "{a: ");
  strcat(deep, "1");
  for (int i = 0; i < 40; i++) strcat(deep, "}");
  refused(deep, 0, ".a.a.a: nested more than 32 levels deep"); /* the path to the 33rd map */
  refused(deep, 0, "t.yaml:1: set.a.a.a");
  /* a billion laughs: 9 levels of 10 aliases each is 10^9 nodes once expanded */
  char bomb[2048] = "a0: &a0 [x]\n";
  for (int i = 1; i <= 9; i++) {
    size_t n = strlen(bomb);
    snprintf(bomb + n, sizeof bomb - n, "a%d: &a%d [", i, i);
    for (int j = 0; j < 10; j++) {
      n = strlen(bomb);
      snprintf(bomb + n, sizeof bomb - n, "%s*a%d", j ? ", " : "", i - 1);
    }
    strcat(bomb, "]\n");
  }
  refused(bomb, 1, "more than 1000000 YAML nodes (aliases expanded)");
  ydoc_t d;
  ydoc_opts_t small = {.allow_aliases = 1, .max_nodes = 20, .max_depth = 2};
  const char *five = "a: &a [1, 2, 3]\nb: *a\nc: *a\n"; /* 1 + 3 keys + 3 x 4 = 16 nodes */
  CHECK_OK(ydoc_load(&d, "t.yaml", five, strlen(five), &small));
  ydoc_free(&d);
  small.max_nodes = 15;
  CHECK_FAILS(ydoc_load(&d, "t.yaml", five, strlen(five), &small));
  CHECK(strstr(dpt_errmsg(), "t.yaml:3: c: more than 15 YAML nodes"));
  refused("a: 1\n---\nb: 2\n", 0, "t.yaml:2: a second YAML document (after ---); expected one");
}

TEST(core_ydoc_load_file_names_the_file) {
  ydoc_t d;
  CHECK_FAILS(ydoc_load_file(&d, "/tmp/dpt-test-no-such.yaml", NULL));
  CHECK(strstr(dpt_errmsg(), "/tmp/dpt-test-no-such.yaml: cannot open: No such file"));
  char path[] = "/tmp/dpt-test-ydoc-XXXXXX";
  FILE *f = fdopen(mkstemp(path), "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs("a:\n  - 1\n  - {b: *x}\n", f);
  fclose(f);
  CHECK_FAILS(ydoc_load_file(&d, path, NULL));
  char want[256];
  snprintf(want, sizeof want, "%s:3: a[1].b: YAML aliases (*x) are not allowed", path);
  CHECK(strstr(dpt_errmsg(), want));
  remove(path);
}
