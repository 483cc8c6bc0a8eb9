/* test_agg_ratio.c - the fields relative to the baseline row: payload_ratio (the
 * compression a run achieved: the baseline's payload over its own, paired by seed) and
 * vs_dense_bytes (its bytes sent under a network over the baseline's), on run files with
 * hand-made ledgers. Expected numbers are worked by hand in the comments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/fixture.h"
#include "../../src/agg/table.h"
#include "../../src/comm/ledger.h"
#include "../../src/core/err.h"
#include "aggruns.h"
#include "test.h"

/* A synchronous run DIR/COMPRESS-SEED of 2 epochs of 10 steps with a reduction every
 * step (20 ledger rows) of `floats` floats (4 bytes each) by the collective. */
static void sync_run(const char *dir, const char *compress, int seed, int64_t floats,
                     ledger_collective_t collective) {
  char path[512], s_c[64], s_seed[64];
  snprintf(path, sizeof path, "%s/%s-%d/run.h5", dir, compress, seed);
  snprintf(s_c, sizeof s_c, "comm.compress=%s", compress);
  snprintf(s_seed, sizeof s_seed, "experiment.seed=%d", seed);
  const char *sets[] = {"model.num_workers=0", s_c, s_seed};
  agg_fixture_t fx = {.sets = sets, .nsets = 3, .epochs = 2, .has_test = 1,
                      .test_acc_last = 0.9, .test_acc_best = 0.9, .wall_time = 10,
                      .images_per_s = 1000,
                      .rounds = {1, 10, -1, floats, 0, (int)collective}};
  CHECK_OK(agg_fixture_write(path, &fx));
}

/* Payload per run = 20 rows x 4 x floats:
 *   none  seed 0: 1000 floats, 80000 B;   seed 1: 2000 floats, 160000 B
 *   int8  seed 0:  250 floats, 20000 B (4x); seed 1: 400, 32000 B (5x); seed 2: 300
 *         floats, no baseline run of seed 2 to pair with
 *   topk  seeds 0, 1: 200 floats by allgather, 16000 B (5x, 10x)
 * int8's compression: mean of 4 and 5 = 4.5, sd |5 - 4| / sqrt(2) = 0.7071 over the 2
 * paired seeds (not the ratio of the means, 120000 / 25333 = 4.74); its payload: mean
 * 25333 B, sd 6110 B over its 3 runs. Full digits: Python's statistics.mean and stdev. */
static char *compressed_runs(void) {
  char *d = test_tmpdir("ratio");
  sync_run(d, "none", 0, 1000, LEDGER_ALLREDUCE);
  sync_run(d, "none", 1, 2000, LEDGER_ALLREDUCE);
  sync_run(d, "int8", 0, 250, LEDGER_ALLREDUCE);
  sync_run(d, "int8", 1, 400, LEDGER_ALLREDUCE);
  sync_run(d, "int8", 2, 300, LEDGER_ALLREDUCE);
  sync_run(d, "topk:0.01", 0, 200, LEDGER_ALLGATHER);
  sync_run(d, "topk:0.01", 1, 200, LEDGER_ALLGATHER);
  return d;
}

