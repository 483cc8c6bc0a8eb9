#!/usr/bin/env bats
# Streaming DiLoCo (issue 23 item 3, docs/compression.md): model.outer.fragments F,
# model.outer.delay tau, model.outer.mix alpha. One fragment without delay is DiLoCo;
# any F and tau give the same bits on any P and across a stop and resume; the ledger has
# a row per fragment round with the images its communication overlaps; bad values are
# refused naming the key.

load helper
bats_require_minimum_version 1.5.0

teardown() { check_written_files; }

setup() {
  # 180 training images: K = 4 workers of 4-image batches make 12 steps an epoch (20
  # test images: the tests compare the training)
  TINY=$(small_fmnist 200 20)
  LOCALSGD="$DPT_ROOT/tests/fixtures/seed/distributed.yaml"
  CENTRAL="$DPT_ROOT/tests/fixtures/seed/centralized.yaml"
  cd "$BATS_TEST_TMPDIR"
}

# DiLoCo: AdamW workers, outer Nesterov; K = 4, H = 8 over epochs of 12 steps
DILOCO=(-c "$DPT_ROOT/tests/fixtures/seed/distributed.yaml" --set model.epochs=1
        --set model.num_workers=4 --set model.work.local_steps=8 --set model.work.batch_size=4
        --set model.work.optimizer=AdamW --set model.learning_rate=0.001
        --set model.outer.type=nesterov --set model.outer.learning_rate=0.7
        --set model.outer.momentum=0.9 --set experiment.output=)

values() { h5dump -y -w 0 -d "$2" "$1/run.h5" | sed -n '/^   DATA {/{n;s/^ *//;p;q}'; }
weights() { h5dump -a /results/weights_crc32 "$1/run.h5" | grep '(0)'; }
same_run() { same_learning "$1" "$2" && h5diff "$1/run.h5" "$2/run.h5" /rounds /rounds; }

@test "one fragment and no delay is DiLoCo, bitwise (int8 with averaged moments; dense), and its files have no overlap column or /stream" {
  for extra in "--set model.outer.compress=int8 --set model.work.momentum=average" ""; do
    "$BIN/dpt-train" "${DILOCO[@]}" --data "$TINY" $extra --run-dir diloco >/dev/null
    "$BIN/dpt-train" "${DILOCO[@]}" --data "$TINY" $extra --set model.outer.fragments=1 \
        --set model.outer.delay=0 --set model.outer.mix=0 --run-dir f1 >/dev/null
    same_run diloco f1
    ! h5dump -d /rounds/overlap f1/run.h5 >/dev/null 2>&1
    ! h5dump -g /stream f1/checkpoint.h5 >/dev/null 2>&1
    [ -z "$extra" ] || rm -rf diloco f1
  done
  # two fragments are another method
  "$BIN/dpt-train" "${DILOCO[@]}" --data "$TINY" --set model.outer.fragments=2 --run-dir f2 >/dev/null
  [ "$(weights diloco)" != "$(weights f2)" ]
}

@test "two fragments with a delay of 2 give the same bits on P = 1, 2 and 4 (int8 with averaged moments), and on P = 1 and 2 with mix 0.5" {
  for extra in "--set model.outer.compress=int8 --set model.work.momentum=average" \
               "--set model.outer.mix=0.5"; do
    for p in 1 2 4; do
      [ -n "${extra##*mix*}" ] || [ $p -ne 4 ] || continue
      mpi $p "$BIN/dpt-train" "${DILOCO[@]}" --data "$TINY" --set model.outer.fragments=2 \
          --set model.outer.delay=2 $extra --run-dir p$p >/dev/null
    done
    same_run p1 p2
    [ ! -d p4 ] || same_run p1 p4
    rm -rf p1 p2 p4
  done
}

@test "a stop with a fragment in flight resumes exactly: F = 2, tau = 3, int8, stopped on P = 2, resumed on P = 1 and P = 4" {
  args=("${DILOCO[@]}" --data "$TINY" --set model.epochs=5 --set model.outer.fragments=2
        --set model.outer.delay=3 --set model.outer.compress=int8 --set model.work.momentum=average)
  "$BIN/dpt-train" "${args[@]}" --run-dir ref >/dev/null
  # in flight after steps 1-3, 5-7 and 9-11 of an epoch (fragment 0 sends after step 1
  # and 9 and lands 3 steps later, fragment 1 sends after step 5): not after 4, 8 or 12
  local landed=""
  for try in 1 2 3 4 5 6; do
    DELAYS="0.$((try * 3)) 0.7 1.1" stop_mid_epoch 2 stopped "${args[@]}"
    step=$(sed -n 's/.*interrupted at epoch [0-9]*, step \([0-9]*\).*/\1/p' stopped.log)
    if [ $((step % 4)) -ne 0 ]; then landed=$step; break; fi
  done
  [ -n "$landed" ]
  h5dump -d /stream/pending -H stopped/checkpoint.h5 | grep -q "DATASPACE  SIMPLE"
  cp -r stopped stopped4
  run "$BIN/dpt-train" "${args[@]}" --run-dir stopped --resume auto
  assert_success
  same_run ref stopped
  run mpi 4 "$BIN/dpt-train" "${args[@]}" --run-dir stopped4 --resume auto
  assert_success
  same_run ref stopped4
}

