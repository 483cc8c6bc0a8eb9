#!/usr/bin/env bats
# The generated array-job script outside srun (the mpirun branch), run directly as a
# Slurm array task would run it: a stop signal at any moment, even before the trainer
# is ready, ends in a checkpoint and the requeue exit code, never in mpirun's exit 1.
load helper

setup_file() {
  export DATA
  DATA=$(small_fmnist 300)
}

# A one-task, two-rank sweep whose run lasts long enough to be interrupted.
expand_long() {
  cat >"$BATS_TEST_TMPDIR/s.yaml" <<YAML
name: js
base: $DPT_ROOT/sweeps/base/fashion-mnist.yaml
set: {model.name: LeNet5, model.epochs: 400, data.path: $DATA, data.limit: 300, model.batch_size: 32}
grid: {experiment.seed: [1]}
resources: {ranks: 2, time: 30, signal_lead: 30}
YAML
  "$BIN/dpt-sweep" expand "$BATS_TEST_TMPDIR/s.yaml" -o "$BATS_TEST_TMPDIR/sw" >/dev/null
  echo "$BATS_TEST_TMPDIR/sw"
}

# run_script DIR DELAY SIGNAL: runs a0.sbatch as array index 0 without srun, sends
# SIGNAL to the script after DELAY seconds; sets $rc and $log.
run_script() {
  log="$BATS_TEST_TMPDIR/job.log"
  (unset SLURM_JOB_ID; export SLURM_ARRAY_TASK_ID=0
   exec bash "$1/jobs/a0.sbatch") >"$log" 2>&1 &
  local job=$!
  sleep "$2"
  kill -s "$3" "$job"
  rc=0
  wait "$job" || rc=$?
}

@test "job script under mpirun: TERM while the trainer runs ends in exit 3 with a checkpoint" {
  d=$(expand_long)
  dir=$(ls -d "$d"/tasks/*)
  ( for i in $(seq 1 300); do [ -f "$dir/run.h5" ] && exit 0; sleep 0.2; done; exit 1 ) &
  # the script starts the trainer; wait for its first epoch, then stop it
  log="$BATS_TEST_TMPDIR/job.log"
  (unset SLURM_JOB_ID; export SLURM_ARRAY_TASK_ID=0
   exec bash "$d/jobs/a0.sbatch") >"$log" 2>&1 &
  job=$!
  wait %1
  kill -s TERM "$job"
  rc=0
  wait "$job" || rc=$?
  cat "$log"
  [ "$rc" -eq 3 ]
  grep -q "checkpointed after SIGTERM" "$log"
  [ -f "$dir/checkpoint.h5" ]
  "$BIN/dpt-inspect" --check "$dir/checkpoint.h5"
}

@test "job script under mpirun: a TERM before the trainer is ready is held and still ends in exit 3" {
  d=$(expand_long)
  dir=$(ls -d "$d"/tasks/*)
  run_script "$d" 0.3 TERM
  cat "$log"
  [ "$rc" -eq 3 ]
  grep -q "got SIGTERM" "$log"
  # the attempt is recorded with the requeue code
  [ "$(cut -f4 "$dir/attempts.tsv" | tail -n 1)" = 3 ]
}

@test "job script with experiment.checkpoint_dir: USR1 ends in exit 3 and requeues (dpt-train says where the checkpoint is)" {
  ck="$BATS_TEST_TMPDIR/ck"
  d=$(expand_long)
  # the same task, its checkpoints kept in ck
  sed -i "s|^set: {|set: {experiment.checkpoint_dir: $ck, |" "$BATS_TEST_TMPDIR/s.yaml"
  rm -rf "$d"
  "$BIN/dpt-sweep" expand "$BATS_TEST_TMPDIR/s.yaml" -o "$d" >/dev/null
  dir=$(ls -d "$d"/tasks/*)
  grep -q "checkpoint_dir: $ck" "$dir/config.yaml"
  ( for i in $(seq 1 300); do [ -f "$dir/run.h5" ] && exit 0; sleep 0.2; done; exit 1 ) &
  log="$BATS_TEST_TMPDIR/job.log"
  # a Slurm array task outside Slurm: scontrol refuses an empty configuration at once
  # (a missing one it retries for a minute), which the script reports after saying it
  # requeues
  : >"$BATS_TEST_TMPDIR/empty.conf"
  (unset SLURM_JOB_ID; export SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_JOB_ID=777
   export SLURM_CONF=$BATS_TEST_TMPDIR/empty.conf
   exec bash "$d/jobs/a0.sbatch") >"$log" 2>&1 &
  job=$!
  wait %1
  kill -s USR1 "$job"
  rc=0
  wait "$job" || rc=$?
  cat "$log"
  [ "$rc" -eq 3 ]
  [ -f "$(find "$ck" -name checkpoint.h5)" ]
  [ ! -e "$dir/checkpoint.h5" ]
  # what the script asked: where the trainer wrote it
  [ "$("$BIN/dpt-train" -c "$dir/config.yaml" --run-dir "$dir" --print-checkpoint-path 2>/dev/null)" = \
    "$(find "$ck" -name checkpoint.h5)" ]
  grep -q "== checkpointed: requeueing 777_0" "$log"
  ! grep -q "wrote no new checkpoint" "$log"
}
