#!/usr/bin/env bats
# dpt-sweep on the local one-node Slurm cluster (env/slurm-start.sh): submit, status,
# failures and resubmission, and the time-limit signal -> checkpoint -> requeue path.
load helper
load slurm-cluster

setup_file() {
  slurm_cluster_start
  export DATA
  DATA=$(small_fmnist 300)
}

teardown_file() {
  slurm_cluster_stop
}

teardown() {
  scancel --user=root 2>/dev/null || true
  # a reference run a failed test left behind
  if [ -n "${PLAIN:-}" ]; then kill "$PLAIN" 2>/dev/null || true; fi
}

# spec NAME GRID-AND-MORE... : a spec on the small dataset, LeNet5, 1 epoch unless set.
spec() {
  local f="$BATS_TEST_TMPDIR/$1.yaml"
  shift
  { cat <<YAML
name: t
base: $DPT_ROOT/sweeps/base/fashion-mnist.yaml
set: {model.name: LeNet5, model.epochs: 1, data.path: $DATA, data.limit: 300}
YAML
    printf '%s\n' "$@"; } >"$f"
  echo "$f"
}

# A requeued task waits in BeginTime for about two minutes; start it now, once the old
# attempt's step has left the node.
start_now() {
  local i
  for i in $(seq 1 60); do
    squeue -h -j "$1" -o %r 2>/dev/null | grep -q BeginTime && break
    sleep 1
  done
  sleep 5
  scontrol update JobId="$1" StartTime=now
}

state_total() { "$BIN/dpt-sweep" status "$1" --summary | grep '^total'; }

