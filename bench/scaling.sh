#!/usr/bin/env bash
# make bench, part 2: data-parallel scaling of dpt-train on this machine. Trains the seed
# LeNet-5 on a synthetic CIFAR-100-shaped set (3x32x32, 100 classes, random pixels) for
# one epoch on P = 1 and 2 ranks, synchronous (batch 64, fixed-order and MPI_Allreduce
# sums) and LocalSGD (K = 2, H = 8),
# and prints images/s, the speed-up and the share of time in communication.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=${DPT_BENCH_IMAGES:-6400}

# CIFAR-100 binary records: coarse label, fine label, 3072 pixel bytes.
perl -e 'srand(1); for my $f (["train.bin", $ARGV[0]], ["test.bin", 256]) {
  open(my $o, ">", "$ARGV[1]/$f->[0]") or die; binmode $o;
  for (1 .. $f->[1]) { print $o pack("CC", int(rand(20)), int(rand(100))),
    pack("C*", map { int(rand(256)) } 1 .. 3072) } close $o }' "$n" "$work"
./bin/dpt-data cifar100 --src "$work" -o "$work/c100.h5" >/dev/null

cat > "$work/run.yaml" <<YAML
model: {name: LeNet, epochs: 1, batch_size: 64, learning_rate: 0.01, optimizer: SGDM}
data: {path: $work/c100.h5, val_fraction: 0}
YAML

attr() { h5dump -d "/metrics/$1" "$2" | sed -n 's/.*(0): \([0-9.e+-]*\).*/\1/p'; }

echo
echo "(d) data-parallel scaling, seed LeNet-5, 3x32x32, 100 classes, $n images, 1 epoch"
printf '  %-28s %3s %10s %9s %8s\n' mode P images/s speed-up comm
for mode in sync fast local; do
  extra=()
  [ "$mode" = fast ] && extra=(--set train.reduction=fast)
  [ "$mode" = local ] && extra=(--set model.num_workers=2 --set model.work.local_steps=8)
  base=0
  for p in 1 2; do
    mpirun --allow-run-as-root --oversubscribe -np $p ./bin/dpt-train -c "$work/run.yaml" \
      "${extra[@]}" --run-dir "$work/$mode$p" >/dev/null 2>&1
    ips=$(attr images_per_s "$work/$mode$p/run.h5")
    comm=$(attr comm_time "$work/$mode$p/run.h5")
    comp=$(attr compute_time "$work/$mode$p/run.h5")
    [ "$p" = 1 ] && base=$ips
    label="synchronous, batch 64"
    [ "$mode" = fast ] && label="synchronous, reduction: fast"
    [ "$mode" = local ] && label="LocalSGD K=2 H=8 b=64"
    awk -v l="$label" -v p=$p -v i="$ips" -v b="$base" -v c="$comm" -v d="$comp" \
      'BEGIN { printf "  %-28s %3d %10.0f %8.2fx %7.1f%%\n", l, p, i, i / b, 100 * c / (c + d) }'
  done
done
