#!/usr/bin/env bats
# Checkpoints and exact resume: a run stopped by a signal in the middle of an epoch and
# resumed (on the same or another number of ranks) is the uninterrupted run; SIGKILL at
# any moment leaves a usable checkpoint; damaged and foreign checkpoints are refused.

load helper

# Test splits of a tenth: the runs here are compared whole, their test accuracies only as
# part of same_learning. DATA3's 1080 training images make 17 steps of 64 per epoch.
setup_file() {
  DATA3=$(small_fmnist 1200 120)
  export DATA3
}

teardown() { check_written_files; }

setup() {
  DATA=$(small_fmnist 600 60)
  SLOWMO="$DPT_ROOT/tests/fixtures/seed/slowmo.yaml"
  CENTRAL="$DPT_ROOT/tests/fixtures/seed/centralized.yaml"
  cd "$BATS_TEST_TMPDIR"
}



LOCAL=(--set model.epochs=5 --set model.work.batch_size=16 --set experiment.output=)

@test "LocalSGD K=4 stopped by SIGUSR1 mid-epoch on P=2, resumed on P=2, 4 and 1: the same run" {
  # 540 training images: 9 steps of 16 images per worker and epoch
  args=(-c "$SLOWMO" --data "$DATA" "${LOCAL[@]}" --set model.epochs=3)
  "$BIN/dpt-train" "${args[@]}" --run-dir ref >/dev/null
  stop_mid_epoch 2 stopped "${args[@]}"
  for p in 2 4 1; do
    rm -rf "r$p" && cp -r stopped "r$p"
    run mpi $p "$BIN/dpt-train" "${args[@]}" --run-dir "r$p" --resume auto
    assert_success
    assert_output --partial "resuming from r$p/checkpoint.h5"
    same_learning ref "r$p"
    same_ledger ref "r$p"
  done
}

@test "intervals and evals continue exactly across a stop mid-epoch (K = 4 LocalSGD, batch 64), resumed on other P" {
  between=(--set metrics.every_steps=5 --set eval.every_rounds=4)
  largs=(-c "$SLOWMO" --data "$DATA3" "${LOCAL[@]}" --set model.epochs=2 "${between[@]}")
  cargs=(-c "$CENTRAL" --data "$DATA3" --set model.epochs=2 --set experiment.output=
         --set model.batch_size=64 "${between[@]}")
  "$BIN/dpt-train" "${largs[@]}" --run-dir lref >/dev/null
  "$BIN/dpt-train" "${cargs[@]}" --run-dir cref >/dev/null
  stop_mid_epoch 2 lstop "${largs[@]}"
  stop_mid_epoch 1 cstop "${cargs[@]}"
  run mpi 4 "$BIN/dpt-train" "${largs[@]}" --run-dir lstop --resume auto
  assert_success
  run mpi 2 "$BIN/dpt-train" "${cargs[@]}" --run-dir cstop --resume auto
  assert_success
  for g in intervals evals; do
    h5diff lref/run.h5 lstop/run.h5 "/$g" "/$g"
    h5diff cref/run.h5 cstop/run.h5 "/$g" "/$g"
  done
  same_learning lref lstop
  same_learning cref cstop
  # there were rows to compare: 17 steps per epoch, rows at 5, 10, 15, 17, 20, ...
  h5dump -d /intervals/step cstop/run.h5 | grep -q "5, 10, 15, 17, 20, 25, 30, 34"
  h5dump -d /evals/rounds_total cstop/run.h5 | grep -q "4, 8, 12, 16, 20, 24, 28, 32"
}

@test "centralized SGDM stopped mid-epoch resumes exactly, also from experiment.resume: true" {
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA3" --set model.epochs=3 --set experiment.output= \
      --run-dir ref >/dev/null
  stop_mid_epoch 1 stopped -c "$CENTRAL" --data "$DATA3" --set model.epochs=3 --set experiment.output=
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA3" --set model.epochs=3 --set experiment.output= \
      --set experiment.resume=true --run-dir stopped
  assert_success
  assert_output --partial "resuming from"
  same_learning ref stopped
  same_ledger ref stopped
}

@test "a stop inside the first epoch (no metrics yet) resumes exactly" {
  "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA3" "${LOCAL[@]}" --set model.epochs=2 --run-dir ref >/dev/null
  EPOCH=1 DELAYS="0.2 0.4 0.1 0.6 0.05 0.3" stop_mid_epoch 1 stopped -c "$SLOWMO" --data "$DATA3" \
      "${LOCAL[@]}" --set model.epochs=2
  run mpi 2 "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA3" "${LOCAL[@]}" --set model.epochs=2 \
      --run-dir stopped --resume auto
  assert_success
  same_learning ref stopped
}

