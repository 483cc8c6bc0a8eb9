/* test_config.c - the config loader: the seed's four files, every error class (message
 * names file, line and key), --set overrides, defaults and the YAML round trip. */
#include <stdio.h>
#include <string.h>

#include "../../src/config/config.h"
#include "../../src/config/config_keys.h"
#include "../../src/core/err.h"
#include "test.h"

#define SEED(name) "tests/fixtures/seed/" name ".yaml"

/* Loading yaml (as "bad.yaml") with one optional --set fails, and the message contains
 * every non-NULL needle. */
static void fails_with(int line, const char *yaml, const char *set, const char *a,
                       const char *b, const char *c) {
  dpt_config_t cfg;
  const char *needles[] = {a, b, c};
  dpt_clear_error();
  if (config_load_string(&cfg, yaml, "bad.yaml", &set, set ? 1 : 0) == 0) {
    test_failed(__FILE__, line, "loading succeeded, expected an error");
    return;
  }
  for (int i = 0; i < 3; i++)
    if (needles[i] && !strstr(dpt_errmsg(), needles[i]))
      test_failed(__FILE__, line, "'%s' not in: %s", needles[i], dpt_errmsg());
}
#define FAILS_WITH(yaml, set, a, b, c) fails_with(__LINE__, yaml, set, a, b, c)

TEST(config_defaults_all) {
  dpt_config_t c;
  config_defaults(&c);
  CHECK(c.model == NN_LENET && c.epochs == 150 && c.batch_size == 64);
  CHECK(c.learning_rate == 0.01 && !strcmp(c.loss, "CSE") && c.optimizer == OPT_SGDM);
  CHECK(c.scheduler == SCHED_COSINE && c.optim.weight_decay == 1e-3);
  CHECK(c.warmup == 0 && c.patience == 0 && c.num_workers == 0 && !c.pretrained[0]);
  CHECK(!c.slowmo_enabled && c.slowmo_lr == 1.0 && c.slowmo_momentum == 0.0);
  CHECK(c.local_steps == 1 && c.sync_steps == 0 && c.worker_batch_size == 64);
  CHECK(c.local_momentum == LOCAL_MOMENTUM_KEEP && c.dynamic.kind == DYNH_FIXED && c.dynamic.n_losses == 3);
  CHECK(c.optim.momentum == 0.9 && c.optim.beta1 == 0.9 && c.optim.beta2 == 0.999 && c.optim.eps == 1e-8);
  CHECK(!strcmp(c.data_path, "data/cifar100.h5") && c.limit == 0 && c.val_fraction == 0.1);
  CHECK(c.crop_padding == -1 && c.flip == -1 && c.sharding.kind == SHARD_IID);
  CHECK(!strcmp(c.exp_name, "run") && !c.resume && !c.test_only && c.version == 1.0);
  CHECK(!c.output[0] && !c.checkpoint_dir[0] && c.seed == 0);
  CHECK(c.reduction == COMM_ORDERED && c.eval_batch == 256);
  dpt_config_t empty;
  CHECK_OK(config_load_string(&empty, "", "empty.yaml", NULL, 0));
  CHECK(!memcmp(&c, &empty, sizeof c));
}

TEST(config_seed_centralized) {
  dpt_config_t c;
  CHECK_OK(config_load(&c, SEED("centralized"), NULL, 0));
  CHECK(c.learning_rate == 1e-2 && c.optim.weight_decay == 1e-3 && c.patience == 150);
  CHECK(c.num_workers == 0 && !c.pretrained[0] && !c.resume && !c.slowmo_enabled);
  CHECK(!strcmp(c.exp_name, "centralized") && !strcmp(c.output, "centralized.csv"));
}

TEST(config_seed_distributed) {
  dpt_config_t c;
  CHECK_OK(config_load(&c, SEED("distributed"), NULL, 0));
  CHECK(c.learning_rate == 4e-2 && c.patience == 0 && c.num_workers == 4);
  CHECK(c.sync_steps == 88 && c.local_steps == 4 && c.worker_batch_size == 64);
  CHECK(!c.slowmo_enabled && c.dynamic.kind == DYNH_FIXED && !strcmp(c.output, "distributed.csv"));
  /* the seed's LocalSGD: SGDM workers, plain averaging, local steps from the start */
  CHECK(c.work_optimizer == OPT_SGDM && c.outer_type == OUTER_NONE && c.local_from_epoch == 0);
}

