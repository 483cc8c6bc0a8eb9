/* test_sweep.c - sweep specs: expressions, index lists, times, expansion (product, zip,
 * exclude, seeds, duplicates, shapes, array splitting) and the refusals; the commands'
 * answers read whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/err.h"
#include "../../src/sweep/expr.h"
#include "../../src/sweep/proc.h"
#include "../../src/sweep/slurm.h"
#include "../../src/sweep/sweep.h"
#include "test.h"

static int vars(void *ctx, const char *name, double *v) {
  (void)ctx;
  if (!strcmp(name, "K")) { *v = 4; return 0; }
  if (!strcmp(name, "model.epochs")) { *v = 3; return 0; }
  return -1;
}

TEST(sweep_expr_arithmetic) {
  double v = 0;
  CHECK_OK(expr_eval("max(1, K / 2) + 1", vars, NULL, &v));
  CHECK(v == 3);
  CHECK_OK(expr_eval("ceil(model.epochs * 2.5)", vars, NULL, &v));
  CHECK(v == 8);
  CHECK_OK(expr_eval("-(2 - 5) * min(K, 2, 7)", vars, NULL, &v));
  CHECK(v == 6);
  CHECK_OK(expr_eval("10 - 4 - 3 + 24 / 4 / 2 * 3", vars, NULL, &v)); /* left to right */
  CHECK(v == 12);
  CHECK_FAILS(expr_eval("K / 0", vars, NULL, &v));
  CHECK(strstr(dpt_errmsg(), "division by zero"));
  CHECK_FAILS(expr_eval("Q + 1", vars, NULL, &v));
  CHECK(strstr(dpt_errmsg(), "unknown name 'Q'"));
  CHECK_FAILS(expr_eval("(1 + 2", vars, NULL, &v));
  CHECK_FAILS(expr_eval("1 2", vars, NULL, &v));
  dpt_clear_error();
}

TEST(sweep_index_lists) {
  int a[] = {0, 1, 2, 3, 5, 7, 8};
  char *s = sweep_index_list(a, 7, 4);
  CHECK(!strcmp(s, "0-3,5,7-8%4"));
  dpt_free(s);
  int b[] = {9};
  s = sweep_index_list(b, 1, 0);
  CHECK(!strcmp(s, "9"));
  dpt_free(s);
}

TEST(sweep_slurm_times) {
  int m = 0;
  CHECK_OK(sweep_parse_time("30", &m));
  CHECK(m == 30);
  CHECK_OK(sweep_parse_time("1:30:00", &m));
  CHECK(m == 90);
  CHECK_OK(sweep_parse_time("2:30", &m)); /* MM:SS, rounded up */
  CHECK(m == 3);
  CHECK_OK(sweep_parse_time("1-00", &m));
  CHECK(m == 1440);
  CHECK_OK(sweep_parse_time("1-2:30", &m));
  CHECK(m == 1590);
  CHECK_FAILS(sweep_parse_time("5*K", &m));
  CHECK_FAILS(sweep_parse_time("0", &m));
  CHECK_FAILS(sweep_parse_time("", &m));
}

static char spec_path[256];

/* Writes a spec with a small inline base and the given body; returns its path. */
static const char *spec_file(const char *body) {
  snprintf(spec_path, sizeof spec_path, "/tmp/dpt-test-sweep-%d.yaml", (int)getpid());
  FILE *f = fopen(spec_path, "w");
  fprintf(f, "name: t\nbase:\n  model: {name: LeNet5, epochs: 2}\n  data: {limit: 300}\n%s", body);
  fclose(f);
  return spec_path;
}

/* Loads and expands a spec written by spec_file, then removes the file. */
static int expand(const char *body, int max_array, sweep_spec_t *s, sweep_plan_t *p) {
  memset(p, 0, sizeof *p);
  int rc = sweep_spec_load(s, spec_file(body), NULL, 0) < 0 ? -1 : sweep_expand(s, max_array, p);
  unlink(spec_path);
  return rc;
}