TEST(agg_payload_ratio_is_the_baselines_payload_over_the_runs_by_seed) {
  char *d = compressed_runs();
  const char *opts[] = {"values", "payload_bytes,payload_ratio", "baseline",
                        "comm.compress=none", "value", "payload_bytes"};
  int rc;
  char *md = agg_report_text(d, opts, 6, &rc);
  CHECK(rc == 0 && md);
  CHECK(md && strstr(md, "| comm.compress | n | payload per worker | Δ payload per worker | "
                         "compression (x) |"));
  CHECK(md && strstr(md, "| int8 | 3 | 25.3 kB ± 6.11 kB |"));
  CHECK(md && strstr(md, "| 4.50 ± 0.71 (n=2) |"));
  CHECK(md && strstr(md, "| none | 2 | 120 kB ± 56.6 kB | baseline | 1.00 ± 0.00 |"));
  CHECK(md && strstr(md, "| 7.50 ± 3.54 |"));
  free(md);
  /* CSV: every number in full */
  const char *csv_opts[] = {"values", "payload_ratio", "baseline", "comm.compress=none",
                            "format", "csv"};
  char *csv = agg_report_text(d, csv_opts, 6, &rc);
  CHECK(csv && !strncmp(csv, "comm.compress,n,payload_ratio_mean,payload_ratio_std,"
                             "payload_ratio_n,", 52));
  CHECK(csv && strstr(csv, "\nint8,3,4.5,0.7071067811865476,2,"));
  CHECK(csv && strstr(csv, "\nnone,2,1,0,2,"));
  CHECK(csv && strstr(csv, "\n\"topk:0.01\",2,7.5,3.5355339059327378,2,"));
  free(csv);
  /* without a baseline: no value (a run alone has none) */
  const char *bare[] = {"values", "payload_ratio", "format", "csv"};
  csv = agg_report_text(d, bare, 4, &rc);
  CHECK(csv && strstr(csv, "\nint8,3,,,0\n"));
  free(csv);
  runs_t r;
  read_runs(&r, d);
  CHECK(r.set.nruns == 7 && isnan(agg_field_value(r.runs[0], agg_field_find("payload_ratio"), 0)));
  free_runs(&r);
  test_rmdir_all(d);
}

/* Under a ring network of N replicas (participants 0: the network's), per ledger row:
 * an allreduce of B bytes sends 2 (N - 1) / N x B, an allgather of b bytes (N - 1) x b.
 * N = 16: none 20 x 4000 x 30/16 = 150000 (seed 0), 300000 (seed 1); topk 20 x 800 x 15 =
 * 240000: 1.6 and 0.8 of the baseline, mean 1.2, sd 0.8 / sqrt(2) = 0.5657. N = 2: none
 * 20 x 4000 = 80000, 160000; topk 20 x 800 = 16000: 0.2 and 0.1, mean 0.15. int8 (an
 * allreduce) is 1/4 and 1/5 at any N: mean 0.225. */
TEST(agg_vs_dense_bytes_compares_bytes_sent_under_the_network_with_the_baseline) {
  char *d = compressed_runs();
  char net[512];
  snprintf(net, sizeof net, "%s/ring.yaml", d);
  FILE *f = fopen(net, "w");
  CHECK(f != NULL);
  if (f) fputs("name: ring\nlatency_us: 5\nbandwidth_gbps: 10\nalgorithm: ring\n", f);
  if (f) fclose(f);
  const char *n16[] = {"values", "vs_dense_bytes", "baseline", "comm.compress=none",
                       "network", net, "replicas", "16", "format", "csv"};
  int rc;
  char *csv = agg_report_text(d, n16, 10, &rc);
  CHECK(rc == 0 && csv);
  CHECK(csv && !strncmp(csv, "comm.compress,network,n,vs_dense_bytes_mean,", 44));
  CHECK(csv && strstr(csv, "\n\"topk:0.01\",ring,2,1.2000000000000002,0.56568542494923"));
  CHECK(csv && strstr(csv, "\nint8,ring,3,0.225,0.0353553390593273"));
  CHECK(csv && strstr(csv, "\nnone,ring,2,1,0,2,"));
  free(csv);
  const char *n2[] = {"values", "vs_dense_bytes,sim_bytes", "baseline", "comm.compress=none",
                      "network", net, "replicas", "2"};
  char *md = agg_report_text(d, n2, 8, &rc);
  CHECK(md && strstr(md, "| topk:0.01 | ring | 2 | 0.15 ± 0.07 |"));
  CHECK(md && strstr(md, "| 16.0 kB ± 0 B |"));
  free(md);
  test_rmdir_all(d);
}
