/* config_keys.h - the one table of configuration keys (config_keys.c) and the per-key
 * operations: parse a scalar into its field, check its range, print it. config.c walks
 * the table for loading, defaults, the resolved YAML and the reference. */
#ifndef DPT_CONFIG_KEYS_H
#define DPT_CONFIG_KEYS_H

#include <stddef.h>

#include "config.h"

/* The most epochs a run may have: model.epochs' upper bound, and the most rows a reader
 * of run.h5 or checkpoint.h5 accepts in /metrics before it allocates them. */
#define CFG_MAX_EPOCHS 100000
#define CFG_STR_(x) #x
#define CFG_STR(x) CFG_STR_(x)

typedef enum {
  T_INT,      /* int field */
  T_U64,      /* uint64_t field */
  T_FLOAT,    /* double field */
  T_BOOL,     /* int field, 0 or 1 */
  T_ENUM,     /* char[] field holding the canonical spelling of one of `values` */
  T_ENUM_ID,  /* int-sized enum field holding the index into `values` */
  T_STR,      /* char[] field */
  T_PATH,     /* char[] field */
  T_SHARDING, /* shard_scheme_t field: iid | random | classes:C | dirichlet:A */
  T_COMPRESS, /* comm_compress_opts_t field (kind, ratio, rank): comm_compress_parse's
                 spellings, none | fp16 | bf16 | int8 | topk:RATIO | powersgd:RANK */
  T_IGNORED,  /* accepted with a warning, stored nowhere (keys the seed ignored) */
} cfg_type_t;

typedef struct {
  const char *key;           /* dotted path, e.g. "model.work.local_steps" */
  cfg_type_t type;
  size_t off, size;          /* the field in dpt_config_t */
  const char *def;           /* default, written as in a YAML file */
  const char *const *values; /* T_ENUM, T_ENUM_ID: allowed values, NULL-terminated */
  /* T_ENUM_ID over a knob table instead: the spelling of its row i, NULL past the last
   * (opt_spelling, outer_spelling, dynh_spelling) */
  const char *(*spell)(int i);
  const char *range;         /* ">= 1", "> 0", "[0, 1)"; NULL = any value */
  int autoable;              /* "auto" is accepted and stored as -1 (-1.0 in a double) */
  const char *doc;           /* one line for the reference and the resolved YAML */
} cfg_key_t;

extern const cfg_key_t cfg_keys[];
extern const int cfg_nkeys;

const cfg_key_t *cfg_key_find(const char *dotted);
/* The plain YAML scalars that mean null: empty, ~, null (any case) and the seed's None. */
int cfg_is_null(const char *s);
/* Parses `text` into k's field. plain: the YAML scalar was unquoted, so `~`, `null`,
 * `None` and the empty string mean "the default". Fails with "expected X, got 'text'". */
int cfg_key_set(dpt_config_t *cfg, const cfg_key_t *k, const char *text, int plain);
/* Fails with "must be >= 1, got 0" when the field is outside k->range. */
int cfg_key_check(const dpt_config_t *cfg, const cfg_key_t *k);
/* The field as text, in the syntax cfg_key_set reads ("auto" for -1 where autoable). */
void cfg_key_text(const dpt_config_t *cfg, const cfg_key_t *k, char *buf, size_t cap);
/* What the key accepts, as in "expected <an integer>". */
const char *cfg_key_expected(const cfg_key_t *k, char *buf, size_t cap);

#endif