@test "sweep on Slurm: 6 tasks in two shapes finish, status done, run files valid, aggregated" {
  d=$BATS_TEST_TMPDIR/sw
  s=$(spec six "grid: {model.learning_rate: [0.01, 0.02], model.num_workers: [0, 2]}" \
    "zip: [{model.batch_size: [32, 64]}]" \
    "exclude: [{model.learning_rate: 0.02, model.batch_size: 32}]" \
    "resources: {ranks: 'max(1, K)', time: 5, throttle: 2}")
  run "$BIN/dpt-sweep" expand "$s" -o "$d"
  assert_success
  assert_output --partial "6 task(s)"
  assert_output --partial "2 array job(s)"
  run "$BIN/dpt-sweep" submit "$d"
  assert_success
  assert_output --partial "submitted a0"
  assert_output --partial "submitted a1"
  assert_output --partial "submitted aggregate"
  [ "$(grep -c . "$d/submitted.tsv")" -eq 4 ]
  slurm_wait_idle 180
  run state_total "$d"
  assert_output "total 6 task(s): 6 done, 0 running, 0 pending, 0 interrupted, 0 failed, 0 never started"
  for f in "$d"/tasks/*/run.h5; do
    if [ -x "$BIN/dpt-inspect" ]; then
      "$BIN/dpt-inspect" --check "$f"
    else # until dpt-inspect exists: the completeness marks
      h5dump -a /status "$f" | grep -q '"complete"'
      h5dump -a /complete "$f" | grep -q '(0): 1'
    fi
  done
  # Two ranks where K = 2, per-task logs named by array job and index.
  h=$(awk -F'\t' '$4 == 2 { print $6; exit }' "$d/manifest.tsv")
  grep -q '2 rank(s)' "$d"/logs/*_*.out
  [ -f "$d/results.md" ]
  [ "$(grep -c '^| ' "$d/results.md")" -ge 6 ]
  # Everything is done: nothing left to resubmit.
  run "$BIN/dpt-sweep" resubmit "$d"
  assert_output --partial "nothing to submit"
}

@test "sweep on Slurm: a task killed mid-run is failed; resubmit brings the sweep to done" {
  d=$BATS_TEST_TMPDIR/sw
  # 50 epochs: seconds of training, caught running; the resubmitted attempt finishes them
  s=$(spec kill "grid: {model.epochs: [1, 50]}" "resources: {ranks: 1, time: 5}")
  "$BIN/dpt-sweep" expand "$s" -o "$d" >/dev/null
  run "$BIN/dpt-sweep" submit "$d"
  assert_success
  job=$(awk -F'\t' '$2 == "a0" { print $1; exit }' "$d/submitted.tsv")
  long=$d/$(awk -F'\t' '$1 == 1 { print $6 }' "$d/manifest.tsv")
  for _ in $(seq 1 120); do
    h5dump -a /status "$long/run.h5" 2>/dev/null | grep -q '"running"' && break
    sleep 0.5
  done
  h5dump -a /status "$long/run.h5" | grep -q '"running"'
  # SIGKILL to the trainer itself, as when a node or the OOM killer takes it: no checkpoint.
  kill -KILL $(pgrep -f -- "--run-dir $long")
  for _ in $(seq 1 60); do
    state_total "$d" | grep -q '1 failed' && break
    sleep 1
  done
  run state_total "$d"
  assert_output --partial "1 done, 0 running, 0 pending, 0 interrupted, 1 failed"
  run "$BIN/dpt-sweep" resubmit "$d"
  assert_success
  assert_output --partial "submitted a0"
  assert_output --partial "1 task(s)"
  grep -q "	a0	1$" "$d/submitted.tsv"
  slurm_wait_idle 180
  run state_total "$d"
  assert_output --partial "2 done"
}

@test "sweep on Slurm: scancel (TERM) leaves a checkpointed, interrupted task; resubmit finishes it" {
  d=$BATS_TEST_TMPDIR/sw
  s=$(spec cancel "grid: {model.epochs: [50]}" "resources: {ranks: 1, time: 5}")
  "$BIN/dpt-sweep" expand "$s" -o "$d" >/dev/null
  "$BIN/dpt-sweep" submit "$d" >/dev/null
  job=$(awk -F'\t' '$2 == "a0" { print $1; exit }' "$d/submitted.tsv")
  run_dir=$d/$(awk -F'\t' '$1 == 0 { print $6 }' "$d/manifest.tsv")
  for _ in $(seq 1 120); do
    h5dump -a /status "$run_dir/run.h5" 2>/dev/null | grep -q '"running"' && break
    sleep 0.5
  done
  scancel "${job}_0"
  for _ in $(seq 1 60); do
    state_total "$d" | grep -q '1 interrupted' && break
    sleep 1
  done
  run state_total "$d"
  assert_output --partial "0 done, 0 running, 0 pending, 1 interrupted"
  grep -q 'checkpointed after SIGTERM' "$d"/logs/${job}_0.out
  [ -f "$run_dir/checkpoint.h5" ]
  "$BIN/dpt-sweep" resubmit "$d" >/dev/null
  slurm_wait_idle 180
  run state_total "$d"
  assert_output --partial "1 done"
}

# epochs_lasting SECONDS: how many epochs of the specs' training take about SECONDS of CPU,
# from a timed 40-epoch run (its start-up counted as training: the estimate errs long).
# CPU, not wall time: another test loading the machine now would make the run too short.
epochs_lasting() {
  local TIMEFORMAT='%3U + %3S' cpu
  cpu=$( { time "$BIN/dpt-train" -c "$DPT_ROOT/sweeps/base/fashion-mnist.yaml" --data "$DATA" \
    --limit 300 --set model.name=LeNet5 --set model.epochs=40 \
    --run-dir "$BATS_TEST_TMPDIR/calibrate" >/dev/null 2>&1; } 2>&1 ) || return 1
  rm -rf "$BATS_TEST_TMPDIR/calibrate"
  awk -v s="$1" -v t="$(echo "$cpu" | bc)" 'BEGIN { printf "%d", s * 40 / t + 1 }'
}

@test "sweep on Slurm: USR1 before the time limit -> checkpoint -> requeue; the result equals an uninterrupted run" {
  d=$BATS_TEST_TMPDIR/sw
  # USR1 is due 59 s before the 1-minute limit, 1 s after the start; slurmctld checks time
  # limits every 30 s, so it comes within about 31 s. A run of about 45 s of CPU (longer
  # on a busy machine) is stopped part-way, and the requeued attempt finishes it.
  epochs=$(epochs_lasting 45)
  s=$(spec resume "grid: {model.epochs: [$epochs]}" "resources: {ranks: 1, time: 1, signal_lead: 59}")
  "$BIN/dpt-sweep" expand "$s" -o "$d" >/dev/null
  cfg=$(ls "$d"/tasks/*/config.yaml)
  # The uninterrupted run of the same config, on the other core while the job runs.
  "$BIN/dpt-train" -c "$cfg" --run-dir "$BATS_TEST_TMPDIR/plain" >"$BATS_TEST_TMPDIR/plain.log" 2>&1 3>&- &
  PLAIN=$!
  "$BIN/dpt-sweep" submit "$d" >/dev/null
  job=$(awk -F'\t' '$2 == "a0" { print $1; exit }' "$d/submitted.tsv")
  for _ in $(seq 1 120); do
    grep -q 'trainer exited with 3' "$d"/logs/*.out 2>/dev/null && break
    sleep 1
  done
  grep -q 'trainer exited with 3' "$d"/logs/*.out
  # the second attempt gets room to finish, so one requeue is all this test waits for
  scontrol update JobId="${job}_0" TimeLimit=10
  start_now "${job}_0"
  slurm_wait_idle 600 # returns once idle; the limit only matters on a loaded machine
  run cat "$d/logs/${job}_0.out"
  assert_output --partial "got SIGUSR1: forwarding it to the trainer"
  assert_output --partial "checkpoint written"
  assert_output --partial "requeueing ${job}_0"
  assert_output --partial "restart 1"
  assert_output --partial "resuming from"
  run cut -f3,4 "$d"/tasks/*/attempts.tsv
  assert_line --index 0 "0	3"
  assert_line --index 1 --regexp "^1	0$"
  run state_total "$d"
  assert_output --partial "1 done"
  wait "$PLAIN" || { cat "$BATS_TEST_TMPDIR/plain.log"; false; }
  same_learning "$(dirname "$cfg")" "$BATS_TEST_TMPDIR/plain"
}

