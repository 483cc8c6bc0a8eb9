/* ledger.h - the communication ledger: one row per communication round of a run (a
 * gradient reduction of synchronous training, an averaging of the K workers, an outer
 * step, a compressed exchange), as the algorithm defines it, never as the placement
 * does: bitwise the same on every P that divides the work and across a resume. run.h5
 * stores it as the group /rounds (one 1-D dataset per column, chunked and compressed;
 * hdf5-schema/run.yaml), checkpoint.h5 as /rounds too; the aggregator's network model
 * (src/agg/network.c) prices a run from it.
 *
 * The measured seconds of each round (compute, communication, waiting) are this
 * placement's, not the algorithm's: they sit in a separate table of the same length
 * (ledger_timing_t, run.h5's /rounds_measured) that no determinism check compares.
 *
 * Who takes part: for a local method the K workers (participants = K); for synchronous
 * training the replicas of a deployment, which the run does not fix (any number of
 * replicas that divides the batch computes the same gradient), so participants = 0 and
 * the payload is per replica: the network model chooses the replica count. */
#ifndef DPT_COMM_LEDGER_H
#define DPT_COMM_LEDGER_H

#include <stddef.h>
#include <stdint.h>

/* What a round does; ledger_kind_names[] spells them (run.h5 stores the index and the
 * names as the attribute `names` of /rounds/kind). */
typedef enum {
  LEDGER_GRADIENT, /* synchronous training's gradient reduction (centralized, post-local
                      SGD's synchronous epochs) */
  LEDGER_AVERAGE,  /* the K workers' parameters averaged (LocalSGD) */
  LEDGER_OUTER,    /* an averaging whose mean goes through an outer step (SlowMo, DiLoCo) */
  LEDGER_KIND_COUNT
} ledger_kind_t;
extern const char *const ledger_kind_names[];

/* The collective a round's payload needs: summable data is all-reduced, data that cannot
 * be summed in transit (top-k values and indices, int8 with scales) all-gathered, and
 * one participant's data broadcast. ledger_collective_names[] spells them. */
typedef enum {
  LEDGER_ALLREDUCE,
  LEDGER_ALLGATHER,
  LEDGER_BROADCAST,
  LEDGER_COLLECTIVE_COUNT
} ledger_collective_t;
extern const char *const ledger_collective_names[];

/* One round, as recorded. */
typedef struct {
  int64_t step;          /* global step at which the round happens: optimizer steps of
                            the run so far, this one included (1-based) */
  int64_t epoch;         /* 1-based epoch the round belongs to */
  ledger_kind_t kind;
  ledger_collective_t collective;
  int64_t participants;  /* K for local methods; 0: the deployment's replicas (sync);
                            a compressed synchronous round: comm.replicas */
  int64_t floats;        /* payload per participant: values, in floats */
  int64_t bytes;         /* payload per participant as it travels: values, indices and
                            scales, in bytes */
  int64_t images;        /* training images since the previous round, all participants
                            together (per participant: images / participants, or
                            / replicas for synchronous training) */
  int64_t overlap;       /* training images, all participants together, computed while
                            the round's payload is in flight (Streaming DiLoCo's delay);
                            0: the round blocks until its payload is through */
} ledger_round_t;

/* The measured seconds of one round on this placement (rank 0's clock): compute since
 * the previous round, in the collective, and waiting for the other ranks before it. */
typedef struct {
  double compute_s, comm_s, wait_s;
} ledger_timing_t;

/* The ledger: columns of n rows (struct of arrays, as run.h5 stores them). */
typedef struct {
  int64_t n, cap;
  int64_t *step, *epoch, *kind, *collective, *participants, *floats, *bytes, *images, *overlap;
  double *compute_s, *comm_s, *wait_s;
} ledger_t;

/* The columns, for writers and readers that walk them (run.h5, checkpoint.h5, the
 * inspector): name, units, and whether the column is measured (timing) rather than
 * algorithmic. Algorithmic columns are int64, measured ones double. */
typedef enum {
  LEDGER_C_STEP, LEDGER_C_EPOCH, LEDGER_C_KIND, LEDGER_C_COLLECTIVE,
  LEDGER_C_PARTICIPANTS, LEDGER_C_FLOATS, LEDGER_C_BYTES, LEDGER_C_IMAGES, LEDGER_C_OVERLAP,
  LEDGER_C_COMPUTE_S, LEDGER_C_COMM_S, LEDGER_C_WAIT_S,
  LEDGER_C_COUNT
} ledger_column_t;
#define LEDGER_C_MEASURED LEDGER_C_COMPUTE_S /* columns from here on are measured */

const char *ledger_column_name(ledger_column_t c);
const char *ledger_column_units(ledger_column_t c);
/* Column c's array (n int64_t for algorithmic columns, n double for measured ones). */
void *ledger_column(const ledger_t *l, ledger_column_t c);
/* 1 when files store column c only where it holds a value other than 0 (overlap, which
 * only Streaming DiLoCo records), so files without it stay as they were: a writer skips
 * it when ledger_column_zero, a reader takes its absence as zeros. */
int ledger_column_optional(ledger_column_t c);
int ledger_column_zero(const ledger_t *l, ledger_column_t c);

/* Appends one round with its timing (zeros when not measured). */
void ledger_push(ledger_t *l, const ledger_round_t *r, const ledger_timing_t *tm);
/* Room for n rows, n of them counted (for a reader that fills the columns). */
void ledger_resize(ledger_t *l, int64_t n);
/* Drops rows from row n on (a resume that goes back to a checkpoint's point). */
void ledger_truncate(ledger_t *l, int64_t n);
void ledger_free(ledger_t *l);
/* Row i as a ledger_round_t. */
ledger_round_t ledger_row(const ledger_t *l, int64_t i);

/* Rounds: a round whose payload travels in several parts (a compressed exchange's
 * stages, the averaged optimizer state beside compressed parameters) is several rows
 * at one step, so rounds are the rows whose step differs from the row before. */
int64_t ledger_rounds(const ledger_t *l);
/* Sums over rows [from, to): rounds, payload bytes per participant. */
int64_t ledger_bytes(const ledger_t *l, int64_t from, int64_t to);

/* Fails naming the first impossible value (an unknown kind or collective, a negative
 * count, steps that go backwards), for a reader of a file that may be hostile. */
int ledger_check(const ledger_t *l);

#endif