@test "a second signal while checkpointing changes nothing: the run still resumes exactly" {
  "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA3" "${LOCAL[@]}" --set model.epochs=2 --run-dir ref >/dev/null
  TWICE=1 stop_mid_epoch 1 stopped -c "$SLOWMO" --data "$DATA3" "${LOCAL[@]}" --set model.epochs=2
  [ -z "$(compgen -G "stopped/checkpoint.h5.tmp*")" ]
  run "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA3" "${LOCAL[@]}" --set model.epochs=2 \
      --run-dir stopped --resume auto
  assert_success
  same_learning ref stopped
}

@test "SIGKILL at random moments always leaves a checkpoint that resumes (20 trials)" {
  # 3 epochs (about 2.5 s of CPU here) outlast the kills, 0.3-1.5 s after the start, which
  # land in the first epochs and their checkpoint writes; each resume trains what is left.
  # The kills are timed for Open MPI's own start-up (helper.bash shortens it).
  unset OMPI_MCA_pml
  args=(-c "$CENTRAL" --data "$DATA" --set model.epochs=3 --set experiment.output=)
  "$BIN/dpt-train" "${args[@]}" --run-dir ref >/dev/null
  killed=0
  for trial in $(seq 1 20); do
    rm -rf k
    "$BIN/dpt-train" "${args[@]}" --run-dir k >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v s="$trial" 'BEGIN { srand(s); printf "%.2f", 0.3 + rand() * 1.2 }')"
    kill -KILL "$pid" 2>/dev/null && killed=$((killed + 1))
    wait "$pid" 2>/dev/null || true
    if [ -e k/checkpoint.h5 ]; then
      h5dump -a /complete k/checkpoint.h5 | grep -q "(0): 1"
      run "$BIN/dpt-train" "${args[@]}" --run-dir k --resume auto
      assert_success
      same_learning ref k
    fi
    # run.h5, when present, is always a whole file
    [ ! -e k/run.h5 ] || h5dump -a /complete k/run.h5 | grep -q "(0): 1"
  done
  echo "killed $killed runs"
  [ "$killed" -ge 15 ]
}

@test "collective transfers stay collective on 2 ranks" {
  mpi 2 "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" --set model.epochs=1 \
      --set experiment.output= --run-dir r >/dev/null
  run h5dump -a /io_no_collective_cause r/checkpoint.h5
  assert_output --partial "(0): 0"
  run h5dump -H -d /workers/params r/checkpoint.h5
  assert_output --partial "( 4, "
}

@test "damaged, truncated and foreign checkpoints are refused clearly" {
  "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" --set model.epochs=1 --set experiment.output= \
      --run-dir r >/dev/null
  # truncated
  head -c 100000 r/checkpoint.h5 > trunc.h5
  run "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" --set experiment.output= --run-dir x --resume trunc.h5
  assert_failure 1
  assert_output --partial "trunc.h5"
  # a flipped byte inside the worker parameters: the checksum catches it
  cp r/checkpoint.h5 flip.h5
  off=$(( $(stat -c %s flip.h5) / 2 ))
  printf '\x55' | dd of=flip.h5 bs=1 seek="$off" conv=notrunc 2>/dev/null
  run "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" --set experiment.output= --run-dir x --resume flip.h5
  assert_failure 1
  assert_output --partial "flip.h5"
  # a run file is not a checkpoint
  run "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" --set experiment.output= --run-dir x --resume r/run.h5
  assert_failure 1
  assert_output --partial "expected 'dpt-checkpoint'"
  # missing
  run "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" --set experiment.output= --run-dir x --resume nowhere.h5
  assert_failure 1
  assert_output --partial "nowhere.h5"
}

@test "a checkpoint of another run is refused, naming the differing keys" {
  "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" --set model.epochs=1 --set experiment.output= \
      --run-dir r >/dev/null
  run "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" --set model.epochs=1 --set experiment.output= \
      --set model.num_workers=2 --set model.slowmo.momentum=0.3 --run-dir r --resume auto
  assert_failure 1
  assert_output --partial "belongs to a different run"
  assert_output --partial "model.num_workers is 4 there, 2 here"
  assert_output --partial "model.slowmo.momentum"
}

@test "model.pretrained starts from a checkpoint; experiment.test_only evaluates it" {
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=2 --set experiment.output= \
      --run-dir a >/dev/null
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set experiment.output= \
      --set model.pretrained=a/checkpoint.h5 --set experiment.test_only=true --run-dir t
  assert_success
  assert_output --partial "test only"
  # the same weights give the same test accuracy as the run that made them
  [ "$(h5dump -a /results/test_acc_last a/run.h5 | grep '(0)')" = \
    "$(h5dump -a /results/test_acc_last t/run.h5 | grep '(0)')" ]
  run h5dump -d /metrics/epoch t/run.h5
  assert_output --partial "( 0 )"
  # training from pretrained weights starts better than from scratch
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=1 --set experiment.output= \
      --set model.pretrained=a/checkpoint.h5 --run-dir p >/dev/null
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=1 --set experiment.output= \
      --run-dir s >/dev/null
  p=$(h5dump -a /results/test_loss_last p/run.h5 | sed -n 's/.*(0): //p')
  s=$(h5dump -a /results/test_loss_last s/run.h5 | sed -n 's/.*(0): //p')
  awk -v p="$p" -v s="$s" 'BEGIN { exit !(p < s) }'
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set experiment.test_only=true --run-dir u
  assert_failure 1
  assert_output --partial "needs model.pretrained"
}