@test "sweep on Slurm: a sweep directory and working directory with spaces, '#' and '%' run end to end" {
  mkdir -p "$BATS_TEST_TMPDIR/w d#1%x"
  cd "$BATS_TEST_TMPDIR/w d#1%x"
  d="$BATS_TEST_TMPDIR/w d#1%x/s p#2%y"
  s=$(spec odd "grid: {model.optimizer: [SGDM]}" "resources: {ranks: 1, time: 5}")
  "$BIN/dpt-sweep" expand "$s" -o "s p#2%y" >/dev/null
  run "$BIN/dpt-sweep" submit "$d"
  assert_success
  job=$(awk -F'\t' '$2 == "a0" { print $1; exit }' "$d/submitted.tsv")
  slurm_wait_idle 120
  run state_total "$d"
  assert_output --partial "1 done"
  # The log landed where --output said, with the job's own numbers; the job ran here.
  grep -q "task 0 (array a0 index 0, job ${job}_0" "$d/logs/${job}_0.out"
  [ -s "$d/results.md" ]
  [ -z "$(ls "$BATS_TEST_TMPDIR" | grep -v '^w d#1%x$' | grep -v '\.yaml$')" ]
}

@test "sweep on Slurm: expand --force refuses while tasks are queued or running; MaxArraySize is the cluster's" {
  d=$BATS_TEST_TMPDIR/sw
  s=$(spec busy "grid: {model.epochs: [150]}" "resources: {ranks: 1, time: 5}")
  "$BIN/dpt-sweep" expand "$s" -o "$d" >/dev/null
  "$BIN/dpt-sweep" submit "$d" >/dev/null
  run "$BIN/dpt-sweep" expand "$s" -o "$d" --force
  assert_failure 1
  assert_output --regexp "1 task\(s\) of this sweep are queued or running \(task 0: a0\[0\] (pending|running)\)"
  # one name per scancel: it takes a single --name (a list matches no job)
  scancel --name=t-a0 && scancel --name=t-aggregate
  slurm_wait_idle 60
  run "$BIN/dpt-sweep" expand "$s" -o "$d" --force
  assert_success
  # The cluster allows 1001 per array (scontrol show config): more is refused at expand.
  run "$BIN/dpt-sweep" expand "$s" -o "$BATS_TEST_TMPDIR/big" --max-array-size 5000
  assert_failure 1
  assert_output --partial "--max-array-size 5000 exceeds this cluster's MaxArraySize 1001"
  [ ! -e "$BATS_TEST_TMPDIR/big" ]
}

@test "sweep on Slurm: two submits at once submit each task once; the other is refused" {
  cd "$BATS_TEST_TMPDIR"
  d=$BATS_TEST_TMPDIR/sw
  s=$(spec twice "grid: {model.epochs: [150], model.learning_rate: [0.01, 0.02]}" \
    "resources: {ranks: 1, time: 5}")
  "$BIN/dpt-sweep" expand "$s" -o "$d" >/dev/null
  "$BIN/dpt-sweep" submit "$d" >one.out 2>&1 &
  a=$!
  "$BIN/dpt-sweep" submit "$d" >two.out 2>&1 &
  b=$!
  ra=0 rb=0
  wait "$a" || ra=$?
  wait "$b" || rb=$?
  cat one.out two.out
  # one submitted the array and the aggregation job; the other submitted nothing
  [ $((ra + rb)) -eq 1 ]
  grep -q "in use by another dpt-sweep command\|was already submitted" one.out two.out
  [ "$(grep -c '^submitted a0' one.out two.out | awk -F: '{ s += $2 } END { print s }')" -eq 1 ]
  [ "$(squeue -h -r -n t-a0 -o %i | wc -l)" -eq 2 ]
  # one name per scancel: it takes a single --name (a list matches no job)
  scancel --name=t-a0 && scancel --name=t-aggregate
  slurm_wait_idle 60
}
