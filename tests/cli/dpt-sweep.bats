#!/usr/bin/env bats
# dpt-sweep without a cluster: expand (files, refusals, idempotence), dry-run submission,
# run-local, status and results.
load helper

setup_file() {
  export DATA
  DATA=$(small_fmnist 300)
}

# A 4-task spec (2 learning rates x K in {0, 2}), 2 resource shapes, tiny runs.
spec() {
  cat >"$BATS_TEST_TMPDIR/s.yaml" <<YAML
name: t
base: $DPT_ROOT/sweeps/base/fashion-mnist.yaml
set: {model.name: LeNet5, model.epochs: 1, data.path: $DATA, data.limit: 300}
grid:
  model.learning_rate: [0.01, 0.02]
  model.num_workers: [0, 2]
resources: {ranks: "max(1, K)", time: 5, throttle: 2, signal_lead: 30}
${1:-}
YAML
  echo "$BATS_TEST_TMPDIR/s.yaml"
}

@test "dpt-sweep: usage" {
  run "$BIN/dpt-sweep"
  assert_failure 2
  run "$BIN/dpt-sweep" --help
  assert_success
  assert_output --partial "dpt-sweep expand SPEC.yaml"
  run "$BIN/dpt-sweep" frobnicate
  assert_failure 2
  assert_output --partial "unknown command 'frobnicate'"
}

@test "dpt-sweep expand: configs, manifest, one array script per shape" {
  run "$BIN/dpt-sweep" expand "$(spec)" -o "$BATS_TEST_TMPDIR/sw"
  assert_success
  assert_output --partial "4 task(s) from 4 combination(s), 2 array job(s)"
  d=$BATS_TEST_TMPDIR/sw
  [ "$(grep -vc '^#' "$d/manifest.tsv")" -eq 5 ]
  [ "$(ls "$d/tasks" | wc -l)" -eq 4 ]
  for h in $(ls "$d/tasks"); do
    # The directory is named by the hash of a config dpt-train accepts.
    "$BIN/dpt-train" -c "$d/tasks/$h/config.yaml" --check-config >/dev/null
  done
  run grep -h '^#SBATCH' "$d/jobs/a1.sbatch"
  assert_line "#SBATCH --array=0-1%2"
  assert_line "#SBATCH --ntasks=2"
  assert_line "#SBATCH --signal=B:USR1@30"
  assert_line "#SBATCH --requeue"
  assert_line "#SBATCH --open-mode=append"
  assert_line "#SBATCH --output=\"$d/logs/%A_%a.out\""
  refute_output --partial "--partition" # empty: the line is left out
  run grep -c 'srun --mpi=pmix' "$d/jobs/a0.sbatch"
  assert_output 1
  bash -n "$d/jobs/a0.sbatch"
  bash -n "$d/jobs/aggregate.sbatch"
}

@test "dpt-sweep expand: warns once per dataset path that does not exist" {
  s=$(spec)
  sed -i "s|^  model.num_workers: \[0, 2\]|  data.path: [$DATA, nowhere/a.h5, nowhere/b.h5]|" "$s"
  "$BIN/dpt-sweep" expand "$s" -o "$BATS_TEST_TMPDIR/sw" >"$BATS_TEST_TMPDIR/out" \
    2>"$BATS_TEST_TMPDIR/err"
  grep -q "6 task(s)" "$BATS_TEST_TMPDIR/out"
  run cat "$BATS_TEST_TMPDIR/err"
  assert_line "dpt-sweep: warning: dataset nowhere/a.h5 (data.path) does not exist; import it before the tasks run (dpt-data)"
  assert_line --partial "dataset nowhere/b.h5 (data.path) does not exist"
  [ "$(grep -c warning "$BATS_TEST_TMPDIR/err")" -eq 2 ]
  [ "$(ls "$BATS_TEST_TMPDIR/sw/tasks" | wc -l)" -eq 6 ]
}

