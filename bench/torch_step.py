#!/usr/bin/python3
"""torch_step.py - PyTorch's figure beside dpt-bench's: the same training step (SGDM,
batch 64, 3x32x32 inputs, 100 classes, one thread) of the seed's LeNet and of ResNet-20,
in images/s. Run by hand or by `make bench-torch`, never by `make test`; PyTorch 1.13 is
fastest here with glibc's allocator told to keep its memory, which this script asks for by
re-executing itself with

    MALLOC_MMAP_THRESHOLD_=4000000000 MALLOC_TRIM_THRESHOLD_=4000000000

usage: /usr/bin/python3 bench/torch_step.py [--seconds S] [--batch N] [--model LeNet|ResNet20]
"""
import argparse
import os
import sys
import time

KEEP = {"MALLOC_MMAP_THRESHOLD_": "4000000000", "MALLOC_TRIM_THRESHOLD_": "4000000000"}
if any(os.environ.get(k) != v for k, v in KEEP.items()):
    os.environ.update(KEEP)
    os.execv(sys.executable, [sys.executable] + sys.argv)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
from make_resnet_reference import ResNet  # noqa: E402
from make_torch_reference import LeNet  # noqa: E402


def lenet(classes):
    m = LeNet(classes)
    m.conv1 = nn.Conv2d(3, 64, 5)  # the seed's LeNet on 3-channel inputs, as dpt-bench
    return m


MODELS = {"LeNet": lenet, "ResNet20": lambda classes: ResNet(3, 3, classes)}


def measure(name, batch, seconds, lr):
    torch.manual_seed(1)
    model = MODELS[name](100)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 100, (batch,))
    model.train()

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    n, t0 = 0, time.process_time()
    while time.process_time() - t0 < seconds:
        step()
        n += 1
    dt = time.process_time() - t0
    print(f"pytorch {torch.__version__} {name}: batch {batch}, lr {lr}, 1 thread, "
          f"{n} steps in {dt:.2f} s CPU: {1e3 * dt / n:.2f} ms/step, {n * batch / dt:.1f} images/s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--model", choices=sorted(MODELS), action="append")
    a = ap.parse_args()
    torch.set_num_threads(1)
    for name in a.model or ["LeNet", "ResNet20"]:
        measure(name, a.batch, a.seconds, a.lr)


if __name__ == "__main__":
    main()
