#!/usr/bin/env bats
# dpt-train: usage, config validation, training on a small import, run.h5 contents,
# determinism, and clear errors for bad input.

load helper

teardown() { check_written_files; }

setup() {
  DATA=$(small_fmnist 600 60) # (60 test images: the tests compare the training)
  CFG="$DPT_ROOT/tests/fixtures/seed/centralized.yaml"
  cd "$BATS_TEST_TMPDIR"
}

# metric NAME FILE: the values of /metrics/NAME, one per line
metric() {
  h5dump -d "/metrics/$1" -y -w 0 "$2" | sed -n '/DATA {/,/}/p' | grep -v -e DATA -e '}' | tr -d ' '
}

@test "--help shows usage and examples" {
  run "$BIN/dpt-train" --help
  assert_success
  assert_output --partial "usage: dpt-train -c CONFIG.yaml"
  assert_output --partial "--set KEY=VALUE"
}

@test "no config is a usage error" {
  run "$BIN/dpt-train"
  assert_equal "$status" 2
  assert_output --partial "no config given"
}

@test "unknown option is a usage error" {
  run "$BIN/dpt-train" -c "$CFG" --bogus
  assert_equal "$status" 2
  assert_output --partial "--bogus"
}

@test "the seed's four configs load unchanged" {
  for f in centralized distributed slowmo dynamic; do
    run "$BIN/dpt-train" -c "$DPT_ROOT/tests/fixtures/seed/$f.yaml" --check-config
    assert_success
    assert_output --partial "name: $f"
  done
  run "$BIN/dpt-train" -c "$DPT_ROOT/tests/fixtures/seed/dynamic.yaml" --check-config
  assert_output --partial "strategy: LossLS"
  assert_output --partial "num_workers: 4"
}

@test "--set overrides and --check-config prints the resolved value" {
  run "$BIN/dpt-train" -c "$CFG" --set model.epochs=7 --set optim.beta1=0.8 --check-config
  assert_success
  assert_output --partial "epochs: 7"
  assert_output --partial "beta1: 0.8"
}

@test "--data and --limit given twice: the last one counts" {
  run "$BIN/dpt-train" -c "$CFG" --data /tmp/a-rather-long-dataset-path/fashion.h5 --limit 5 \
    --data m.h5 --limit 7 --check-config
  assert_success
  assert_output --partial "path: m.h5"
  assert_output --partial "limit: 7"
}

@test "unknown key names the file, line and key" {
  printf 'model:\n  name: LeNet\n  epochz: 3\n' > bad.yaml
  run "$BIN/dpt-train" -c bad.yaml --check-config
  assert_failure 1
  assert_output --partial "bad.yaml:3: unknown key 'model.epochz'"
}

@test "a wrong type names the key and the expected form" {
  printf 'model:\n  epochs: ten\n' > bad.yaml
  run "$BIN/dpt-train" -c bad.yaml --check-config
  assert_failure 1
  assert_output --partial "bad.yaml:2: model.epochs: expected an integer, got 'ten'"
}

@test "broken YAML is a syntax error with a line" {
  printf 'model:\n  name: [LeNet\n  epochs: 3\n' > bad.yaml
  run "$BIN/dpt-train" -c bad.yaml --check-config
  assert_failure 1
  assert_output --partial "bad.yaml:"
  assert_output --partial "YAML syntax error"
}

@test "a missing config file is named" {
  run "$BIN/dpt-train" -c nowhere.yaml
  assert_failure 1
  assert_output --partial "nowhere.yaml: cannot open"
}

@test "a missing dataset says how to import one" {
  run "$BIN/dpt-train" -c "$CFG" --data missing/cifar100.h5 --run-dir r
  assert_failure 1
  assert_output --partial "missing/cifar100.h5: dataset not found"
  assert_output --partial "dpt-data cifar100"
  assert_output --partial "dpt-data fashion-mnist"
  [ ! -e r/run.h5 ]
}

@test "a missing dataset lists the .h5 files beside it" {
  mkdir data
  touch data/fashion-mnist.h5 data/cifar10.h5 data/notes.txt
  run "$BIN/dpt-train" -c "$CFG" --data data/cifar100.h5 --run-dir r
  assert_failure 1
  assert_output --partial "data/cifar100.h5: dataset not found (data holds cifar10.h5, fashion-mnist.h5)"
  refute_output --partial notes.txt
  for i in $(seq 10 21); do touch data/f$i.h5; done
  run "$BIN/dpt-train" -c "$CFG" --data data/cifar100.h5 --run-dir r
  assert_output --partial "f18.h5 and 4 more)"
  run "$BIN/dpt-train" -c "$CFG" --data nowhere/cifar100.h5 --run-dir r
  assert_output --partial "(nowhere does not exist)"
  [ ! -e r/run.h5 ]
}

