/* network.h - a network model, and the replay of a finished run's communication ledger
 * (comm/ledger.h) under it: what the run would have taken on that network. A collective
 * costs alpha-beta time (alpha: a message's latency, beta: seconds per byte) under the
 * algorithm the network names; compute comes from the run's own measured speed (or
 * --compute). docs/dpt-aggregate.md gives the formulas, the presets and their sources.
 *
 * A network file (YAML, read with the core's ydoc):
 *
 *   name: mycluster            # shown in the table's network column (default: the path)
 *   latency_us: 30             # per message, between nodes
 *   bandwidth_gbps: 1          # per link, between nodes (Gbit/s)
 *   per_node: 1                # replicas or workers on one node (contiguous)
 *   intra_latency_us: 1        # between participants on one node
 *   intra_bandwidth_gbps: 100
 *   algorithm: ring            # ring | recursive_doubling | rabenseifner | hierarchical
 *                              # | auto
 *   replicas: 4                # synchronous runs' replica count
 *   overlap: none              # none | backward (gradient rounds hide behind backward)
 *   device_gflops: 500         # a participant's speed: the model's FLOPs per image / this
 */
#ifndef DPT_AGG_NETWORK_H
#define DPT_AGG_NETWORK_H

#include <stdint.h>

#include "../comm/ledger.h"

/* The allreduce algorithm (allgather and broadcast follow it, see net_collective);
 * net_algo_names[] spells them. NET_HIERARCHICAL reduces inside each node (binomial),
 * all-reduces the nodes' sums over a ring of one participant per node and broadcasts
 * inside the node (dpt's ranks, too, sum the workers they hold first). NET_AUTO takes the
 * cheapest of the others per round, as a tuned MPI library switches by message size. */
typedef enum { NET_RING, NET_RECURSIVE_DOUBLING, NET_RABENSEIFNER, NET_HIERARCHICAL, NET_AUTO,
               NET_ALGO_COUNT } net_algo_t;
extern const char *const net_algo_names[];

/* What may hide communication: nothing (every method by default), or, for gradient rounds
 * (synchronous SGD), the backward pass of the interval (NET_BACKWARD_SHARE of its
 * compute), as a trainer that reduces bucket by bucket during backward would. Averaging
 * and outer rounds never overlap: the next local step starts from their result. */
typedef enum { NET_OVERLAP_NONE, NET_OVERLAP_BACKWARD, NET_OVERLAP_COUNT } net_overlap_t;
extern const char *const net_overlap_names[];
#define NET_BACKWARD_SHARE (2.0 / 3.0) /* backward = 2 x forward multiply-adds */

typedef struct {
  char name[128];
  double latency_s, bandwidth_Bps;             /* between nodes: alpha and 1/beta */
  double intra_latency_s, intra_bandwidth_Bps; /* inside a node */
  int64_t per_node;                            /* participants per node, >= 1 */
  int64_t replicas;                            /* synchronous runs' replicas, >= 1 */
  net_algo_t algo;
  net_overlap_t overlap;
  double device_flops;                         /* FLOP/s of a participant; 0: measured */
} net_model_t;

/* The presets (1gbe, 10gbe, 25gbe, ib100, wan), in order; NULL-named row last. */
extern const net_model_t net_presets[];
/* A preset by name, else a network file at that path: NAME|FILE as --network takes it.
 * Errors name the file, line, key, value and what was expected; an unknown name that
 * is no file lists the presets. */
int net_model_resolve(net_model_t *m, const char *name_or_path);
/* A network file's text (name stands for the file in messages). */
int net_model_parse(net_model_t *m, const char *yaml, size_t len, const char *name);

/* One collective of nbytes per participant among n participants. */
typedef struct {
  double seconds;  /* alpha-beta time */
  double sent;     /* bytes each participant sends under the algorithm */
  double bound;    /* the least any algorithm sends per participant: allreduce
                      2(n-1)/n x nbytes, allgather (n-1) x nbytes, broadcast
                      (n-1)/n x nbytes */
  net_algo_t algo; /* the algorithm used (NET_AUTO's choice) */
} net_cost_t;
net_cost_t net_collective(const net_model_t *m, ledger_collective_t c, int64_t n,
                          double nbytes);

/* The run's speed for the replay: images per second of one participant. `compute` > 0
 * (--compute) wins; then the network's device_flops / flops_per_image; else the ledger's
 * measured compute seconds when it has any (one participant's time for a round =
 * compute_s x ranks / participants: the ranks shared the round's images); else /metrics
 * images_per_s of the round's epoch / ranks. */
typedef struct {
  double compute;               /* images/s per participant; 0: measured */
  double flops_per_image;       /* the model's training FLOPs per image; 0: unknown */
  int64_t ranks;                /* P of the measured run (>= 1) */
  const double *images_per_s;   /* per epoch index (epoch number - 1); NULL: none */
  int64_t nepochs;
} net_speed_t;

/* A run's ledger priced under a network: per round (cumulative, at its end) the
 * simulated seconds and the bytes one participant sent; totals. */
typedef struct {
  int64_t n;
  double *time, *sent;      /* n each, cumulative */
  double comm_time;         /* seconds of communication not hidden by overlap */
  double bound;             /* lower-bound bytes per participant, total */
  int64_t replicas;         /* the replica count a synchronous run was priced at */
  int64_t nend;             /* the largest epoch of a round */
  int64_t *epoch_end;       /* nend: epoch e's last round at [e - 1], -1 when it has none */
} net_replay_t;

/* Fails naming the first round it cannot price (no speed for its epoch, an epoch
 * outside 1 .. CFG_MAX_EPOCHS). l must have passed ledger_check. */
int net_replay(const net_model_t *m, const ledger_t *l, const net_speed_t *sp,
               net_replay_t *out);
void net_replay_free(net_replay_t *r);

/* The first round whose validation accuracy reaches target, with the accuracy
 * interpolated linearly in rounds between epoch ends: epoch e's accuracy val_acc[i]
 * (epoch[i] = e) holds at its last round; a round j between the last rounds R0 < j <= R1
 * of two consecutive epochs has a0 + (a1 - a0) (j - R0) / (R1 - R0). An epoch reaching
 * the target with no earlier epoch end counts at its last round. Returns the round's
 * index (0-based), or -1 when no epoch reaches the target (or none has rounds). */
int64_t net_round_reaching(const net_replay_t *rp, const double *epoch, const double *val_acc,
                           int64_t nepochs, double target);
/* The index of epoch e's last round, or -1 when it has none. */
int64_t net_epoch_last_round(const net_replay_t *rp, int64_t e);

#endif
