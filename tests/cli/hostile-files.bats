#!/usr/bin/env bats
# Crafted HDF5 files (issue 11.3): a dataset, checkpoint or run file whose datasets claim
# shapes the schema and the other fields contradict, or more data than the file stores,
# gives one line naming the file and the object and exit 1: never a crash, never a hang,
# also when two MPI ranks read it. Since issue 20: attributes of any shape, metric columns
# claiming millions of rows, flipped or crafted metric values, and terminal escape codes
# in strings. Files are crafted with tests/tools/h5craft.c.

load helper

CRAFT() { "$DPT_ROOT/build/h5craft" "$@"; }
TRAIN_K2=(-c "$DPT_ROOT/tests/fixtures/seed/centralized.yaml" --set model.epochs=1
          --set experiment.output= --set model.num_workers=2 --set model.work.local_steps=2)

setup_file() {
  local d="$BATS_FILE_TMPDIR"
  "$BIN/dpt-data" fashion-mnist --src "$FMNIST_SRC" --limit 100 -o "$d/data.h5" >/dev/null
  "$BIN/dpt-train" "${TRAIN_K2[@]}" --data "$d/data.h5" --run-dir "$d/k2" >/dev/null 2>&1
}

setup() {
  D="$BATS_FILE_TMPDIR"
  cd "$BATS_TEST_TMPDIR"
}

# refused TEXT: the command that just ran exited 1 with an error naming TEXT (the file or
# the object), and neither crashed nor panicked.
refused() {
  assert_equal "$status" 1
  assert_output --partial "$1"
  refute_output --partial "Segmentation"
  refute_output --partial "panic"
  refute_output --partial "out of memory"
}

@test "dataset: a dimension beyond int or more images than stored is refused by dpt-train" {
  for craft in "/train/images 100x4294967297x28x28" "/test/images 100x1x28x4294967324" \
               "/train/labels 1099511627776" "/train/images 1099511627776x1x28x28"; do
    cp "$D/data.h5" bad.h5
    CRAFT bad.h5 $craft
    run timeout 60 "$BIN/dpt-train" "${TRAIN_K2[@]}" --data bad.h5 --run-dir r
    echo "$craft: $output"
    refused "bad.h5"
    assert_output --regexp "/(train|test)"
    [ ! -e r/run.h5 ]
  done
}

@test "checkpoint: --resume PATH with workers/* and metrics/* of the wrong sizes" {
  for craft in "/workers/step_count 100000" "/workers/pos 1" "/workers/crc32 3" \
               "/metrics/val_acc 100000" "/metrics/lr 2" "/workers/params 2x5" \
               "/workers/momentum 3x794768" "/global/opt_m 794769" "/epoch/item_loss 1"; do
    cp "$D/k2/checkpoint.h5" bad.h5
    CRAFT bad.h5 $craft
    run timeout 60 "$BIN/dpt-train" "${TRAIN_K2[@]}" --data "$D/data.h5" --run-dir r \
      --resume bad.h5
    echo "$craft: $output"
    refused "bad.h5"
    obj=${craft%% *}
    assert_output --partial "${obj#/}"
  done
}

@test "checkpoint: two MPI ranks agree on the refusal (no hang)" {
  cp "$D/k2/checkpoint.h5" bad.h5
  CRAFT bad.h5 /workers/step_count 100000
  run timeout 120 mpirun --allow-run-as-root --oversubscribe -np 2 "$BIN/dpt-train" \
    "${TRAIN_K2[@]}" --data "$D/data.h5" --run-dir r --resume bad.h5
  echo "$output"
  refused "workers/step_count"
  assert_output --partial "rank 0"
  assert_output --partial "rank 1"
}

@test "run file: every metric claiming 2^40 epochs, dpt-aggregate and dpt-inspect name it" {
  mkdir -p runs/a
  cp "$D/k2/run.h5" runs/a/run.h5
  for m in $(h5ls runs/a/run.h5/metrics | awk '{print $1}'); do
    CRAFT runs/a/run.h5 "/metrics/$m" 1099511627776
  done
  run timeout 60 "$BIN/dpt-aggregate" runs
  echo "$output"
  assert_output --partial "runs/a/run.h5"
  assert_output --partial "metrics"
  refute_output --partial "out of memory"
  [ "$status" -eq 1 ] || [ "$status" -eq 4 ]
  run timeout 60 "$BIN/dpt-inspect" runs/a/run.h5
  echo "$output"
  refute_output --partial "out of memory"
  refute_output --partial "signal"
  run timeout 60 "$BIN/dpt-inspect" --check runs/a/run.h5
  echo "$output"
  assert_equal "$status" 1
  assert_output --partial "/metrics/val_acc"
  refute_output --partial "out of memory"
  refute_output --partial "signal"
}

