#!/usr/bin/env bats
# Hostile input to dpt-sweep and the plots (issue 11): spec values that would become shell
# code in job scripts, nesting and aliases that would exhaust memory or the stack, counts
# that would allocate before any check, labels gnuplot would run, and the job scripts'
# own checks (completion, requeue limits, the aggregation's results). No cluster here:
# the Slurm side is in dpt-sweep-slurm.bats.
load helper

setup() {
  cd "$BATS_TEST_TMPDIR"
}

# spec BODY...: a spec with a small inline base and the given lines; prints its path.
spec() {
  { printf 'base:\n  model: {name: LeNet5, epochs: 1}\n  data: {limit: 300}\n'
    printf '%s\n' "$@"; } >"$BATS_TEST_TMPDIR/s.yaml"
  echo "$BATS_TEST_TMPDIR/s.yaml"
}

# refused MESSAGE BODY...: expand fails with status 1 and MESSAGE, writing nothing.
refused() {
  local msg=$1
  shift
  run timeout 60 "$BIN/dpt-sweep" expand "$(spec "$@")" -o "$BATS_TEST_TMPDIR/out"
  assert_failure 1
  assert_output --partial "$msg"
  [ ! -e "$BATS_TEST_TMPDIR/out" ]
}

@test "hostile spec: a newline or control character in any value is an error naming the key" {
  refused "s.yaml:5: resources.partition: a control character" \
    "grid: {model.optimizer: [SGDM]}" \
    'resources: {partition: "debug\n#SBATCH --wrap=id", time: 5}'
  refused "resources.account: a control character" \
    "grid: {model.optimizer: [SGDM]}" 'resources: {account: "a\nid"}'
  refused "s.yaml:4: name: a control character" 'name: "t\ntouch x"' "grid: {model.optimizer: [SGDM]}"
  refused "grid.experiment.name[1]: a control character" 'grid: {experiment.name: [a, "b\tc"]}'
  refused "set: a control character (newline, tab, ...) in a key" 'set: {"model.epochs\n": 2}'
}

@test "hostile spec: Slurm names outside Slurm's character set are refused" {
  refused "name: 'x\$(touch m)': expected a word of letters" 'name: x$(touch m)' "grid: {model.optimizer: [SGDM]}"
  refused "resources.partition: 'gpu;id': expected a Slurm partition name" \
    "grid: {model.optimizer: [SGDM]}" "resources: {partition: 'gpu;id'}"
  refused "resources.account: 'a b': expected a Slurm account name" \
    "grid: {model.optimizer: [SGDM]}" "resources: {account: 'a b'}"
  [ ! -e m ]
  # A list of partitions is a Slurm value.
  run "$BIN/dpt-sweep" expand "$(spec "grid: {model.optimizer: [SGDM]}" \
    "resources: {partition: 'debug,gpu', time: 5}")" -o ok
  assert_success
  grep -qx '#SBATCH --partition=debug,gpu' ok/jobs/a0.sbatch
}

@test "hostile spec: 200k parentheses in a resource expression are a clear error, not a crash" {
  p=$(printf '%*s' 200000 '' | tr ' ' '(')
  q=$(printf '%*s' 200000 '' | tr ' ' ')')
  refused "resources.ranks: '((((" "grid: {model.optimizer: [SGDM]}" "resources: {ranks: '${p}1${q}'}"
  assert_output --partial "nested more than 64 deep"
  refused "nested more than 64 deep" "grid: {model.optimizer: [SGDM]}" \
    "resources: {time: '$(printf '%*s' 100000 '' | tr ' ' '-')5'}"
  # Ordinary nesting still works.
  run "$BIN/dpt-sweep" expand "$(spec "grid: {model.optimizer: [SGDM]}" \
    "resources: {ranks: 'max(1, min(2, ((K + 1))))', time: 5}")" -o ok
  assert_success
}

@test "hostile spec: aliases are refused (a self-referential one does not recurse); nesting is bounded" {
  refused "s.yaml:4: set.model: YAML aliases (*a) are not allowed" "set: &a {model: *a}"
  refused "YAML aliases (*e) are not allowed" "grid: {model.epochs: &e [1, 2]}" "zip: [{model.warmup: *e}]"
  deep=$(for i in $(seq 1 40); do printf '{a: '; done; printf 1; for i in $(seq 1 40); do printf '}'; done)
  refused "nested more than 32 levels deep" "set: $deep"
}

