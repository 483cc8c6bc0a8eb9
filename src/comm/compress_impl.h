/* compress_impl.h - what the compressor files share (not for callers: compress.h). */
#ifndef DPT_COMM_COMPRESS_IMPL_H
#define DPT_COMM_COMPRESS_IMPL_H

#include "compress.h"

/* A round of more than one stage: the steps of compress.h for the row. */
typedef struct comm_round_ops {
  int (*begin)(comm_ctx_t *c);
  void (*wire)(const comm_ctx_t *c, int s, comm_wire_t *w);
  int (*encode)(comm_ctx_t *c, comm_peer_t *peer, int k, int s, const float *x, uint8_t *dst);
  void (*decode)(const comm_ctx_t *c, int s, const uint8_t *src, float *out);
  void (*stage_done)(comm_ctx_t *c, int s, const float *sum, int K);
  void (*finish)(const comm_ctx_t *c, int K, float *out);
  void (*peer_finish)(const comm_ctx_t *c, comm_peer_t *peer, const float *out);
} comm_round_ops_t;

/* The one-stage round (compress.c); all_dense: every tensor as float32 (PowerSGD's
 * warm-up), else the plan's split into the dense and the compressed part. */
void comm_wire_one(const comm_ctx_t *c, int all_dense, comm_wire_t *w);
int comm_encode_one(comm_ctx_t *c, comm_peer_t *peer, int k, const float *x, int all_dense,
                    uint8_t *dst);
void comm_decode_one(const comm_ctx_t *c, int all_dense, const uint8_t *src, float *out);
/* out = c->sum[0] / K over the n floats */
void comm_finish_mean(const comm_ctx_t *c, int K, float *out);
/* -1 naming the tensor, round and participant when x holds a NaN or Inf; what: "input"
 * or what else the values are */
int comm_check_finite(const comm_ctx_t *c, const comm_tplan_t *t, int k, const float *x,
                      const char *what);

/* The rows' functions (compress_codec.c, compress_powersgd.c). */
void comm_fp16_plan(comm_plan_t *pl, comm_tplan_t *t, comm_part_t *part);
int comm_fp16_encode(const comm_ctx_t *c, const comm_tplan_t *t, int k, const float *acc,
                     float *resid, uint8_t *dst);
void comm_fp16_decode(const comm_tplan_t *t, const uint8_t *src, float *out);
int comm_bf16_encode(const comm_ctx_t *c, const comm_tplan_t *t, int k, const float *acc,
                     float *resid, uint8_t *dst);
void comm_bf16_decode(const comm_tplan_t *t, const uint8_t *src, float *out);
void comm_int8_plan(comm_plan_t *pl, comm_tplan_t *t, comm_part_t *part);
int comm_int8_encode(const comm_ctx_t *c, const comm_tplan_t *t, int k, const float *acc,
                     float *resid, uint8_t *dst);
void comm_int8_decode(const comm_tplan_t *t, const uint8_t *src, float *out);
void comm_topk_plan(comm_plan_t *pl, comm_tplan_t *t, comm_part_t *part);
int comm_topk_encode(const comm_ctx_t *c, const comm_tplan_t *t, int k, const float *acc,
                     float *resid, uint8_t *dst);
void comm_topk_decode(const comm_tplan_t *t, const uint8_t *src, float *out);
void comm_powersgd_plan(comm_plan_t *pl, comm_tplan_t *t, comm_part_t *part);
extern const comm_round_ops_t comm_powersgd_round;

/* fp16 and bf16 bits (round to nearest even; finite inputs) and back, exactly. */
uint16_t comm_f32_to_f16(float f);
float comm_f16_to_f32(uint16_t h);
uint16_t comm_f32_to_bf16(float f);
float comm_bf16_to_f32(uint16_t h);

#endif