@test "dataset: dpt-inspect --check names a dataset claiming more than the file stores" {
  cp "$D/data.h5" bad.h5
  CRAFT bad.h5 /train/images 100x4294967297x28x28
  run timeout 60 "$BIN/dpt-inspect" --check bad.h5
  echo "$output"
  assert_equal "$status" 1
  assert_output --partial "/train/images"
  refute_output --partial "out of memory"
  refute_output --partial "signal"
}

@test "run file: a /config attribute of 2000 float64s is refused by name (it overran the stack)" {
  mkdir -p runs/a
  cp "$D/k2/run.h5" runs/a/run.h5
  CRAFT --attr-array runs/a/run.h5 /config model.learning_rate 2000
  run timeout 60 "$BIN/dpt-aggregate" runs
  echo "$output"
  assert_equal "$status" 1
  assert_output --partial "runs/a/run.h5"
  assert_output --partial "attribute 'model.learning_rate' holds 2000 values, expected 1"
  refute_output --partial "smashing"
  # the summary reads what it can (the config shows as ?); the check names the attribute
  run timeout 60 "$BIN/dpt-inspect" runs/a/run.h5
  echo "$output"
  assert_output --partial "lr ?"
  refute_output --partial "signal"
  refute_output --partial "smashing"
  run timeout 60 "$BIN/dpt-inspect" --check runs/a/run.h5
  echo "$output"
  assert_equal "$status" 1
  assert_output --partial "/config: attribute 'model.learning_rate': not a scalar"
  refute_output --partial "signal"
}

# The reader checks every column's size before it allocates any: a 170 KB file whose
# /metrics/epoch holds 10^7 deflated rows took 1.7 GB before (every column allocated).
# bounded_rss CMD...: runs CMD under /usr/bin/time; its peak RSS must stay under 300 MB.
bounded_rss() {
  run /usr/bin/time -f "maxrss_kb %M" timeout 60 "$@"
  echo "$output"
  local rss=$(echo "$output" | sed -n 's/^maxrss_kb //p')
  [ "$rss" -lt 300000 ] || { echo "peak RSS $rss KiB: columns allocated before the check"; false; }
  refute_output --partial "out of memory"
  refute_output --partial "signal"
}

@test "run file: /metrics/epoch of 10^7 stored rows is refused in bounded memory" {
  mkdir -p runs/a
  cp "$D/k2/run.h5" runs/a/run.h5
  CRAFT --deflated runs/a/run.h5 /metrics/epoch 10000000
  [ "$(stat -c %s runs/a/run.h5)" -lt 300000 ]
  bounded_rss "$BIN/dpt-aggregate" runs
  assert_equal "$status" 1
  assert_output --partial "/metrics/epoch has 10000000 rows, more than the 100000 epochs"
  bounded_rss "$BIN/dpt-inspect" runs/a/run.h5
  # dpt-sweep status reads every task's run.h5 the same way
  cat >s.yaml <<YAML
name: t
base: $DPT_ROOT/sweeps/base/fashion-mnist.yaml
set: {model.epochs: 1, data.path: $D/data.h5}
grid: {model.learning_rate: [0.01]}
resources: {ranks: 1, time: 5}
YAML
  "$BIN/dpt-sweep" expand s.yaml -o sw >/dev/null
  dir=$(awk -F'\t' '$1 == 0 { print $6 }' sw/manifest.tsv)
  mkdir -p "sw/$dir"
  cp runs/a/run.h5 "sw/$dir/run.h5"
  bounded_rss "$BIN/dpt-sweep" status sw
  assert_output --partial "total 1 task(s)"
}

