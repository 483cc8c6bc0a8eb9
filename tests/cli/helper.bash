# Shared set-up for the bats tests: paths, a scratch directory, bats-assert.
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

DPT_ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
BIN="$DPT_ROOT/bin"
FMNIST_SRC="${FMNIST_SRC:-/usr/share/datasets/fashion-mnist}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

# A small Fashion-MNIST import shared by all tests of one file (made once per file).
small_fmnist() {
  local out="$BATS_FILE_TMPDIR/fmnist-small.h5"
  [ -f "$out" ] || "$BIN/dpt-data" fashion-mnist --src "$FMNIST_SRC" --limit "${1:-600}" -o "$out" >/dev/null
  echo "$out"
}