@test "dpt-sweep expand: core-hours per model, each at its own figure of the throughput file" {
  cat >"$BATS_TEST_TMPDIR/m.yaml" <<YAML
name: m
base: $DPT_ROOT/sweeps/base/fashion-mnist.yaml
set: {model.epochs: 2000, data.path: $DATA, data.limit: 300}
grid:
  model.name: [LeNet, ResNet20, ResNet56]
  model.learning_rate: [0.01, 0.02]
resources: {ranks: 1, time: 5}
YAML
  printf 'images_per_s_per_core 2000\nimages_per_s_per_core.ResNet20 100\n' >"$BATS_TEST_TMPDIR/tp"
  DPT_THROUGHPUT=$BATS_TEST_TMPDIR/tp run "$BIN/dpt-sweep" expand "$BATS_TEST_TMPDIR/m.yaml" \
    -o "$BATS_TEST_TMPDIR/sw"
  assert_success
  assert_output --partial "for 6 task(s): LeNet "
  assert_output --partial "(2 task(s) at 2000 images/s per core, $BATS_TEST_TMPDIR/tp)"
  assert_output --partial "(2 task(s) at 100 images/s per core, $BATS_TEST_TMPDIR/tp)"
  assert_output --partial "(2 task(s) at 33 images/s per core, ResNet20's figure in $BATS_TEST_TMPDIR/tp x 3/9)"
  # the same work at 1/20 and 1/60 of LeNet's speed: 20 and 60 times its core-hours
  line=$(grep '^estimate:' <<<"$output")
  lenet=$(sed -n 's/.*: LeNet \([0-9.]*\) .*/\1/p' <<<"$line")
  r20=$(sed -n 's/.*; ResNet20 \([0-9.]*\) .*/\1/p' <<<"$line")
  r56=$(sed -n 's/.*; ResNet56 \([0-9.]*\) .*/\1/p' <<<"$line")
  total=$(sed -n 's/^estimate: \([0-9.]*\) core-hours.*/\1/p' <<<"$line")
  awk -v l="$lenet" -v a="$r20" -v b="$r56" -v t="$total" 'BEGIN {
    exit !(l > 0 && a >= 19 * l && a <= 21 * l && b >= 2.9 * a && b <= 3.1 * a &&
           t >= l + a + b - 0.02 && t <= l + a + b + 0.02) }'
}

@test "dpt-sweep expand: the same spec twice gives the same files; no clobbering" {
  s=$(spec)
  "$BIN/dpt-sweep" expand "$s" -o "$BATS_TEST_TMPDIR/one" >/dev/null
  "$BIN/dpt-sweep" expand "$s" -o "$BATS_TEST_TMPDIR/two" >/dev/null
  diff -r <(cd "$BATS_TEST_TMPDIR/one" && find . -type f | sort) <(cd "$BATS_TEST_TMPDIR/two" && find . -type f | sort)
  for f in manifest.tsv arrays.tsv $(cd "$BATS_TEST_TMPDIR/one" && ls tasks/*/config.yaml); do
    cmp "$BATS_TEST_TMPDIR/one/$f" "$BATS_TEST_TMPDIR/two/$f"
  done
  run "$BIN/dpt-sweep" expand "$s" -o "$BATS_TEST_TMPDIR/one"
  assert_failure 1
  assert_output --partial "already an expanded sweep; --force"
  # A finished run survives --force.
  h=$(ls "$BATS_TEST_TMPDIR/one/tasks" | head -n 1)
  echo precious >"$BATS_TEST_TMPDIR/one/tasks/$h/run.h5"
  run "$BIN/dpt-sweep" expand "$s" -o "$BATS_TEST_TMPDIR/one" --force
  assert_success
  [ "$(cat "$BATS_TEST_TMPDIR/one/tasks/$h/run.h5")" = precious ]
  mkdir "$BATS_TEST_TMPDIR/other" && touch "$BATS_TEST_TMPDIR/other/x"
  run "$BIN/dpt-sweep" expand "$s" -o "$BATS_TEST_TMPDIR/other"
  assert_failure 1
  assert_output --partial "is not a sweep"
}

@test "dpt-sweep expand: bad specs name the problem and leave no files" {
  check() { # grid-and-more, expected message
    printf 'base: %s\n%s\n' "$DPT_ROOT/sweeps/base/fashion-mnist.yaml" "$1" >"$BATS_TEST_TMPDIR/bad.yaml"
    run "$BIN/dpt-sweep" expand "$BATS_TEST_TMPDIR/bad.yaml" -o "$BATS_TEST_TMPDIR/bad"
    assert_failure 1
    assert_output --partial "$2"
    [ ! -e "$BATS_TEST_TMPDIR/bad" ]
  }
  check "grid: {model.optimiser: [SGDM, AdamW]}" "bad.yaml:2: axis 'model.optimiser': unknown config key"
  check "grid: {model.optimizer: []}" "axis 'model.optimizer' has no values"
  check "grid: {model.optimizer: [SGDM]}
exclude: [{model.optimizer: SGDM}]" "no tasks"
  check "grid: {model.optimizer: [SGDM, LAMBDA]}" "task 1 (model.optimizer=LAMBDA) would fail validation"
  check "grid: {model.warmup: [0, 5]}" "model.warmup: must be < model.epochs"
}

@test "dpt-sweep expand: MaxArraySize splits an array" {
  run "$BIN/dpt-sweep" expand "$(spec 'replicates: 3')" -o "$BATS_TEST_TMPDIR/sw" --max-array-size 4
  assert_success
  assert_output --partial "12 task(s)"
  assert_output --partial "a0: 4 task(s), 1 rank(s)"
  assert_output --partial "a1: 4 task(s), 2 rank(s)"
  assert_output --partial "a2: 2 task(s), 1 rank(s)"
  assert_output --partial "a3: 2 task(s), 2 rank(s)"
}

@test "dpt-sweep submit --dry-run prints the sbatch commands" {
  "$BIN/dpt-sweep" expand "$(spec)" -o "$BATS_TEST_TMPDIR/sw" >/dev/null
  run "$BIN/dpt-sweep" submit --dry-run "$BATS_TEST_TMPDIR/sw"
  assert_success
  assert_line "sbatch --parsable --array=0-1%2 $BATS_TEST_TMPDIR/sw/jobs/a0.sbatch"
  assert_line "sbatch --parsable --array=0-1%2 $BATS_TEST_TMPDIR/sw/jobs/a1.sbatch"
  assert_line --partial "jobs/aggregate.sbatch"
  [ ! -e "$BATS_TEST_TMPDIR/sw/submitted.tsv" ]
}

@test "dpt-sweep run-local runs every task; status and results follow" {
  d=$BATS_TEST_TMPDIR/sw
  "$BIN/dpt-sweep" expand "$(spec)" -o "$d" >/dev/null
  run "$BIN/dpt-sweep" status "$d"
  assert_output --partial "total 4 task(s): 0 done, 0 running, 0 pending, 0 interrupted, 0 failed, 4 never started"
  run "$BIN/dpt-sweep" run-local "$d"
  assert_success
  assert_output --partial "run-local: 4 task(s) run, 0 failed"
  run "$BIN/dpt-sweep" status "$d"
  assert_output --partial "total 4 task(s): 4 done"
  assert_output --partial "4/4 done (100%)"
  run "$BIN/dpt-sweep" results "$d"
  assert_success
  [ "$(grep -c '| done |' <<<"$output")" -eq 4 ]
  # Done tasks are not run again, nor submitted.
  run "$BIN/dpt-sweep" run-local "$d"
  assert_output --partial "0 task(s) run"
  run "$BIN/dpt-sweep" resubmit --dry-run "$d"
  refute_output --partial "--array"
}

@test "dpt-sweep expand: tasks are named after the sweep, unless the spec names them" {
  d=$BATS_TEST_TMPDIR/sw
  "$BIN/dpt-sweep" expand "$(spec)" -o "$d" >/dev/null
  n=0
  for c in "$d"/tasks/*/config.yaml; do
    grep -q '^  name: t  #' "$c"
    n=$((n + 1))
  done
  [ "$n" = 4 ]
  # not after the base config's experiment.name
  ! grep -q 'name: demo-fashion-mnist' "$d"/tasks/*/config.yaml
  grep -qx '#SBATCH --job-name=t-a0' "$d/jobs/a0.sbatch"
  e=$BATS_TEST_TMPDIR/sw2
  "$BIN/dpt-sweep" expand "$(spec)" -o "$e" --set experiment.name=mine >/dev/null
  [ "$(grep -l '^  name: mine  #' "$e"/tasks/*/config.yaml | wc -l)" = 4 ]
}