@test "the ledger has a row per fragment round at its send, with the images its communication overlaps" {
  # H = 4, F = 2, tau = 1: fragment 0 sends after steps 1, 5, 9 and lands a step later,
  # fragment 1 after steps 3, 7, 11; at the epoch's end (step 12) fragment 0, whose next
  # round would land after step 14, is flushed without overlap
  "$BIN/dpt-train" "${DILOCO[@]}" --data "$TINY" --set model.epochs=1 --set model.work.local_steps=4 \
      --set model.outer.fragments=2 --set model.outer.delay=1 --run-dir s >/dev/null
  [ "$(values s /rounds/step)" = "1, 3, 5, 7, 9, 11, 12" ]
  [ "$(values s /rounds/overlap)" = "16, 16, 16, 16, 16, 4, 0" ]
  [ "$(values s /rounds/images)" = "16, 32, 32, 32, 32, 32, 4" ]
  [ "$(values s /rounds/kind)" = "2, 2, 2, 2, 2, 2, 2" ]
  h5dump -a /provenance/method s/run.h5 | grep -q '"Streaming DiLoCo"'

  # fragments of whole tensors, the cut at the tensor start nearest half the floats
  np=$(h5dump -a /nparams s/checkpoint.h5 | sed -n 's/.*(0): *//p')
  f0=$(values s /rounds/floats | cut -d, -f1)
  f1=$(values s /rounds/floats | cut -d, -f2 | tr -d ' ')
  [ "$f0" = "$(values s /rounds/floats | cut -d, -f3 | tr -d ' ')" ]
  [ $((f0 + f1)) -eq "$np" ]
  # the rounds: fragment 0's land after steps 2, 6, 10 and 12 (the flush), fragment 1's
  # after 4, 8 and 12
  [ "$(h5dump -a /results/averagings_total s/run.h5 | sed -n 's/.*(0): *//p')" = 7 ]
  # the network model hides each round's communication behind the compute it overlaps:
  # at 10 images/s, 16 images (4 a worker) hide all of it; only the flush is charged
  cp -r s blocking
  for i in 0 1 2 3 4 5 6; do "$DPT_ROOT/build/h5craft" --set blocking/run.h5 /rounds/overlap $i 0; done
  run --separate-stderr "$BIN/dpt-aggregate" --network 1gbe --compute 10 --format csv --per-run \
      --values sim_comm_time s blocking
  assert_success
  local hidden charged
  hidden=$(grep '^s,' <<<"$output" | cut -d, -f6)
  charged=$(grep '^blocking,' <<<"$output" | cut -d, -f6)
  awk -v h="$hidden" -v c="$charged" 'BEGIN { exit !(h > 0 && c > 10 * h) }'
}

@test "bad Streaming DiLoCo values are refused naming the key and what is expected" {
  for bad in "model.outer.fragments=0|model.outer.fragments" \
             "model.outer.delay=-1|model.outer.delay" \
             "model.outer.mix=1.5|model.outer.mix" \
             "model.outer.delay=4|model.outer.delay: = 4, expected < floor(H / F) = 4" \
             "model.outer.fragments=9|model.outer.fragments: = 9 exceeds model.work.local_steps (H = 8)" \
             "model.outer.compress=topk:0.1|model.outer.compress topk" \
             "model.work.momentum=reset|model.work.momentum: reset" \
             "model.work.dynamic.strategy=Deviation|needs a fixed H" \
             "model.outer.keep=biases|model.outer.keep: cannot be used with model.outer.fragments = 2"; do
    run "$BIN/dpt-train" "${DILOCO[@]}" --data "$TINY" --set model.outer.fragments=2 \
        --set "${bad%%|*}" --run-dir x
    assert_failure
    assert_output --partial "${bad#*|}"
  done
  # more fragments than the model's 10 trained tensors (LeNet: five weights, five biases)
  run "$BIN/dpt-train" "${DILOCO[@]}" --data "$TINY" --set model.work.local_steps=16 \
      --set model.outer.fragments=11 --run-dir x
  assert_failure
  assert_output --partial "model.outer.fragments = 11, but the model has 10 trained tensors"
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$TINY" --set model.outer.delay=1 --run-dir x
  assert_failure
  assert_output --partial "model.outer.delay: needs local workers"
}

@test "a damaged Streaming DiLoCo state in a checkpoint is refused by name on resume" {
  args=("${DILOCO[@]}" --data "$TINY" --set model.epochs=1 --set model.outer.fragments=2
        --set model.outer.delay=2)
  "$BIN/dpt-train" "${args[@]}" --run-dir r >/dev/null
  refused_when_damaged r/checkpoint.h5 stream "pending 5|stream/pending: checksum mismatch" \
      "counters 0|stream/counters: checksum mismatch" -- "${args[@]}"
}
