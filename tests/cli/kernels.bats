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
cpu_has() { grep -qw "$1" /proc/cpuinfo; }

@test "every kernel path this CPU runs (scalar, avx2, avx512) gives the same weights" {
  ran=()
  for k in scalar avx2 avx512; do
    case $k in avx2) cpu_has avx2 || continue ;; avx512) cpu_has avx512f || continue ;; esac
    DPT_KERNEL=$k short_run "$k"
    ran+=("$k")
  done
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

# The CPU feature each core type's kernels need (names from the library's own table:
# `strings libopenblas.so | grep -x Haswell` and its neighbours); the rest need SSE3.
coretype_flag() {
  case $1 in
    SkylakeX|Cooperlake) echo avx512f ;;
    Haswell|Zen) echo avx2 ;;
    Sandybridge) echo avx ;;
    Bulldozer|Piledriver|Steamroller|Excavator) echo fma4 ;;
    Opteron|Opteron_SSE3) echo 3dnow ;;
    Barcelona|Bobcat) echo sse4a ;;
    *) echo pni ;;
  esac
}

@test "every OpenBLAS core type this CPU runs gives the same weights" {
  ran=()
  for ct in Prescott Atom Core2 Penryn Dunnington Nehalem Opteron Opteron_SSE3 Barcelona \
            Nano Bobcat Sandybridge Bulldozer Piledriver Steamroller Excavator Haswell Zen \
            SkylakeX Cooperlake; do
    cpu_has "$(coretype_flag $ct)" || continue
    OPENBLAS_CORETYPE=$ct short_run "$ct"
    ran+=("$ct")
  done
  for need in Prescott Nehalem Sandybridge Haswell Zen; do
    [[ " ${ran[*]} " == *" $need "* ]] || { echo "core type $need did not run"; false; }
  done
  for ct in "${ran[@]}"; do
    [ "$(crc "$ct")" = "$(crc Prescott)" ] || { echo "$ct: $(crc "$ct"), Prescott: $(crc Prescott)"; false; }
  done
  echo "# core types: ${ran[*]}" >&3
}