TEST(config_seed_slowmo_dynamic) {
  dpt_config_t s, d;
  CHECK_OK(config_load(&s, SEED("slowmo"), NULL, 0));
  CHECK(s.slowmo_enabled && s.slowmo_lr == 1.0 && s.slowmo_momentum == 0.6);
  CHECK(s.sync_steps == 22 && s.local_steps == 8 && s.num_workers == 4);
  CHECK(s.dynamic.kind == DYNH_FIXED);
  /* model.slowmo is the outer step slowmo with its alpha and beta */
  CHECK(s.outer_type == OUTER_SLOWMO && s.outer_lr == 1.0 && s.outer_momentum == 0.6);
  CHECK_OK(config_load(&d, SEED("dynamic"), NULL, 0));
  CHECK(d.slowmo_enabled && d.slowmo_momentum == 0.6 && d.local_steps == 8);
  CHECK(d.dynamic.kind == DYNH_LOSSLS && d.dynamic.n_losses == 3);
}

TEST(config_scalar_quirks) {
  dpt_config_t c;
  CHECK_OK(config_load_string(&c,
                              "model:\n  optimizer: adamw\n  pretrained: null\n  warmup:\n"
                              "  work:\n    momentum: Reset_Epoch\n"
                              "experiment:\n  resume: yes\n  test_only: True\n  version: 2\n"
                              "  seed: 18446744073709551615\n"
                              "data:\n  flip: false\n  crop_padding: 2\n"
                              "  sharding: dirichlet:0.3\n",
                              "q.yaml", NULL, 0));
  CHECK(c.optimizer == OPT_ADAMW && !strcmp(opt_name(c.optimizer), "AdamW"));
  CHECK(!c.pretrained[0] && c.warmup == 0 && c.local_momentum == LOCAL_MOMENTUM_RESET_EPOCH);
  CHECK(c.resume == 1 && c.test_only == 1 && c.version == 2.0 && c.seed == UINT64_MAX);
  CHECK(c.flip == 0 && c.crop_padding == 2 && c.sharding.kind == SHARD_DIRICHLET &&
        c.sharding.alpha == 0.3);
  /* A quoted None is a file name, not null. */
  CHECK_OK(config_load_string(&c, "model:\n  pretrained: \"None\"\n", "q.yaml", NULL, 0));
  CHECK(!strcmp(c.pretrained, "None"));
}

