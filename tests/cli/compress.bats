#!/usr/bin/env bats
# Compression in training (issue 23, docs/compression.md): comm.compress (the synchronous
# gradient reduction) and model.outer.compress (the workers' pseudo-gradients at an
# averaging) give the same bits on any P, resume exactly, reduce to the dense exchange
# where they should, put what travels in the ledger, and refuse bad spellings clearly.

load helper

teardown() { check_written_files; }

setup() {
  # test splits of a tenth: what these tests compare is the training, the test
  # accuracies only as part of same_learning
  DATA=$(small_fmnist 600 60)
  # the P-invariance and resume tests run many short trainings: 180 training images
  TINY=$(small_fmnist 200 20)
  # the reductions to the dense exchange: 92 training images, 2 steps whose last (28
  # images: 2 leaves over 4 replicas) is as uneven as DATA's
  SHORT=$(small_fmnist 102 10)
  CENTRAL="$DPT_ROOT/tests/fixtures/seed/centralized.yaml"
  SLOWMO="$DPT_ROOT/tests/fixtures/seed/slowmo.yaml"
  cd "$BATS_TEST_TMPDIR"
}

COMPRESSORS=(fp16 bf16 int8 topk:0.01 powersgd:4)
# the classic LeNet-5 (62k parameters, a third of the seed LeNet's work) where a test
# compares runs with each other: its tensors are of the same kinds (5x5 convolutions,
# fully connected, biases), each compressed on its own
SMALL=(--set model.name=LeNet5)
# centralized, batch 64 = 4 leaves of 16 images: R = 4 replicas of one leaf each; 540
# training images make 9 steps, the last of 28 images (2 leaves over 4 replicas)
SYNC=(--set model.epochs=1 --set experiment.output= --set comm.replicas=4
      --set comm.powersgd.start_iter=2)
# on TINY: centralized 3 steps (the last of 52 images: 4 leaves, one per replica);
# LocalSGD K = 4 workers of 8-image batches, H = 2: 6 steps, 3 averagings
TINY_LOCAL=(--set model.epochs=1 --set model.num_workers=4 --set model.work.local_steps=2
            --set model.work.batch_size=8 --set experiment.output=)
# on SHORT: LocalSGD K = 4 workers of 8-image batches, H = 8: 3 steps, an averaging at the end
LOCAL=(--set model.epochs=1 --set model.num_workers=4 --set model.work.local_steps=8
       --set model.work.batch_size=8 --set experiment.output=)

# the values of a 1-D dataset of DIR/run.h5, comma-separated
values() { h5dump -y -w 0 -d "$2" "$1/run.h5" | sed -n '/^   DATA {/{n;s/^ *//;p;q}'; }
weights() { h5dump -a /results/weights_crc32 "$1/run.h5" | grep '(0)'; }
# same_learning plus the communication ledger
same_run() { same_learning "$1" "$2" && h5diff "$1/run.h5" "$2/run.h5" /rounds /rounds; }

@test "comm.compress: each compressor's centralized run is identical on P = 1, 2 and 4" {
  "$BIN/dpt-train" -c "$CENTRAL" --data "$TINY" "${SYNC[@]}" "${SMALL[@]}" --run-dir dense >/dev/null
  for c in "${COMPRESSORS[@]}"; do
    for p in 1 2 4; do
      mpi $p "$BIN/dpt-train" -c "$CENTRAL" --data "$TINY" "${SYNC[@]}" "${SMALL[@]}" --set comm.compress=$c \
          --run-dir "${c%%:*}-p$p" >/dev/null
    done
    same_run "${c%%:*}-p1" "${c%%:*}-p2"
    same_run "${c%%:*}-p1" "${c%%:*}-p4"
    # the compressor did something
    [ "$(weights "${c%%:*}-p1")" != "$(weights dense)" ]
  done
}

@test "model.outer.compress: each compressor's LocalSGD K=4 run is identical on P = 1, 2 and 4" {
  "$BIN/dpt-train" -c "$SLOWMO" --data "$TINY" "${TINY_LOCAL[@]}" "${SMALL[@]}" --run-dir dense >/dev/null
  for c in "${COMPRESSORS[@]}"; do
    for p in 1 2 4; do
      mpi $p "$BIN/dpt-train" -c "$SLOWMO" --data "$TINY" "${TINY_LOCAL[@]}" "${SMALL[@]}" \
          --set model.outer.compress=$c --run-dir "${c%%:*}-p$p" >/dev/null
    done
    same_run "${c%%:*}-p1" "${c%%:*}-p2"
    same_run "${c%%:*}-p1" "${c%%:*}-p4"
    [ "$(weights "${c%%:*}-p1")" != "$(weights dense)" ]
  done
}

