#!/usr/bin/env bats
# dpt-inspect: summaries of a dataset, runs (K = 0 and K = 4 LocalSGD) and a checkpoint;
# --check passes on every kind of file dpt-data and dpt-train write; damaged, truncated,
# foreign, wrong-schema and future-version files give clear errors, never a crash; and the
# h5dump -H layouts match tests/golden/.

load helper

INSPECT() { "$BIN/dpt-inspect" "$@"; }

setup_file() {
  local d="$BATS_FILE_TMPDIR"
  "$BIN/dpt-data" fashion-mnist --src "$FMNIST_SRC" --limit 100 -o "$d/data.h5" >/dev/null
  "$BIN/dpt-train" -c "$DPT_ROOT/tests/fixtures/seed/centralized.yaml" --data "$d/data.h5" \
    --set model.epochs=1 --set experiment.output= --run-dir "$d/k0" >/dev/null 2>&1
  "$BIN/dpt-train" -c "$DPT_ROOT/tests/fixtures/seed/centralized.yaml" --data "$d/data.h5" \
    --set model.epochs=2 --set experiment.output= --set model.num_workers=4 \
    --set model.work.local_steps=4 --run-dir "$d/k4" >/dev/null 2>&1
}

setup() {
  D="$BATS_FILE_TMPDIR"
  cd "$BATS_TEST_TMPDIR"
}

# patch_string FILE ATTRIBUTE OLD NEW: rewrites the value of a root string attribute in
# place (NEW as long as OLD): the first OLD after the attribute's name in the file.
# dpt writes the 1.8+ format, whose metadata is checksummed: a byte patch would be caught
# as damage. Repacking to the earliest format (no checksums) lets a patch stand for a
# file that some other writer made with that value.
patch_string() {
  local file=$1 name=$2 old=$3 new=$4 at off
  h5repack --low=0 --high=1 "$file" "$file.early" && mv "$file.early" "$file"
  at=$(grep -obUa "$name" "$file" | head -n 1 | cut -d: -f1)
  off=$(grep -obUa "$old" "$file" | cut -d: -f1 | awk -v a="$at" '$1 > a {print; exit}')
  [ -n "$off" ] && [ "${#old}" -eq "${#new}" ]
  printf '%s' "$new" | dd of="$file" bs=1 seek="$off" conv=notrunc status=none
}