@test "checkpoint: a flipped bit in /metrics/val_acc is refused by resume and by --check" {
  cp "$D/k2/checkpoint.h5" bad.h5
  CRAFT --flip bad.h5 /metrics/val_acc 0
  run timeout 60 "$BIN/dpt-train" "${TRAIN_K2[@]}" --data "$D/data.h5" --run-dir r --resume bad.h5
  echo "$output"
  refused "bad.h5"
  assert_output --partial "metrics/val_acc: checksum mismatch"
  run timeout 60 "$BIN/dpt-inspect" --check bad.h5
  echo "$output"
  assert_equal "$status" 1
  assert_output --partial "/metrics/val_acc: crc32 of the data is"
}

# A crafted value with a matching crc32: the range check refuses it on load and --check names it.
@test "checkpoint: /metrics/val_acc of 3e307 (crc32 matching) is refused on resume and by --check" {
  cp "$D/k2/checkpoint.h5" bad.h5
  CRAFT --set bad.h5 /metrics/val_acc 0 3e307
  run timeout 60 "$BIN/dpt-inspect" --check bad.h5
  echo "$output"
  assert_equal "$status" 1
  assert_output --partial "/metrics/val_acc[0] is 3e+307, expected an accuracy in [0, 1]"
  refute_output --partial "crc32 of the data"
  run timeout 60 "$BIN/dpt-train" "${TRAIN_K2[@]}" --data "$D/data.h5" --run-dir r --resume bad.h5
  echo "$output"
  refused "bad.h5"
  assert_output --partial "/metrics/val_acc[0] is 3e+307"
}

@test "run file: accuracies outside [0, 1], infinite or negative losses, epochs < 1 are refused" {
  for craft in "val_acc 0 3e307" "train_acc 0 -0.5" "val_loss 0 inf" "train_loss 0 -1" \
               "epoch 0 -5"; do
    set -- $craft
    rm -rf runs && mkdir -p runs/a
    cp "$D/k2/run.h5" runs/a/run.h5
    CRAFT --set runs/a/run.h5 "/metrics/$1" "$2" "$3"
    run timeout 60 "$BIN/dpt-aggregate" runs
    echo "$craft: $output"
    assert_equal "$status" 1
    assert_output --partial "runs/a/run.h5: /metrics/$1[0] is"
    run timeout 60 "$BIN/dpt-inspect" --check runs/a/run.h5
    echo "$craft: $output"
    assert_equal "$status" 1
    assert_output --partial "/metrics/$1[0] is"
  done
}

# no_raw_escape: the output holds no ESC or BEL byte, and shows them escaped instead.
no_raw_escape() {
  ! grep -q $'[\x1b\x07]' <<<"$output"
  assert_output --partial '\x1b'
}

@test "run file: terminal escape codes in its strings are printed escaped" {
  mkdir -p runs/a
  cp "$D/k2/run.h5" runs/a/run.h5
  CRAFT --set-str runs/a/run.h5 /config experiment.name $'\e[2J\e[31mpwned'
  CRAFT --set-str runs/a/run.h5 /provenance hostname $'evil\e]0;title\a'
  CRAFT --set-str runs/a/run.h5 / creator $'dpt-train\e[8m'
  run timeout 60 "$BIN/dpt-aggregate" runs --group-by experiment.name
  echo "$output"
  assert_success
  no_raw_escape
  assert_output --partial '| \x1b[2J\x1b[31mpwned |'
  run timeout 60 "$BIN/dpt-inspect" runs/a/run.h5
  echo "$output"
  no_raw_escape
  assert_output --partial 'host evil\x1b]0;title\x07,'
  assert_output --partial 'written by dpt-train\x1b[8m'
  # an error that quotes a string of the file
  CRAFT --set-str runs/a/run.h5 / schema $'dpt-\e[31mrun'
  run timeout 60 "$BIN/dpt-aggregate" runs
  echo "$output"
  assert_equal "$status" 1
  no_raw_escape
}

@test "sweep status: escape codes in a crafted manifest are printed escaped" {
  cat >s.yaml <<YAML
name: t
base: $DPT_ROOT/sweeps/base/fashion-mnist.yaml
set: {model.epochs: 1, data.path: $D/data.h5}
grid: {experiment.name: [plain]}
resources: {ranks: 1, time: 5}
YAML
  "$BIN/dpt-sweep" expand s.yaml -o sw >/dev/null
  sed -i $'s/\tplain$/\tp\e[2Jlain/' sw/manifest.tsv
  for cmd in status results; do
    run timeout 60 "$BIN/dpt-sweep" $cmd sw
    echo "$cmd: $output"
    no_raw_escape
    assert_output --partial 'p\x1b[2Jlain'
  done
}

