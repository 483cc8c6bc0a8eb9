/* config.c - loading the run configuration, --set overrides, validation, and the
 * resolved YAML, key list and reference, all by walking the key table (config_keys.c).
 * The core YAML loader (core/ydoc.h) builds the document tree; scalars are parsed by the
 * table. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../core/readfile.h"
#include "../core/strbuf.h"
#include "../core/ydoc.h"
#include "config_keys.h"

/* Where a key got its value: a --set, a line of the file, or neither (the default). */
typedef struct {
  const char *set;
  int line;
} loc_t;

typedef struct {
  dpt_config_t *cfg;
  const char *name;     /* file name for messages */
  const char *set;      /* the --set being applied; NULL while reading the file */
  loc_t *locs;          /* per cfg_keys entry, for the checks after all overrides */
} load_t;

static void loc_text(const load_t *ld, loc_t at, char *buf, size_t cap) {
  if (at.set)
    snprintf(buf, cap, "--set %s", at.set);
  else if (at.line)
    snprintf(buf, cap, "%s:%d", ld->name, at.line);
  else
    snprintf(buf, cap, "%s", ld->name);
}

static loc_t here(const load_t *ld, const ydoc_node_t *n) {
  return (loc_t){ld->set, ld->set ? 0 : n->line};
}

/* Prefixes the current message with "WHERE: key" (key may be NULL or empty). */
static int wrap_at(const load_t *ld, loc_t at, const char *key) {
  char where[CFG_PATH_MAX + 64];
  loc_text(ld, at, where, sizeof where);
  return key && *key ? dpt_wrap("%s: %s", where, key) : dpt_wrap("%s", where);
}

