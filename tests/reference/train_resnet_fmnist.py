#!/usr/bin/python3
"""train_resnet_fmnist.py - the PyTorch side of issue 24's accuracy check: ResNet-20 (the
model of make_resnet_reference.py) trained on Fashion-MNIST with the recipe of
results/resnet20/resnet20-full.yaml, so that its test accuracy can be set beside dpt's.

Recipe: the first 54,000 training images (dpt holds out 10% for validation), batch 128 cut
into ghost batches of 32 for batch norm (each 32-image slice goes through the model on its
own, as dpt's model.bn.ghost_batch does; the loss is the mean over the 128), SGDM lr 0.1,
momentum 0.9, weight decay 5e-4 on every parameter, cosine schedule per step to 0, random
horizontal flips, PyTorch's default initialisation, one thread. Input as dpt's pipeline:
the 28x28 image at (2, 2) of a 32x32 canvas, normalised by the training split's mean and
std. Prints one line per epoch and the test accuracy at the end. Run by hand (never by
`make test`); it takes about 1.5 hours of one core here:

    /usr/bin/python3 tests/reference/train_resnet_fmnist.py --seed S [--epochs 10]
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_resnet_reference import ResNet  # noqa: E402
from make_torch_reference import fmnist_batch, read_idx  # noqa: E402

TRAIN, GHOST, BATCH = 54000, 32, 128


def canvas(images, mean, std):
    c = np.zeros((len(images), 32, 32), np.uint8)
    c[:, 2:30, 2:30] = images
    lut = ((np.arange(256) / 255.0 - mean) / std).astype(np.float32)
    return torch.from_numpy(lut[c]).unsqueeze(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.1)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    _, _, mean, std, _ = fmnist_batch(1)
    x = canvas(read_idx("train-images-idx3-ubyte.gz")[:TRAIN], mean, std)
    y = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz")[:TRAIN].astype(np.int64))
    xt = canvas(read_idx("t10k-images-idx3-ubyte.gz"), mean, std)
    yt = torch.from_numpy(read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))

    model = ResNet(3, 1, 10)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4)
    steps_per_epoch = TRAIN // BATCH
    total = steps_per_epoch * a.epochs
    t0, step = time.time(), 0
    for epoch in range(a.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(TRAIN))
        loss_sum, correct = 0.0, 0
        for s in range(steps_per_epoch):
            for g in opt.param_groups:
                g["lr"] = 0.5 * a.lr * (1 + math.cos(math.pi * step / total))
            idx = order[s * BATCH:(s + 1) * BATCH]
            xb, yb = x[idx], y[idx]
            flip = torch.from_numpy(rng.random(BATCH) < 0.5)
            xb[flip] = xb[flip].flip(3)
            opt.zero_grad()
            for g0 in range(0, BATCH, GHOST):
                out = model(xb[g0:g0 + GHOST])
                loss = F.cross_entropy(out, yb[g0:g0 + GHOST], reduction="sum") / BATCH
                loss.backward()
                loss_sum += loss.item()
                correct += int((out.argmax(1) == yb[g0:g0 + GHOST]).sum())
            opt.step()
            step += 1
        print(f"epoch {epoch + 1}: train loss {loss_sum / steps_per_epoch:.4f}, "
              f"train acc {correct / (steps_per_epoch * BATCH):.4f}, {time.time() - t0:.0f} s",
              flush=True)
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(xt[i:i + 500]).argmax(1) for i in range(0, len(xt), 500)])
    print(f"seed {a.seed}: test accuracy {(pred == yt).float().mean().item():.4f} after "
          f"{a.epochs} epochs, {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