@test "a file that is not a dataset is refused clearly" {
  echo "not hdf5" > fake.h5
  run "$BIN/dpt-train" -c "$CFG" --data fake.h5 --run-dir r
  assert_failure 1
  assert_output --partial "fake.h5"
  [ ! -e r/run.h5 ]
}

@test "trains two epochs, reports progress and writes a complete run.h5" {
  run "$BIN/dpt-train" -c "$CFG" --data "$DATA" --set model.epochs=2 \
      --set experiment.output=results.csv --run-dir r
  assert_success
  assert_output --partial "epoch 1/2"
  assert_output --partial "epoch 2/2"
  assert_output --partial "img/s"
  assert_output --partial "test: last model"
  [ -f r/run.h5 ]
  [ -z "$(compgen -G "r/run.h5.tmp*")" ]
  run h5dump -a /schema r/run.h5
  assert_output --partial '"dpt-run"'
  run h5dump -a /status r/run.h5
  assert_output --partial '"complete"'
  run h5dump -a /metrics/images_per_s/units r/run.h5
  assert_output --partial '"images/s"'
  [ "$(metric epoch r/run.h5 | wc -l)" -eq 2 ]
  # the training loss falls from the first epoch to the second
  first=$(metric train_loss r/run.h5 | sed -n 1p | tr -d ,)
  second=$(metric train_loss r/run.h5 | sed -n 2p | tr -d ,)
  awk -v a="$first" -v b="$second" 'BEGIN { exit !(b < a) }'
  # the seed's results table, inside the run directory: a header and one row
  [ "$(wc -l < r/results.csv)" -eq 2 ]
  head -n 1 r/results.csv | grep -q "model.epochs"
  run h5dump -a /config r/run.h5
  assert_output --partial "epochs: 2"
}

@test "same config and seed give bitwise the same metrics and test accuracy" {
  "$BIN/dpt-train" -c "$CFG" --data "$DATA" --set model.epochs=2 --set experiment.output= --run-dir a >/dev/null
  "$BIN/dpt-train" -c "$CFG" --data "$DATA" --set model.epochs=2 --set experiment.output= --run-dir b >/dev/null
  for m in lr train_loss train_acc val_loss val_acc; do
    run h5diff a/run.h5 b/run.h5 "/metrics/$m" "/metrics/$m"
    assert_success
  done
  for a in test_acc_last test_loss_last test_acc_best; do
    [ "$(h5dump -a /results/$a a/run.h5 | grep '(0)')" = "$(h5dump -a /results/$a b/run.h5 | grep '(0)')" ]
  done
  # a different seed gives a different run
  "$BIN/dpt-train" -c "$CFG" --data "$DATA" --set model.epochs=2 --set experiment.output= --set experiment.seed=5 --run-dir c >/dev/null
  run h5diff a/run.h5 c/run.h5 /metrics/train_loss /metrics/train_loss
  assert_failure
}

@test "runs under mpirun -np 1 like without a launcher" {
  # Open MPI's own defaults, as a user has them (helper.bash sets a faster start-up)
  env -u OMPI_MCA_pml \
      "$BIN/dpt-train" -c "$CFG" --data "$DATA" --set model.epochs=1 --set experiment.output= --run-dir a >/dev/null
  run mpirun --allow-run-as-root --oversubscribe -np 1 "$BIN/dpt-train" -c "$CFG" \
      --data "$DATA" --set model.epochs=1 --set experiment.output= --run-dir b
  assert_success
  run h5diff a/run.h5 b/run.h5 /metrics/train_loss /metrics/train_loss
  assert_success
}

@test "early stopping with patience ends the run and says so" {
  run "$BIN/dpt-train" -c "$CFG" --data "$DATA" --set model.epochs=30 --set model.patience=1 \
      --set model.learning_rate=1e-9 --set experiment.output= --run-dir r
  assert_success
  assert_output --partial "early stop"
  run h5dump -a /results/stopped_early r/run.h5
  assert_output --partial "(0): 1"
}
