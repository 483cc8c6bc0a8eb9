# Shared set-up for the bats tests: paths, a scratch directory, bats-assert.
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

DPT_ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
# DPT_BIN_DIR: test other builds of the binaries (make check: build-san/bin).
BIN="${DPT_BIN_DIR:-$DPT_ROOT/bin}"
FMNIST_SRC="${FMNIST_SRC:-/usr/share/datasets/fashion-mnist}"
# run files with chosen metrics (tests/tools/run-fixture.c, built by make)
FIXTURE="$DPT_ROOT/build/run-fixture"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# Open MPI's start-up, which hundreds of short runs pay: the ob1 messaging layer (the one
# Open MPI picks here anyway, Debian's openmpi-mca-params.conf excluding UCX) named
# outright, so that no other layer's network plugins are loaded and probed (0.2 s a
# launch); it changes nothing a run computes. (Not ess_singleton_isolated, which would save
# a singleton's orted: Open MPI 4.1 then gives every singleton the same session directory,
# jf.0/1 under TMPDIR, and two at once - the two bats lanes - delete each other's files.)
export OMPI_MCA_pml=ob1

# small_fmnist TRAIN [TEST]: Fashion-MNIST's first TRAIN training images and first TEST
# (default TRAIN) test images, imported once per file and shared by its tests. A test
# split smaller than the training one keeps short runs short: every run evaluates it
# twice at its end (the last and the best model).
small_fmnist() {
  local ntrain=${1:-600} ntest=${2:-${1:-600}}
  local out="$BATS_FILE_TMPDIR/fmnist-$ntrain-$ntest.h5"
  if [ ! -f "$out" ]; then
    local src=$FMNIST_SRC
    if [ "$ntest" -lt "$ntrain" ]; then
      src=$(mktemp -d "$BATS_FILE_TMPDIR/fmnist-src.XXXXXX")
      fmnist_src "$src" "$ntrain" "$ntest"
    fi
    "$BIN/dpt-data" fashion-mnist --src "$src" --limit "$ntrain" -o "$out" >/dev/null
  fi
  echo "$out"
}

# fmnist_src DIR TRAIN TEST: a Fashion-MNIST source directory (uncompressed IDX files, to
# be imported or altered) of the first TRAIN training and TEST test images
fmnist_src() {
  mkdir -p "$1"
  idx_head "$FMNIST_SRC/train-images-idx3-ubyte.gz" "$2" 16 784 > "$1/train-images-idx3-ubyte"
  idx_head "$FMNIST_SRC/train-labels-idx1-ubyte.gz" "$2" 8 1 > "$1/train-labels-idx1-ubyte"
  idx_head "$FMNIST_SRC/t10k-images-idx3-ubyte.gz" "$3" 16 784 > "$1/t10k-images-idx3-ubyte"
  idx_head "$FMNIST_SRC/t10k-labels-idx1-ubyte.gz" "$3" 8 1 > "$1/t10k-labels-idx1-ubyte"
}

# idx_head FILE.gz N HEADER ITEM: the IDX file's first N items (ITEM bytes each, after a
# header of HEADER bytes whose second 4-byte word is the count) with the count set to N
idx_head() {
  local n=$2
  gunzip -c "$1" | head -c 4
  printf "$(printf '\\x%02x' $((n >> 24 & 255)) $((n >> 16 & 255)) $((n >> 8 & 255)) $((n & 255)))"
  gunzip -c "$1" | tail -c +9 | head -c $(($3 - 8 + n * $4))
}

mpi() { mpirun --allow-run-as-root --oversubscribe -np "$@"; }

cpu_has() { grep -qw "$1" /proc/cpuinfo; }
# kernel_paths: the kernel paths (DPT_KERNEL values) this CPU runs, scalar first, one a line.
kernel_paths() {
  echo scalar
  if cpu_has avx2; then echo avx2; fi
  if cpu_has avx512f; then echo avx512; fi
}

# trained NAME ARGS...: links the run directory of `dpt-train ARGS` (one rank) into the
# current directory as NAME. The run is trained once per file, the first time a test asks
# for these ARGS, and its files are checked then as check_written_files checks a test's
# own; the file's other tests that compare with the same run reuse it. Paths in ARGS are
# absolute: the tests' directories differ.
trained() {
  local name=$1
  shift
  local dir
  dir="$BATS_FILE_TMPDIR/trained/$(printf '%s\n' "$@" | md5sum | cut -c1-16)"
  if [ ! -e "$dir.done" ]; then
    rm -rf "$dir" && mkdir -p "${dir%/*}"
    "$BIN/dpt-train" "$@" --run-dir "$dir" >/dev/null
    "$BIN/dpt-inspect" --check "$dir/run.h5" >/dev/null
    "$BIN/dpt-inspect" --check "$dir/checkpoint.h5" >/dev/null
    touch "$dir.done"
  fi
  ln -s "$dir" "$name"
}