TEST(config_errors_name_file_line_key) {
  FAILS_WITH("model:\n  foo: 1\n", NULL, "bad.yaml:2: unknown key 'model.foo'",
             "expected one of: name, epochs,", "slowmo, outer, work");
  FAILS_WITH("modle:\n  epochs: 1\n", NULL, "bad.yaml:1: unknown key 'modle'",
             "model, optim, data, experiment, checkpoint, train", NULL);
  FAILS_WITH("model:\n  epochs: ten\n", NULL,
             "bad.yaml:2: model.epochs: expected an integer, got 'ten'", NULL, NULL);
  FAILS_WITH("model:\n  epochs: 0\n", NULL,
             "bad.yaml:2: model.epochs: must be in [1, 100000], got 0", NULL, NULL);
  /* the most epochs a reader of run.h5 accepts (CFG_MAX_EPOCHS) */
  FAILS_WITH("model:\n  epochs: 100001\n", NULL,
             "bad.yaml:2: model.epochs: must be in [1, 100000], got 100001", NULL, NULL);
  FAILS_WITH("model:\n  learning_rate: 0\n", NULL, "bad.yaml:2: model.learning_rate",
             "must be > 0", NULL);
  FAILS_WITH("optim:\n  momentum: 1\n", NULL, "bad.yaml:2: optim.momentum",
             "must be in [0, 1), got 1.0", NULL);
  FAILS_WITH("model:\n  epochs:\n    a: 1\n", NULL, "bad.yaml:3: model.epochs", "got a map",
             NULL);
  FAILS_WITH("model:\n  work: [1, 2]\n", NULL, "bad.yaml:2: model.work",
             "expected a map, got a sequence", NULL);
  FAILS_WITH("model:\n  epochs: 3\n  batch_size: 8\n  epochs: 4\n", NULL,
             "bad.yaml:4: duplicate key 'model.epochs'", "line 2", NULL);
  FAILS_WITH("model:\n  epochs: [1\n", NULL, "bad.yaml:3:", "YAML syntax error", NULL);
  FAILS_WITH("model:\n  epochs: 5\n  warmup: 5\n", NULL, "bad.yaml:3: model.warmup",
             "must be < model.epochs (5), got 5", NULL);
  FAILS_WITH("experiment:\n  resume: maybe\n", NULL, "bad.yaml:2: experiment.resume",
             "true or false", "'maybe'");
  FAILS_WITH("model:\n  optimizer: Adam\n", NULL, "bad.yaml:2: model.optimizer",
             "one of: SGDM, AdamW, LARS, LAMB", NULL);
  FAILS_WITH("data:\n  sharding: classes:0\n", NULL, "bad.yaml:2: data.sharding",
             "classes:C", NULL);
  FAILS_WITH("data:\n  sharding: dirichlet:-1\n", NULL, "bad.yaml:2: data.sharding", NULL,
             NULL);
  FAILS_WITH("data:\n  sharding: zigzag\n", NULL, "bad.yaml:2: data.sharding",
             "iid, random, classes:C", "'zigzag'");
  FAILS_WITH("model: 3\n", NULL, "bad.yaml:1: model", "expected a map, got '3'", NULL);
  FAILS_WITH("- 1\n", NULL, "bad.yaml:1:", "expected a map, got a sequence", NULL);
  /* model.optimizer is centralized: with K >= 1 it is refused where it was written and
   * points at model.work.optimizer */
  FAILS_WITH("model:\n  num_workers: 2\n  optimizer: AdamW\n", NULL,
             "bad.yaml:3: model.optimizer: AdamW cannot be used with model.num_workers = 2",
             "set model.work.optimizer: AdamW", NULL);
  FAILS_WITH("model:\n  optimizer: LAMB\n", "model.num_workers=4", "bad.yaml:2: model.optimizer",
             "LAMB cannot be used with model.num_workers = 4", NULL);
  FAILS_WITH("model:\n  num_workers: 1\n", "model.optimizer=LARS",
             "--set model.optimizer=LARS: model.optimizer", "model.work.optimizer: LARS", NULL);
  /* a model.slowmo map and a different model.outer are refused, naming both */
  FAILS_WITH("model:\n  num_workers: 2\n  slowmo: {momentum: 0.5}\n  outer: {type: nesterov}\n",
             NULL, "bad.yaml:4: model.outer.type", "disagrees with model.slowmo", NULL);
  FAILS_WITH("model:\n  num_workers: 2\n  slowmo: {momentum: 0.5}\n", "model.outer.momentum=0.4",
             "--set model.outer.momentum=0.4: model.outer.momentum",
             "disagrees with model.slowmo.momentum", NULL);
  /* outer steps and post-local SGD need local workers */
  FAILS_WITH("model:\n  outer:\n    type: nesterov\n", NULL, "bad.yaml:3: model.outer.type",
             "needs local workers", NULL);
  FAILS_WITH("model:\n  work: {local_from_epoch: 2}\n", NULL,
             "bad.yaml:2: model.work.local_from_epoch", "needs local workers", NULL);
  FAILS_WITH("model:\n  num_workers: 2\n  work: {optimizer: Adam}\n", NULL,
             "bad.yaml:3: model.work.optimizer", "one of: SGDM, AdamW, LARS, LAMB", NULL);
  /* LossLS compares three losses: a shorter history is refused */
  FAILS_WITH("model:\n  work:\n    dynamic:\n      strategy: LossLS\n      n_losses: 2\n",
             NULL, "bad.yaml:5: model.work.dynamic.n_losses", "must be >= 3 for LossLS", NULL);
  dpt_config_t c;
  CHECK_OK(config_load_string(&c, "model:\n  num_workers: 2\n  optimizer: SGDM\n", "ok.yaml",
                              NULL, 0));
  CHECK_FAILS(config_load(&c, "tests/fixtures/seed/missing.yaml", NULL, 0));
  CHECK(strstr(dpt_errmsg(), "missing.yaml: cannot open: No such file"));
}

