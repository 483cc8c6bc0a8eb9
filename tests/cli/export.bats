#!/usr/bin/env bats
# dpt-inspect --export-torch: every tensor of a trained LeNet under its PyTorch name and
# shape, values moved from dpt's flat layout (conv (cout, k, k, cin), fc1 columns (h, w, c),
# tensors on 16-float boundaries) to PyTorch's (conv (cout, cin, k, k), fc1 (c, h, w)),
# the normalisation as attributes, and clear errors for bad input.

load helper

setup_file() {
  local d="$BATS_FILE_TMPDIR"
  "$BIN/dpt-data" fashion-mnist --src "$FMNIST_SRC" --limit 100 -o "$d/data.h5" >/dev/null
  "$BIN/dpt-train" -c "$DPT_ROOT/tests/fixtures/seed/centralized.yaml" --data "$d/data.h5" \
    --set model.epochs=1 --set experiment.output= --run-dir "$d/run" >/dev/null 2>&1
  "$BIN/dpt-inspect" --export-torch "$d/run/checkpoint.h5" -o "$d/torch.h5" >/dev/null
}

setup() {
  D="$BATS_FILE_TMPDIR"
  cd "$BATS_TEST_TMPDIR"
}

# value FILE DATASET INDEX: one element (INDEX "i,j,..."), printed to 9 digits.
value() {
  local ones
  ones=$(echo "$3" | sed 's/[0-9]\+/1/g')
  h5dump -d "$2" -s "$3" -c "$ones" -y -m %.9g "$1" | awk '/DATA \{/ { getline; print $1; exit }'
}

# Offsets of the tensors in dpt's flat buffer: in model order, each rounded up to 16 floats.
offset_of() {
  local want=$1 off=0 name size
  while read -r name size; do
    [ "$name" = "$want" ] && { echo $off; return; }
    off=$(( off + (size + 15) / 16 * 16 ))
  done <<EOF
conv1.weight $((64 * 5 * 5 * 1))
conv1.bias 64
conv2.weight $((64 * 5 * 5 * 64))
conv2.bias 64
fc1.weight $((384 * 1600))
fc1.bias 384
fc2.weight $((192 * 384))
fc2.bias 192
fc3.weight $((10 * 192))
fc3.bias 10
EOF
  return 1
}

# flat NAME INDEX-IN-DPT-LAYOUT: the checkpoint's value there.
flat() { value "$D/run/checkpoint.h5" /global/params $(( $(offset_of "$1") + $2 )); }

@test "export-torch: PyTorch names and shapes, passes --check against hdf5-schema/torch.yaml" {
  run h5ls "$D/torch.h5"
  assert_success
  assert_line --regexp '^conv1.weight +Dataset \{64, 1, 5, 5\}$'
  assert_line --regexp '^conv1.bias +Dataset \{64\}$'
  assert_line --regexp '^conv2.weight +Dataset \{64, 64, 5, 5\}$'
  assert_line --regexp '^conv2.bias +Dataset \{64\}$'
  assert_line --regexp '^fc1.weight +Dataset \{384, 1600\}$'
  assert_line --regexp '^fc1.bias +Dataset \{384\}$'
  assert_line --regexp '^fc2.weight +Dataset \{192, 384\}$'
  assert_line --regexp '^fc2.bias +Dataset \{192\}$'
  assert_line --regexp '^fc3.weight +Dataset \{10, 192\}$'
  assert_line --regexp '^fc3.bias +Dataset \{10\}$'
  [ "${#lines[@]}" -eq 10 ]
  run "$BIN/dpt-inspect" --check "$D/torch.h5"
  assert_success
  assert_output "$D/torch.h5: ok"
}

@test "export-torch: conv weights (cout, cin, ky, kx) read dpt's (cout, ky, kx, cin)" {
  # conv1.weight[5, 0, 3, 1] is dpt's ((5*5 + 3)*5 + 1)*1 + 0
  [ "$(value "$D/torch.h5" /conv1.weight 5,0,3,1)" = "$(flat conv1.weight $(( (5*5 + 3)*5 + 1 )))" ]
  # conv2.weight[7, 11, 2, 4] is dpt's ((7*5 + 2)*5 + 4)*64 + 11
  local want
  want=$(flat conv2.weight $(( ((7*5 + 2)*5 + 4)*64 + 11 )))
  [ "$(value "$D/torch.h5" /conv2.weight 7,11,2,4)" = "$want" ]
  # and not the unpermuted element
  [ "$(value "$D/torch.h5" /conv2.weight 7,11,2,4)" != "$(flat conv2.weight $(( ((7*64 + 11)*5 + 2)*5 + 4 )))" ]
}

@test "export-torch: fc1 columns in (c, h, w) order, biases after 16-float padding" {
  # fc1.weight[100, c*25 + h*5 + w] with (c, h, w) = (13, 3, 2) is dpt's column (h*5 + w)*64 + c
  local torch_col=$(( 13*25 + 3*5 + 2 )) dpt_col=$(( (3*5 + 2)*64 + 13 ))
  [ "$(value "$D/torch.h5" /fc1.weight 100,$torch_col)" = "$(flat fc1.weight $(( 100*1600 + dpt_col )))" ]
  [ "$(value "$D/torch.h5" /fc1.weight 100,$torch_col)" != "$(flat fc1.weight $(( 100*1600 + torch_col )))" ]
  [ "$(value "$D/torch.h5" /fc2.weight 191,383)" = "$(flat fc2.weight $(( 191*384 + 383 )))" ]
  [ "$(value "$D/torch.h5" /conv1.bias 63)" = "$(flat conv1.bias 63)" ]
  [ "$(value "$D/torch.h5" /fc3.bias 9)" = "$(flat fc3.bias 9)" ]
}

@test "export-torch: the normalisation and padding are attributes, equal to the dataset's" {
  [ "$(h5dump -a /mean "$D/torch.h5" | grep '(0)')" = "$(h5dump -a /mean "$D/data.h5" | grep '(0)')" ]
  [ "$(h5dump -a /std "$D/torch.h5" | grep '(0)')" = "$(h5dump -a /std "$D/data.h5" | grep '(0)')" ]
  run h5dump -a /pad "$D/torch.h5"
  assert_output --partial "(0): 2, 2, 2, 2"
  run h5dump -a /input_shape "$D/torch.h5"
  assert_output --partial "(0): 1, 32, 32"
}

@test "export-torch: bad input gives a clear error, exit 1, and no output file" {
  run "$BIN/dpt-inspect" --export-torch "$D/run/run.h5" -o out.h5
  assert_failure 1
  assert_output --partial "is a 'dpt-run' file, expected 'dpt-checkpoint'"
  [ ! -e out.h5 ] && [ ! -e out.h5.tmp ]
  run "$BIN/dpt-inspect" --export-torch "$D/run/checkpoint.h5" -o out.h5 --data nowhere.h5
  assert_failure 1
  assert_output --partial "nowhere.h5"
  [ ! -e out.h5 ] && [ ! -e out.h5.tmp ]
  run "$BIN/dpt-inspect" --export-torch "$D/run/checkpoint.h5"
  assert_failure 2
  assert_output --partial "expected --export-torch CHECKPOINT -o OUT.h5"
}