static int fail_at(const load_t *ld, loc_t at, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(const load_t *ld, loc_t at, const char *key, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dpt_fail("%s", msg);
  return wrap_at(ld, at, key);
}

static int is_null_node(const ydoc_node_t *n) {
  return n->kind == YDOC_SCALAR && n->plain && cfg_is_null(n->text);
}

/* 1 when some key lies below `prefix` ("" is the root). */
static int is_section(const char *prefix) {
  size_t n = strlen(prefix);
  for (int i = 0; i < cfg_nkeys; i++)
    if (!n || (!strncmp(cfg_keys[i].key, prefix, n) && cfg_keys[i].key[n] == '.')) return 1;
  return 0;
}

/* "name, epochs, ..." : the keys directly below prefix. */
static void children(const char *prefix, char *buf, size_t cap) {
  size_t plen = strlen(prefix), len = 0, last_n = 0;
  const char *last = "";
  buf[0] = 0;
  for (int i = 0; i < cfg_nkeys; i++) {
    const char *key = cfg_keys[i].key;
    if (plen && (strncmp(key, prefix, plen) || key[plen] != '.')) continue;
    const char *c = key + (plen ? plen + 1 : 0);
    size_t n = strcspn(c, ".");
    if (n == last_n && !strncmp(c, last, n)) continue; /* table keeps siblings together */
    if (len < cap)
      len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", len ? ", " : "", (int)n, c);
    last = c, last_n = n;
  }
}

/* A map (or a --set below it) turns on the feature its "enabled" key stands for. */
static void touch(load_t *ld, const char *section, loc_t at) {
  char key[256];
  snprintf(key, sizeof key, "%s.enabled", section);
  const cfg_key_t *k = cfg_key_find(key);
  if (!k) return;
  DPT_ASSERT(cfg_key_set(ld->cfg, k, "true", 0) == 0);
  ld->locs[k - cfg_keys] = at;
}

static int apply_map(load_t *ld, const char *prefix, const ydoc_node_t *map);

static int apply_leaf(load_t *ld, const cfg_key_t *k, const ydoc_node_t *node) {
  char want[256], got[CFG_PATH_MAX + 64];
  loc_t at = here(ld, node);
  if (k->type == T_IGNORED) {
    loc_text(ld, at, got, sizeof got);
    fprintf(stderr, "warning: %s: %s has no effect (the seed ignored it too)\n", got, k->key);
    return 0;
  }
  if (node->kind != YDOC_SCALAR)
    return fail_at(ld, at, k->key, "expected %s, got %s", cfg_key_expected(k, want, sizeof want),
                   ydoc_describe(node, got, sizeof got));
  if (cfg_key_set(ld->cfg, k, node->text, node->plain) < 0)
    return wrap_at(ld, at, k->key);
  ld->locs[k - cfg_keys] = at;
  return 0;
}

/* full: the dotted key; key_at: where its name stands; node: its value. */
static int apply_key(load_t *ld, const char *full, loc_t key_at, const ydoc_node_t *node) {
  char buf[1024];
  const cfg_key_t *k = cfg_key_find(full);
  if (k) return apply_leaf(ld, k, node);
  if (!is_section(full)) {
    /* The nearest enclosing map that exists ("a.b.c" from a --set may skip a level). */
    char parent[256];
    snprintf(parent, sizeof parent, "%s", full);
    do {
      char *dot = strrchr(parent, '.');
      *(dot ? dot : parent) = 0;
    } while (!is_section(parent));
    children(parent, buf, sizeof buf);
    return fail_at(ld, key_at, NULL, "unknown key '%s' (expected one of: %s)", full, buf);
  }
  if (node->kind == YDOC_MAP) {
    touch(ld, full, here(ld, node));
    return apply_map(ld, full, node);
  }
  if (is_null_node(node)) return 0; /* an optional map left empty */
  return fail_at(ld, here(ld, node), full, "expected a map, got %s",
                 ydoc_describe(node, buf, sizeof buf));
}

static int apply_map(load_t *ld, const char *prefix, const ydoc_node_t *map) {
  char full[256], buf[256];
  for (int i = 0; i < map->n; i++) {
    const ydoc_node_t *kn = map->items[2 * i];
    loc_t at = here(ld, kn);
    if (kn->kind != YDOC_SCALAR)
      return fail_at(ld, at, NULL, "expected a key, got %s", ydoc_describe(kn, buf, sizeof buf));
    const char *name = kn->text;
    snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", name);
    for (int j = 0; j < i; j++) {
      const ydoc_node_t *earlier = map->items[2 * j];
      if (earlier->kind == YDOC_SCALAR && !strcmp(earlier->text, name))
        return fail_at(ld, at, NULL, "duplicate key '%s' (first at line %d)", full,
                       earlier->line);
    }
    TRY(apply_key(ld, full, at, map->items[2 * i + 1]));
  }
  return 0;
fail:
  return -1;
}

/* Applies one YAML text: the file (ld->set NULL) at the root, or a --set value at key.
 * Aliases stand for their anchored node, as in any YAML file. */
static int apply_text(load_t *ld, const char *text, const char *key) {
  char where[CFG_PATH_MAX + 64];
  loc_text(ld, (loc_t){ld->set, 0}, where, sizeof where);
  ydoc_opts_t opts = {.allow_aliases = 1, .one_line = ld->set != NULL};
  ydoc_t doc;
  TRY(ydoc_load(&doc, where, text, strlen(text), &opts));
  int rc = doc.root ? apply_key(ld, key, here(ld, doc.root), doc.root) : 0;
  ydoc_free(&doc);
  return rc;
fail:
  return -1;
}

static int apply_set(load_t *ld, const char *set) {
  char key[256];
  const char *eq = strchr(set, '=');
  ld->set = set;
  if (!eq || eq == set || (size_t)(eq - set) >= sizeof key)
    return fail_at(ld, (loc_t){set, 0}, NULL, "expected dotted.key=value");
  snprintf(key, sizeof key, "%.*s", (int)(eq - set), set);
  /* The maps a file would need to hold this key exist now (model.slowmo enables SlowMo). */
  for (char *dot = strchr(key, '.'); dot; dot = strchr(dot + 1, '.')) {
    *dot = 0;
    touch(ld, key, (loc_t){set, 0});
    *dot = '.';
  }
  /* An empty value is null, as after `key:` in a file. */
  return apply_text(ld, eq[1] ? eq + 1 : "~", key);
}

static int is_set(const load_t *ld, const char *key) {
  loc_t at = ld->locs[cfg_key_find(key) - cfg_keys];
  return at.set || at.line;
}

/* A model.slowmo map is model.outer with type slowmo, alpha and beta; both given must
 * agree (the resolved YAML holds both). model.outer needs local workers. */
static int resolve_outer(load_t *ld) {
  dpt_config_t *c = ld->cfg;
  const cfg_key_t *ty = cfg_key_find("model.outer.type");
  if (c->slowmo_enabled && c->num_workers >= 1) {
    static const char *const keys[3][2] = {
        {"model.outer.type", "model.slowmo"},
        {"model.outer.learning_rate", "model.slowmo.learning_rate"},
        {"model.outer.momentum", "model.slowmo.momentum"}};
    int differ[3] = {c->outer_type != OUTER_SLOWMO, c->outer_lr != c->slowmo_lr,
                     c->outer_momentum != c->slowmo_momentum};
    for (int i = 0; i < 3; i++)
      if (is_set(ld, keys[i][0]) && differ[i]) {
        const cfg_key_t *k = cfg_key_find(keys[i][0]);
        return fail_at(ld, ld->locs[k - cfg_keys], k->key,
                       "disagrees with %s: give SlowMo as model.slowmo or as model.outer "
                       "(type: slowmo), not both differently", keys[i][1]);
      }
    c->outer_type = OUTER_SLOWMO;
    c->outer_lr = c->slowmo_lr;
    c->outer_momentum = c->slowmo_momentum;
  }
  if (c->num_workers == 0 && c->outer_type != OUTER_NONE && is_set(ld, ty->key))
    return fail_at(ld, ld->locs[ty - cfg_keys], ty->key,
                   "needs local workers (model.num_workers >= 1), got model.num_workers = 0");
  return 0;
}

/* Streaming DiLoCo (model.outer.fragments, .delay): local workers, a fixed H that gives
 * every fragment its own offset and leaves room for the delay, and what the fragments
 * cannot share (a reset of the whole optimizer state, a compressor's state, keep lists
 * of the whole model's names). */
static int check_stream(load_t *ld) {
  const dpt_config_t *c = ld->cfg;
  const cfg_key_t *fk = cfg_key_find("model.outer.fragments");
  const cfg_key_t *dk = cfg_key_find("model.outer.delay");
  const cfg_key_t *kk = cfg_key_find("model.outer.keep");
  int F = c->outer_fragments, H = c->local_steps;
  const cfg_key_t *k = F > 1 ? fk : dk;
  loc_t fat = ld->locs[fk - cfg_keys], at = ld->locs[k - cfg_keys];
  const comm_compressor_t *row = &comm_compressors[c->outer_compress.kind];
  if (F == 1 && c->outer_delay == 0) return 0;
  if (c->num_workers == 0)
    return fail_at(ld, at, k->key, "needs local workers (model.num_workers >= 1), got "
                   "model.num_workers = 0");
  if (F > H)
    return fail_at(ld, fat, fk->key, "= %d exceeds model.work.local_steps (H = %d): each "
                   "fragment needs its own offset in the H steps", F, H);
  if (c->outer_delay >= H / F)
    return fail_at(ld, ld->locs[dk - cfg_keys], dk->key,
                   "= %d, expected < floor(H / F) = %d (model.work.local_steps %d, "
                   "model.outer.fragments %d): a fragment's round must land before the "
                   "next fragment's starts", c->outer_delay, H / F, H, F);
  if (c->dynamic.kind != DYNH_FIXED)
    return fail_at(ld, at, k->key, "needs a fixed H: model.work.dynamic.strategy %s changes "
                   "H between epochs", dynh_def(c->dynamic.kind)->name);
  if (F > 1 && c->local_momentum == LOCAL_MOMENTUM_RESET)
    return fail_at(ld, fat, fk->key, "= %d cannot be used with model.work.momentum: reset (it "
                   "zeroes the whole optimizer state, step count included); use keep, "
                   "average or reset_epoch", F);
  if (F > 1 && row->nstate > 0)
    return fail_at(ld, fat, fk->key, "= %d cannot be used with model.outer.compress %s (its "
                   "state is kept for the whole model); use fp16, bf16 or int8", F, row->name);
  if (F > 1 && c->outer_compress.keep[0])
    return fail_at(ld, ld->locs[kk - cfg_keys], kk->key, "cannot be used with "
                   "model.outer.fragments = %d (its names are the whole model's); leave "
                   "it empty", F);
  return 0;
}

/* s with control characters shown as '?', for a message that quotes it. */
static void printable(char *buf, size_t cap, const char *s) {
  snprintf(buf, cap, "%s", s);
  for (char *p = buf; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
}

static int has_control(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
  return 0;
}

/* 1 when some '/'-separated component of path is "..". */
static int has_dotdot(const char *path) {
  for (const char *p = path; (p = strstr(p, "..")); p += 2)
    if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2])) return 1;
  return 0;
}