@test "hostile spec: replicates: 1000000000 is refused before anything is allocated" {
  ulimit -v 4000000 # 4 GB: the old code asked for 32 GB
  refused "replicates: 1000000000; expected at most 1000 seeds" "replicates: 1000000000"
  refused "has 100001 values; at most 100000 (split the sweep)" \
    "grid: {model.epochs: [$(seq -s, 1 100001)]}"
  refused "more than 100000 combinations" \
    "grid: {model.epochs: [$(seq -s, 1 1001)], experiment.seed: [$(seq -s, 1 1001)]}"
}

@test "hostile spec: replicates: 999999 and 1000 x 101 combinations are refused at once, writing nothing" {
  # the old cap let 999999 replicates run expand past 5 minutes and 6.5 GB
  ulimit -v 2000000
  SECONDS=0
  refused "replicates: 999999; expected at most 1000 seeds of each configuration (a sweep holds at most 100000 tasks)" \
    "replicates: 999999"
  refused "replicates: 1001; expected at most 1000" "replicates: 1001"
  refused "more than 100000 combinations" "grid: {model.epochs: [$(seq -s, 1 101)]}" "replicates: 1000"
  [ "$SECONDS" -lt 10 ]
}

@test "hostile plots: labels with backquotes, \$(...), system() and newlines are text, not commands" {
  # gnuplot runs in p/: a command would leave its marker there (or here).
  "$FIXTURE" r/a/run.h5 'experiment.name=a`touch m1`' val_acc=0.5,0.6 test_acc=0.5
  "$FIXTURE" r/b/run.h5 'experiment.name=b $(touch m2) system("touch m3") it'"'"'s
two' val_acc=0.4,0.7 test_acc=0.6
  run "$BIN/dpt-aggregate" --group-by experiment.name --plots p r
  assert_success
  for m in m1 m2 m3; do [ ! -e "$m" ] && [ ! -e "p/$m" ]; done
  # Each curve carries the literal text (the newline became a space).
  grep -qF '<title>experiment.name=a`touch m1`</title>' p/val_acc_epoch.svg
  grep -qF '<title>experiment.name=b $(touch m2) system("touch m3") it'"'"'s two</title>' p/val_acc_epoch.svg
  grep -qF '<text>experiment.name=a`touch m1`</text>' p/val_acc_epoch.svg
  # The data file's header is one comment line.
  [ "$(grep -c '^#' p/data/g001.dat)" -eq 2 ]
}

# A sweep of one long task on the small dataset, expanded into $BATS_TEST_TMPDIR/sw.
long_task() {
  local data
  data=$(small_fmnist 300)
  printf 'name: t\nbase: %s\nset: {model.name: LeNet5, model.epochs: 2000, data.path: %s, data.limit: 300}\n%s\n' \
    "$DPT_ROOT/sweeps/base/fashion-mnist.yaml" "$data" "$1" >"$BATS_TEST_TMPDIR/long.yaml"
  "$BIN/dpt-sweep" expand "$BATS_TEST_TMPDIR/long.yaml" -o "$BATS_TEST_TMPDIR/sw" >/dev/null
}

