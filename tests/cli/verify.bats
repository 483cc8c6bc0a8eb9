#!/usr/bin/env bats
# dpt-sweep verify: reruns tasks of a finished sweep on P ranks and compares them bitwise
# with the recorded run.h5 files, which it never touches.
load helper

# One run-local sweep for the whole file: centralized and LocalSGD K = 2, seeds 1 and 2.
setup_file() {
  export DATA SW
  DATA=$(small_fmnist 300)
  SW="$BATS_FILE_TMPDIR/sw"
  cat >"$BATS_FILE_TMPDIR/s.yaml" <<YAML
name: v
base: $DPT_ROOT/sweeps/base/fashion-mnist.yaml
set: {model.name: LeNet5, model.epochs: 1, data.path: $DATA, data.limit: 300}
grid:
  model.num_workers: [0, 2]
seeds: [1, 2]
resources: {ranks: 1, time: 5}
YAML
  "$BIN/dpt-sweep" expand "$BATS_FILE_TMPDIR/s.yaml" -o "$SW" >/dev/null
  "$BIN/dpt-sweep" run-local "$SW" >/dev/null
}

setup() {
  export TMPDIR="$BATS_TEST_TMPDIR"
}

# run_file TASK: the recorded run.h5 of task number TASK.
run_file() {
  awk -F'\t' -v t="$1" '$1 == t { print $6 }' "$SW/manifest.tsv" | sed "s|^|$SW/|; s|$|/run.h5|"
}

@test "dpt-sweep verify: every task matches on 1 rank, the recorded files untouched" {
  before=$(cat "$SW"/tasks/*/run.h5 | cksum)
  run "$BIN/dpt-sweep" verify "$SW"
  assert_success
  assert_output --partial "verify: 4 task(s), 4 match, 0 differ"
  [ "$(grep -c ': match$' <<<"$output")" -eq 4 ]
  [ "$(cat "$SW"/tasks/*/run.h5 | cksum)" = "$before" ]
  # The scratch directory is gone, and nothing landed in the sweep directory.
  [ -z "$(ls "$TMPDIR" | grep dpt-verify)" ]
  [ "$(find "$SW" -name run.h5 | wc -l)" -eq 4 ]
}

@test "dpt-sweep verify --ranks 2: centralized and LocalSGD tasks match on 2 ranks" {
  hash=$(awk -F'\t' '$1 == 3 { print $7 }' "$SW/manifest.tsv")
  run "$BIN/dpt-sweep" verify "$SW" 0 "$hash" --ranks 2
  assert_success
  assert_line "task 0 ($(awk -F'\t' '$1 == 0 { print $7 }' "$SW/manifest.tsv")) on 2 rank(s): match"
  assert_line "task 3 ($hash) on 2 rank(s): match"
  assert_output --partial "verify: 2 task(s), 2 match, 0 differ"
}

@test "dpt-sweep verify: another seed's run recorded in place of task 1 is a difference" {
  cp "$(run_file 1)" "$BATS_TEST_TMPDIR/saved.h5"
  cp "$(run_file 0)" "$(run_file 1)"   # seed 1's run where seed 2's belongs
  run "$BIN/dpt-sweep" verify "$SW" 1 --ranks 2
  cp "$BATS_TEST_TMPDIR/saved.h5" "$(run_file 1)"
  assert_failure 1
  assert_output --regexp "task 1 \([0-9a-f]{16}\) on 2 rank\(s\): DIFFERS: metric train_loss, epoch 1: recorded [0-9.]+, rerun [0-9.]+"
  assert_output --partial "verify: 1 task(s), 0 match, 1 differ"
}

@test "dpt-sweep verify: a recorded run with other final weights is a difference" {
  cp "$(run_file 2)" "$BATS_TEST_TMPDIR/saved.h5"
  "$DPT_ROOT/build/h5craft" --flip-attr "$(run_file 2)" results weights_crc32
  run "$BIN/dpt-sweep" verify "$SW" 2
  cp "$BATS_TEST_TMPDIR/saved.h5" "$(run_file 2)"
  assert_failure 1
  assert_output --regexp "DIFFERS: weights_crc32: recorded [0-9a-f]{8}, rerun [0-9a-f]{8}"
  refute_output --partial "a bitwise match is not expected" # the same summation order
}

@test "dpt-sweep verify: a difference from a run of another summation order says so" {
  local craft="$DPT_ROOT/build/h5craft" b32="$BATS_TEST_TMPDIR/b32.h5"
  local why="this build sums in blocks of 64: a bitwise match is not expected; verify with the recording build (creator_version 0a5d9ad)"
  cp "$(run_file 2)" "$BATS_TEST_TMPDIR/saved.h5"
  # Other final weights, recorded by 0a5d9ad (one chain per output: no sum_block) or by
  # a build with -DNN_SUM_BLOCK=32.
  "$craft" --flip-attr "$(run_file 2)" results weights_crc32
  "$craft" --set-str "$(run_file 2)" / creator_version 0a5d9ad
  cp "$(run_file 2)" "$b32"
  "$craft" --set-attr "$b32" / sum_block 32
  "$craft" --delete-attr "$(run_file 2)" / sum_block
  run "$BIN/dpt-sweep" verify "$SW" 2
  cp "$b32" "$(run_file 2)"
  assert_failure 1
  assert_output --regexp "DIFFERS: weights_crc32: recorded [0-9a-f]{8}, rerun [0-9a-f]{8}"
  assert_line "  the recorded run summed in one chain per output (a build before blocked sums); $why"
  run "$BIN/dpt-sweep" verify "$SW" 2
  cp "$BATS_TEST_TMPDIR/saved.h5" "$(run_file 2)"
  assert_failure 1
  assert_line "  the recorded run summed in blocks of 32; $why"
}

@test "dpt-sweep verify: refusals name the task or option" {
  run "$BIN/dpt-sweep" verify "$SW" 99
  assert_failure 1
  assert_output --partial "no task '99'"
  run "$BIN/dpt-sweep" verify "$SW" --ranks two
  assert_failure 2
  assert_output --partial "--ranks: expected an integer in [1, 1024], got 'two'"
  run "$BIN/dpt-sweep" verify "$BATS_TEST_TMPDIR/nothing"
  assert_failure 1
  assert_output --partial "not a sweep directory"
}

@test "dpt-sweep verify: a recorded run with another ledger or payload is a difference" {
  cp "$(run_file 3)" "$BATS_TEST_TMPDIR/saved.h5"
  for craft in "/rounds/images 0 3|/rounds/images\[0\]: recorded 3, rerun [0-9]+" \
               "/metrics/bytes 0 5|metric bytes, epoch 1: recorded 5, rerun [0-9]+"; do
    cp "$BATS_TEST_TMPDIR/saved.h5" "$(run_file 3)"
    "$DPT_ROOT/build/h5craft" --set "$(run_file 3)" ${craft%%|*}
    run "$BIN/dpt-sweep" verify "$SW" 3
    echo "$output"
    assert_failure 1
    assert_output --regexp "DIFFERS: ${craft#*|}"
  done
  cp "$BATS_TEST_TMPDIR/saved.h5" "$(run_file 3)"
}