/* experiment.name becomes the directory runs/NAME-vVERSION; experiment.output names a
 * CSV table inside the run directory. Neither may lead anywhere else. */
static int check_paths(load_t *ld) {
  const dpt_config_t *c = ld->cfg;
  const cfg_key_t *name = cfg_key_find("experiment.name"), *out = cfg_key_find("experiment.output");
  char shown[CFG_PATH_MAX];
  printable(shown, sizeof shown, c->exp_name);
  if (!c->exp_name[0] || strchr(c->exp_name, '/') || strstr(c->exp_name, "..") ||
      has_control(c->exp_name))
    return fail_at(ld, ld->locs[name - cfg_keys], name->key,
                   "'%s': expected a name without '/', '..' or control characters (any other "
                   "text; it names the run directory runs/NAME-vVERSION)", shown);
  const char *o = c->output;
  size_t n = strlen(o);
  printable(shown, sizeof shown, o);
  if (n && (o[0] == '/' || has_dotdot(o) || has_control(o) || n < 5 || strcmp(o + n - 4, ".csv") ||
            o[n - 5] == '/'))
    return fail_at(ld, ld->locs[out - cfg_keys], out->key,
                   "'%s': expected a relative path ending in .csv, inside the run directory "
                   "(not absolute, no '..', no control characters), or empty for none", shown);
  return 0;
}

