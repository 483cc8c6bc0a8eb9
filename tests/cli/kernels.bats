#!/usr/bin/env bats
# The layer kernels give the same bits whatever the CPU: through every vector path
# (DPT_KERNEL) and under every OpenBLAS core type, one short run ends on one weights crc32.

load helper

setup() {
  DATA=$(small_fmnist 16)
  CENTRAL="$DPT_ROOT/tests/fixtures/seed/centralized.yaml"
  cd "$BATS_TEST_TMPDIR"
}

# The seed LeNet (64-channel convolutions, 1600-384-192-100 linear layers), 4 steps of 4.
short_run() {
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=1 --set model.batch_size=4 \
    --set data.val_fraction=0 --set experiment.output= --run-dir "$1" 2>&1 >/dev/null
}
crc() { h5dump -a /results/weights_crc32 "$1/run.h5" | grep '(0)'; }

@test "every kernel path this CPU runs (scalar, avx2, avx512) gives the same weights" {
  mapfile -t ran < <(kernel_paths)
  for k in "${ran[@]}"; do DPT_KERNEL=$k short_run "$k"; done
  # x86-64 CPUs with AVX2 are the ones dpt is built for: both paths must have run
  if [ "$(uname -m)" = x86_64 ]; then [ "${ran[1]}" = avx2 ]; fi
  for k in "${ran[@]}"; do
    [ "$(crc "$k")" = "$(crc scalar)" ] || { echo "$k: $(crc "$k"), scalar: $(crc scalar)"; false; }
  done
  echo "# paths: ${ran[*]}" >&3
}

@test "DPT_KERNEL: an unknown path, or one this CPU lacks, is refused by name" {
  DPT_KERNEL=sse4 run short_run bad
  assert_failure
  assert_output --partial "DPT_KERNEL=sse4: unknown kernel path (expected scalar, avx2 or avx512)"
  [ ! -e bad/run.h5 ]
  if ! cpu_has avx512f; then
    DPT_KERNEL=avx512 run short_run bad
    assert_failure
    assert_output --partial "DPT_KERNEL=avx512: kernel path 'avx512' is not available"
    [ ! -e bad/run.h5 ]
  fi
}

@test "OpenBLAS cannot change a result: only dpt-bench links it, no training binary does" {
  # The trainer's arithmetic is dpt's own kernels; OpenBLAS is dpt-bench's reference and
  # the unit tests' oracle. (When dpt-train linked it, every core type had to be checked
  # for the same weights.)
  for b in dpt-train dpt-data dpt-sweep dpt-aggregate dpt-inspect; do
    run ldd "$BIN/$b"
    assert_success
    refute_output --partial "libopenblas"
  done
  run ldd "$BIN/dpt-bench"
  assert_output --partial "libopenblas"
}

@test "dpt-bench --step-only: the step and its phases, none of the other timings" {
  run "$BIN/dpt-bench" --step-only --sgemm 64 -s 0.2
  assert_success
  assert_output --partial "(a) training step"
  assert_output --partial "(b) phases per step"
  refute_output --partial "sgemm"
  refute_output --partial "(e) checkpoint.h5"
  refute_output --partial "(g) compressors"
}

@test "bench/throughput.sh: DPT_BENCH_ROUNDS that is not a positive integer is refused before any timing" {
  for v in 0 abc '1`touch pwned`' $'2\n3'; do
    DPT_BENCH_ROUNDS="$v" DPT_THROUGHPUT="$BATS_TEST_TMPDIR/tp.txt" run bash "$DPT_ROOT/bench/throughput.sh"
    [ "$status" -eq 2 ]
    assert_output --partial "DPT_BENCH_ROUNDS must be a positive integer"
    refute_output --partial "dpt-bench"
  done
  [ ! -e pwned ] && [ ! -e "$BATS_TEST_TMPDIR/tp.txt" ]
}
