/* test_network.c - the network model's arithmetic against hand-computed cases (ring,
 * recursive doubling, Rabenseifner, allgather, nodes of several participants), the
 * replay of a ledger (measured speeds, overlap), the time-to-target interpolation, and
 * network files' errors. 1gbe: alpha = 30 us, 1 Gbit/s = 1.25e8 bytes/s. */
#include <stdint.h>
#include <string.h>

#include "../../src/agg/network.h"
#include "../../src/agg/table.h"
#include "../../src/core/err.h"
#include "test.h"

static net_model_t gbe(net_algo_t a) {
  net_model_t m;
  CHECK_OK(net_model_resolve(&m, "1gbe"));
  m.algo = a;
  return m;
}

TEST(network_ring_allreduce) {
  /* 1e6 floats = 4e6 bytes on 4: 2(N-1) = 6 steps of alpha + (4e6/4) / 1.25e8 */
  net_model_t m = gbe(NET_RING);
  net_cost_t k = net_collective(&m, LEDGER_ALLREDUCE, 4, 4e6);
  CHECK_NEAR(k.seconds, 6 * (30e-6 + 1e6 / 1.25e8), 1e-12);
  CHECK_NEAR(k.sent, 6e6, 1e-12);
  CHECK_NEAR(k.bound, 2.0 * 3 / 4 * 4e6, 1e-12);
  k = net_collective(&m, LEDGER_ALLREDUCE, 1, 4e6); /* alone: nothing to send */
  CHECK(k.seconds == 0 && k.sent == 0 && k.bound == 0);
}

TEST(network_recursive_doubling) {
  net_model_t m = gbe(NET_RECURSIVE_DOUBLING);
  /* log2 4 = 2 steps of alpha + 4e6 beta */
  net_cost_t k = net_collective(&m, LEDGER_ALLREDUCE, 4, 4e6);
  CHECK_NEAR(k.seconds, 2 * (30e-6 + 4e6 / 1.25e8), 1e-12);
  CHECK_NEAR(k.sent, 8e6, 1e-12);
  /* 5 = 4 + 1: one participant folds in before and gets the result after: 4 steps */
  k = net_collective(&m, LEDGER_ALLREDUCE, 5, 4e6);
  CHECK_NEAR(k.seconds, 4 * (30e-6 + 4e6 / 1.25e8), 1e-12);
  CHECK_NEAR(k.bound, 2.0 * 4 / 5 * 4e6, 1e-12);
}

TEST(network_rabenseifner) {
  /* 4: halving sends 1/2 then 1/4, doubling 1/4 then 1/2: 4 alpha + 1.5 x 4e6 beta */
  net_model_t m = gbe(NET_RABENSEIFNER);
  net_cost_t k = net_collective(&m, LEDGER_ALLREDUCE, 4, 4e6);
  CHECK_NEAR(k.seconds, 4 * 30e-6 + 6e6 / 1.25e8, 1e-12);
  CHECK_NEAR(k.sent, 6e6, 1e-12);
  /* auto picks the cheapest: Rabenseifner for a large payload, recursive doubling for
   * a small one (2 alpha against 4) */
  m.algo = NET_AUTO;
  CHECK(net_collective(&m, LEDGER_ALLREDUCE, 4, 4e6).algo == NET_RABENSEIFNER);
  CHECK(net_collective(&m, LEDGER_ALLREDUCE, 4, 8).algo == NET_RECURSIVE_DOUBLING);
}

