#!/usr/bin/env bats
# What a sweep spec or a sweep path may not do (issue 20, items 2, 6 and 8): a task config
# whose results table or run name leaves its directory, a path sbatch would mangle, an
# expansion that fails half-way (it leaves nothing), and two commands that change one
# sweep at once (the second is refused). No cluster here.
load helper

setup() {
  cd "$BATS_TEST_TMPDIR"
}

# spec BODY...: a spec with a small inline base and the given lines; prints its path.
spec() {
  { printf 'name: c\nbase:\n  model: {name: LeNet5, epochs: 1}\n  data: {limit: 300}\n'
    printf '%s\n' "$@"; } >"$BATS_TEST_TMPDIR/s.yaml"
  echo "$BATS_TEST_TMPDIR/s.yaml"
}

@test "sweep spec: experiment.output outside the run directory and experiment.name with '..' are refused by expand" {
  for body in "set: {experiment.output: ~/.bashrc}" "set: {experiment.output: /tmp/t.csv}" \
              "grid: {experiment.output: [a.csv, ../t.csv]}"; do
    run timeout 60 "$BIN/dpt-sweep" expand "$(spec "$body")" -o out
    assert_failure 1
    assert_output --partial "experiment.output: '"
    assert_output --partial "expected a relative path ending in .csv, inside the run directory"
    [ ! -e out ]
  done
  run timeout 60 "$BIN/dpt-sweep" expand "$(spec 'grid: {experiment.name: [a, ../../x]}')" -o out
  assert_failure 1
  assert_output --partial "experiment.name: '../../x': expected a name without '/', '..' or control characters"
  [ ! -e out ]
}

@test "sweep paths: a backslash (sbatch drops it) in the sweep or working directory is refused, nothing written" {
  run timeout 60 "$BIN/dpt-sweep" expand "$(spec 'grid: {model.optimizer: [SGDM]}')" -o 'a\b'
  assert_failure 1
  assert_output --partial "sweep directory '$BATS_TEST_TMPDIR/a\\b': "
  assert_output --partial "nor one with a backslash (sbatch drops it)"
  [ ! -e 'a\b' ]
  mkdir 'w\d' && cd 'w\d'
  run timeout 60 "$BIN/dpt-sweep" expand "$(spec 'grid: {model.optimizer: [SGDM]}')" -o "$BATS_TEST_TMPDIR/o"
  assert_failure 1
  assert_output --partial "working directory '$BATS_TEST_TMPDIR/w\\d'"
  [ ! -e "$BATS_TEST_TMPDIR/o" ]
}

@test "expand: a failure half-way leaves nothing behind, and the next expand succeeds" {
  # real templates, the array one with a placeholder expand does not know: it fails
  # after the task configs are written
  mkdir jobs
  cp "$DPT_ROOT/jobs/aggregate.sbatch.in" jobs/
  sed 's/{{NTASKS}}/{{NO_SUCH}}/' "$DPT_ROOT/jobs/array.sbatch.in" >jobs/array.sbatch.in
  run timeout 60 "$BIN/dpt-sweep" expand "$(spec 'replicates: 3')" -o out --jobs jobs
  assert_failure 1
  assert_output --partial "unknown placeholder {{NO_SUCH}}"
  [ ! -e out ]
  [ -z "$(ls -A .)" ] || [ "$(ls -A .)" = "$(printf 'jobs\ns.yaml')" ]
  # an empty directory given as the target stays as it was
  mkdir empty
  run timeout 60 "$BIN/dpt-sweep" expand "$(spec 'replicates: 3')" -o empty --jobs jobs
  assert_failure 1
  [ -z "$(ls -A empty)" ]
  [ -z "$(compgen -G '.*.expand-*')" ]
  run timeout 60 "$BIN/dpt-sweep" expand "$(spec 'replicates: 3')" -o out
  assert_success
  [ "$(grep -c '^[0-9]' out/manifest.tsv)" -eq 3 ]
  # the scripts name the sweep directory, not the temporary one it was written in
  grep -qxF "sweep='$BATS_TEST_TMPDIR/out'" out/jobs/a0.sbatch
  ! grep -q 'expand-' out/jobs/a0.sbatch
  [ -z "$(compgen -G '.*.expand-*')" ]
}

@test "a sweep another dpt-sweep command holds is refused by submit, run-local and expand --force" {
  "$BIN/dpt-sweep" expand "$(spec 'grid: {model.optimizer: [SGDM]}')" -o sw >/dev/null
  # a real holder of the lock: the lock file, flock(1), stopped until the checks are done
  flock sw/.sweep.lock sleep 60 &
  holder=$!
  for i in $(seq 1 50); do
    flock -n sw/.sweep.lock true || break
    sleep 0.1
  done
  for cmd in "submit sw" "resubmit sw" "run-local sw"; do
    run timeout 20 "$BIN/dpt-sweep" $cmd
    assert_failure 1
    assert_output --partial "sw is in use by another dpt-sweep command"
  done
  run timeout 20 "$BIN/dpt-sweep" expand "$(spec 'grid: {model.optimizer: [SGDM]}')" -o sw --force
  assert_failure 1
  assert_output --partial "is in use by another dpt-sweep command"
  kill "$holder"
  wait "$holder" || true
  # a planted link at the lock is refused, not followed
  echo precious >victim
  rm -f sw/.sweep.lock && ln -s "$PWD/victim" sw/.sweep.lock
  run timeout 20 "$BIN/dpt-sweep" run-local sw
  assert_failure 1
  assert_output --partial "sw/.sweep.lock: a symbolic link"
  [ "$(cat victim)" = precious ]
}
