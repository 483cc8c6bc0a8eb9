/* compress.h - communication compressors: what K participants (workers, replicas or
 * leaves) send of their vectors in one exchange, and the mean every receiver then sees.
 * One row of comm_compressors[] per compressor (compress.c); docs/compression.md
 * describes each, its bytes and its state.
 *
 * A round is one or two stages. In stage s every participant k encodes a payload
 * (comm_encode) from its vector x_k (n floats, the model's flat layout: only the tensors
 * travel, the padding between them is not sent and comes back 0); the receivers decode
 * every payload into a float vector (comm_decode) and add those in the tree order over
 * the K participants (tree.h: tree_sum in one process, tree_reduce across ranks, the same
 * bits for any P); comm_stage_done then works on the sum (PowerSGD: orthogonalise P),
 * and after the last stage comm_finish writes the mean and comm_peer_finish each
 * participant's state. comm_compress_mean does a whole round in one process.
 *
 * What travels is declared per stage (comm_wire): one or two parts, each with the
 * collective it needs (allreduce for summable payloads: float32, fp16, bf16 values and
 * PowerSGD's factors; allgather otherwise: top-k values and indices, int8 values with
 * their scales) and its counts per participant, for the communication ledger.
 *
 * The state a row declares (COMM_SCOPE_PEER: one buffer per participant, e.g. the
 * error-feedback residual; COMM_SCOPE_SHARED: one for the exchange, the same on every
 * rank, e.g. PowerSGD's Q) plus the counters of comm_ctx_t are what a checkpoint keeps. */
#ifndef DPT_COMM_COMPRESS_H
#define DPT_COMM_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "../nn/model.h"

/* The most state buffers a row declares. */
#define COMM_MAX_STATE 2
/* The most stages of a round, and parts of a stage's payload. */
#define COMM_MAX_STAGES 2
#define COMM_MAX_PARTS 2
/* int8: values per scale. Chunks never cross a tensor (a tensor's last chunk may be
 * shorter), so each scale costs 4 bytes per 256 one-byte values (1.6%). */
#define COMM_INT8_CHUNK 256
/* The room for comm_compress_opts_t.keep. */
#define COMM_KEEP_CHARS 128

/* The rows, in comm_compressors[] order. */
typedef enum {
  COMP_NONE, COMP_FP16, COMP_BF16, COMP_INT8, COMP_TOPK, COMP_POWERSGD
} comm_compress_kind_t;

typedef enum { COMM_ALLREDUCE, COMM_ALLGATHER } comm_collective_t;
extern const char *const comm_collective_names[]; /* "allreduce", "allgather" */

/* What a row's spelling takes after the colon. */
typedef enum { COMM_PARAM_NONE, COMM_PARAM_RATIO, COMM_PARAM_RANK } comm_param_t;

typedef enum { COMM_SCOPE_PEER, COMM_SCOPE_SHARED } comm_scope_t;

/* A state buffer a row declares: its name (a checkpoint dataset name later) and scope;
 * its length comes from the plan (comm_state_len). */
typedef struct {
  const char *name;
  comm_scope_t scope;
} comm_buffer_t;

/* One part of a stage's payload, per participant. */
typedef struct {
  comm_collective_t coll;
  size_t values;   /* values (float32, or fp16/bf16/int8 elements) */
  size_t indices;  /* uint32 indices (top-k) */
  size_t scales;   /* float32 scales (int8) */
  size_t bytes;    /* on the wire, all of the above */
} comm_part_t;

typedef struct {
  int nparts;
  comm_part_t part[COMM_MAX_PARTS];
  size_t bytes;    /* the payload: the parts' bytes in order */
  size_t sum_len;  /* floats of the decoded vector the participants' decodes add up to */
} comm_wire_t;

/* What the options choose. The spelling sets kind, ratio and rank; the rest are
 * PyTorch's powerSGD_hook defaults (comm_compress_defaults). */
typedef struct {
  comm_compress_kind_t kind;
  double ratio;            /* topk: fraction of each tensor's entries sent, (0, 1] */
  int rank;                /* powersgd: matrix_approximation_rank, >= 1 */
  int64_t start_iter;      /* powersgd: start_powerSGD_iter, rounds of plain allreduce (1000) */
  double min_rate;         /* powersgd: min_compression_rate (2) */
  int error_feedback;      /* powersgd: use_error_feedback (1); top-k always has it */
  int warm_start;          /* powersgd: warm_start (1) */
  uint64_t seed;           /* int8's rounding and PowerSGD's Q draws come from it */
  char keep[COMM_KEEP_CHARS]; /* tensors sent dense float32: "" or a comma list of
                                 "biases", "last" (the last layer) and name prefixes */
} comm_compress_opts_t;

/* One tensor's place in the exchange. */
typedef struct {
  const char *name;
  size_t off, size;        /* into the flat vector */
  size_t rows, cols;       /* PyTorch's tensor.view(shape[0], -1): (size / fan_in, fan_in) */
  int dense;               /* sent as float32 in the dense part (kept, PowerSGD's small) */
  size_t k;                /* topk: entries sent; powersgd: the rank min(rows, cols, RANK) */
  size_t p_off, q_off;     /* powersgd: floats into P and Q */
  size_t b_off;            /* bytes into its part of the stage-0 payload */
} comm_tplan_t;

struct comm_compressor;
struct comm_round_ops;
typedef struct {
  const struct comm_compressor *row;
  comm_compress_opts_t opt;
  size_t n;                /* the flat vector's length */
  int ntensors;
  comm_tplan_t t[NN_MAX_TENSORS];
  size_t dense_floats;     /* floats of the dense tensors */
  size_t plen, qlen;       /* powersgd: floats of all P and all Q factors */
  comm_part_t cpart;       /* the compressed tensors' part of the stage-0 payload */
} comm_plan_t;

