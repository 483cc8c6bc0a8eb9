#!/usr/bin/env bats
# dpt-data: importing Fashion-MNIST (real files) and tiny hand-made IDX, CIFAR-10 and
# CIFAR-100 files, the layout and statistics of data/NAME.h5, and every input error
# leaving no output, no .tmp and a pre-existing output untouched.
load helper

setup() {
  SRC="$BATS_TEST_TMPDIR/src"
  OUT="$BATS_TEST_TMPDIR/out/d.h5"
  mkdir -p "$SRC"
}

# bytes V...: each decimal V as one raw byte.
bytes() {
  local v
  for v in "$@"; do printf "$(printf '\\x%02x' "$v")"; done
}
# be32 N: N as four big-endian bytes (IDX header fields).
be32() { bytes $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }

# A tiny Fashion-MNIST-like source in $SRC: 2 train images 2x2 with known pixels
# (3 of 8 pixels are 255, so mean 3/8 and std sqrt(3/8 - 9/64)), 1 test image.
tiny_idx() {
  { be32 2051; be32 2; be32 2; be32 2; bytes 0 0 0 255 255 255 0 0; } > "$SRC/train-images-idx3-ubyte"
  { be32 2049; be32 2; bytes 3 7; } > "$SRC/train-labels-idx1-ubyte"
  { be32 2051; be32 1; be32 2; be32 2; bytes 1 2 3 4; } > "$SRC/t10k-images-idx3-ubyte"
  { be32 2049; be32 1; bytes 9; } > "$SRC/t10k-labels-idx1-ubyte"
}

# h5vals ARGS...: the values h5dump prints for one object (-a /ATTR or -d /DATASET),
# one per line.
h5vals() {
  h5dump -m %.17g -y -w 0 "$@" | sed -n '/DATA {/,/^ *}/p' | sed '1d;$d' |
    sed 's/([0-9,]*)://' | tr ',' '\n' | sed 's/^ *//; s/ *$//; /^$/d'
}

# stats FILE SKIP RECORD OFFSET PLANE [RECORDS]: mean and population std (of value/255,
# one "mean std" line per channel) of the PLANE-byte channel planes starting OFFSET bytes
# into each RECORD-byte record after SKIP header bytes - computed with od and awk, as an
# independent check of dpt-data's numbers.
stats() {
  local file=$1 skip=$2 rec=$3 off=$4 plane=$5 nrec=${6:-1000000}
  od -An -v -tu1 -w"$rec" -j "$skip" "$file" | head -n "$nrec" |
    awk -v off="$off" -v plane="$plane" '
      { for (k = off + 1; k <= NF; k++) { c = int((k - off - 1) / plane); x = $k / 255;
          s[c] += x; q[c] += x * x; n[c]++ } }
      END { for (c = 0; c in n; c++) { m = s[c] / n[c];
              printf "%.17g %.17g\n", m, sqrt(q[c] / n[c] - m * m) } }'
}

# near A B: |A-B| <= 1e-12 (od/awk sums in a different order than dpt-data's histogram).
near() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d <= 1e-12 && d >= -1e-12) }'; }

# expect_error PATTERN ARGS...: dpt-data ARGS fails with "dpt-data: ...PATTERN", both onto
# a pre-existing output (--force; it must stay byte-identical) and with no output, and
# leaves neither an output nor a .tmp behind.
expect_error() {
  local pattern=$1 before
  shift
  mkdir -p "$(dirname "$OUT")"
  echo "precious old dataset" > "$OUT"
  before=$(cksum < "$OUT")
  run "$BIN/dpt-data" "$@" -o "$OUT" --force
  assert_failure 1
  assert_output --regexp "^dpt-data: .*$pattern"
  [ "$(cksum < "$OUT")" = "$before" ]
  [ ! -e "$OUT.tmp" ]
  rm -f "$OUT"
  run "$BIN/dpt-data" "$@" -o "$OUT"
  assert_failure 1
  [ ! -e "$OUT" ]
  [ ! -e "$OUT.tmp" ]
}