/* Ranges and cross-key rules, after the file and every override. */
static int validate(load_t *ld) {
  const dpt_config_t *c = ld->cfg;
  for (int i = 0; i < cfg_nkeys; i++)
    if (cfg_key_check(c, &cfg_keys[i]) < 0) return wrap_at(ld, ld->locs[i], cfg_keys[i].key);
  const cfg_key_t *warmup = cfg_key_find("model.warmup");
  if (c->schedule_unit == SCHED_UNIT_EPOCH && c->warmup >= c->epochs)
    return fail_at(ld, ld->locs[warmup - cfg_keys], warmup->key,
                   "must be < model.epochs (%d), got %d", c->epochs, c->warmup);
  const cfg_key_t *hmax = cfg_key_find("model.work.dynamic.h_max");
  if (c->dynamic.h_max < c->dynamic.h_min)
    return fail_at(ld, ld->locs[hmax - cfg_keys], hmax->key,
                   "must be >= model.work.dynamic.h_min (%d), got %d", c->dynamic.h_min,
                   c->dynamic.h_max);
  const cfg_key_t *dup = cfg_key_find("model.work.dynamic.deviation_upper");
  if (c->dynamic.dev_upper <= c->dynamic.dev_lower)
    return fail_at(ld, ld->locs[dup - cfg_keys], dup->key,
                   "must be > model.work.dynamic.deviation_lower (%g), got %g",
                   c->dynamic.dev_lower, c->dynamic.dev_upper);
  /* AvgLossLS compares the newest n/2 losses with the previous n/2; LossLS the newest 3. */
  const cfg_key_t *nl = cfg_key_find("model.work.dynamic.n_losses");
  if (c->dynamic.kind == DYNH_LOSSLS && c->dynamic.n_losses < 3)
    return fail_at(ld, ld->locs[nl - cfg_keys], nl->key,
                   "must be >= 3 for LossLS (it compares the newest three losses), got %d",
                   c->dynamic.n_losses);
  if (c->dynamic.kind == DYNH_AVGLOSSLS && c->dynamic.n_losses % 2)
    return fail_at(ld, ld->locs[nl - cfg_keys], nl->key,
                   "must be even for AvgLossLS (newest n/2 against previous n/2), got %d",
                   c->dynamic.n_losses);
  /* model.optimizer is the centralized optimizer; local workers step model.work.optimizer. */
  const cfg_key_t *opt = cfg_key_find("model.optimizer");
  if (c->num_workers >= 1 && c->optimizer != OPT_SGDM)
    return fail_at(ld, ld->locs[opt - cfg_keys], opt->key,
                   "%s cannot be used with model.num_workers = %d: model.optimizer is the "
                   "centralized optimizer; set model.work.optimizer: %s for the local workers "
                   "(and model.optimizer: SGDM), or model.num_workers: 0 for centralized %s",
                   opt_name(c->optimizer), c->num_workers,
                   opt_name(c->optimizer), opt_name(c->optimizer));
  const cfg_key_t *lfe = cfg_key_find("model.work.local_from_epoch");
  if (c->num_workers == 0 && c->local_from_epoch > 0)
    return fail_at(ld, ld->locs[lfe - cfg_keys], lfe->key,
                   "needs local workers (model.num_workers >= 1), got model.num_workers = 0");
  const cfg_key_t *ev = cfg_key_find("eval.every_rounds");
  if (c->eval_every_rounds > 0 && c->val_fraction == 0)
    return fail_at(ld, ld->locs[ev - cfg_keys], ev->key,
                   "= %d evaluates on the validation split, but data.val_fraction is 0: give "
                   "data.val_fraction > 0, or eval.every_rounds: 0", c->eval_every_rounds);
  /* a batch-norm group never straddles ranks or workers: whole ghost batches per batch */
  const cfg_key_t *gb = cfg_key_find("model.bn.ghost_batch");
  int batch = c->num_workers ? c->worker_batch_size : c->batch_size;
  if (nn_model_has_bn(c->model) && batch % c->ghost_batch)
    return fail_at(ld, ld->locs[gb - cfg_keys], gb->key,
                   "%d does not divide %s = %d: %s's batch norm takes whole ghost batches",
                   c->ghost_batch, c->num_workers ? "model.work.batch_size" : "model.batch_size",
                   batch, nn_model_name(c->model));
  if (resolve_outer(ld) < 0 || check_stream(ld) < 0 || check_paths(ld) < 0) return -1;
  const cfg_key_t *cu = cfg_key_find("optim.lamb_clamp_upper");
  if (c->optim.clamp_upper > 0 && c->optim.clamp_upper < c->optim.clamp_lower)
    return fail_at(ld, ld->locs[cu - cfg_keys], cu->key,
                   "must be 0 (none) or >= optim.lamb_clamp_lower (%g), got %g",
                   c->optim.clamp_lower, c->optim.clamp_upper);
  return 0;
}