/* The exchange's shared state and the round in progress (the same on every rank). */
typedef struct {
  comm_plan_t plan;
  float *buf[COMM_MAX_STATE]; /* the row's COMM_SCOPE_SHARED buffers; NULL otherwise */
  int64_t rounds;          /* rounds completed (int8's RNG, PowerSGD's warm-up) */
  int64_t q_ready;         /* powersgd: 1 when buf[0] holds the last round's Q (warm start) */
  int stages;              /* of the round in progress (comm_round_begin) */
  float *sum[COMM_MAX_STAGES]; /* the stage sums of the round in progress */
  float *scratch;          /* n floats: a participant's input plus its residual */
} comm_ctx_t;

/* One participant's state: the row's COMM_SCOPE_PEER buffers (NULL otherwise). */
typedef struct {
  float *buf[COMM_MAX_STATE];
} comm_peer_t;

/* A row of the compressor table. */
typedef struct comm_compressor {
  const char *name;        /* the spelling, before any ":PARAM" */
  const char *label;       /* for tables */
  comm_param_t param;
  int nstate;
  comm_buffer_t state[COMM_MAX_STATE];
  /* per compressed (non-dense) tensor t, after the plan's shapes: its wire counts in the
   * stage-0 compressed part (and t->k, P/Q offsets) */
  void (*plan_tensor)(comm_plan_t *pl, comm_tplan_t *t, comm_part_t *part);
  /* stage-0 encode of participant k's compressed tensor: acc (t->size floats: the
   * input plus any residual) into dst; resid (the peer's residual of this tensor, NULL
   * without) becomes what was not sent. -1 on a value the format cannot hold. */
  int (*encode)(const comm_ctx_t *c, const comm_tplan_t *t, int k, const float *acc,
                float *resid, uint8_t *dst);
  /* stage-0 decode of a compressed tensor into out (t->size floats, zeroed before) */
  void (*decode)(const comm_tplan_t *t, const uint8_t *src, float *out);
  /* a round of more than one stage (PowerSGD); NULL: the one-stage round above */
  const struct comm_round_ops *round;
} comm_compressor_t;

extern const comm_compressor_t comm_compressors[];
extern const int comm_ncompressors;
/* The row called name; NULL when there is none. */
const comm_compressor_t *comm_compressor_find(const char *name);

/* none, and PyTorch's powerSGD_hook defaults for the rest. */
void comm_compress_defaults(comm_compress_opts_t *o);
/* Reads a spelling ("none", "fp16", "bf16", "int8", "topk:0.01", "powersgd:4") into
 * o->kind, ratio and rank; -1 with a message listing the expected forms. */
int comm_compress_parse(const char *s, comm_compress_opts_t *o);
/* The spelling of o (what comm_compress_parse reads back). */
void comm_compress_text(const comm_compress_opts_t *o, char *buf, size_t cap);
/* The forms comm_compress_parse accepts, from the rows ("none, fp16, ... or powersgd:RANK"). */
void comm_compress_expected(char *buf, size_t cap);

/* The plan for a model's tensors (n floats in all): which tensors are dense, the counts.
 * Fails on a keep list that names no tensor, or options out of range. */
int comm_plan_init(comm_plan_t *pl, const comm_compress_opts_t *o, const nn_tensor_t *tensors,
                   int ntensors, size_t n);
/* Floats of the row's state buffer i. */
size_t comm_state_len(const comm_plan_t *pl, int i);

/* The exchange's shared state (zeroed buffers, rounds 0) and its release. */
int comm_ctx_init(comm_ctx_t *c, const comm_compress_opts_t *o, const nn_tensor_t *tensors,
                  int ntensors, size_t n);
void comm_ctx_free(comm_ctx_t *c);
/* A participant's zeroed state, and its release. */
void comm_peer_init(comm_peer_t *p, const comm_ctx_t *c);
void comm_peer_free(comm_peer_t *p);

/* --- One round, step by step (a caller spreading the participants over ranks) --- */
/* Starts a round (PowerSGD: draws or orthogonalises Q); returns its stage count. */
int comm_round_begin(comm_ctx_t *c);
/* What stage s of the round begun carries per participant. */
void comm_wire(const comm_ctx_t *c, int s, comm_wire_t *w);
/* Participant k's stage-s payload (comm_wire().bytes) into dst. Stage 0 reads x (n
 * floats, unchanged) and fails on a NaN or Inf (naming the tensor, round and
 * participant) or a value fp16/bf16 cannot hold; later stages read the sums before. */
int comm_encode(comm_ctx_t *c, comm_peer_t *peer, int k, int s, const float *x, uint8_t *dst);
/* The float vector (comm_wire().sum_len) a stage-s payload stands for. */
void comm_decode(const comm_ctx_t *c, int s, const uint8_t *src, float *out);
/* sum: the participants' decodes added in the tree order; comm_stage_done takes it over
 * as c->sum[s] (copied) and finishes the stage. */
void comm_stage_done(comm_ctx_t *c, int s, const float *sum, int K);
/* The mean every receiver sees (n floats) after the last stage. */
void comm_finish(const comm_ctx_t *c, int K, float *out);
/* A participant's state after the round (its residual from the mean out). */
void comm_peer_finish(const comm_ctx_t *c, comm_peer_t *peer, const float *out);
/* Ends the round: rounds + 1. */
void comm_round_end(comm_ctx_t *c);

/* A whole round in one process: out = what the receivers see of the K vectors x[k],
 * every stage summed in the tree order over k (the same bits as any split over ranks). */
int comm_compress_mean(comm_ctx_t *c, comm_peer_t *peers, int K, const float *const *x,
                       float *out);

#endif