@test "fashion-mnist: real files, --limit, root attributes and layout" {
  [ -d "$FMNIST_SRC" ] || skip "no Fashion-MNIST in $FMNIST_SRC"
  run "$BIN/dpt-data" fashion-mnist --src "$FMNIST_SRC" --limit 600 -o "$OUT"
  assert_success
  assert_output --partial "fashion-mnist: 600 train + 600 test images of 1x28x28, 10 classes"
  assert_output --partial "wrote $OUT"
  [ "$(h5vals -a /schema "$OUT")" = '"dpt-dataset"' ]
  [ "$(h5vals -a /schema_version "$OUT")" = '"1.0"' ]
  [ "$(h5vals -a /creator "$OUT")" = '"dpt-data"' ]
  [ "$(h5vals -a /num_classes "$OUT")" = 10 ]
  [ "$(h5vals -a /complete "$OUT")" = 1 ]
  [ "$(h5vals -a /class_names "$OUT" | head -n 1)" = '"T-shirt/top"' ]
  [ "$(h5vals -a /source_files "$OUT" | wc -l)" = 4 ]
  [ "$(h5vals -a /source_crc32 "$OUT" | wc -l)" = 4 ]
  run h5dump -H "$OUT"
  assert_output --partial 'DATASPACE  SIMPLE { ( 600, 1, 28, 28 ) / ( 600, 1, 28, 28 ) }'
  assert_output --partial 'DATASPACE  SIMPLE { ( 600 ) / ( 600 ) }'
  [ "$(h5dump -H -d /train/images "$OUT" | grep -c H5T_STD_U8LE)" = 1 ]
  [ ! -e "$OUT.tmp" ]
  # Known Fashion-MNIST figures (0.2860, 0.3530 over all 60000) roughly hold for 600.
  near_pct() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b * 0.97 && a < b * 1.03) }'; }
  near_pct "$(h5vals -a /mean "$OUT")" 0.2860
  near_pct "$(h5vals -a /std "$OUT")" 0.3530
}