TEST(config_set_overrides) {
  dpt_config_t c;
  const char *sets[] = {"model.epochs=10", "model.slowmo.momentum=0.5",
                        "model.work.dynamic.strategy=alin", "experiment.name=\"a b\"",
                        "model.pretrained=", "data.flip=auto"};
  CHECK_OK(config_load(&c, SEED("distributed"), sets, 6));
  CHECK(c.epochs == 10 && c.slowmo_enabled && c.slowmo_momentum == 0.5 && c.slowmo_lr == 1.0);
  CHECK(c.dynamic.kind == DYNH_ALIN && !strcmp(c.exp_name, "a b"));
  CHECK(!c.pretrained[0] && c.flip == -1 && c.local_steps == 4);
  /* Overrides win, and ranges are checked only after them. */
  const char *fix[] = {"model.epochs=3"};
  CHECK_OK(config_load_string(&c, "model:\n  epochs: 0\n", "x.yaml", fix, 1));
  CHECK(c.epochs == 3);
  const char *off[] = {"model.slowmo={momentum: 0.2, enabled: false}"};
  CHECK_OK(config_load(&c, SEED("slowmo"), off, 1));
  CHECK(!c.slowmo_enabled && c.slowmo_momentum == 0.2);
  FAILS_WITH("", "model.foo=1", "--set model.foo=1: unknown key 'model.foo'", "epochs", NULL);
  FAILS_WITH("", "model.foo.bar=1", "unknown key 'model.foo.bar' (expected one of: name,", NULL,
             NULL);
  FAILS_WITH("", "model.epochs=x", "--set model.epochs=x: model.epochs: expected an integer",
             NULL, NULL);
  FAILS_WITH("", "model.epochs=0", "--set model.epochs=0: model.epochs: must be in [1, 100000]", NULL,
             NULL);
  FAILS_WITH("", "model.epochs", "--set model.epochs: expected dotted.key=value", NULL, NULL);
  FAILS_WITH("", "model.epochs=[1", "--set model.epochs=[1: YAML syntax error", NULL, NULL);
  FAILS_WITH("model:\n  warmup: 4\n", "model.epochs=4", "bad.yaml:2: model.warmup", NULL, NULL);
}

static void count_key(void *ctx, const char *key, const char *value) {
  int *n = ctx;
  (*n)++;
  if (!strcmp(key, "model.learning_rate")) CHECK(!strcmp(value, "0.04"));
  if (!strcmp(key, "data.flip")) CHECK(!strcmp(value, "auto"));
}

/* config -> YAML -> config gives the same bytes. */
static void round_trip(int line, const dpt_config_t *c) {
  dpt_config_t back;
  char *yaml = config_to_yaml(c);
  if (config_load_string(&back, yaml, "resolved.yaml", NULL, 0) < 0)
    test_failed(__FILE__, line, "reload failed: %s\n%s", dpt_errmsg(), yaml);
  else if (memcmp(c, &back, sizeof back))
    test_failed(__FILE__, line, "round trip differs:\n%s", yaml);
  dpt_free(yaml);
}