@test "dpt-sweep status: columns aligned on a terminal, tab-separated in a pipe" {
  d=$BATS_TEST_TMPDIR/sw
  "$BIN/dpt-sweep" expand "$(spec)" -o "$d" >/dev/null
  # script(1) gives status a terminal
  run script -qec "'$BIN/dpt-sweep' status '$d'" /dev/null
  assert_success
  tr -d '\r' <<<"$output" | sed -n 1,5p >"$BATS_TEST_TMPDIR/tty.txt"
  ! grep -q $'\t' "$BATS_TEST_TMPDIR/tty.txt"
  # every row's state and learning rate start under their headings
  awk 'NR == 1 { s = index($0, "state"); l = index($0, "model.learning_rate"); next }
       substr($0, s, 13) != "never started" || substr($0, l, 3) != "0.0" { bad = 1 }
       END { exit bad || !s || !l }' "$BATS_TEST_TMPDIR/tty.txt"
  run "$BIN/dpt-sweep" status "$d"
  assert_line --index 0 $'task\tjob\tstate\tattempts\tmodel.learning_rate\tmodel.num_workers'
}

@test "dpt-sweep: a failing task is reported failed and only it is resubmitted" {
  d=$BATS_TEST_TMPDIR/sw
  "$BIN/dpt-sweep" expand "$(spec)" -o "$d" >/dev/null
  h=$(awk -F'\t' '$1 == 3 { print $7 }' "$d/manifest.tsv")
  # Task 3's dataset vanishes: dpt-train fails on it.
  sed -i "s|path: .*\.h5|path: $BATS_TEST_TMPDIR/missing.h5|" "$d/tasks/$h/config.yaml"
  run "$BIN/dpt-sweep" run-local "$d"
  assert_failure 1
  assert_output --partial "4 task(s) run, 1 failed"
  assert_output --partial "FAILED"
  run "$BIN/dpt-sweep" status "$d"
  assert_output --partial "3 done, 0 running, 0 pending, 0 interrupted, 1 failed"
  assert_line --regexp "^3	a1\[1\]	failed	1	"
  run "$BIN/dpt-sweep" resubmit --dry-run "$d"
  assert_line "sbatch --parsable --array=1%2 $d/jobs/a1.sbatch"
  refute_output --partial "a0.sbatch"
}