TEST(sweep_product_zip_exclude_seeds) {
  sweep_spec_t s;
  sweep_plan_t p;
  CHECK_OK(expand("grid:\n  model.optimizer: [SGDM, AdamW]\n  model.num_workers: [0, 2, 4]\n"
                  "zip:\n  - model.batch_size: [64, 256]\n    model.learning_rate: [0.01, 0.04]\n"
                  "exclude:\n  - {model.optimizer: AdamW, model.num_workers: [2, 4]}\n"
                  "replicates: 2\n"
                  "resources: {ranks: 'max(1, K / 2)', time: '5 * E'}\n",
                  1001, &s, &p));
  CHECK(p.ncombos == 2 * 3 * 2 * 2);
  CHECK(p.nexcluded == 2 * 2 * 2);
  CHECK(p.ntasks == 16);
  CHECK(s.naxes == 5);
  /* First axis slowest, seeds fastest; zip axes move together. */
  char lab[512];
  sweep_task_label(&s, &p.tasks[0], lab, sizeof lab);
  CHECK(!strcmp(lab, "model.optimizer=SGDM, model.num_workers=0, model.batch_size=64, "
                     "model.learning_rate=0.01, experiment.seed=0"));
  sweep_task_label(&s, &p.tasks[3], lab, sizeof lab);
  CHECK(!strcmp(lab, "model.optimizer=SGDM, model.num_workers=0, model.batch_size=256, "
                     "model.learning_rate=0.04, experiment.seed=1"));
  CHECK(strstr(p.tasks[3].yaml, "seed: 1"));
  /* Shapes: K=0 and K=2 give 1 rank, K=4 gives 2; time 10 min. */
  CHECK(p.narrays == 2);
  CHECK(p.arrays[0].ranks == 1 && p.arrays[0].ntasks == 12 && p.arrays[0].time_min == 10);
  CHECK(p.arrays[1].ranks == 2 && p.arrays[1].ntasks == 4);
  /* Every task's hash is its config's, and all differ. */
  for (int i = 0; i < p.ntasks; i++) {
    char h[17];
    sweep_hash(p.tasks[i].yaml, h);
    CHECK(!strcmp(h, p.tasks[i].hash));
    for (int j = 0; j < i; j++) CHECK(strcmp(p.tasks[i].hash, p.tasks[j].hash));
  }
  sweep_plan_free(&p);
  sweep_spec_free(&s);
}

TEST(sweep_resources_read_typed_config_values) {
  /* A boolean counts as 1 or 0; a boolean left at auto (-1 inside) is no number. */
  sweep_spec_t s;
  sweep_plan_t p;
  CHECK_OK(expand("set: {optim.larc_clip: true}\ngrid: {model.optimizer: [SGDM]}\n"
                  "resources: {ranks: '1 + optim.larc_clip', time: 'E * 3'}\n", 1001, &s, &p));
  CHECK(p.ntasks == 1 && p.tasks[0].ranks == 2 && p.tasks[0].time_min == 6);
  sweep_plan_free(&p);
  sweep_spec_free(&s);
  CHECK_FAILS(expand("grid: {model.optimizer: [SGDM]}\nresources: {ranks: '1 + data.flip'}\n",
                     1001, &s, &p));
  CHECK(strstr(dpt_errmsg(), "unknown name 'data.flip'"));
  sweep_spec_free(&s);
  dpt_clear_error();
}

TEST(sweep_duplicates_and_array_split) {
  sweep_spec_t s;
  sweep_plan_t p;
  /* 1e-2 and 0.01 are one config: kept once. */
  CHECK_OK(expand("grid:\n  model.learning_rate: [0.01, 1e-2, 0.02]\n  experiment.seed: [0, 1, 2, 3, 4]\n",
                  4, &s, &p));
  CHECK(p.ntasks == 10);
  CHECK(p.nduplicates == 5);
  CHECK(p.narrays == 3); /* 10 tasks of one shape, at most 4 per array */
  CHECK(p.arrays[0].ntasks == 4 && p.arrays[2].ntasks == 2);
  CHECK(p.tasks[9].array == 2 && p.tasks[9].index == 1);
  sweep_plan_free(&p);
  sweep_spec_free(&s);
}

TEST(sweep_map_values) {
  sweep_spec_t s;
  sweep_plan_t p;
  CHECK_OK(expand("set: {model.num_workers: 2}\n"
                  "grid:\n  model.work.dynamic:\n    - {strategy: ''}\n"
                  "    - {strategy: LossLS, n_losses: 4}\n",
                  1001, &s, &p));
  CHECK(p.ntasks == 2);
  CHECK(!strcmp(s.axes[0].values[1].text, "{strategy: LossLS, n_losses: 4}"));
  CHECK(strstr(p.tasks[1].yaml, "LossLS"));
  sweep_plan_free(&p);
  sweep_spec_free(&s);
}