# flip FILE OFFSET: overwrites 8 bytes at OFFSET with 0x5a.
flip() {
  printf '\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

@test "--help, no file and unknown options" {
  run INSPECT --help
  assert_success
  assert_output --partial "usage: dpt-inspect [--check] FILE..."
  assert_output --partial "DPT_SCHEMA_DIR"
  run INSPECT
  assert_equal "$status" 2
  assert_output --partial "expected at least one FILE"
  run INSPECT --bogus x.h5
  assert_equal "$status" 2
  assert_output --partial "--bogus"
}

@test "dataset summary: name, counts, dims, classes, mean/std, source" {
  run INSPECT "$D/data.h5"
  assert_success
  assert_output --partial "dataset (dpt-dataset 1.0), written by dpt-data"
  assert_output --partial "name        fashion-mnist"
  assert_output --partial "100 train + 100 test, 1 x 28 x 28 (channels x height x width)"
  assert_output --partial "classes     10: T-shirt/top, Trouser, Pullover"
  assert_output --regexp "mean, std   0\.[0-9]{4}; 0\.[0-9]{4}"
  assert_output --partial "(4 files)"
}

@test "run summaries: config highlights, progress, last metrics, test results, provenance" {
  run INSPECT "$D/k0/run.h5"
  assert_success
  assert_output --partial "run (dpt-run 1.1), written by dpt-train"
  assert_output --partial "experiment  centralized v1.0, status complete"
  assert_output --partial "model       LeNet, SGDM, lr 0.01, batch 64, CosineAnnealingLR"
  assert_output --partial "K = 0 (centralized"
  assert_output --partial "data.h5: 90 train, 10 val, 100 test images"
  assert_output --partial "progress    1 / 1 epochs"
  assert_output --regexp "last epoch  1: lr 0.01, train loss [0-9.]+ acc [0-9.]+, val loss"
  assert_output --regexp "test        last model loss [0-9.]+ acc [0-9.]+; best model loss"
  assert_output --partial "1 MPI rank(s), 1 BLAS thread(s)"
  assert_line "  sums        blocks of 64 terms per FMA chain (sum_block)"
  run INSPECT "$D/k4/run.h5"
  assert_success
  assert_output --partial "K = 4 LocalSGD workers, H = 4 local steps"
  assert_output --partial "progress    2 / 2 epochs"
}

@test "checkpoint summary: position, K, size of the state" {
  [ -f "$D/k4/checkpoint.h5" ] || skip "dpt-train wrote no checkpoint.h5"
  run INSPECT "$D/k4/checkpoint.h5"
  assert_success
  assert_output --partial "checkpoint (dpt-checkpoint 1.0)"
  assert_output --regexp "position    epoch 2, step [0-9]+, K 4"
  assert_output --regexp "state       [0-9]+ datasets in [0-9]+ groups, [0-9.]+ MB of values"
  assert_line "  sums        blocks of 64 terms per FMA chain (sum_block)"
}

@test "run and checkpoint of a build before blocked sums: no sum_block, still ok" {
  for f in k0/run.h5 k4/checkpoint.h5; do
    cp "$D/$f" old.h5
    "$DPT_ROOT/build/h5craft" --delete-attr old.h5 / sum_block
    run INSPECT old.h5
    assert_success
    assert_line "  sums        one FMA chain per output (no sum_block: a build before blocked sums)"
    run INSPECT --check old.h5
    assert_success
    assert_line "old.h5: ok"
  done
}

@test "several files: one summary each" {
  run INSPECT "$D/data.h5" "$D/k0/run.h5"
  assert_success
  assert_output --partial "fashion-mnist"
  assert_output --partial "status complete"
}

@test "--check passes on the dataset and the K=0 and K=4 runs" {
  run INSPECT --check "$D/data.h5" "$D/k0/run.h5" "$D/k4/run.h5"
  assert_success
  assert_line "$D/data.h5: ok"
  assert_line "$D/k0/run.h5: ok"
  assert_line "$D/k4/run.h5: ok"
  refute_output --partial "warning"
}

@test "--check passes on checkpoints when their schema exists" {
  [ -f "$D/k4/checkpoint.h5" ] || skip "dpt-train wrote no checkpoint.h5"
  [ -f "$DPT_ROOT/hdf5-schema/checkpoint.yaml" ] || skip "no hdf5-schema/checkpoint.yaml yet"
  run INSPECT --check "$D/k0/checkpoint.h5" "$D/k4/checkpoint.h5"
  assert_success
  assert_line "$D/k4/checkpoint.h5: ok"
}

@test "--check finds the schema via DPT_SCHEMA_DIR, next to the binary, or ./hdf5-schema" {
  run env DPT_SCHEMA_DIR="$DPT_ROOT/hdf5-schema" "$BIN/dpt-inspect" --check "$D/data.h5"
  assert_success
  cp "$BIN/dpt-inspect" ./dpt-inspect
  run ./dpt-inspect --check "$D/data.h5"
  assert_failure
  assert_output --partial "cannot find the hdf5-schema directory"
  ln -s "$DPT_ROOT/hdf5-schema" hdf5-schema
  run ./dpt-inspect --check "$D/data.h5"
  assert_success
  run env DPT_SCHEMA_DIR=/nonexistent "$BIN/dpt-inspect" --check "$D/data.h5"
  assert_failure
  assert_output --partial "DPT_SCHEMA_DIR=/nonexistent is not a directory"
}

@test "--check names each difference: filters removed by h5repack, an extra dataset" {
  h5repack -f NONE "$D/data.h5" plain.h5
  run INSPECT --check plain.h5
  assert_failure
  assert_line "plain.h5: /train/images: filter 1 missing"
  assert_line "plain.h5: 4 differences from $DPT_ROOT/hdf5-schema/dataset.yaml"
  cp "$D/k0/run.h5" extra.h5
  h5copy -i "$D/k0/run.h5" -o extra.h5 -s /metrics/lr -d /metrics/lr_copy
  run INSPECT --check extra.h5
  assert_success
  assert_line "extra.h5: warning: /metrics/lr_copy: dataset not in the schema"
  assert_line "extra.h5: ok (warnings above)"
}

@test "non-HDF5, missing and foreign HDF5 files: clear errors, exit 1" {
  echo "epoch,loss" > table.csv
  h5copy -i "$D/data.h5" -o foreign.h5 -s /train -d /train
  for opt in "" --check; do
    run INSPECT $opt table.csv
    assert_equal "$status" 1
    assert_output "dpt-inspect: table.csv: not an HDF5 file (no HDF5 signature: foreign or damaged)"
    run INSPECT $opt missing.h5
    assert_equal "$status" 1
    assert_output --partial "missing.h5: no such file"
    run INSPECT $opt foreign.h5
    assert_equal "$status" 1
    assert_output --partial "foreign.h5: not a dpt file (HDF5, but no root attribute 'schema')"
  done
  # one bad file among good ones: the good ones are still reported, the exit is 1
  run INSPECT --check "$D/data.h5" table.csv "$D/k0/run.h5"
  assert_equal "$status" 1
  assert_line "$D/data.h5: ok"
  assert_line "$D/k0/run.h5: ok"
}

@test "truncated files: clear errors, exit 1" {
  for f in "$D/data.h5" "$D/k0/run.h5"; do
    size=$(stat -c %s "$f")
    for n in 4 100 2000 $((size / 2)) $((size - 100)); do
      head -c "$n" "$f" > cut.h5
      run INSPECT --check cut.h5
      assert_equal "$status" 1
      assert_output --regexp "cut.h5: (not an HDF5 file|cannot open as HDF5: damaged or truncated)"
      run INSPECT cut.h5
      assert_equal "$status" 1
    done
  done
}

@test "bit flips: the signature, image data (crc32), and a sweep over the run file" {
  cp "$D/data.h5" sig.h5
  flip sig.h5 0
  run INSPECT --check sig.h5
  assert_equal "$status" 1
  assert_output --partial "sig.h5: not an HDF5 file"
  # the middle of /test/images' compressed chunk, found with h5ls
  read -r bytes addr < <(h5ls -v --address "$D/data.h5/test/images" | awk '/^ *0x/ {print $2, $3}')
  cp "$D/data.h5" chunk.h5
  flip chunk.h5 $((addr + bytes / 2))
  run INSPECT --check chunk.h5
  assert_equal "$status" 1
  assert_output --regexp "chunk.h5: /test/images: (crc32 of the data is [0-9]+, attribute images_crc32 says [0-9]+ \(damaged data\)|data cannot be read)"
  # anywhere in the run file: an error or a difference, never a crash (status > 1)
  size=$(stat -c %s "$D/k0/run.h5")
  for ((off = 0; off < size; off += 997)); do
    cp "$D/k0/run.h5" any.h5
    flip any.h5 $off
    run INSPECT --check any.h5
    [ "$status" -le 1 ] || { echo "offset $off: status $status: $output"; false; }
    run INSPECT any.h5
    [ "$status" -le 1 ] || { echo "offset $off: status $status: $output"; false; }
  done
}

@test "a future major version is refused politely; a newer minor is accepted" {
  cp "$D/k0/run.h5" future.h5
  patch_string future.h5 schema_version 1.1 9.0
  run h5dump -a /schema_version future.h5
  assert_output --partial '"9.0"'
  for opt in "" --check; do
    run INSPECT $opt future.h5
    assert_equal "$status" 1
    assert_output "dpt-inspect: future.h5: a dpt-run file of schema version 9.0, newer than this dpt understands (major 1); upgrade dpt to read it"
  done
  cp "$D/k0/run.h5" minor.h5
  patch_string minor.h5 schema_version 1.1 1.7
  run INSPECT --check minor.h5
  assert_success
  assert_line "minor.h5: ok"
}

@test "a wrong schema name is refused with the kinds that exist" {
  cp "$D/k0/run.h5" other.h5
  patch_string other.h5 '"schema"\|schema' dpt-run dpt-xyz
  run h5dump -a /schema other.h5
  assert_output --partial '"dpt-xyz"'
  run INSPECT --check other.h5
  assert_equal "$status" 1
  assert_output --partial "other.h5: no schema for 'dpt-xyz' files"
  run INSPECT other.h5
  assert_equal "$status" 1
  assert_output --partial "a 'dpt-xyz' file, a kind this dpt does not know"
}

@test "h5dump -H layouts match tests/golden (regenerate: tests/golden/update.sh)" {
  run "$DPT_ROOT/tests/golden/update.sh" --check
  assert_success
}