@test "fashion-mnist: mean/std and images agree with od+awk on the gunzipped files" {
  [ -d "$FMNIST_SRC" ] || skip "no Fashion-MNIST in $FMNIST_SRC"
  "$BIN/dpt-data" fashion-mnist --src "$FMNIST_SRC" --limit 300 -o "$OUT" >/dev/null
  gunzip -c "$FMNIST_SRC/train-images-idx3-ubyte.gz" > "$BATS_TEST_TMPDIR/img"
  read -r mean std < <(stats "$BATS_TEST_TMPDIR/img" 16 784 0 784 300)
  near "$(h5vals -a /mean "$OUT")" "$mean"
  near "$(h5vals -a /std "$OUT")" "$std"
  gunzip -c "$FMNIST_SRC/train-labels-idx1-ubyte.gz" | od -An -v -tu1 -w1 -j 8 -N 300 |
    tr -d ' ' > "$BATS_TEST_TMPDIR/want"
  h5vals -d /train/labels "$OUT" > "$BATS_TEST_TMPDIR/got"
  cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "tiny IDX: exact mean/std, uncompressed and gzipped sources, class names" {
  tiny_idx
  run "$BIN/dpt-data" fashion-mnist --src "$SRC" -o "$OUT"
  assert_success
  assert_output --partial "2 train + 1 test images of 1x2x2"
  near "$(h5vals -a /mean "$OUT")" 0.375
  near "$(h5vals -a /std "$OUT")" "$(awk 'BEGIN { printf "%.17g", sqrt(3/8 - 9/64) }')"
  [ "$(h5vals -d /train/labels "$OUT" | tr '\n' ' ')" = "3 7 " ]
  [ "$(h5vals -d /test/images "$OUT" | tr '\n' ' ')" = "1 2 3 4 " ]
  # The same bytes gzipped give the same images, labels and statistics.
  gzip "$SRC"/*
  "$BIN/dpt-data" mnist --src "$SRC" -o "$OUT.gz.h5" >/dev/null
  h5diff "$OUT" "$OUT.gz.h5" /train /train
  h5diff "$OUT" "$OUT.gz.h5" /test /test
  [ "$(h5vals -a /class_names "$OUT.gz.h5" | head -n 1)" = '"0"' ]
  [ "$(h5vals -a /source_files "$OUT.gz.h5" | head -n 1)" = '"train-images-idx3-ubyte.gz"' ]
}

# cifar_file FILE NLABELS LABEL...: records of NLABELS label bytes (a CIFAR-100 label is
# "coarse:fine") then 3072 random pixels.
cifar_file() {
  local file=$1 nlabels=$2 l
  shift 2
  : > "$file"
  for l in "$@"; do
    { bytes ${l/:/ }; head -c 3072 /dev/urandom; } >> "$file"
  done
  [ "$(stat -c %s "$file")" = $(($# * (3072 + nlabels))) ]
}

@test "cifar10: five batches in the archive's directory, --limit across batches, per-channel stats" {
  local d="$SRC/cifar-10-batches-bin" i
  mkdir -p "$d"
  for i in 1 2 3 4 5; do cifar_file "$d/data_batch_$i.bin" 1 $((2 * i - 2)) $((2 * i - 1)); done
  cifar_file "$d/test_batch.bin" 1 9 0 5
  run "$BIN/dpt-data" cifar10 --src "$SRC" --limit 7 -o "$OUT"
  assert_success
  assert_output --partial "cifar10: 7 train + 3 test images of 3x32x32, 10 classes"
  [ "$(h5vals -d /train/labels "$OUT" | tr '\n' ' ')" = "0 1 2 3 4 5 6 " ]
  [ "$(h5vals -d /test/labels "$OUT" | tr '\n' ' ')" = "9 0 5 " ]
  run h5dump -H -d /train/images "$OUT"
  assert_output --partial '( 7, 3, 32, 32 )'
  [ "$(h5vals -a /channels "$OUT")" = 3 ]
  [ "$(h5vals -a /class_names "$OUT" | tail -n 1)" = '"truck"' ]
  cat "$d"/data_batch_*.bin > "$BATS_TEST_TMPDIR/all"
  stats "$BATS_TEST_TMPDIR/all" 0 3073 1 1024 7 > "$BATS_TEST_TMPDIR/want"
  paste <(h5vals -a /mean "$OUT") <(h5vals -a /std "$OUT") > "$BATS_TEST_TMPDIR/got"
  [ "$(wc -l < "$BATS_TEST_TMPDIR/got")" = 3 ]
  while read -r m s && read -r gm gs <&3; do
    near "$gm" "$m"
    near "$gs" "$s"
  done < "$BATS_TEST_TMPDIR/want" 3< "$BATS_TEST_TMPDIR/got"
  # Pixels are stored as read: the first test image is bytes 2..3073 of test_batch.bin.
  cmp <(od -An -v -tu1 -w1 -j 1 -N 3072 "$d/test_batch.bin" | tr -d ' ') \
      <(h5vals -d /test/images -s 0,0,0,0 -c 1,3,32,32 "$OUT")
}

@test "cifar100: fine labels as labels, coarse labels kept" {
  cifar_file "$SRC/train.bin" 2 3:99 19:0 0:42
  cifar_file "$SRC/test.bin" 2 7:1
  run "$BIN/dpt-data" cifar100 --src "$SRC" -o "$OUT"
  assert_success
  assert_output --partial "3 train + 1 test images of 3x32x32, 100 classes"
  [ "$(h5vals -d /train/labels "$OUT" | tr '\n' ' ')" = "99 0 42 " ]
  [ "$(h5vals -d /train/coarse_labels "$OUT" | tr '\n' ' ')" = "3 19 0 " ]
  [ "$(h5vals -d /test/coarse_labels "$OUT")" = 7 ]
  [ "$(h5vals -a /num_classes "$OUT")" = 100 ]
  [ "$(h5vals -a /num_coarse_classes "$OUT")" = 20 ]
}

@test "errors: IDX wrong magic, truncated, label out of range, count mismatch, size mismatch" {
  tiny_idx
  local img="$SRC/train-images-idx3-ubyte" lab="$SRC/train-labels-idx1-ubyte"
  cp "$img" "$BATS_TEST_TMPDIR/img"
  { be32 2052; tail -c +5 "$BATS_TEST_TMPDIR/img"; } > "$img"
  expect_error "train-images-idx3-ubyte: byte 0: magic number 0x00000804, expected 0x00000803" \
    fashion-mnist --src "$SRC"
  head -c 22 "$BATS_TEST_TMPDIR/img" > "$img"
  expect_error "train-images-idx3-ubyte: truncated: .*file ends at byte 22" fashion-mnist --src "$SRC"
  cp "$BATS_TEST_TMPDIR/img" "$img"
  { be32 2049; be32 2; bytes 3 10; } > "$lab"
  expect_error "train-labels-idx1-ubyte: byte 9: label 10 out of range 0..9" fashion-mnist --src "$SRC"
  { be32 2049; be32 3; bytes 3 7 1; } > "$lab"
  expect_error "train-images-idx3-ubyte: byte 4: 2 images, but .*train-labels-idx1-ubyte has 3 labels" \
    fashion-mnist --src "$SRC"
  tiny_idx
  { be32 2051; be32 1; be32 1; be32 4; bytes 1 2 3 4; } > "$SRC/t10k-images-idx3-ubyte"
  expect_error "t10k-images-idx3-ubyte: byte 8: images are 1x4, but the training images are 2x2" \
    fashion-mnist --src "$SRC"
}

@test "errors: gzip cut short, CIFAR truncated record, CIFAR-100 labels out of range" {
  tiny_idx
  gzip "$SRC"/*
  head -c 20 "$SRC/train-images-idx3-ubyte.gz" > "$BATS_TEST_TMPDIR/x.gz"
  mv "$BATS_TEST_TMPDIR/x.gz" "$SRC/train-images-idx3-ubyte.gz"
  expect_error "train-images-idx3-ubyte.gz: gzip data corrupt or cut short" fashion-mnist --src "$SRC"
  rm -f "$SRC"/*
  cifar_file "$SRC/train.bin" 2 1:1 2:2
  cifar_file "$SRC/test.bin" 2 1:1
  head -c 6000 "$SRC/train.bin" > "$SRC/x" && mv "$SRC/x" "$SRC/train.bin"
  expect_error "train.bin: truncated: 6000 bytes is not a whole number of 3074-byte records; the last record starts at byte 3074" \
    cifar100 --src "$SRC"
  cifar_file "$SRC/train.bin" 2 1:1 2:100
  expect_error "train.bin: byte 3075: label 100 out of range 0..99" cifar100 --src "$SRC"
  cifar_file "$SRC/train.bin" 2 20:1
  expect_error "train.bin: byte 0: coarse label 20 out of range 0..19" cifar100 --src "$SRC"
}

# zeros MB: MB mebibytes of zero bytes as concatenated gzip members (zlib reads them as
# one stream), made from one 16 MiB member so that it costs no more than a second.
gzip_zeros() {
  local member="$BATS_TEST_TMPDIR/zeros16.gz" i
  [ -f "$member" ] || head -c 16M /dev/zero | gzip -9 > "$member"
  for ((i = 0; i < $1 / 16; i++)); do cat "$member"; done
}

@test "gzip sources are read up to the size the IDX header declares, plus one byte" {
  tiny_idx
  # A valid header and 8 image bytes, then 512 MiB of zeros: gunzipped whole, this is a
  # half-gigabyte allocation; read as declared, dpt-data stops one byte after the data.
  { gzip -c "$SRC/train-images-idx3-ubyte"; gzip_zeros 512; } > "$SRC/train-images-idx3-ubyte.gz"
  rm "$SRC/train-images-idx3-ubyte"
  run /usr/bin/time -f "maxrss_kb %M" "$BIN/dpt-data" fashion-mnist --src "$SRC" -o "$OUT"
  assert_failure 1
  assert_output --partial "dpt-data: $SRC/train-images-idx3-ubyte.gz (gunzipped): byte 24: unexpected bytes after the 8 data bytes the header declares"
  local rss=$(echo "$output" | sed -n 's/^maxrss_kb //p')
  [ "$rss" -lt 200000 ] || { echo "peak RSS $rss KiB: the extra bytes were gunzipped"; false; }
  [ ! -e "$OUT" ] && [ ! -e "$OUT.tmp" ]
  # The same for labels, plain (the header's size + 1 byte is all that is read).
  tiny_idx
  bytes 1 >> "$SRC/train-labels-idx1-ubyte"
  expect_error "train-labels-idx1-ubyte: byte 10: unexpected bytes after the 2 data bytes the header declares" \
    fashion-mnist --src "$SRC"
}

@test "images dpt-train cannot use are refused at import, naming file and offset" {
  tiny_idx
  { be32 2051; be32 2; be32 0; be32 2; } > "$SRC/train-images-idx3-ubyte"
  expect_error "train-images-idx3-ubyte: byte 8: images of 0x2 pixels; dpt-train takes 1 to 32 pixels a side" \
    fashion-mnist --src "$SRC"
  { be32 2051; be32 2; be32 2; be32 0; } > "$SRC/train-images-idx3-ubyte"
  expect_error "train-images-idx3-ubyte: byte 12: images of 2x0 pixels" fashion-mnist --src "$SRC"
  # 33 pixels: larger than the model's 32x32 input. The header is refused before any of
  # its 2 * 33 * 2 data bytes is read, so the check holds for a header alone.
  { be32 2051; be32 2; be32 33; be32 2; } > "$SRC/train-images-idx3-ubyte"
  expect_error "train-images-idx3-ubyte: byte 8: images of 33x2 pixels; dpt-train takes 1 to 32" \
    fashion-mnist --src "$SRC"
  tiny_idx
  { be32 2051; be32 1; be32 2; be32 4000000; } | gzip > "$SRC/t10k-images-idx3-ubyte.gz"
  rm "$SRC/t10k-images-idx3-ubyte"
  expect_error "t10k-images-idx3-ubyte.gz \\(gunzipped\\): byte 12: images of 2x4000000 pixels" \
    fashion-mnist --src "$SRC"
}

@test "a CIFAR file with more records than the official one is refused" {
  cifar_file "$SRC/train.bin" 2 1:1
  # 10001 records of zeros (valid labels 0): one more than CIFAR-100's test.bin holds.
  head -c $((10001 * 3074)) /dev/zero > "$SRC/test.bin"
  expect_error "test.bin: byte 30740000: more than the 10000 records of 3074 bytes an official test.bin holds" \
    cifar100 --src "$SRC"
  head -c $((10000 * 3074)) /dev/zero > "$SRC/test.bin"
  run "$BIN/dpt-data" cifar100 --src "$SRC" -o "$OUT"
  assert_success
  assert_output --partial "1 train + 10000 test images"
}

@test "errors: missing source directory or file, unknown format, bad arguments" {
  expect_error "$BATS_TEST_TMPDIR/nope: no such directory" fashion-mnist --src "$BATS_TEST_TMPDIR/nope"
  expect_error "no data_batch_1.bin" cifar10 --src "$SRC"
  run "$BIN/dpt-data" imagenet -o "$OUT"
  assert_failure 2
  assert_output --partial "dpt-data: unknown format 'imagenet'"
  run "$BIN/dpt-data" fashion-mnist --limit 0 -o "$OUT"
  assert_failure 2
  assert_output --partial "--limit wants a positive integer"
  run "$BIN/dpt-data" fashion-mnist --bogus
  assert_failure 2
  run "$BIN/dpt-data"
  assert_failure 2
  [ ! -e "$OUT" ]
}

@test "an existing output needs --force; --help shows usage and examples" {
  tiny_idx
  mkdir -p "$(dirname "$OUT")"
  echo old > "$OUT"
  run "$BIN/dpt-data" fashion-mnist --src "$SRC" -o "$OUT"
  assert_failure 1
  assert_output --partial "exists; pass --force"
  [ "$(cat "$OUT")" = old ]
  run "$BIN/dpt-data" fashion-mnist --src "$SRC" -o "$OUT" --force
  assert_success
  [ "$(h5vals -a /schema "$OUT")" = '"dpt-dataset"' ]
  run "$BIN/dpt-data" --help
  assert_success
  assert_output --partial "usage: dpt-data FORMAT [--src DIR] [-o OUT] [--limit N] [--force]"
  assert_output --partial "Examples:"
  assert_output --partial "/usr/share/datasets/fashion-mnist"
}

@test "default output is data/FORMAT.h5 under the working directory" {
  tiny_idx
  cd "$BATS_TEST_TMPDIR"
  run "$BIN/dpt-data" mnist --src "$SRC"
  assert_success
  [ -f data/mnist.h5 ]
}

@test "a CIFAR-100 file holds exactly what hdf5-schema/dataset.yaml lists" {
  local schema="$DPT_ROOT/hdf5-schema/dataset.yaml"
  cifar_file "$SRC/train.bin" 2 1:1
  cifar_file "$SRC/test.bin" 2 1:1
  "$BIN/dpt-data" cifar100 --src "$SRC" -o "$OUT" >/dev/null
  # Attribute names (CIFAR-100 has no class_names), then dataset paths.
  diff <(grep -o '{name: [a-z_0-9]*' "$schema" | sed 's/{name: //' | grep -vx class_names | sort -u) \
       <(h5dump -H "$OUT" | sed -n 's/^ *ATTRIBUTE "\(.*\)" {$/\1/p' | sort -u)
  diff <(sed -n 's|^  \(/[a-z_]*/[a-z_]*\):.*|\1|p' "$schema" | sort) \
       <(h5ls -r "$OUT" | awk '$2 == "Dataset" { print $1 }' | sort)
}