TEST(network_allgather_and_broadcast) {
  /* ring allgather of 1000 bytes each on 4: 3 steps of alpha + 1000 beta */
  net_model_t m = gbe(NET_RING);
  net_cost_t k = net_collective(&m, LEDGER_ALLGATHER, 4, 1000);
  CHECK_NEAR(k.seconds, 3 * (30e-6 + 1000 / 1.25e8), 1e-12);
  CHECK_NEAR(k.bound, 3000, 1e-12);
  CHECK_NEAR(k.sent, 3000, 1e-12);
  /* Bruck on 5: steps of 1, 2 and 1 blocks: 3 alpha + 4000 beta */
  m.algo = NET_RECURSIVE_DOUBLING;
  k = net_collective(&m, LEDGER_ALLGATHER, 5, 1000);
  CHECK_NEAR(k.seconds, 3 * 30e-6 + 4000 / 1.25e8, 1e-12);
  /* binomial broadcast on 5: 3 steps of alpha + 1000 beta; bound 4/5 x 1000 */
  k = net_collective(&m, LEDGER_BROADCAST, 5, 1000);
  CHECK_NEAR(k.seconds, 3 * (30e-6 + 1000 / 1.25e8), 1e-12);
  CHECK_NEAR(k.bound, 800, 1e-12);
  /* a hostile participant count: a finite answer in 63 steps, no overflow */
  k = net_collective(&m, LEDGER_ALLGATHER, INT64_MAX, 1);
  CHECK(isfinite(k.seconds) && k.seconds > 62 * 30e-6);
}

TEST(network_nodes_share_links) {
  /* 2 per node, recursive doubling on 4: the step to the neighbour stays in the node
   * (1 us, 100 Gbit/s), the step 2 away crosses with both of the node's participants
   * on its link */
  net_model_t m = gbe(NET_RECURSIVE_DOUBLING);
  m.per_node = 2;
  net_cost_t k = net_collective(&m, LEDGER_ALLREDUCE, 4, 4e6);
  CHECK_NEAR(k.seconds, (1e-6 + 4e6 / 12.5e9) + (30e-6 + 2 * 4e6 / 1.25e8), 1e-12);
  /* hierarchical, 2 per node: a step inside the node, a ring of the 2 nodes' sums
   * (2 steps of alpha + 2e6 beta), a step back; with 1 per node it is the ring */
  m.algo = NET_HIERARCHICAL;
  k = net_collective(&m, LEDGER_ALLREDUCE, 4, 4e6);
  CHECK_NEAR(k.seconds, 2 * (1e-6 + 4e6 / 12.5e9) + 2 * (30e-6 + 2e6 / 1.25e8), 1e-12);
  CHECK_NEAR(k.sent, 2 * 4e6 + 4e6, 1e-12);
  m.per_node = 1;
  CHECK_NEAR(net_collective(&m, LEDGER_ALLREDUCE, 4, 4e6).seconds, 6 * (30e-6 + 1e6 / 1.25e8),
             1e-12);
  /* all on one node: the ring runs at the node's speed */
  m.algo = NET_RING;
  m.per_node = 4;
  k = net_collective(&m, LEDGER_ALLREDUCE, 4, 4e6);
  CHECK_NEAR(k.seconds, 6 * (1e-6 + 1e6 / 12.5e9), 1e-12);
}

/* n rounds of `kind` per epoch over `epochs` epochs, each of 1e6 floats among
 * participants, 256 images since the previous one, compute_s seconds measured. */
static void fill(ledger_t *l, ledger_kind_t kind, int64_t participants, int epochs, int n,
                 double compute_s) {
  memset(l, 0, sizeof *l);
  for (int e = 1; e <= epochs; e++)
    for (int i = 0; i < n; i++) {
      ledger_round_t r = {.step = (e - 1) * n + i + 1, .epoch = e, .kind = kind,
                          .collective = LEDGER_ALLREDUCE, .participants = participants,
                          .floats = 1000000, .bytes = 4000000, .images = 256};
      ledger_push(l, &r, &(ledger_timing_t){compute_s, 0, 0});
    }
}

