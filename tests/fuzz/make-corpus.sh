#!/usr/bin/env bash
# Writes the seed corpora of tests/fuzz/corpus/ from real files: IDX heads of Debian's
# Fashion-MNIST (plain and gzipped), CIFAR records, the repository's configs, sweep specs
# and studies, small dpt HDF5 files made by bin/dpt-data and bin/dpt-train, and a few
# edit scripts (tests/fuzz/h5edit.h). Run from the repository's root after `make all`;
# the result is committed, so this runs only when the seeds should change.
set -euo pipefail
C=tests/fuzz/corpus
FM=${FMNIST_SRC:-/usr/share/datasets/fashion-mnist}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$C"
mkdir -p "$C"/{idx,cifar,config,expr,sweep,study,dataset,run,checkpoint}

python3 - "$C" "$FM" <<'PY'
import gzip, os, random, struct, sys
C, FM = sys.argv[1], sys.argv[2]
def head(name, n, ndim):  # the first n items of an IDX file, header rewritten to n
    with gzip.open(os.path.join(FM, name + ".gz")) as f:
        hdr = f.read(4 + 4 * ndim)
        dims = list(struct.unpack(">%dI" % ndim, hdr[4:]))
        item = 1
        for d in dims[1:]: item *= d
        body = f.read(n * item)
    return hdr[:4] + struct.pack(">%dI" % ndim, n, *dims[1:]) + body
def pack(parts):  # fuzz_split: length-prefixed pieces, the last one as the rest
    return b"".join(struct.pack("<I", len(p)) + p for p in parts[:-1]) + parts[-1]
files = [head("train-images-idx3-ubyte", 3, 3), head("train-labels-idx1-ubyte", 3, 1),
         head("t10k-images-idx3-ubyte", 2, 3), head("t10k-labels-idx1-ubyte", 2, 1)]
z = [gzip.compress(f, mtime=0) for f in files]
for name, limit, parts in [("plain", 0, files), ("gzip", 0, z), ("mixed-limit2", 2, [z[0], files[1], files[2], z[3]])]:
    open(os.path.join(C, "idx", name), "wb").write(bytes([limit]) + pack(parts))
rnd = random.Random(0)
def rec(labels): return bytes(labels) + bytes(rnd.randrange(256) for _ in range(3072))
c10 = [rec([i]) for i in range(6)]
open(os.path.join(C, "cifar", "cifar10"), "wb").write(bytes([0]) + pack(c10))
c100 = [rec([3, 41]) + rec([19, 99]), rec([0, 7])]
open(os.path.join(C, "cifar", "cifar100-limit1"), "wb").write(bytes([0x81]) + pack(c100))
for name, text in [("demo-ranks", "max(1, K)"), ("large-batch", "min(8, max(1, B / 512))"),
                   ("time", "5 * model.epochs + ceil(E / 3) - floor(H * 0.5)"), ("nested", "((1+2)*(3-4))/-(2)")]:
    open(os.path.join(C, "expr", name), "w").write(text)
# Edit scripts: op (0 delete, 1 replace, 2 overwrite), item, then the op's bytes.
scripts = {"delete-0-1": [0, 1, 0, 2], "replace-int-huge": [1, 3, 0, 2, 0xfc, 3],
           "replace-string": [1, 5, 6, 1, 3, 4, 65, 66, 67, 68], "overwrite": [2, 4] + [0xff] * 16,
           "replace-2d": [1, 7, 3, 2, 2, 2] + list(range(64)), "mixed": [2, 9, 7, 0, 12, 1, 6, 4, 1, 0xf9]}
for kind in ("dataset", "run", "checkpoint"):
    for name, s in scripts.items():
        open(os.path.join(C, kind, "edit-" + name), "wb").write(bytes(s))
# The run's ledger (items of a K = 2 run.h5 in name order: 24 rounds/images, 25
# rounds/kind, 31 rounds_measured/wait_s): a negative kind, a short column, one missing.
ledger = {"rounds-kind-negative": [2, 25] + [0xff] * 64,
          "rounds-images-short": [1, 24, 0, 1, 3] + [0] * 24, "rounds-wait-deleted": [0, 31]}
for name, s in ledger.items():
    open(os.path.join(C, "run", "edit-" + name), "wb").write(bytes(s))
PY

cp tests/fixtures/seed/*.yaml sweeps/base/*.yaml "$C/config/"
cp sweeps/*.yaml "$C/sweep/"
cp analysis/*.yaml "$C/study/"

./bin/dpt-data fashion-mnist --src "$FM" --limit 4 -o "$C/dataset/fm4.h5" >/dev/null
cat > "$tmp/run.yaml" <<YAML
model: {name: LeNet5, epochs: 1, batch_size: 8, learning_rate: 0.01, num_workers: 2,
        work: {local_steps: 1, batch_size: 4}}
data: {path: $C/dataset/fm4.h5, val_fraction: 0.25}
YAML
./bin/dpt-train -c "$tmp/run.yaml" --run-dir "$tmp/run" >/dev/null
cp "$tmp/run/run.h5" "$C/run/run.h5"
