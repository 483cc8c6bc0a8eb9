#!/usr/bin/env bats
# Faults around dpt-train (issue 11.4-11.7): stop signals during start-up, a file system
# that fills up while the ranks write a checkpoint, a second trainer on the same run
# directory, runs sharing experiment.checkpoint_dir, and config counts that would size
# absurd allocations.

load helper

teardown() {
  check_written_files
  if [ -n "${MNT:-}" ]; then umount "$MNT" 2>/dev/null || true; fi
}

setup() {
  # Open MPI's own start-up, as a user has it: the signals below land during it
  unset OMPI_MCA_pml
  DATA=$(small_fmnist 200)
  CENTRAL="$DPT_ROOT/tests/fixtures/seed/centralized.yaml"
  ARGS=(-c "$CENTRAL" --data "$DATA" --set experiment.output= --set model.epochs=2)
  cd "$BATS_TEST_TMPDIR"
}

# started PID: waits until PID runs dpt-train itself (exec done), so a signal reaches the
# trainer, not the shell that starts it.
started() {
  local i
  for i in $(seq 1 500); do
    [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$(readlink -f "$BIN/dpt-train")" ] && return 0
    sleep 0.01
  done
  return 1
}

# finish PID SECONDS: waits for PID, its exit status into RC; a process still running
# after SECONDS is killed and fails the test (a hang, not a stuck test run).
finish() {
  local i
  RC=0
  for i in $(seq 1 $(($2 * 10))); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$1" 2>/dev/null; then
    pkill -KILL -P "$1" 2>/dev/null || true
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    echo "hung: still running after $2 s"
    return 1
  fi
  wait "$1" || RC=$?
}

@test "a stop signal at any moment of start-up ends the run with exit 3; it resumes later" {
  # 8 epochs, so that the last delay still lands before the run ends (with 2, an AVX-512
  # Zen 4 finished the whole run in 0.5 s and exited 0)
  ARGS+=(--set model.epochs=8)
  "$BIN/dpt-train" "${ARGS[@]}" --run-dir ref >/dev/null 2>&1
  for sig in TERM USR1; do
    for delay in 0.1 0.25 0.5; do
      rm -rf r
      "$BIN/dpt-train" "${ARGS[@]}" --run-dir r > log 2>&1 &
      pid=$!
      started "$pid"
      sleep "$delay"
      kill -"$sig" "$pid"
      rc=0
      wait "$pid" || rc=$?
      echo "SIG$sig after ${delay}s: exit $rc"; cat log
      [ "$rc" -eq 3 ]
      grep -Eq "stop requested during start-up|interrupted at epoch" log
      [ -z "$(compgen -G "r/*.tmp*")" ]
      run "$BIN/dpt-train" "${ARGS[@]}" --run-dir r --resume auto
      assert_success
      same_learning ref r
    done
  done
}

@test "under mpirun a USR1 during start-up still ends in exit 3" {
  ARGS+=(--set model.epochs=8) # as above: 2 epochs ended before the 0.4 s signal
  for delay in 0.1 0.4; do
    rm -rf r
    # mpirun itself in the background (not in a function's subshell): it forwards USR1
    mpirun --allow-run-as-root --oversubscribe -np 2 "$BIN/dpt-train" "${ARGS[@]}" \
      --run-dir r > log 2>&1 &
    pid=$!
    # both ranks exec'd: the signal mpirun forwards reaches trainers, not its own children
    # (this mpirun's children: trainers of other tests may run at the same time)
    for i in $(seq 1 500); do
      [ "$(pgrep -c -P "$pid" -f "^$BIN/dpt-train " || true)" -ge 2 ] && break
      sleep 0.01
    done
    sleep "$delay"
    kill -USR1 "$pid"
    finish "$pid" 60
    echo "after ${delay}s: exit $RC"; cat log
    [ "$RC" -eq 3 ]
  done
}

@test "a file system filling up during a 2-rank checkpoint stops every rank within seconds" {
  MNT="$BATS_TEST_TMPDIR/mnt"
  mkdir -p "$MNT"
  # one 9.6 MB checkpoint fits, its successor's temporary file does not
  mount -t tmpfs -o size=16m tmpfs "$MNT"
  mpirun --allow-run-as-root --oversubscribe -np 2 "$BIN/dpt-train" "${ARGS[@]}" \
    --set model.epochs=3 --run-dir "$MNT/r" > log 2>&1 &
  pid=$!
  # the fault: the write after epoch 2; every rank has exited when mpirun has
  while kill -0 "$pid" 2>/dev/null && ! grep -q "^epoch 2/3" log; do sleep 0.02; done
  t0=$(date +%s.%N)
  finish "$pid" 60
  t1=$(date +%s.%N)
  cat log
  secs=$(echo "$t1 - $t0" | bc)
  echo "from the end of epoch 2 (the checkpoint starts) to every rank's exit: $secs s"
  [ "$RC" -eq 1 ]
  grep -Eq "^dpt-train: rank [01]: writing $MNT/r/checkpoint.h5: .*file system is full" log
  [ "$(echo "$secs < 10" | bc)" -eq 1 ]
  # the previous checkpoint is whole and no temporary file is left
  [ -z "$(compgen -G "$MNT/r/*.tmp*")" ]
  run "$BIN/dpt-inspect" --check "$MNT/r/checkpoint.h5"
  assert_success
  [ "$(h5dump -a /epoch "$MNT/r/checkpoint.h5" | grep '(0)' | awk '{print $2}')" = 1 ]
  cp -r "$MNT/r" r
}

@test "a second trainer on a run directory in use fails at once naming the holder" {
  "$BIN/dpt-train" "${ARGS[@]}" --set model.epochs=4 --run-dir r > first.log 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && ! grep -q "^dpt-train: LeNet" first.log; do sleep 0.02; done
  # stopped while it holds the lock, so that it cannot finish before both checks ran
  kill -STOP "$pid"
  SECONDS=0
  run "$BIN/dpt-train" "${ARGS[@]}" --set model.epochs=4 --run-dir r
  echo "$output"
  assert_equal "$status" 1
  assert_output --partial "r is in use by another trainer (host $(hostname), pid $pid, Slurm job none)"
  [ "$SECONDS" -le 5 ]
  # refused before it reads any data
  run "$BIN/dpt-train" "${ARGS[@]}" --set model.epochs=4 --run-dir r --data missing.h5
  assert_equal "$status" 1
  assert_output --partial "r is in use by another trainer"
  kill -CONT "$pid"
  wait "$pid"
  run "$BIN/dpt-inspect" r/run.h5
  assert_output --partial "status complete"
  # the lock goes with its holder: a later trainer takes the directory again
  run "$BIN/dpt-train" "${ARGS[@]}" --set model.epochs=4 --run-dir r --resume auto
  assert_success
}

@test "temporary files that killed writers left are removed by the next lock holder" {
  mkdir -p r
  touch r/run.h5.tmp.otherhost.17 r/checkpoint.h5.tmp.vm.99 r/run.h5.tmpfile
  run "$BIN/dpt-train" "${ARGS[@]}" --set model.epochs=1 --run-dir r
  assert_success
  [ -z "$(compgen -G "r/*.h5.tmp.*")" ]
  [ -e r/run.h5.tmpfile ]
}

@test "experiment.checkpoint_dir holds one checkpoint per run directory" {
  for r in a b; do
    "$BIN/dpt-train" "${ARGS[@]}" --set experiment.checkpoint_dir=ck --set model.epochs=1 \
      --set experiment.seed=$([ $r = a ] && echo 1 || echo 2) --run-dir "runs/$r" >/dev/null 2>&1
  done
  ls -R ck
  [ "$(find ck -name checkpoint.h5 | wc -l)" -eq 2 ]
  [ -z "$(compgen -G "ck/checkpoint.h5")" ]
  compgen -G "ck/a-*/checkpoint.h5"
  # each run resumes from its own checkpoint (the other run's would be refused); a
  # finished run has nothing to resume, so its run.h5 goes and the checkpoint decides
  for r in a b; do
    rm "runs/$r/run.h5"
    run "$BIN/dpt-train" "${ARGS[@]}" --set experiment.checkpoint_dir=ck --set model.epochs=1 \
      --set experiment.seed=$([ $r = a ] && echo 1 || echo 2) --run-dir "runs/$r" --resume auto
    assert_success
    assert_output --partial "resuming from"
  done
}

@test "counts that size allocations are capped: the key and the limit are named" {
  for kv in model.batch_size=1000000000 model.work.batch_size=1000000000 \
            train.eval_batch=100000000 model.num_workers=100000; do
    run "$BIN/dpt-train" "${ARGS[@]}" --set "$kv" --check-config
    echo "$output"
    assert_equal "$status" 1
    assert_output --regexp "${kv%%=*}: must be in \[[01], [0-9]+\], got ${kv#*=}"
  done
}