@test "dpt-sweep status: why a task failed, never-started is not failed, no ETA when stopped" {
  d=$BATS_TEST_TMPDIR/sw
  "$BIN/dpt-sweep" expand "$(spec)" -o "$d" >/dev/null
  h=$(awk -F'\t' '$1 == 3 { print $7 }' "$d/manifest.tsv")
  sed -i "s|path: .*\.h5|path: $BATS_TEST_TMPDIR/missing.h5|" "$d/tasks/$h/config.yaml"
  "$BIN/dpt-sweep" run-local "$d" >/dev/null || true
  run "$BIN/dpt-sweep" status "$d"
  assert_line --regexp "^task 3 failed: dpt-train: rank [01]: $BATS_TEST_TMPDIR/missing.h5: dataset not found .* \(exit status 1\) \(log: $d/logs/local_3.out\)$"
  # A fresh sweep submitted to a Slurm that never started its tasks (no log, no files).
  e=$BATS_TEST_TMPDIR/fresh
  "$BIN/dpt-sweep" expand "$(spec)" -o "$e" >/dev/null
  printf '4242\ta0\t0-1\n' >"$e/submitted.tsv"
  mkdir -p "$e/logs"
  echo "slurmstepd: error: *** JOB 4242 ON n1 CANCELLED DUE TO TIME LIMIT ***" >"$e/logs/4242_1.out"
  echo "== trainer exited with 143" >>"$e/logs/4242_1.out"
  run "$BIN/dpt-sweep" status "$e"
  assert_line --regexp "^0	a0\[0\]	never started	0	"
  assert_line --regexp "^2	a0\[1\]	failed	0	"
  assert_line "task 2 failed: slurmstepd: error: *** JOB 4242 ON n1 CANCELLED DUE TO TIME LIMIT *** (log: $e/logs/4242_1.out)"
  refute_line --partial "task 1 failed"
  # An interrupted task (exit 3: checkpointed) waits for a resubmit: no ETA.
  h=$(awk -F'\t' '$1 == 0 { print $7 }' "$e/manifest.tsv")
  printf '4242\t0\t0\t3\t2026-01-01T00:00:00\n' >"$e/tasks/$h/attempts.tsv"
  run "$BIN/dpt-sweep" status "$e"
  assert_line --regexp "^task 0  a0\[0\]  interrupted  .*stopped \(resubmit continues it\)$"
  refute_line --regexp "^task 0 .*ETA"
}

@test "dpt-sweep status without Slurm: no raw squeue errors, one note" {
  e=$BATS_TEST_TMPDIR/sw
  "$BIN/dpt-sweep" expand "$(spec)" -o "$e" >/dev/null
  printf '4242\ta0\t0-1\n' >"$e/submitted.tsv"
  # No squeue on PATH at all.
  run env PATH="$BATS_TEST_TMPDIR/empty" "$BIN/dpt-sweep" status "$e"
  assert_success
  assert_line "note: no squeue on PATH (Slurm is not available here); states come from the run files only"
  [ "$(grep -c squeue <<<"$output")" -eq 1 ]
  # squeue installed but no cluster to ask (no configuration): its complaints stay out.
  run env -u SLURM_CONF "$BIN/dpt-sweep" status "$e"
  assert_success
  refute_output --partial "squeue: error"
  refute_output --partial "squeue: fatal"
  assert_line --regexp "^note: squeue did not answer \(squeue exited with status [0-9]+\); states come from the run files only$"
  [ "$(grep -c squeue <<<"$output")" -eq 1 ]
}

@test "dpt-sweep: every spec in sweeps/ expands (the demo and the seed's studies)" {
  for s in "$DPT_ROOT"/sweeps/*.yaml; do
    case "$s" in *bench-10k*) continue ;; esac
    run "$BIN/dpt-sweep" expand "$s" -o "$BATS_TEST_TMPDIR/$(basename "$s" .yaml)" --max-array-size 1001
    assert_success
  done
  run grep -c . "$BATS_TEST_TMPDIR/demo/manifest.tsv"
  assert_output 6 # comment, header, 4 tasks
}
