#!/usr/bin/python3
"""make_resnet_reference.py - PyTorch as the oracle of dpt's ResNet-20 training step.

Writes tests/reference/resnet20_fmnist.h5: the CIFAR ResNet-20 of He et al. (2016, section
4.2; option-A shortcuts as the common PyTorch CIFAR code pads them: x[:, :, ::2, ::2] with
(planes - in_planes) / 2 zero channels on each side) for 1x32x32 inputs and 10 classes, with
fixed initial weights, 32 real Fashion-MNIST training images, and every tensor (weights,
batch-norm running_mean / running_var / num_batches_tracked) after each of 10 full-batch
steps of SGDM, computed by PyTorch in float32 in training mode. The batch of 32 is one
ghost batch (model.bn.ghost_batch = 32), so PyTorch's BatchNorm2d over the batch is dpt's
computation. tests/unit/test_resnet_reference.c replays the steps with dpt's trainer.
Run by hand (never by `make test`):

    /usr/bin/python3 tests/reference/make_resnet_reference.py [--float64]

It also reruns the steps in float64 and stores how far PyTorch's float32 run is from it,
step by step (/spread_l2, /spread_max: the worst tensor's error relative to its update):
the rounding scale the C test's bounds are set against. With --float64 it writes nothing
and prints those. The spread grows about 1.5-2x per step (0.5% after step 1, tens of
percent after step 10 at lr 0.01): float32 rounding flips a few ReLUs, batch norm spreads
the change to every unit, and each step amplifies it.

The file names tensors as PyTorch's state_dict does; each is stored in dpt's layout (conv
weights (cout, 3, 3, cin) where PyTorch has (cout, cin, 3, 3)), flattened: /init/NAME in
full (float16: the weights are rounded to it, so both sides start from the same bits),
and per step /steps/NAME (10, nsample) at the indices /index/NAME (tensors of at most SMALL
floats whole, a fixed sample of larger ones) with /update_norm/NAME (10), the L2 norm of
the whole update w_t - w_0 in double. Input as in make_torch_reference.py: the 28x28 image
at (2, 2) of a zero 32x32 canvas, every pixel (v/255 - mean)/std.
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_torch_reference import fmnist_batch  # noqa: E402  (the same images and input)

OUT = os.path.join(HERE, "resnet20_fmnist.h5")
SEED = 20261207
N_IMAGES = 32
STEPS = 10
SGDM = dict(lr=0.01, momentum=0.9, weight_decay=1e-3)
BN_MOMENTUM = 0.1
SMALL = 512
SAMPLE = 256


class Block(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.stride, self.lo, self.hi = stride, (planes - cin) // 2, planes - cin - (planes - cin) // 2
        self.project = stride != 1 or cin != planes

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x
        if self.project:
            sc = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.lo, self.hi))
        return F.relu(out + sc)


class ResNet(nn.Module):
    def __init__(self, n, in_c, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16, momentum=BN_MOMENTUM)
        c, layers = 16, []
        for stage, planes in enumerate((16, 32, 64)):
            blocks = []
            for b in range(n):
                blocks.append(Block(c, planes, 2 if stage > 0 and b == 0 else 1))
                c = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.avg_pool2d(out, out.size()[3]).flatten(1)
        return self.fc(out)


def to_dpt(name, t):
    t = t.detach()
    if t.dim() == 4:
        t = t.permute(0, 2, 3, 1)
    return t.contiguous().reshape(-1).double().numpy().copy()  # a float64 tensor is not copied by .double()


def state(model):
    return {k: to_dpt(k, v) for k, v in model.state_dict().items()}


def train(model, x, y):
    opt = torch.optim.SGD(model.parameters(), **SGDM)
    model.train()
    states, losses = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        states.append(state(model))
    return states, np.array(losses)


def float64_spread(model0, x, y, runs):
    """How far float32 rounding alone moves PyTorch's run: |w32 - w64| relative to the
    update w64 - w0 per step, for the worst tensor: L2 over the tensor and max over its
    elements. Returns (l2, max), one of each per step."""
    m64 = ResNet(3, 1, 10).double()
    m64.load_state_dict(model0)
    s64, _ = train(m64, x.double(), y)
    w0 = {k: to_dpt(k, v) for k, v in model0.items()}
    spread = np.zeros((2, STEPS))
    for s in range(STEPS):
        l2 = mx = 0.0
        for k in w0:
            if k.endswith("num_batches_tracked"):
                continue
            e = runs[s][k] - s64[s][k]
            u = s64[s][k] - w0[k]
            if np.abs(u).max() == 0:
                continue
            l2 = max(l2, np.linalg.norm(e) / np.linalg.norm(u))
            mx = max(mx, np.abs(e).max() / np.abs(u).max())
        spread[:, s] = l2, mx
    return spread


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    images, labels, mean, std, inp = fmnist_batch(N_IMAGES)
    x = torch.from_numpy(inp).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))

    model = ResNet(3, 1, 10)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    init = {k: v.clone() for k, v in model.state_dict().items()}
    w0 = state(model)
    runs, losses = train(model, x, y)
    spread = float64_spread(init, x, y, runs)
    if "--float64" in sys.argv[1:]:
        print("float32 vs float64 per step (L2/max):",
              " ".join(f"{a:.2g}/{b:.2g}" for a, b in spread.T))
        return 0

    rng = np.random.default_rng(SEED)
    gz = dict(compression="gzip", compression_opts=9, shuffle=True)
    tmp = OUT + ".tmp"
    with h5py.File(tmp, "w") as f:
        text = {"schema": "dpt-torch-reference", "schema_version": "1.0",
                "creator": "tests/reference/make_resnet_reference.py",
                "creator_version": "torch " + torch.__version__,
                "hdf5_version": h5py.version.hdf5_version}
        for key, val in text.items():
            f.attrs[key] = np.bytes_(val)
        f.attrs["steps"] = STEPS
        f.attrs["num_classes"] = 10
        f.attrs["mean"] = np.array([mean])
        f.attrs["std"] = np.array([std])
        f.attrs["lr"] = SGDM["lr"]
        f.attrs["momentum"] = SGDM["momentum"]
        f.attrs["weight_decay"] = SGDM["weight_decay"]
        f.attrs["bn_momentum"] = BN_MOMENTUM
        f.create_dataset("images", data=images[:, None], **gz)
        f.create_dataset("labels", data=labels)
        f.create_dataset("input", data=inp[..., None], **gz)
        f.create_dataset("loss", data=losses)
        f.create_dataset("spread_l2", data=spread[0])
        f.create_dataset("spread_max", data=spread[1])
        names = list(w0)
        f.create_dataset("names", data=np.array(names, dtype="S"))
        for g in ("init", "index", "steps", "update_norm"):
            f.create_group(g)
        for k in names:
            n = w0[k].size
            idx = np.arange(n) if n <= SMALL else np.sort(
                np.concatenate([np.arange(8), rng.choice(np.arange(8, n - 8), SAMPLE - 16,
                                                        replace=False), np.arange(n - 8, n)]))
            f["init"].create_dataset(k, data=w0[k].astype(np.float16), **gz)
            f["index"].create_dataset(k, data=idx.astype(np.int32), **gz)
            f["steps"].create_dataset(
                k, data=np.stack([r[k][idx] for r in runs]).astype(np.float32), **gz)
            f["update_norm"].create_dataset(
                k, data=np.array([np.linalg.norm(r[k] - w0[k]) for r in runs]))
    os.replace(tmp, OUT)
    print(f"{OUT}: {os.path.getsize(OUT)} bytes, {len(names)} tensors")
    print("loss", np.round(losses, 4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