@test "each compressor resumes exactly: post-local SGD with both keys stopped on P=2 and resumed on P=1; centralized replicas' state (top-k, PowerSGD) stopped on P=2 and resumed on P=4" {
  # the tiny runs last about a second: signals early in them land inside an epoch
  local DELAYS="0.3 0.5 0.2 0.8 0.1 1.2"
  for c in "${COMPRESSORS[@]}"; do
    # the replicas' residuals and PowerSGD's Q: the compressors that keep state per
    # replica (fp16 and bf16 keep none; int8's counter is the exchange's, as below)
    if [ "$c" = topk:0.01 ] || [ "$c" = powersgd:4 ]; then
      args=(-c "$CENTRAL" --data "$TINY" "${SYNC[@]}" --set model.epochs=3 --set comm.compress=$c)
      "$BIN/dpt-train" "${args[@]}" --run-dir ref >/dev/null
      stop_mid_epoch 2 stopped "${args[@]}"
      run mpi 4 "$BIN/dpt-train" "${args[@]}" --run-dir stopped --resume auto
      assert_success
      same_run ref stopped
      rm -rf ref stopped
    fi
    # epoch 1 synchronous (comm.compress over the K workers), then local steps; the
    # reference on one rank (the same run on any P: the tests above)
    args=(-c "$SLOWMO" --data "$TINY" "${TINY_LOCAL[@]}" --set model.epochs=3
          --set model.work.local_from_epoch=1 --set comm.compress=$c --set comm.powersgd.start_iter=2
          --set model.outer.compress=$c)
    "$BIN/dpt-train" "${args[@]}" --run-dir ref >/dev/null
    stop_mid_epoch 2 stopped "${args[@]}"
    run "$BIN/dpt-train" "${args[@]}" --run-dir stopped --resume auto
    assert_success
    same_run ref stopped
    rm -rf ref stopped
  done
}

@test "top-k with ratio 1 and error feedback is the dense run: today's with one replica, the float32 exchange with four" {
  "$BIN/dpt-train" -c "$CENTRAL" --data "$SHORT" "${SYNC[@]}" --run-dir dense >/dev/null
  "$BIN/dpt-train" -c "$CENTRAL" --data "$SHORT" "${SYNC[@]}" --set comm.compress=topk:1 \
      --set comm.replicas=1 --run-dir topk1 >/dev/null
  same_learning dense topk1
  # R = 4: the sum of the replicas' means, as PowerSGD's warm-up (a float32 allreduce) sends it
  for c in topk:1 powersgd:4; do
    mpi 2 "$BIN/dpt-train" -c "$CENTRAL" --data "$SHORT" "${SYNC[@]}" --set comm.compress=$c \
        --set comm.powersgd.start_iter=1000000 --run-dir "r4-${c%%:*}" >/dev/null
    mpi 2 "$BIN/dpt-train" -c "$SLOWMO" --data "$SHORT" "${LOCAL[@]}" --set model.outer.compress=$c \
        --set model.outer.powersgd.start_iter=1000000 --run-dir "k4-${c%%:*}" >/dev/null
  done
  same_learning r4-topk r4-powersgd
  same_learning k4-topk k4-powersgd
}