TEST(network_replay_speeds) {
  net_model_t m = gbe(NET_RING);
  double comm = 6 * (30e-6 + 1e6 / 1.25e8);
  ledger_t l;
  net_replay_t rp;
  /* --compute 1000 images/s: 64 images per replica of 4 = 0.064 s per round */
  fill(&l, LEDGER_GRADIENT, 0, 1, 3, 0);
  CHECK_OK(net_replay(&m, &l, &(net_speed_t){.compute = 1000, .ranks = 1}, &rp));
  CHECK_NEAR(rp.time[2], 3 * (0.064 + comm), 1e-12);
  CHECK_NEAR(rp.comm_time, 3 * comm, 1e-12);
  CHECK_NEAR(rp.sent[2], 3 * 6e6, 1e-12);
  net_replay_free(&rp);
  /* /metrics images_per_s 2000 on 2 ranks: 1000 per participant */
  double ips[] = {2000};
  CHECK_OK(net_replay(&m, &l, &(net_speed_t){.ranks = 2, .images_per_s = ips, .nepochs = 1},
                      &rp));
  CHECK_NEAR(rp.time[0], 0.064 + comm, 1e-12);
  net_replay_free(&rp);
  /* a device of 1 GFLOP/s and a model of 1 MFLOP per image: 1000 images/s */
  m.device_flops = 1e9;
  CHECK_OK(net_replay(&m, &l, &(net_speed_t){.flops_per_image = 1e6, .ranks = 2}, &rp));
  CHECK_NEAR(rp.time[0], 0.064 + comm, 1e-12);
  net_replay_free(&rp);
  CHECK_FAILS(net_replay(&m, &l, &(net_speed_t){.ranks = 2}, &rp));
  CHECK(strstr(dpt_errmsg(), "device_gflops needs the model's FLOPs per image") != NULL);
  m.device_flops = 0;
  ledger_free(&l);
  /* measured: 0.5 s per round on 2 ranks, K = 4 workers: 0.5 x 2 / 4 per worker */
  fill(&l, LEDGER_AVERAGE, 4, 1, 2, 0.5);
  CHECK_OK(net_replay(&m, &l, &(net_speed_t){.ranks = 2}, &rp));
  CHECK_NEAR(rp.time[1], 2 * (0.25 + comm), 1e-12);
  net_replay_free(&rp);
  /* no speed at all: a clear failure */
  fill(&l, LEDGER_AVERAGE, 4, 1, 2, 0);
  CHECK_FAILS(net_replay(&m, &l, &(net_speed_t){.ranks = 2}, &rp));
  CHECK(strstr(dpt_errmsg(), "--compute") != NULL);
  ledger_free(&l);
}

TEST(network_overlap_backward) {
  /* gradient rounds hide up to 2/3 of their 0.064 s compute; averagings hide nothing */
  net_model_t m = gbe(NET_RING);
  m.overlap = NET_OVERLAP_BACKWARD;
  double comm = 6 * (30e-6 + 1e6 / 1.25e8);
  ledger_t l;
  net_replay_t rp;
  fill(&l, LEDGER_GRADIENT, 0, 1, 1, 0);
  CHECK_OK(net_replay(&m, &l, &(net_speed_t){.compute = 1000, .ranks = 1}, &rp));
  CHECK_NEAR(rp.time[0], 0.064 + comm - 0.064 * 2 / 3, 1e-12);
  CHECK_NEAR(rp.comm_time, comm - 0.064 * 2 / 3, 1e-12);
  net_replay_free(&rp);
  ledger_free(&l);
  fill(&l, LEDGER_AVERAGE, 4, 1, 1, 0);
  CHECK_OK(net_replay(&m, &l, &(net_speed_t){.compute = 1000, .ranks = 1}, &rp));
  CHECK_NEAR(rp.time[0], 0.064 + comm, 1e-12);
  net_replay_free(&rp);
  ledger_free(&l);
}

/* Streaming DiLoCo's delay: a round in flight while `overlap` images train is charged
 * max(0, comm - their compute); the rows of one round (its parts, one step) share it. */
