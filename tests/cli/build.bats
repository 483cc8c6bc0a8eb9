#!/usr/bin/env bats
# The build a newcomer or a cluster user gets: plain `make` in a fresh clone builds every
# binary for baseline x86-64 without -Werror, and the kernels build with no x86
# intrinsics at all (DPT_NO_X86, and clang for aarch64).

load helper

@test "plain make in a fresh clone builds every bin/dpt-* (portable flags, no -Werror)" {
  git clone -q "$DPT_ROOT" "$BATS_TEST_TMPDIR/clone"
  cd "$BATS_TEST_TMPDIR/clone"
  # as a user types it: not the variables of the make that runs this test (make test,
  # or CI's make WERROR=1 test) passed down through the environment
  run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u WERROR make -j2
  assert_success
  refute_output --partial "-march="
  refute_output --partial "-Werror"
  n=0
  for src in src/cli/dpt-*.c; do
    b=bin/$(basename "$src" .c)
    [ -x "$b" ] || { echo "missing $b"; false; }
    n=$((n + 1))
  done
  [ "$n" -ge 5 ]
  run ./bin/dpt-train --help
  assert_success
}

@test "a package pkg-config does not know is named before compiling, with the way out" {
  git clone -q "$DPT_ROOT" "$BATS_TEST_TMPDIR/clone"
  cd "$BATS_TEST_TMPDIR/clone"
  mkdir "$BATS_TEST_TMPDIR/no-pc"
  run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u PKG_CONFIG_PATH \
    PKG_CONFIG_LIBDIR="$BATS_TEST_TMPDIR/no-pc" make -j2 bin/dpt-train
  assert_failure
  assert_output --partial "make: pkg-config does not know: hdf5-openmpi yaml-0.1 zlib"
  assert_output --partial "env/install-deps.sh --build"
  refute_output --partial "No such file"
  [ ! -e bin/dpt-train ]
}

# The only files with intrinsics are the kernels (the grep keeps that true).
KERNEL_SRC=(src/nn/bn.c src/nn/conv3.c src/nn/fc.c src/nn/kernel.c src/nn/layers.c src/nn/model.c)
FLAGS=(-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror)

@test "the kernels compile without x86 intrinsics: -DDPT_NO_X86, and for aarch64" {
  cd "$DPT_ROOT"
  run grep -rlE 'immintrin|__builtin_cpu' src
  assert_success
  for f in $output; do [[ " ${KERNEL_SRC[*]} " == *" $f "* ]] || { echo "intrinsics in $f"; false; }; done
  for f in "${KERNEL_SRC[@]}"; do
    gcc "${FLAGS[@]}" -DDPT_NO_X86 -c "$f" -o "$BATS_TEST_TMPDIR/x.o"
    # no vector registers beyond SSE2's in the portable objects
    run objdump -d "$BATS_TEST_TMPDIR/x.o"
    refute_output --regexp '%[yz]mm'
  done
  # Debian ships no aarch64 libc headers here: the x86-64 ones stand in (they differ
  # only in word-size details, which do not reach these files); gnu/stubs-32.h is empty.
  mkdir -p "$BATS_TEST_TMPDIR/inc/gnu"
  : > "$BATS_TEST_TMPDIR/inc/gnu/stubs-32.h"
  for f in "${KERNEL_SRC[@]}"; do
    clang --target=aarch64-linux-gnu "${FLAGS[@]}" -isystem "$BATS_TEST_TMPDIR/inc" \
      -isystem /usr/include/x86_64-linux-gnu -c "$f" -o "$BATS_TEST_TMPDIR/a.o"
    run file "$BATS_TEST_TMPDIR/a.o"
    assert_output --partial "ARM aarch64"
  done
}

@test "src/ folders include only folders listed before them in docs/ARCHITECTURE.md" {
  run "$DPT_ROOT/tests/tools/include-order.sh"
  assert_success
  # the check itself can fail: a core file that includes train/ is named
  mkdir -p "$BATS_TEST_TMPDIR/r/docs" "$BATS_TEST_TMPDIR/r/src"
  cp "$DPT_ROOT/docs/ARCHITECTURE.md" "$BATS_TEST_TMPDIR/r/docs/"
  cp -r "$DPT_ROOT/src/core" "$DPT_ROOT/src/train" "$BATS_TEST_TMPDIR/r/src/"
  echo '#include "../train/trainer.h"' >> "$BATS_TEST_TMPDIR/r/src/core/err.c"
  run "$DPT_ROOT/tests/tools/include-order.sh" "$BATS_TEST_TMPDIR/r"
  assert_failure
  assert_output --partial "src/core/err.c: includes ../train/, not listed before src/core/"
}
