#!/usr/bin/env bats
# Files that are not what they seem (issue 20, items 2, 5 and 8): a symbolic link planted
# where dpt writes, a FIFO where it reads, a results table outside the run directory, a
# run name that leaves runs/, a run directory too long for Open MPI's MPI-IO. Every case
# uses the real thing (ln -s, mkfifo) and runs under `timeout`, so a hang fails the test.
load helper

setup_file() {
  "$BIN/dpt-data" fashion-mnist --src "$FMNIST_SRC" --limit 120 -o "$BATS_FILE_TMPDIR/data.h5" >/dev/null
}

setup() {
  DATA="$BATS_FILE_TMPDIR/data.h5"
  TRAIN=(-c "$DPT_ROOT/tests/fixtures/seed/centralized.yaml" --data "$DATA" --set model.epochs=1)
  cd "$BATS_TEST_TMPDIR"
  echo "precious" >victim
}

# victim_intact: the file the planted links point to still holds what it held.
victim_intact() { [ "$(cat victim)" = precious ]; }

# a finished run with a results table: the fixtures the readers below are pointed at
finished_run() {
  timeout 120 "$BIN/dpt-train" "${TRAIN[@]}" --set experiment.output=t.csv --run-dir "$1" >/dev/null 2>&1
}

@test "a planted RUN_DIR/.lock symlink is refused, not followed: its target keeps its bytes" {
  mkdir r
  ln -s "$PWD/victim" r/.lock
  run timeout 60 "$BIN/dpt-train" "${TRAIN[@]}" --set experiment.output= --run-dir r
  assert_failure 1
  assert_output --partial "r/.lock: a symbolic link; refusing to open it"
  victim_intact
  # a FIFO there neither blocks nor is accepted
  rm r/.lock && mkfifo r/.lock
  run timeout 60 "$BIN/dpt-train" "${TRAIN[@]}" --set experiment.output= --run-dir r
  assert_failure 1
  assert_output --partial "r/.lock: a FIFO; refusing to"
}

@test "a FIFO named run.h5 hangs no reader: aggregate, inspect, sweep status and complete refuse it" {
  mkdir -p f/r
  mkfifo f/r/run.h5
  run timeout -k 5 20 "$BIN/dpt-inspect" f/r/run.h5
  assert_failure 1
  assert_output --partial "f/r/run.h5: not a regular file (a FIFO)"
  run timeout -k 5 20 "$BIN/dpt-inspect" --check f/r/run.h5
  assert_failure 1
  assert_output --partial "not a regular file (a FIFO)"
  run timeout -k 5 20 "$BIN/dpt-aggregate" f
  [ "$status" -ne 124 ]
  assert_output --partial "f/r/run.h5: not a regular file (a FIFO)"
  run timeout -k 5 20 "$BIN/dpt-sweep" complete f/r
  assert_failure 1
  # a sweep whose task's run.h5 is a FIFO
  printf 'name: s\nbase:\n  model: {name: LeNet5, epochs: 1}\ngrid: {model.learning_rate: [0.01]}\n' >s.yaml
  "$BIN/dpt-sweep" expand s.yaml -o sw >/dev/null
  task=$(awk -F'\t' '$1 == 0 { print $6 }' sw/manifest.tsv)
  mkfifo "sw/$task/run.h5"
  run timeout -k 5 20 "$BIN/dpt-sweep" status sw
  [ "$status" -ne 124 ]
  run timeout -k 5 20 "$BIN/dpt-sweep" complete "sw/$task"
  assert_failure 1
}

@test "--plots: symbolic links at the plot files and the data directory are refused, not written through" {
  finished_run r
  for f in val_acc_epoch.gp val_acc_epoch.svg val_acc_epoch.png data/g000.dat; do
    rm -rf p && mkdir -p p/data
    ln -s "$PWD/victim" "p/$f"
    run timeout 60 "$BIN/dpt-aggregate" --plots p r
    assert_failure 1
    assert_output --partial "p/$f: a symbolic link; refusing to"
    victim_intact
  done
  rm -rf p && mkdir p && mkdir elsewhere && ln -s "$PWD/elsewhere" p/data
  run timeout 60 "$BIN/dpt-aggregate" --plots p r
  assert_failure 1
  assert_output --partial "p/data: a symbolic link; expected a directory"
  [ -z "$(ls elsewhere)" ]
}

@test "experiment.output: ~/.bashrc, an absolute path and '..' are refused before any work" {
  for v in '~/.bashrc' "$PWD/victim" ../x.csv a/../../x.csv; do
    run timeout 60 "$BIN/dpt-train" "${TRAIN[@]}" --set "experiment.output=$v" --run-dir r
    assert_failure 1
    assert_output --partial "experiment.output: '$v': expected a relative path ending in .csv, inside the run directory"
    refute_output --partial "epoch 1/1"
    victim_intact
  done
}