TEST(network_overlap_delay) {
  net_model_t m = gbe(NET_RING);
  double comm = 6 * (30e-6 + 1e6 / 1.25e8); /* 0.04818 s: 1e6 floats on 4 by ring */
  ledger_t l;
  net_replay_t rp;
  fill(&l, LEDGER_OUTER, 4, 1, 4, 0);
  l.overlap[0] = 128;     /* 32 images a worker at 1000/s: 0.032 s hidden */
  l.overlap[1] = 1000000; /* far more compute than communication: all hidden */
  l.step[3] = l.step[2];  /* rows 2 and 3: two parts of one round sharing 0.016 s */
  l.overlap[2] = l.overlap[3] = 64;
  CHECK_OK(net_replay(&m, &l, &(net_speed_t){.compute = 1000, .ranks = 1}, &rp));
  CHECK_NEAR(rp.time[0], 0.064 + comm - 0.032, 1e-12);
  CHECK_NEAR(rp.time[1] - rp.time[0], 0.064, 1e-12);
  CHECK_NEAR(rp.time[2] - rp.time[1], 0.064 + comm - 0.016, 1e-12);
  CHECK_NEAR(rp.time[3] - rp.time[2], 0.064 + comm, 1e-12);
  CHECK_NEAR(rp.comm_time, (comm - 0.032) + (comm - 0.016) + comm, 1e-12);
  net_replay_free(&rp);
  ledger_free(&l);
  /* measured: 0.5 s for a round's 256 images on 2 ranks, K = 4: 0.25 s a worker, so the
   * 128 overlapped images are 0.125 s, more than the round's communication */
  fill(&l, LEDGER_OUTER, 4, 1, 2, 0.5);
  l.overlap[0] = 128;
  CHECK_OK(net_replay(&m, &l, &(net_speed_t){.ranks = 2}, &rp));
  CHECK_NEAR(rp.time[0], 0.25, 1e-12);
  CHECK_NEAR(rp.time[1], 0.5 + comm, 1e-12);
  net_replay_free(&rp);
  ledger_free(&l);
}

TEST(network_time_to_target) {
  /* 3 epochs of 4 rounds (rows 0-3, 4-7, 8-11), accuracy 0.5, 0.7, 0.9 at their ends */
  ledger_t l;
  net_model_t m = gbe(NET_RING);
  net_replay_t rp;
  fill(&l, LEDGER_AVERAGE, 4, 3, 4, 0);
  CHECK_OK(net_replay(&m, &l, &(net_speed_t){.compute = 1000, .ranks = 1}, &rp));
  double ep[] = {1, 2, 3}, acc[] = {0.5, 0.7, 0.9};
  /* 0.84 between 0.7 (row 7) and 0.9 (row 11): rows 8, 9, 10 have 0.75, 0.80, 0.85 */
  CHECK(net_round_reaching(&rp, ep, acc, 3, 0.84) == 10);
  CHECK(net_round_reaching(&rp, ep, acc, 3, 0.9) == 11);
  CHECK(net_round_reaching(&rp, ep, acc, 3, 0.5) == 3); /* the first epoch: its end */
  CHECK(net_round_reaching(&rp, ep, acc, 3, 0.95) == -1);
  double nan_acc[] = {0.5, NAN, 0.9}; /* an epoch without accuracy is passed over */
  CHECK(net_round_reaching(&rp, ep, nan_acc, 3, 0.62) == 6); /* rows 5, 6: 0.60, 0.65 */
  CHECK(net_epoch_last_round(&rp, 2) == 7 && net_epoch_last_round(&rp, 4) == -1);
  net_replay_free(&rp);
  /* an epoch no run can have: not priced */
  l.epoch[0] = 0;
  CHECK_FAILS(net_replay(&m, &l, &(net_speed_t){.compute = 1000, .ranks = 1}, &rp));
  CHECK(strstr(dpt_errmsg(), "round 0: epoch 0, expected 1 .. 100000") != NULL);
  ledger_free(&l);
}