@test "a finished run is kept: refused without --force, already complete with --resume auto" {
  args=(-c "$CENTRAL" --data "$DATA" --set model.epochs=1 --set experiment.output=)
  "$BIN/dpt-train" "${args[@]}" --run-dir r >/dev/null
  run_sum() { md5sum r/run.h5 r/checkpoint.h5; }
  before=$(run_sum)
  # a second hand run differing in one key, into the same (default-named) directory
  run "$BIN/dpt-train" "${args[@]}" --set model.learning_rate=0.5 --run-dir r
  assert_failure 1
  assert_output --partial "r holds a finished run"
  assert_output --partial "--force"
  [ "$(run_sum)" = "$before" ]
  # the default run directory runs/NAME-vVERSION is guarded alike
  mkdir -p w && cd w
  "$BIN/dpt-train" "${args[@]}" >/dev/null
  run "$BIN/dpt-train" "${args[@]}" --set model.learning_rate=0.5
  assert_failure 1
  assert_output --regexp "runs/[^ ]*-v[0-9.]* holds a finished run"
  cd ..
  # --resume auto (or experiment.resume: true) has nothing to do: no re-evaluation
  for how in "--resume auto" "--set experiment.resume=true"; do
    run "$BIN/dpt-train" "${args[@]}" --run-dir r $how
    assert_success
    assert_output --partial "already complete"
    refute_output --partial " -> " # no start-up line: nothing loaded or trained
    [ "$(run_sum)" = "$before" ]
  done
  # ... unless the config is another: that is refused, naming the key
  run "$BIN/dpt-train" "${args[@]}" --set model.learning_rate=0.5 --run-dir r --resume auto
  assert_failure 1
  assert_output --partial "model.learning_rate is"
  [ "$(run_sum)" = "$before" ]
  # --force trains again over it
  run "$BIN/dpt-train" "${args[@]}" --set model.learning_rate=0.5 --run-dir r --force
  assert_success
  [ "$(run_sum)" != "$before" ]
  run h5dump -a /config r/run.h5
  assert_output --partial "learning_rate: 0.5"
  # afresh also with a resume asked for: not from the finished run's last checkpoint
  run "$BIN/dpt-train" "${args[@]}" --set model.learning_rate=0.5 --run-dir r --force --resume auto
  assert_success
  refute_output --partial "resuming from"
  assert_output --partial "epoch 1/1"
}

# other_data DIR: a source directory of DATA's images (600 and 60), to be altered
other_data() { fmnist_src "$1" 600 60; }

@test "a checkpoint resumes only on its own data: other pixels or labels of the same shape are refused" {
  args=(-c "$CENTRAL" --set model.epochs=1 --set experiment.output=)
  "$BIN/dpt-train" "${args[@]}" --data "$DATA" --run-dir r >/dev/null
  # run.h5 records the crc32s of the data it read: here the dataset file's own
  for s in train test; do
    for k in images labels; do
      want=$(h5dump -a "/$s/${k}_crc32" "$DATA" | sed -n 's/.*(0): //p')
      got=$(h5dump -a "/provenance/${s}_${k}_crc32" r/run.h5 | sed -n 's/.*(0): //p')
      [ -n "$want" ] && [ "$got" = "$want" ]
    done
  done
  # the same images with inverted pixels, and with labels shifted by one class
  other_data inv
  perl -0777 -pi -e 'my $px = substr($_, 16); substr($_, 16) = $px ^ ("\xff" x length $px)' \
      inv/train-images-idx3-ubyte
  "$BIN/dpt-data" fashion-mnist --src inv --limit 600 -o inv.h5 >/dev/null
  other_data shift
  perl -0777 -pi -e 'substr($_, 8) =~ tr/\x00-\x09/\x01-\x09\x00/' shift/train-labels-idx1-ubyte
  "$BIN/dpt-data" fashion-mnist --src shift --limit 600 -o shift.h5 >/dev/null
  run "$BIN/dpt-train" "${args[@]}" --data inv.h5 --run-dir x --resume r/checkpoint.h5
  assert_failure 1
  assert_output --regexp "r/checkpoint.h5 was written on other data: its train_images_crc32 is [0-9a-f]{8}, that of inv.h5 \(data.path\) [0-9a-f]{8}"
  run "$BIN/dpt-train" "${args[@]}" --data shift.h5 --run-dir y --resume r/checkpoint.h5
  assert_failure 1
  assert_output --partial "its train_labels_crc32 is"
  assert_output --partial "that of shift.h5 (data.path)"
  # its own data (at another path) resumes
  cp "$DATA" same.h5
  run "$BIN/dpt-train" "${args[@]}" --data same.h5 --run-dir z --resume r/checkpoint.h5
  assert_success
  assert_output --partial "resuming from r/checkpoint.h5"
}
