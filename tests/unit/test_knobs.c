/* test_knobs.c - the knob tables (optimizers, outer steps, dynamic-H strategies, sharding
 * schemes, compressors): the config reads each row's spelling, a row's declared state
 * is what gets allocated, and the compressor table's identity row changes nothing. */
#include <stdio.h>
#include <string.h>

#include "../../src/config/config.h"
#include "../../src/config/config_keys.h"
#include "../../src/core/err.h"
#include "../../src/data/shard.h"
#include "../../src/comm/compress.h"
#include "test.h"

/* The config of K workers with one key set to text loads; the key's field then prints
 * as text. */
static int key_takes_k(const char *key, const char *text, const char *K) {
  dpt_config_t c;
  char set[256], back[256];
  snprintf(set, sizeof set, "%s=%s", key, text);
  const char *sets[] = {set, K, "model.work.dynamic.n_losses=4"};
  if (config_load_string(&c, "experiment: {name: k}\n", "knobs", sets, 3) < 0) return 0;
  cfg_key_text(&c, cfg_key_find(key), back, sizeof back);
  return !strcmp(back, text);
}

static int key_takes(const char *key, const char *text) {
  return key_takes_k(key, text, "model.num_workers=2");
}

TEST(knobs_config_reads_every_row_spelling) {
  for (int i = 0; i < opt_ndefs; i++) {
    CHECK(key_takes("model.work.optimizer", opt_defs[i].name));
    CHECK(key_takes_k("model.optimizer", opt_defs[i].name, "model.num_workers=0"));
  }
  for (int i = 0; i < outer_ndefs; i++) CHECK(key_takes("model.outer.type", outer_defs[i].name));
  for (int i = 1; i < dynh_ndefs; i++)
    CHECK(key_takes("model.work.dynamic.strategy", dynh_defs[i].name));
  CHECK(!key_takes("model.work.optimizer", "Adam"));
  /* the "expected one of" list is the rows' */
  char buf[512];
  cfg_key_expected(cfg_key_find("model.outer.type"), buf, sizeof buf);
  CHECK(!strcmp(buf, "one of: none, slowmo, nesterov"));
}

TEST(knobs_sharding_rows_parse_and_print) {
  const char *texts[] = {"iid", "random", "classes:3", "dirichlet:0.5"};
  CHECK(shard_ndefs == 4);
  for (int i = 0; i < 4; i++) CHECK(key_takes("data.sharding", texts[i]));
  CHECK(!key_takes("data.sharding", "classes:0") && !key_takes("data.sharding", "dirichlet"));
}

TEST(knobs_optimizer_state_is_the_rows) {
  for (int k = 0; k < opt_ndefs; k++) {
    opt_state_t st;
    opt_state_init(&st, 3, (opt_kind_t)k);
    for (int i = 0; i < OPT_MAX_STATE; i++) CHECK((st.buf[i] != NULL) == (i < opt_defs[k].nstate));
    CHECK(opt_defs[k].state[0].global_name && opt_defs[k].state[0].worker_name);
    st.buf[0][1] = 5;
    st.t = 4;
    opt_state_zero(&st);
    CHECK(st.buf[0][1] == 0 && st.t == 0);
    opt_state_free(&st);
  }
  CHECK(opt_defs[OPT_ADAMW].nstate == 2 &&
        !strcmp(opt_defs[OPT_ADAMW].state[1].worker_name, "workers/second_moment"));
}

TEST(knobs_dynamic_h_rows) {
  for (int i = 0; i < dynh_ndefs; i++) {
    const dynh_def_t *d = &dynh_defs[i];
    /* fixed H has neither rule, every strategy exactly one */
    CHECK(i == DYNH_FIXED ? !d->schedule && !d->feedback : !d->schedule != !d->feedback);
    CHECK(d->needs_deviation == (i == DYNH_DEVIATION));
  }
}

TEST(knobs_compressor_identity_row) {
  const comm_compressor_t *c = comm_compressor_find("none");
  CHECK(c && c == &comm_compressors[COMP_NONE] && c->nstate == 0 && !comm_compressor_find("top"));
  nn_tensor_t t = {.offset = 0, .size = 3, .fan_in = 3, .is_bias = 0, .name = "w"};
  comm_compress_opts_t o;
  comm_compress_defaults(&o);
  comm_ctx_t ctx;
  comm_peer_t peer;
  CHECK_OK(comm_ctx_init(&ctx, &o, &t, 1, 3));
  comm_peer_init(&peer, &ctx);
  float x[3] = {1.5f, -2.0f, 0.25f}, out[3];
  const float *xs[1] = {x};
  CHECK_OK(comm_compress_mean(&ctx, &peer, 1, xs, out));
  CHECK(out[0] == 1.5f && out[1] == -2.0f && out[2] == 0.25f);
  comm_wire_t w;
  comm_round_begin(&ctx);
  comm_wire(&ctx, 0, &w);
  CHECK(w.nparts == 1 && w.bytes == 12 && w.part[0].coll == COMM_ALLREDUCE);
  comm_peer_free(&peer);
  comm_ctx_free(&ctx);
}