# same_learning A B: the learning metrics (not timings), results and final weights of the
# runs in directories A and B are byte-identical.
same_learning() {
  for m in lr train_loss train_acc val_loss val_acc h averagings; do
    h5diff "$1/run.h5" "$2/run.h5" "/metrics/$m" "/metrics/$m" || { echo "differs: $m"; return 1; }
  done
  local a b
  a=$(learning_results "$1") b=$(learning_results "$2")
  [ "$a" = "$b" ] || { echo "differs: /results"; diff <(echo "$a") <(echo "$b"); return 1; }
}

# learning_results DIR: the /results attributes that same_learning compares, as h5dump
# prints them (one h5dump for all: a run's comparison starts fewer processes)
learning_results() {
  local a args=()
  for a in weights_crc32 test_acc_last test_loss_last test_acc_best test_loss_best \
           averagings_total best_epoch; do
    args+=(-a "/results/$a")
  done
  h5dump "${args[@]}" "$1/run.h5" | grep -e '^ATTRIBUTE' -e '(0)'
}

# same_ledger A B: the communication ledgers of runs A and B (/rounds: every algorithmic
# column with its attributes, as h5dump prints them) and their per-epoch payload bytes
# (/metrics/bytes) are identical; /rounds_measured, this placement's seconds, is not.
same_ledger() {
  local a b
  a=$(h5dump -g /rounds "$1/run.h5" | tail -n +2) || { echo "no /rounds in $1"; return 1; }
  b=$(h5dump -g /rounds "$2/run.h5" | tail -n +2) || { echo "no /rounds in $2"; return 1; }
  [ "$a" = "$b" ] || { echo "differs: /rounds"; diff <(echo "$a") <(echo "$b") | head; return 1; }
  h5diff "$1/run.h5" "$2/run.h5" /metrics/bytes /metrics/bytes || { echo "differs: bytes"; return 1; }
}

# check_written_files: every run.h5 and checkpoint.h5 the test left in its directory
# passes dpt-inspect --check (the layout of hdf5-schema/). Files called from a test's
# teardown; damaged fixtures go by other names.
check_written_files() {
  local f out rc=0
  while IFS= read -r f; do
    out=$("$BIN/dpt-inspect" --check "$f" 2>&1) || { echo "$out"; rc=1; }
  done < <(find "$BATS_TEST_TMPDIR" \( -name run.h5 -o -name checkpoint.h5 \) 2>/dev/null)
  return $rc
}

# stop_mid_epoch P DIR ARGS...: run on P ranks, send SIGUSR1 (DELAYS seconds after the
# trainer's start-up line, so a busy machine's slow start does not swallow them) until
# one lands inside an epoch (step > 0; inside epoch $EPOCH when set); asserts exit
# status 3 and an interrupted run.h5.
stop_mid_epoch() {
  local p=$1 dir=$2 delays="${DELAYS:-1.2 0.8 1.6 0.5 2.0}"
  shift 2
  for delay in $delays; do
    rm -rf "$dir"
    # mpirun itself in the background: it forwards SIGUSR1 to every rank
    mpirun --allow-run-as-root --oversubscribe -np "$p" "$BIN/dpt-train" "$@" --run-dir "$dir" \
        > "$dir.log" 2>&1 &
    local pid=$! i
    for i in $(seq 1 600); do
      grep -q "^dpt-train: .* -> " "$dir.log" 2>/dev/null && break
      sleep 0.1
    done
    sleep "$delay"
    kill -USR1 "$pid" 2>/dev/null || true
    # a second signal (Slurm's TERM after USR1, an impatient user) while it checkpoints
    [ -n "${TWICE:-}" ] && sleep 0.05 && { kill -USR1 "$pid" 2>/dev/null || true; }
    local rc=0
    wait "$pid" || rc=$?
    if [ "$rc" -eq 3 ] && grep -q "interrupted at epoch ${EPOCH:-[0-9]*}, step [1-9]" "$dir.log"; then
      grep "interrupted at" "$dir.log"
      h5dump -a /status "$dir/run.h5" | grep -q '"interrupted"'
      return 0
    fi
  done
  echo "no signal landed inside an epoch"; cat "$dir.log"
  return 1
}

# refused_when_damaged CKPT GROUP "DATASET ELEMENT|MESSAGE"... -- TRAIN_ARGS...: for each
# entry, flips one element of GROUP/DATASET in a copy of checkpoint CKPT (build/h5craft)
# and asserts that resuming from it with TRAIN_ARGS fails naming MESSAGE.
refused_when_damaged() {
  local ckpt=$1 group=$2 crafts=() craft
  shift 2
  while [ "$1" != -- ]; do crafts+=("$1"); shift; done
  shift
  local dataset element
  for craft in "${crafts[@]}"; do
    cp "$ckpt" bad.h5
    read -r dataset element <<<"${craft%%|*}"
    "$DPT_ROOT/build/h5craft" --flip bad.h5 "/$group/$dataset" "$element"
    run "$BIN/dpt-train" "$@" --run-dir x --resume bad.h5
    assert_failure
    assert_output --partial "${craft#*|}"
    rm -rf x bad.h5
  done
}
