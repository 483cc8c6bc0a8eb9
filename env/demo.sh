#!/usr/bin/env bash
# make demo: import Fashion-MNIST (Debian's dataset-fashion-mnist package) and train the
# seed's LeNet-5 on it for 3 epochs, single rank, printing progress and the results.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f data/fashion-mnist.h5 ]; then
  echo "== importing Fashion-MNIST into data/fashion-mnist.h5"
  ./bin/dpt-data fashion-mnist
fi

echo "== training LeNet-5 (SGDM, lr 0.01, batch 64, 3 epochs) -> runs/demo"
rm -rf runs/demo
./bin/dpt-train -c sweeps/base/fashion-mnist.yaml --run-dir runs/demo

echo "== results (runs/demo/run.h5)"
h5dump -a /results/test_acc_last -a /results/test_acc_best -a /results/best_epoch \
  runs/demo/run.h5 | grep -E 'ATTRIBUTE|\(0\)' | paste - - |
  sed -E 's/.*ATTRIBUTE "([a-z_]+)".*\(0\): (.*)/  \1 = \2/'