TEST(sweep_refusals_name_the_problem) {
  struct { const char *body, *msg; } bad[] = {
      {"grid: {model.optimiser: [SGDM]}\n", "axis 'model.optimiser': unknown config key"},
      {"grid: {model.optimizer: []}\n", "has no values"},
      {"grid: {model.batch_size: [64, 0]}\n", "task 1 (model.batch_size=0) would fail validation"},
      {"grid: {model.optimizer: [SGDM]}\nexclude: [{model.optimizer: sgdm}]\n", "no tasks"},
      {"zip: [{model.batch_size: [1, 2], model.learning_rate: [1]}]\n", "zip group 1"},
      {"exclude: [{model.epochs: 3}]\ngrid: {model.optimizer: [SGDM]}\n", "not an axis"},
      {"grid: {model.optimizer: [SGDM]}\nresources: {ranks: 'K - 1'}\n", "at least 1 rank"},
      {"grid: {model.optimizer: [SGDM]}\nresources: {rank: 2}\n", "unknown key 'rank'"},
      {"grid: {model.optimizer: [SGDM]}\nseeds: [0]\nreplicates: 2\n", "not both"},
      {"grids: {}\n", "unknown key 'grids'"},
      /* hostile input: a cyclic alias, a newline bound for a job script, a huge count */
      {"set: &a {model: *a}\n", "set.model: YAML aliases (*a) are not allowed"},
      {"grid: {model.optimizer: [SGDM]}\nresources: {partition: \"a\\nb\"}\n",
       "resources.partition: a control character"},
      {"replicates: 1000000000\n", "expected at most 1000 seeds"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    sweep_spec_t s;
    sweep_plan_t p;
    int rc = expand(bad[i].body, 1001, &s, &p);
    CHECK(rc < 0);
    if (rc < 0 && !strstr(dpt_errmsg(), bad[i].msg))
      test_failed(__FILE__, __LINE__, "case %zu: '%s' lacks '%s'", i, dpt_errmsg(), bad[i].msg);
    if (rc == 0) sweep_plan_free(&p);
    sweep_spec_free(&s);
    dpt_clear_error();
  }
}

TEST(sweep_task_states) {
  sweep_task_files_t f;
  memset(&f, 0, sizeof f);
  f.last_exit = -1;
  CHECK(sweep_task_state(&f, SWEEP_Q_NONE, 0) == TASK_NEVER);
  CHECK(sweep_task_state(&f, sweep_queue_parse("PENDING"), 1) == TASK_PENDING);
  CHECK(sweep_task_state(&f, SWEEP_Q_NONE, 1) == TASK_NEVER); /* submitted, gone, never started */
  f.has_log = 1;
  CHECK(sweep_task_state(&f, SWEEP_Q_NONE, 1) == TASK_FAILED); /* started, wrote only its log */
  f.has_log = 0;
  f.has_run_file = 1;
  f.run = RUN_STATUS_RUNNING;
  CHECK(sweep_task_state(&f, sweep_queue_parse("RUNNING"), 1) == TASK_RUNNING);
  CHECK(sweep_task_state(&f, SWEEP_Q_NONE, 1) == TASK_FAILED); /* killed mid-run */
  f.last_exit = 3;
  CHECK(sweep_task_state(&f, sweep_queue_parse("COMPLETED"), 1) == TASK_INTERRUPTED);
  f.run = RUN_STATUS_COMPLETE;
  CHECK(sweep_task_state(&f, sweep_queue_parse("RUNNING"), 1) == TASK_DONE);
}

TEST(sweep_expr_depth_is_bounded) {
  /* 200k parentheses overflowed the stack; 64 levels are the limit. */
  size_t n = 200000;
  char *deep = malloc(2 * n + 2);
  memset(deep, '(', n);
  deep[n] = '1';
  memset(deep + n + 1, ')', n);
  deep[2 * n + 1] = 0;
  double v = 0;
  CHECK_FAILS(expr_eval(deep, vars, NULL, &v));
  CHECK(strstr(dpt_errmsg(), "nested more than 64 deep"));
  dpt_clear_error();
  free(deep);
  CHECK_OK(expr_eval("((((((((((((((((((((1))))))))))))))))))))", vars, NULL, &v));
  CHECK(v == 1);
}

TEST(sweep_command_output_is_read_whole) {
  /* squeue's answer went into a fixed 4 MiB buffer and the rest was dropped: 6.9 MB of
   * lines now arrive whole, and an answer over the limit is an error, never shortened. */
  char *out = NULL;
  char *argv[] = {"seq", "1", "1000000", NULL};
  CHECK(sweep_run_cmd(argv, &out, 0, NULL) == 0);
  CHECK(out && strlen(out) == 6888896);
  CHECK(out && !strcmp(out + strlen(out) - 8, "1000000\n"));
  dpt_free(out);
  CHECK(sweep_run_cmd(argv, &out, 1 << 20, NULL) < 0);
  CHECK(strstr(dpt_errmsg(), "refusing a truncated answer"));
  CHECK(out == NULL);
  dpt_clear_error();
  char *missing[] = {"dpt-no-such-command", NULL};
  CHECK(sweep_run_cmd(missing, &out, 0, NULL) < 0);
  CHECK(strstr(dpt_errmsg(), "cannot run dpt-no-such-command"));
  dpt_clear_error();
}
