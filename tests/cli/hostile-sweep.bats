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
  refused "replicates: 1000000000; at most 1000000 tasks" "replicates: 1000000000"
  refused "at most 1000000 (split the sweep)" \
    "grid: {model.epochs: [$(seq -s, 1 1000001)]}"
  refused "more than 1000000 combinations" \
    "grid: {model.epochs: [$(seq -s, 1 1001)], experiment.seed: [$(seq -s, 1 1001)]}"
}

@test "hostile plots: labels with backquotes, \$(...), system() and newlines are text, not commands" {
  # gnuplot runs in p/: a command would leave its marker there (or here).
  "$BIN/dpt-aggregate" --fixture r/a/run.h5 'experiment.name=a`touch m1`' val_acc=0.5,0.6 test_acc=0.5
  "$BIN/dpt-aggregate" --fixture r/b/run.h5 'experiment.name=b $(touch m2) system("touch m3") it'"'"'s
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