TEST(network_files) {
  net_model_t m;
  const char *ok = "name: lab\nlatency_us: 5\nbandwidth_gbps: 40\nper_node: 2\n"
                   "algorithm: rabenseifner\nreplicas: 8\noverlap: backward\n"
                   "device_gflops: 500\n";
  CHECK_OK(net_model_parse(&m, ok, strlen(ok), "lab.yaml"));
  CHECK(!strcmp(m.name, "lab") && m.per_node == 2 && m.replicas == 8);
  CHECK_NEAR(m.latency_s, 5e-6, 1e-12);
  CHECK_NEAR(m.bandwidth_Bps, 5e9, 1e-12);
  CHECK(m.algo == NET_RABENSEIFNER && m.overlap == NET_OVERLAP_BACKWARD);
  CHECK_NEAR(m.device_flops, 5e11, 1e-12);
  static const struct { const char *yaml, *msg; } bad[] = {
      {"latency_us: 5\nbandwidth_gbps: fast\n",
       "net.yaml:2: bandwidth_gbps: expected a number > 0, got 'fast'"},
      {"latency_us: -1\nbandwidth_gbps: 1\n", "net.yaml:1: latency_us: expected a number > 0"},
      {"latency_us: 5\nbandwidth_gbps: 1\nper_node: 1.5\n",
       "net.yaml:3: per_node: expected an integer >= 1, got '1.5'"},
      {"latency_us: 5\nbandwidth_gbps: 1\nalgorithm: tree\n",
       "net.yaml:3: algorithm: expected ring, recursive_doubling, rabenseifner, hierarchical or "
       "auto, got 'tree'"},
      {"latency_us: 5\nbandwith_gbps: 1\n", "net.yaml:2: unknown key 'bandwith_gbps'"},
      {"latency_us: 5\n", "net.yaml: bandwidth_gbps: missing; expected a number > 0"},
      {"[1, 2]\n", "net.yaml:1: expected a map of keys"},
      {"name: \"a\\nb\"\nlatency_us: 5\nbandwidth_gbps: 1\n",
       "net.yaml:1: name: expected a name of 1 to 127 printable characters"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_FAILS(net_model_parse(&m, bad[i].yaml, strlen(bad[i].yaml), "net.yaml"));
    if (!strstr(dpt_errmsg(), bad[i].msg))
      test_failed(__FILE__, __LINE__, "case %zu: '%s' lacks '%s'", i, dpt_errmsg(), bad[i].msg);
  }
  CHECK_FAILS(net_model_resolve(&m, "2gbe"));
  CHECK(strstr(dpt_errmsg(), "neither a preset (1gbe") != NULL);
}

TEST(network_fields_of_a_priced_run) {
  /* the table's values of a run priced under 1gbe at --compute 1000: 3 epochs of 4
   * averagings among 4 workers, accuracy 0.5, 0.7, 0.9 */
  net_model_t m = gbe(NET_RING);
  agg_run_t r;
  memset(&r, 0, sizeof r);
  fill(&r.file.rounds, LEDGER_AVERAGE, 4, 3, 4, 0);
  r.file.has = RUNFILE_HAS_ROUNDS;
  double ep[] = {1, 2, 3}, acc[] = {0.5, 0.7, 0.9};
  r.n = 3;
  r.metric[RUN_M_EPOCH] = ep;
  r.metric[RUN_M_VAL_ACC] = acc;
  net_replay_t rp;
  CHECK_OK(net_replay(&m, &r.file.rounds, &(net_speed_t){.compute = 1000, .ranks = 1}, &rp));
  r.net = &m;
  r.replay = &rp;
  double round = 0.064 + 6 * (30e-6 + 1e6 / 1.25e8);
  CHECK_NEAR(agg_field_value(&r, agg_field_find("sim_time"), 0), 12 * round, 1e-12);
  CHECK_NEAR(agg_field_value(&r, agg_field_find("time_to_target"), 0.84), 11 * round, 1e-12);
  CHECK_NEAR(agg_field_value(&r, agg_field_find("bytes_to_target"), 0.84), 11 * 6e6, 1e-12);
  CHECK_NEAR(agg_field_value(&r, agg_field_find("comm_efficiency"), 0), 1, 1e-12);
  CHECK(isnan(agg_field_value(&r, agg_field_find("time_to_target"), 0.95)));
  CHECK(!strcmp(agg_key_text(&r, "network"), "1gbe"));
  /* recursive doubling sends log2(4) x 4e6 against the bound 6e6 */
  m.algo = NET_RECURSIVE_DOUBLING;
  net_replay_free(&rp);
  CHECK_OK(net_replay(&m, &r.file.rounds, &(net_speed_t){.compute = 1000, .ranks = 1}, &rp));
  CHECK_NEAR(agg_field_value(&r, agg_field_find("comm_efficiency"), 0), 0.75, 1e-12);
  net_replay_free(&rp);
  /* not priced (no /rounds): no values */
  r.replay = NULL;
  CHECK(isnan(agg_field_value(&r, agg_field_find("sim_time"), 0)));
  ledger_free(&r.file.rounds);
}