void config_defaults(dpt_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  for (int i = 0; i < cfg_nkeys; i++)
    if (cfg_key_set(cfg, &cfg_keys[i], cfg_keys[i].def, 0) < 0)
      DPT_PANIC("default of %s: %s", cfg_keys[i].key, dpt_errmsg());
}

int config_load_string(dpt_config_t *cfg, const char *yaml, const char *name,
                       const char *const *sets, int nsets) {
  load_t ld = {cfg, name, NULL, dpt_alloc((size_t)cfg_nkeys * sizeof(loc_t))};
  config_defaults(cfg);
  TRY(apply_text(&ld, yaml, ""));
  for (int i = 0; i < nsets; i++) TRY(apply_set(&ld, sets[i]));
  TRY(validate(&ld));
  dpt_free(ld.locs);
  return 0;
fail:
  dpt_free(ld.locs);
  return -1;
}

int config_load(dpt_config_t *cfg, const char *path, const char *const *sets, int nsets) {
  char *text = NULL;
  if (dpt_read_file(path, DPT_TEXT_MAX, &text, NULL) < 0) return -1;
  int rc = config_load_string(cfg, text, path, sets, nsets);
  dpt_free(text);
  return rc;
}

/* A plain YAML scalar is kept only when it cannot be read as anything but this string. */
static int needs_quotes(const char *s) {
  if (cfg_is_null(s)) return 1;
  if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./", *s)) return 1;
  if (s[strlen(s) - 1] == ':') return 1;
  return s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:+-")] != 0;
}