@test "the ledger counts what travels: PowerSGD rank 4 sends the hook's 18,774 floats, top-k and int8 go by allgather" {
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" --set comm.compress=powersgd:4 \
      --run-dir psgd >/dev/null
  # 9 reductions: 2 of warm-up (every float, allreduce), then 7 of three parts: the 714
  # values of the dense tensors (the biases), P and Q of the five weights
  [ "$(values psgd /rounds/floats)" = "794762, 794762$(printf ', 714, 2856, 15204%.0s' 1 2 3 4 5 6 7)" ]
  [ "$(values psgd /rounds/bytes)" = "3179048, 3179048$(printf ', 2856, 11424, 60816%.0s' 1 2 3 4 5 6 7)" ]
  [ "$(values psgd /rounds/participants)" = "4$(printf ', 4%.0s' $(seq 22))" ]
  [ "$(values psgd /rounds/collective)" = "0$(printf ', 0%.0s' $(seq 22))" ]
  # 714 + 2856 + 15204 = 18774 floats = 75096 bytes a round, per participant
  [ "$(values psgd /rounds/images)" = "64, 64$(printf ', 64, 0, 0%.0s' 1 2 3 4 5 6), 28, 0, 0" ]
  # top-k 1% with the biases kept dense: a float32 allreduce of 714 values, then per
  # tensor k values and k indices by allgather (8 bytes each)
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" --set model.epochs=1 \
      --set comm.compress=topk:0.01 --set comm.keep=biases --run-dir topk >/dev/null
  [ "$(values topk /rounds/collective | cut -d, -f1-2)" = "0, 1" ]
  [ "$(values topk /rounds/floats | cut -d, -f1-2)" = "714, 7940" ]
  [ "$(values topk /rounds/bytes | cut -d, -f1-2)" = "2856, 63520" ]
  # int8: one byte a value and a float32 scale per chunk of 256 values of a tensor
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" --set comm.compress=int8 \
      --run-dir int8 >/dev/null
  [ "$(values int8 /rounds/collective | cut -d, -f1)" = "1" ]
  [ "$(values int8 /rounds/floats | cut -d, -f1)" = "794762" ]
  # 3,109 chunks: 794,762 + 4 x 3,109 bytes
  [ "$(values int8 /rounds/bytes | cut -d, -f1)" = "807198" ]
  # none: the dense rows of before, participants 0 (the deployment's replicas)
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" --run-dir dense >/dev/null
  [ "$(values dense /rounds/participants)" = "0$(printf ', 0%.0s' $(seq 8))" ]
}

@test "bad spellings and impossible splits are refused naming the key and what is expected" {
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$TINY" --set comm.compress=topk --run-dir x
  assert_failure
  assert_output --partial "comm.compress: expected none, fp16, bf16, int8, topk:RATIO (0 < RATIO <= 1) or powersgd:RANK (an integer >= 1), got 'topk'"
  run "$BIN/dpt-train" -c "$SLOWMO" --data "$TINY" --set model.outer.compress=powersgd:0 --run-dir x
  assert_failure
  assert_output --partial "model.outer.compress: expected none, fp16"
  assert_output --partial "got 'powersgd:0'"
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$TINY" --set comm.compress=topk:1.5 --run-dir x
  assert_failure
  assert_output --partial "got 'topk:1.5'"
  run mpi 2 "$BIN/dpt-train" -c "$CENTRAL" --data "$TINY" --set comm.compress=fp16 \
      --set comm.replicas=3 --run-dir x
  assert_failure
  assert_output --partial "comm.replicas = 3 replicas cannot be spread over 2 MPI ranks"
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$TINY" --set comm.compress=fp16 \
      --set comm.replicas=8 --run-dir x
  assert_failure
  assert_output --partial "comm.replicas = 8 must divide the global batch's 4 leaves of 16 images (model.batch_size = 64)"
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$TINY" --set comm.compress=topk:0.1 \
      --set comm.keep=biases,conv9 --run-dir x
  assert_failure
  assert_output --partial "comm.compress: compressor keep list 'biases,conv9': 'conv9' names no tensor"
  # with none, comm.replicas is not looked at: every existing run stays as it was
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$TINY" --set model.epochs=1 --set comm.replicas=3 \
      --set experiment.output= --run-dir fine
  assert_success
}

@test "a damaged compressor state in a checkpoint is refused by name on resume" {
  args=(-c "$CENTRAL" --data "$TINY" "${SYNC[@]}" --set comm.compress=powersgd:4)
  "$BIN/dpt-train" "${args[@]}" --run-dir r >/dev/null
  # (participants, nparams) residual rows: element nparams + 5 is participant 1's
  np=$(h5dump -a /nparams r/checkpoint.h5 | sed -n 's/.*(0): *//p')
  refused_when_damaged r/checkpoint.h5 comm_compress \
      "compress_residual $((np + 5))|/comm_compress: participant 1: checksum mismatch" \
      "compress_powersgd_q 7|comm_compress/compress_powersgd_q: checksum mismatch" \
      "counters 1|comm_compress/counters: checksum mismatch" -- "${args[@]}"
}
