#!/usr/bin/env bats
# One rank's I/O error during a 2-rank checkpoint (issue 20.3), injected for real: the
# LD_PRELOAD shim build/failwrite.so (tests/tools/failwrite.c) makes rank 1's write calls
# on the checkpoint's temporary file fail with EIO or ENOSPC. The job must end with exit 1
# (not hang until `timeout` says 124, not crash with 139), name rank 1 and the cause, and
# keep the previous checkpoint whole. And every rank flushes its writes to disk before
# rank 0 publishes a checkpoint (issue 20.8).

load helper

setup() {
  DATA=$(small_fmnist 200)
  ARGS=(-c "$DPT_ROOT/tests/fixtures/seed/centralized.yaml" --data "$DATA"
        --set experiment.output= --set model.epochs=3)
  cd "$BATS_TEST_TMPDIR"
}

teardown() { check_written_files; }

# faulty_run ERRNO AFTER: the run with rank 1's writes to the checkpoint after epoch 2
# failing with ERRNO from its AFTER+1-th write on (the one after epoch 1 is left alone:
# FAILWRITE_FILES=1); status, output as bats' run gives them.
faulty_run() {
  rm -rf r
  run timeout 60 mpirun --allow-run-as-root --oversubscribe -np 2 \
    -x LD_PRELOAD="$DPT_ROOT/build/failwrite.so" -x FAILWRITE_RANK=1 \
    -x FAILWRITE_MATCH="$BATS_TEST_TMPDIR/r/checkpoint.h5.tmp." -x FAILWRITE_IGNORE=locktest \
    -x FAILWRITE_FILES=1 -x FAILWRITE_AFTER="$2" -x FAILWRITE_ERRNO="$1" \
    "$BIN/dpt-train" "${ARGS[@]}" --run-dir r
  echo "$1 from write $(($2 + 1)) on: exit $status"
  echo "$output"
}

# the previous checkpoint (epoch 1) is whole and no temporary file is left
kept_epoch_1() {
  [ -z "$(compgen -G "r/*.tmp*")" ]
  run "$BIN/dpt-inspect" --check r/checkpoint.h5
  assert_success
  [ "$(h5dump -a /epoch r/checkpoint.h5 | grep '(0)' | awk '{print $2}')" = 1 ]
}

@test "EIO on rank 1 while H5Fclose flushes the metadata: exit 1 naming rank 1 and EIO, no hang" {
  # rank 1's first two writes (the config attribute) pass; its share of the metadata
  # flush at H5Fclose fails, where it used to leave both ranks waiting in H5Fclose
  faulty_run EIO 2
  grep -q "^failwrite: rank 1: failing writes" <<< "$output" # the fault fired
  [ "$status" -eq 1 ]
  assert_output --regexp "dpt-train: rank 1: writing r/checkpoint.h5: .*Input/output error.*stopping every rank"
  kept_epoch_1
}

@test "ENOSPC on rank 1 at any write of the checkpoint: exit 1 naming rank 1 and the full disk" {
  for after in 0 10 20; do
    faulty_run ENOSPC "$after"
    grep -q "^failwrite: rank 1: failing writes" <<< "$output"
    [ "$status" -eq 1 ]
    assert_output --regexp "dpt-train: rank 1: writing r/checkpoint.h5: .*No space left on device.*stopping every rank"
    kept_epoch_1
  done
}

@test "a 2-rank checkpoint: rank 1 flushes its writes to disk before rank 0 publishes" {
  # rank 1 under strace: its fsync of the temporary file must come after its last write
  # to it, and before rank 0 renames it (a shared clock: both on this machine)
  run timeout 120 mpirun --allow-run-as-root --oversubscribe -np 2 sh -c '
    if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then
      exec strace -f -y -ttt -o trace.1 -e trace=pwrite64,pwritev,write,writev,fsync,fdatasync "$@"
    fi
    exec strace -f -y -ttt -o trace.0 -e trace=rename "$@"' sh \
    "$BIN/dpt-train" "${ARGS[@]}" --set model.epochs=1 --run-dir r
  assert_success
  tmp='r/checkpoint\.h5\.tmp\.[^>]*[0-9a-f]>'  # HOST.PID.RANDOM, RANDOM in hex
  last_write=$(grep -E "write[v64]*\([0-9]+<[^>]*/$tmp" trace.1 | tail -n 1 | awk '{print $2}')
  sync=$(grep -E "f(data)?sync\([0-9]+<[^>]*/$tmp" trace.1 | tail -n 1 | awk '{print $2}')
  renamed=$(grep -E 'rename\("r/checkpoint\.h5\.tmp' trace.0 | tail -n 1 | awk '{print $2}')
  echo "rank 1's last write $last_write, its fsync $sync; rank 0's rename $renamed"
  [ -n "$last_write" ]
  [ -n "$sync" ]
  [ -n "$renamed" ]
  awk -v w="$last_write" -v s="$sync" -v r="$renamed" 'BEGIN { exit !(w < s && s < r) }'
}

@test "EIO on the only rank: exit 1 naming rank 0, not HDF5's crash in MPI_Finalize (139)" {
  # without mpirun: the shim takes the process for rank 0
  rm -rf r
  run env LD_PRELOAD="$DPT_ROOT/build/failwrite.so" FAILWRITE_RANK=0 \
    FAILWRITE_MATCH="$BATS_TEST_TMPDIR/r/checkpoint.h5.tmp." FAILWRITE_IGNORE=locktest \
    FAILWRITE_FILES=1 FAILWRITE_AFTER=2 timeout 60 "$BIN/dpt-train" "${ARGS[@]}" --run-dir r
  echo "$output"
  grep -q "^failwrite: rank 0: failing writes" <<< "$output"
  [ "$status" -eq 1 ]
  assert_output --regexp "dpt-train: rank 0: writing r/checkpoint.h5: .*write failed"
  kept_epoch_1
}
