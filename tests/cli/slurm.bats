#!/usr/bin/env bats
# The local one-node Slurm cluster (env/slurm-start.sh, env/slurm-stop.sh).
load helper
load slurm-cluster

setup_file() {
  slurm_cluster_start
}

teardown_file() {
  slurm_cluster_stop
}

@test "slurm: sinfo shows the local node idle in partition debug" {
  run sinfo -h -o '%P %t %N %c'
  assert_success
  assert_output --regexp "^debug\* (idle|mix) localhost $(nproc)\$"
}

@test "slurm: the cluster's files live in its own directory, not /etc/slurm" {
  [[ "$SLURM_CONF" == "$BATS_FILE_TMPDIR/slurm/slurm.conf" ]]
  run scontrol show config
  assert_success
  assert_output --partial "AccountingStorageType   = accounting_storage/none"
  assert_output --partial "ProctrackType           = proctrack/linuxproc"
  assert_output --partial "$BATS_FILE_TMPDIR/slurm/state"
}

@test "slurm: srun --mpi=pmix -n 2 runs a 2-rank dpt-train" {
  data=$(small_fmnist 300)
  run srun --mpi=pmix -n 2 "$BIN/dpt-train" -c "$DPT_ROOT/sweeps/base/fashion-mnist.yaml" \
    --data "$data" --set model.name=LeNet5 --set model.epochs=1 \
    --run-dir "$BATS_TEST_TMPDIR/r2"
  assert_success
  assert_output --partial "2 rank(s)"
  run h5dump -a /status "$BATS_TEST_TMPDIR/r2/run.h5"
  assert_output --partial '"complete"'
}

@test "slurm: an array job with a throttle runs every task" {
  run sbatch --parsable --array=0-3%2 -o "$BATS_TEST_TMPDIR/a-%A_%a.out" \
    --wrap 'echo task $SLURM_ARRAY_TASK_ID'
  assert_success
  job=${output%%;*}
  slurm_wait_idle 60
  for i in 0 1 2 3; do
    run cat "$BATS_TEST_TMPDIR/a-${job}_$i.out"
    assert_output "task $i"
  done
}

@test "slurm-start: refuses when SLURM_CONF names another cluster" {
  SLURM_CONF=/etc/slurm/slurm.conf run "$DPT_ROOT/env/slurm-start.sh" --dir "$BATS_TEST_TMPDIR/x"
  assert_failure
  assert_output --partial "is not a dpt local cluster"
  [ ! -e "$BATS_TEST_TMPDIR/x" ]
}

@test "slurm-stop: refuses a directory slurm-start did not make" {
  mkdir -p "$BATS_TEST_TMPDIR/notours"
  run "$DPT_ROOT/env/slurm-stop.sh" --dir "$BATS_TEST_TMPDIR/notours"
  assert_failure
  assert_output --partial "not a dpt local cluster"
  [ -d "$BATS_TEST_TMPDIR/notours" ]
}