# run_attempt RESTART: the array script as Slurm would start it (attempt RESTART), sent
# USR1 (the time-limit warning) once the trainer runs; output and status in $output/$status.
run_attempt() {
  SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_JOB_ID=7 SLURM_RESTART_COUNT=$1 \
    bash "$BATS_TEST_TMPDIR/sw/jobs/a0.sbatch" >"$BATS_TEST_TMPDIR/attempt.log" 2>&1 &
  local pid=$! i
  for i in $(seq 1 120); do
    h5dump -a /status "$BATS_TEST_TMPDIR"/sw/tasks/*/run.h5 2>/dev/null | grep -q '"running"' && break
    sleep 0.5
  done
  kill -USR1 "$pid"
  status=0
  wait "$pid" || status=$?
  output=$(cat "$BATS_TEST_TMPDIR/attempt.log")
}

@test "job script: requeues stop at resources.max_requeues; a failed scontrol requeue is logged, not success" {
  long_task "resources: {ranks: 1, time: 5, max_requeues: 2}"
  # The third attempt (restart 2) has used up its requeues.
  run_attempt 2
  [ "$status" -eq 3 ]
  assert_output --partial "checkpoint written"
  assert_output --partial "checkpointed, not requeued: 2 requeue(s) already (resources.max_requeues 2)"
  refute_output --partial "requeueing"
  # A first attempt may requeue; no cluster answers scontrol here, which must not count
  # as requeued (exit 0 would end the task for good).
  run_attempt 0
  [ "$status" -eq 3 ]
  assert_output --partial "checkpointed: requeueing 7_0"
  assert_output --regexp "scontrol requeue 7_0 failed with status [1-9]"
}

@test "dpt-sweep complete: 0 only for a complete run file; the job scripts use it, not h5dump" {
  AGG() { "$BIN/dpt-aggregate" "$@" >/dev/null; }
  "$FIXTURE" done/run.h5 val_acc=0.5 test_acc=0.5
  "$FIXTURE" running/run.h5 status=running val_acc=0.5 test_acc=0.5
  mkdir empty damaged
  head -c 3000 done/run.h5 >damaged/run.h5
  run "$BIN/dpt-sweep" complete done
  assert_success
  assert_output "done/run.h5: complete"
  run "$BIN/dpt-sweep" complete running
  assert_failure 1
  assert_output "running/run.h5: not complete (running)"
  run "$BIN/dpt-sweep" complete empty
  assert_failure 1
  assert_output "empty/run.h5: not complete (no run file)"
  run "$BIN/dpt-sweep" complete damaged
  assert_failure 1
  assert_output --partial "not complete (damaged)"
  "$BIN/dpt-sweep" expand "$(spec "grid: {model.optimizer: [SGDM]}" "resources: {time: 5}")" -o sw >/dev/null
  run grep -c 'dpt-sweep complete\|"$sweep_bin" complete' sw/jobs/a0.sbatch
  assert_output 2
  run grep -l h5dump sw/jobs/a0.sbatch sw/jobs/aggregate.sbatch
  assert_failure
}

@test "aggregate.sbatch: results.md is replaced only when the aggregation succeeded" {
  "$BIN/dpt-sweep" expand "$(spec "grid: {model.optimizer: [SGDM]}" "resources: {time: 5}")" -o sw >/dev/null
  echo "the last good table" >sw/results.md
  # No run file yet: dpt-aggregate fails (exit 1).
  run bash sw/jobs/aggregate.sbatch
  assert_failure 1
  assert_output --partial "the aggregation failed (status 1); $PWD/sw/results.md is left as it was"
  [ "$(cat sw/results.md)" = "the last good table" ]
  [ -z "$(ls sw | grep tmp)" ]
  # A finished run: the table is replaced.
  h=$(ls sw/tasks)
  "$FIXTURE" "sw/tasks/$h/run.h5" val_acc=0.5 test_acc=0.75 >/dev/null
  run bash sw/jobs/aggregate.sbatch
  assert_success
  grep -q '0.7500' sw/results.md
}

@test "expand: signal_lead not below the time limit, and ranks that do not divide B or K, are refused" {
  refused "task 0 (model.optimizer=SGDM): resources.signal_lead: 300 s is not less than the time limit (5 min)" \
    "grid: {model.optimizer: [SGDM]}" "resources: {time: 5, signal_lead: 300}"
  refused "resources.ranks: 3 rank(s) do not divide model.batch_size 64" \
    "grid: {model.batch_size: [64]}" "resources: {ranks: 3, time: 5}"
  refused "task 1 (model.num_workers=4): resources.ranks: 3 rank(s) do not divide model.num_workers K = 4" \
    "grid: {model.num_workers: [3, 4]}" "resources: {ranks: 3, time: 5}"
}

@test "expand: paths with spaces, '#' and '%' are quoted in #SBATCH lines and for the shell" {
  mkdir -p "w d#1%x" && cd "w d#1%x"
  run "$BIN/dpt-sweep" expand "$(spec "grid: {model.optimizer: [SGDM]}" "resources: {time: 5}")" -o "s p#2%y"
  assert_success
  d="$BATS_TEST_TMPDIR/w d#1%x/s p#2%y"
  # sbatch keeps blanks and '#' inside double quotes; --output expands %-patterns.
  run grep '^#SBATCH --\(output\|chdir\)' "$d/jobs/a0.sbatch"
  assert_line "#SBATCH --output=\"${BATS_TEST_TMPDIR}/w d#1%%x/s p#2%%y/logs/%A_%a.out\""
  assert_line "#SBATCH --chdir=\"${BATS_TEST_TMPDIR}/w d#1%x\""
  grep -qxF "sweep='$d'" "$d/jobs/a0.sbatch"
  grep -qxF "sweep='$d'" "$d/jobs/aggregate.sbatch"
  bash -n "$d/jobs/a0.sbatch"
  cd "$BATS_TEST_TMPDIR"
  # Quotes cannot be carried (sbatch has no escapes): refused, saying why.
  for q in "it's" 'say"x'; do
    run "$BIN/dpt-sweep" expand "$(spec "grid: {model.optimizer: [SGDM]}" "resources: {time: 5}")" -o "$q"
    assert_failure 1
    assert_output --partial "a path with a quote (' or \") or a control character (newline, tab) cannot be written into a job script"
    [ ! -e "$q" ]
  done
}