static void put_scalar(strbuf_t *b, const cfg_key_t *k, const char *text) {
  int stringy = k->type == T_ENUM || k->type == T_ENUM_ID || k->type == T_STR ||
               k->type == T_PATH || k->type == T_SHARDING || k->type == T_COMPRESS;
  if (!stringy || !needs_quotes(text)) {
    strbuf_printf(b, "%s", text);
    return;
  }
  strbuf_printf(b, "\"");
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if (*p == '"' || *p == '\\')
      strbuf_printf(b, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f)
      strbuf_printf(b, "\\x%02x", *p);
    else
      strbuf_printf(b, "%c", *p);
  }
  strbuf_printf(b, "\"");
}

/* Opens the maps of key that the previous key did not share, then returns its depth. */
static int open_maps(strbuf_t *b, const char *prev, const char *key) {
  int depth = 0, same = 1;
  for (size_t n; key[n = strcspn(key, ".")]; key += n + 1, depth++) {
    size_t pn = strcspn(prev, ".");
    same = same && prev[pn] == '.' && pn == n && !strncmp(prev, key, n);
    if (same)
      prev += pn + 1;
    else
      strbuf_printf(b, "%*s%.*s:\n", 2 * depth, "", (int)n, key);
  }
  return depth;
}

char *config_to_yaml(const dpt_config_t *cfg) {
  strbuf_t b = {0};
  char text[CFG_PATH_MAX + 64];
  const char *prev = "";
  strbuf_printf(&b, "# dpt configuration, resolved: every key with its value\n");
  for (int i = 0; i < cfg_nkeys; i++) {
    const cfg_key_t *k = &cfg_keys[i];
    if (k->type == T_IGNORED) continue;
    int depth = open_maps(&b, prev, k->key);
    cfg_key_text(cfg, k, text, sizeof text);
    strbuf_printf(&b, "%*s%s: ", 2 * depth, "", strrchr(k->key, '.') + 1);
    put_scalar(&b, k, text);
    strbuf_printf(&b, "  # %s\n", k->doc);
    prev = k->key;
  }
  return strbuf_take(&b);
}

void config_each(const dpt_config_t *cfg,
                 void (*fn)(void *ctx, const char *key, const char *value), void *ctx) {
  char text[CFG_PATH_MAX + 64];
  for (int i = 0; i < cfg_nkeys; i++) {
    if (cfg_keys[i].type == T_IGNORED) continue;
    cfg_key_text(cfg, &cfg_keys[i], text, sizeof text);
    fn(ctx, cfg_keys[i].key, text);
  }
}

void config_print_reference(void) {
  char type[512];
  printf("| key | type | default | meaning |\n| --- | --- | --- | --- |\n");
  for (int i = 0; i < cfg_nkeys; i++) {
    const cfg_key_t *k = &cfg_keys[i];
    cfg_key_expected(k, type, sizeof type);
    printf("| `%s` | %s%s%s | %s%s%s | %s |\n", k->key, type,
           !k->range ? "" : k->range[0] == '>' ? " " : " in ", k->range ? k->range : "",
           *k->def ? "`" : "", *k->def ? k->def : "(none)",
           *k->def ? "`" : "", k->doc);
  }
}