@test "run file: an infinite or out-of-range result is refused, never shown as the best" {
  for craft in "best_val_acc inf" "test_acc_last 3e307" "test_loss_best -1" "best_epoch -3"; do
    set -- $craft
    rm -rf runs && mkdir -p runs/a runs/b
    cp "$D/k2/run.h5" runs/a/run.h5
    cp "$D/k2/run.h5" runs/b/run.h5
    CRAFT --set-attr runs/a/run.h5 /results "$1" "$2"
    run timeout 60 "$BIN/dpt-aggregate" runs
    echo "$craft: $output"
    assert_output --partial "runs/a/run.h5: /results: attribute '$1' is"
    assert_output --partial "1 run in 1 row"
    ! grep '^|' <<<"$output" | grep -qE 'inf|e\+307'
    run timeout 60 "$BIN/dpt-inspect" runs/a/run.h5
    echo "$craft: $output"
    refute_output --partial "inf"
    refute_output --partial "e+307"
    refute_output --partial "epoch -3"
  done
  # a checkpoint's best: named, not shown
  cp "$D/k2/checkpoint.h5" ck.h5
  CRAFT --set-attr ck.h5 / best_val_acc inf
  run timeout 60 "$BIN/dpt-inspect" ck.h5
  echo "$output"
  assert_output --partial "best        ? (best_val_acc is inf, expected an accuracy in [0, 1]"
}

@test "run file: a crafted /rounds (unknown kind, negative count, wrong or huge size) is refused by name" {
  for craft in "--set kind 0 7|/rounds/kind[0] is 7, expected 0 .. 2 (gradient, average, outer)" \
               "--set collective 0 3|/rounds/collective[0] is 3, expected 0 .. 2 (allreduce, allgather, broadcast)" \
               "--set images 0 -5|/rounds/images[0] is -5, expected a count >= 0" \
               "--deflated floats 3|/rounds/floats has 3 values, /rounds/step" \
               "step 1099511627776|claims 8796093022208 bytes but the file stores only"; do
    set -- ${craft%%|*}
    rm -rf runs && mkdir -p runs/a
    cp "$D/k2/run.h5" runs/a/run.h5
    if [ "$1" = --set ]; then CRAFT --set runs/a/run.h5 "/rounds/$2" "$3" "$4"
    elif [ "$1" = --deflated ]; then CRAFT --deflated runs/a/run.h5 "/rounds/$2" "$3"
    else CRAFT runs/a/run.h5 "/rounds/$1" "$2"; fi
    run timeout 60 "$BIN/dpt-aggregate" runs
    echo "$craft: $output"
    refused "runs/a/run.h5"
    assert_output --partial "${craft#*|}"
    run timeout 60 "$BIN/dpt-inspect" --check runs/a/run.h5
    echo "$craft: $output"
    refused "${craft#*|}"
    # the summary still shows the rest of the run
    run timeout 60 "$BIN/dpt-inspect" runs/a/run.h5
    assert_output --partial "rounds      ? (no /rounds"
    refute_output --partial "Segmentation"
  done
}

@test "checkpoint: a crafted /rounds is refused on resume and by --check, a flipped bit too" {
  for craft in "--set 0 9|/rounds/kind[0] is 9, expected 0 .. 2" \
               "--flip 0|rounds/kind: checksum mismatch (the file is damaged)"; do
    cp "$D/k2/checkpoint.h5" bad.h5
    set -- ${craft%%|*}
    CRAFT "$1" bad.h5 /rounds/kind "${@:2}"
    for cmd in "dpt-train ${TRAIN_K2[*]} --data $D/data.h5 --run-dir r --resume bad.h5" \
               "dpt-inspect --check bad.h5"; do
      run timeout 60 $BIN/$cmd
      echo "$craft: $cmd: $output"
      refused "bad.h5"
      [[ $cmd == *--check* && $1 == --flip ]] || assert_output --partial "${craft#*|}"
    done
  done
}