@test "experiment.output: a link on the way, a FIFO or a table that is not dpt's is refused; the row is quoted" {
  mkdir -p r && ln -s "$PWD/victim" r/t.csv
  run timeout 120 "$BIN/dpt-train" "${TRAIN[@]}" --set experiment.output=t.csv --run-dir r
  assert_failure 1
  assert_output --partial "r/t.csv: a symbolic link; refusing to open it"
  victim_intact
  mkdir -p elsewhere s && ln -s "$PWD/elsewhere" s/sub
  run timeout 120 "$BIN/dpt-train" "${TRAIN[@]}" --set experiment.output=sub/t.csv --run-dir s
  assert_failure 1
  assert_output --partial "s/sub: not a directory (a symbolic link is not followed)"
  [ -z "$(ls elsewhere)" ]
  mkdir -p q && mkfifo q/t.csv
  run timeout 120 "$BIN/dpt-train" "${TRAIN[@]}" --set experiment.output=t.csv --run-dir q
  assert_failure 1
  assert_output --partial "q/t.csv: a FIFO"
  mkdir -p o && echo 'alias ls=rm' >o/t.csv
  run timeout 120 "$BIN/dpt-train" "${TRAIN[@]}" --set experiment.output=t.csv --run-dir o
  assert_failure 1
  assert_output --partial "o/t.csv: not a dpt results table"
  [ "$(cat o/t.csv)" = "alias ls=rm" ]
  # A name that is shell code is one quoted CSV field (the quotes would not stop a shell:
  # what does is that the table is a .csv with dpt's header inside the run directory).
  run timeout 120 "$BIN/dpt-train" "${TRAIN[@]}" --set experiment.output=t.csv \
      --set 'experiment.name=$(touch pwned)' --run-dir n
  assert_success
  grep -qF '"$(touch pwned)"' n/t.csv
  [ "$(wc -l <n/t.csv)" -eq 2 ]
}

@test "experiment.name: '../../x' and control characters are refused; nothing is created outside runs/" {
  mkdir -p deep/a && cd deep/a
  run timeout 60 "$BIN/dpt-train" "${TRAIN[@]}" --set experiment.output= --set experiment.name=../../x
  assert_failure 1
  assert_output --partial "experiment.name: '../../x': expected a name without '/', '..' or control characters"
  [ ! -e ../../x-v1 ] && [ ! -e runs ]
  run timeout 60 "$BIN/dpt-train" "${TRAIN[@]}" --set experiment.output= --set "experiment.name=\"a\\x1b[2Jb\""
  assert_failure 1
  assert_output --partial "'a?[2Jb'"
}

@test "a run directory too long for Open MPI's MPI-IO is refused at start-up, naming the limit" {
  long=$(printf 'd%.0s' $(seq 1 230))
  run timeout 120 mpirun --allow-run-as-root --oversubscribe -np 2 "$BIN/dpt-train" "${TRAIN[@]}" --set experiment.output= --run-dir "$long"
  assert_failure 1
  assert_output --partial "Open MPI's MPI-IO aborts on names longer than 244"
  assert_output --partial "shorten the run directory"
  refute_output --partial "buffer overflow"
  refute_output --partial "epoch 1/1"
  # one that fits trains and checkpoints: DIR/checkpoint.h5.tmp.HOST.PID.RANDOM within 244
  n=$((244 - 19 - $(hostname | tr -d '\n' | wc -c) - 1 - 7 - 9))
  fits=$(printf 'd%.0s' $(seq 1 $n))
  run timeout 120 mpirun --allow-run-as-root --oversubscribe -np 2 "$BIN/dpt-train" "${TRAIN[@]}" --set experiment.output= --run-dir "$fits"
  assert_success
  [ -f "$fits/checkpoint.h5" ]
}

@test "a FIFO given as the config or a sweep spec hangs nothing (no writer: read as empty); a pipe still works" {
  mkfifo cfg.yaml
  # An empty config is every default: --check-config prints it.
  run timeout -k 5 20 "$BIN/dpt-train" -c cfg.yaml --data "$DATA" --check-config
  [ "$status" -ne 124 ]
  assert_success
  assert_output --partial "name: run"
  run timeout -k 5 20 "$BIN/dpt-sweep" expand cfg.yaml -o sw
  [ "$status" -ne 124 ]
  assert_failure
  [ ! -e sw ]
  run timeout -k 5 20 bash -c '"$0" -c <(sed s/epochs:.*/epochs:\ 7/ "$1") --data "$2" --check-config' \
    "$BIN/dpt-train" "$DPT_ROOT/tests/fixtures/seed/centralized.yaml" "$DATA"
  assert_success
  assert_output --partial "epochs: 7"
}