TEST(config_round_trip) {
  const char *files[] = {SEED("centralized"), SEED("distributed"), SEED("slowmo"),
                         SEED("dynamic")};
  dpt_config_t c;
  for (int i = 0; i < 4; i++) {
    CHECK_OK(config_load(&c, files[i], NULL, 0));
    round_trip(__LINE__, &c);
  }
  const char *odd[] = {"model.learning_rate=0.30000000000000004", "model.weight_decay=1e-300",
                       "experiment.name=\"say \\\"hi\\\": #1\"", "experiment.output=null.csv",
                       "experiment.checkpoint_dir='~'", "data.sharding=classes:7",
                       "experiment.version=3", "experiment.seed=12345678901234567",
                       "data.path=\"- x\\n\"", "model.slowmo.enabled=false", "optim.eps=1e-12"};
  CHECK_OK(config_load(&c, SEED("dynamic"), odd, 11));
  CHECK(!strcmp(c.exp_name, "say \"hi\": #1") && !strcmp(c.checkpoint_dir, "~"));
  CHECK(!strcmp(c.data_path, "- x\n"));
  round_trip(__LINE__, &c);
  int n = 0;
  CHECK_OK(config_load(&c, SEED("distributed"), NULL, 0));
  config_each(&c, count_key, &n);
  CHECK(n == cfg_nkeys - 1); /* every key but the ignored model.test */
}

/* experiment.name makes runs/NAME-vVERSION and experiment.output a table inside the run
 * directory: neither may point anywhere else, and the message says what is allowed. */
TEST(config_refuses_names_and_outputs_that_leave_the_run_directory) {
  const char *ok = "experiment: {name: x}\n";
  FAILS_WITH(ok, "experiment.name=../../x", "--set experiment.name=../../x: experiment.name",
             "'../../x': expected a name without '/', '..' or control characters", NULL);
  FAILS_WITH(ok, "experiment.name=a/b", "experiment.name", "'a/b'", NULL);
  FAILS_WITH("experiment: {name: \"a\\x1b[2Jb\"}\n", NULL, "bad.yaml:1: experiment.name",
             "'a?[2Jb'", NULL);
  FAILS_WITH(ok, "experiment.output=/root/.bashrc", "experiment.output", "'/root/.bashrc': "
             "expected a relative path ending in .csv, inside the run directory", NULL);
  FAILS_WITH(ok, "experiment.output=~/.bashrc", "'~/.bashrc': expected a relative path", NULL, NULL);
  FAILS_WITH(ok, "experiment.output=../up.csv", "'../up.csv'", "no '..'", NULL);
  FAILS_WITH(ok, "experiment.output=a/../../b.csv", "'a/../../b.csv'", NULL, NULL);
  FAILS_WITH(ok, "experiment.output=d/.csv", "'d/.csv'", NULL, NULL);
  const char *fine[] = {"experiment.name=$(touch pwned)", "experiment.output=t/a..b.csv"};
  dpt_config_t c;
  CHECK_OK(config_load_string(&c, ok, "ok.yaml", fine, 2));
  CHECK(!strcmp(c.exp_name, "$(touch pwned)") && !strcmp(c.output, "t/a..b.csv"));
}

/* The method name the aggregator's tables and the study tables group by, from configs
 * written as a user would (the legacy model.slowmo map among them). */
TEST(config_method_name_of_each_method) {
  static const struct { const char *yaml, *method; } cases[] = {
      {"model: {optimizer: AdamW}", "centralized"},
      {"model: {num_workers: 4}", "LocalSGD"},
      {"model: {num_workers: 4, slowmo: {momentum: 0.6}}", "SlowMo"},
      {"model: {num_workers: 4, outer: {type: slowmo}}", "SlowMo"},
      {"model: {num_workers: 4, outer: {type: nesterov}, work: {optimizer: AdamW}}", "DiLoCo"},
      {"model: {num_workers: 4, outer: {type: nesterov}}", "LocalSGD+Nesterov"},
      {"model: {num_workers: 4, outer: {type: nesterov}, work: {optimizer: LARS}}",
       "LocalSGD+Nesterov (LARS)"},
      {"model: {num_workers: 4, work: {optimizer: LAMB, local_from_epoch: 2}}",
       "post-local LocalSGD (LAMB)"},
      {"model: {num_workers: 2, slowmo: {}, work: {optimizer: AdamW}}", "SlowMo (AdamW)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dpt_config_t c;
    CHECK_OK(config_load_string(&c, cases[i].yaml, "m.yaml", NULL, 0));
    char name[64];
    config_method_name(&c, name, sizeof name);
    if (strcmp(name, cases[i].method))
      test_failed(__FILE__, __LINE__, "%s: '%s', expected '%s'", cases[i].yaml, name,
                  cases[i].method);
  }
}
