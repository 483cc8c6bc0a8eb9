#!/usr/bin/python3
"""make_torch_reference.py - PyTorch as the oracle of dpt's training step (llm.c's test_gpt2 idea).

Writes tests/reference/lenet_fmnist.h5: the seed's LeNet (spec/algorithms.md "The model", 10
classes, 1x32x32 input) with fixed initial weights in dpt's flat parameter layout, 32 real
Fashion-MNIST training images with their labels and normalisation constants, and the weights
after each of 10 full-batch steps of SGDM, AdamW, LocalSGD (K = 2, H = 2, momentum kept) and
SlowMo (alpha 1, beta 0.6), all computed by PyTorch in float32. tests/unit/test_reference.c
replays the same steps with dpt's code and compares. Run by hand (never by `make test`):

    /usr/bin/python3 tests/reference/make_torch_reference.py [--float64]

With --float64 it writes nothing and prints how far PyTorch's float32 run is from the same
run in float64, step by step: the rounding scale the C test's bounds are set against.

dpt's layout (src/nn/model.c, src/nn/layers.c): the tensors conv1.weight, conv1.bias,
conv2.weight, ..., fc3.bias in that order in one float buffer, each starting at a multiple of
16 floats (zeros between); conv weights (cout, k, k, cin) where PyTorch has (cout, cin, k, k);
activations NHWC, so fc1's columns run over the pooled (h, w, c) where PyTorch flattens
(c, h, w); linear weights (out, in) as in PyTorch.

Input: the stored uint8 28x28 images sit at offset (2, 2) of a 32x32 canvas of zero pixels and
every canvas pixel v becomes float32((v/255 - mean)/std), computed in double, as dpt's pipeline
does for evaluation (so the padding is the normalised value of 0, not 0). mean and std are the
population statistics of the whole training split (what `dpt-data fashion-mnist` stores). The
file holds the raw images, the constants and this input; the test checks that dpt's pipeline
gives the same input bit for bit.

Size: the model has 794,762 parameters (about 3.2 MB of float32), so the file stores the
initial weights in full (rounded to float16 precision, exactly representable in float32, so
that shuffle + gzip halve them) and, after every step, (a) every weight of each tensor of at
most SMALL floats and a fixed random sample of SAMPLE weights of each larger tensor (conv2,
fc1, fc2), and (b) per tensor, the L2 norm of the whole update w_t - w_0 in double, which
covers every weight of every tensor.
"""
import gzip
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "lenet_fmnist.h5")
SRC = "/usr/share/datasets/fashion-mnist"
SEED = 20261201
N_IMAGES = 32          # two of dpt's 16-image tree leaves; K = 2 workers get 16 each
STEPS = 10
K, H = 2, 2
SGDM = dict(lr=0.02, momentum=0.9, weight_decay=1e-3)
ADAMW = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)
# LocalSGD and SlowMo workers: SGDM with SGDM's momentum and decay. Every run must stay in
# the smooth regime where the loss falls step by step: at 0.05 the loss jumped at steps 7-9
# and the chaos amplified float32 rounding beyond what any tolerance can justify.
LOCAL_LR = 0.02
SLOWMO_ALPHA, SLOWMO_BETA = 1.0, 0.6
SMALL = 2048           # tensors up to this size are stored whole at every step
SAMPLE = 1024          # weights sampled from each larger tensor
ALIGN = 16             # dpt starts every tensor at a multiple of 16 floats


def read_idx(name):
    with gzip.open(os.path.join(SRC, name), "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


class LeNet(nn.Module):
    """The seed's LeNet-5 variant with PyTorch's default initialisation."""

    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 5)
        self.conv2 = nn.Conv2d(64, 64, 5)
        self.fc1 = nn.Linear(64 * 5 * 5, 384)
        self.fc2 = nn.Linear(384, 192)
        self.fc3 = nn.Linear(192, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


TENSORS = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight",
           "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]


def to_dpt(name, t):
    """A PyTorch tensor as dpt stores it, flattened."""
    t = t.detach()
    if name.startswith("conv") and name.endswith("weight"):
        t = t.permute(0, 2, 3, 1)                      # (cout, cin, k, k) -> (cout, k, k, cin)
    elif name == "fc1.weight":
        t = t.reshape(384, 64, 5, 5).permute(0, 2, 3, 1)  # columns (c, h, w) -> (h, w, c)
    return t.contiguous().reshape(-1).numpy()


def layout(model):
    params = dict(model.named_parameters())
    offsets, sizes, off = [], [], 0
    for name in TENSORS:
        n = params[name].numel()
        offsets.append(off)
        sizes.append(n)
        off += (n + ALIGN - 1) // ALIGN * ALIGN
    return offsets, sizes, off


def flat(model, offsets, nparams):
    params = dict(model.named_parameters())
    out = np.zeros(nparams, params[TENSORS[0]].detach().numpy().dtype)
    for name, off in zip(TENSORS, offsets):
        v = to_dpt(name, params[name])
        out[off:off + v.size] = v
    return out


def load_flat(model, w, offsets):
    """Sets model's parameters from dpt's flat buffer w (the inverse of flat)."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, off in zip(TENSORS, offsets):
            p = params[name]
            v = torch.from_numpy(w[off:off + p.numel()].copy())
            if name.startswith("conv") and name.endswith("weight"):
                co, ci, k, _ = p.shape
                v = v.reshape(co, k, k, ci).permute(0, 3, 1, 2)
            elif name == "fc1.weight":
                v = v.reshape(384, 5, 5, 64).permute(0, 3, 1, 2)
            p.copy_(v.reshape(p.shape))


def update_norms(w, w0, offsets, sizes):
    d = w.astype(np.float64) - w0.astype(np.float64)
    return np.array([np.sqrt(np.sum(d[o:o + s] ** 2)) for o, s in zip(offsets, sizes)])


def loss_and_step(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)   # mean over the batch, as dpt's gradient
    loss.backward()
    opt.step()
    return loss.item()


def centralized(w0, offsets, x, y, make_opt):
    """10 full-batch steps: flat weights after each, and the loss before each."""
    model = LeNet(10)
    load_flat(model, w0, offsets)
    opt = make_opt(model.parameters())
    ws, losses = [], []
    for _ in range(STEPS):
        losses.append(loss_and_step(model, opt, x, y))
        ws.append(flat(model, offsets, w0.size))
    return np.stack(ws), np.array(losses)


def local_sgd(w0, offsets, x, y, slowmo):
    """K workers, worker k on images [16k, 16k+16), local SGDM with momentum kept across
    averagings; after every H-th step the workers are averaged, (x0 + x1)/2 as dpt sums
    them in worker order and divides by K. With slowmo: spec/algorithms.md's SlowMo update
    u = beta*u + (x0 - xa)/lr, x0 = x0 - alpha*lr*u, every worker restarts from x0.
    Returns each worker's flat weights after each step (steps, K, nparams)."""
    nb = x.shape[0] // K
    workers = []
    for _ in range(K):
        m = LeNet(10)
        load_flat(m, w0, offsets)
        workers.append((m, torch.optim.SGD(m.parameters(), lr=LOCAL_LR,
                                           momentum=SGDM["momentum"],
                                           weight_decay=SGDM["weight_decay"])))
    x0 = [p.detach().clone() for p in workers[0][0].parameters()]
    u = [torch.zeros_like(p) for p in x0]
    ws = []
    for s in range(STEPS):
        for k, (m, opt) in enumerate(workers):
            loss_and_step(m, opt, x[k * nb:(k + 1) * nb], y[k * nb:(k + 1) * nb])
        if (s + 1) % H == 0:
            with torch.no_grad():
                plist = [list(m.parameters()) for m, _ in workers]
                for i in range(len(x0)):
                    xa = (plist[0][i] + plist[1][i]) / K
                    if slowmo:
                        u[i].mul_(SLOWMO_BETA).add_((x0[i] - xa) / LOCAL_LR)
                        x0[i].sub_(SLOWMO_ALPHA * LOCAL_LR * u[i])
                    else:
                        x0[i].copy_(xa)
                    for k in range(K):
                        plist[k][i].copy_(x0[i])
        ws.append(np.stack([flat(m, offsets, w0.size) for m, _ in workers]))
    return np.stack(ws)


def sample_index(offsets, sizes, rng):
    """Flat indices checked at every step: small tensors whole, a sorted random sample of
    each larger one that always includes its first and last 16 weights (kernels' edges)."""
    idx = []
    for off, n in zip(offsets, sizes):
        if n <= SMALL:
            idx.append(np.arange(n))
        else:
            inner = rng.choice(np.arange(16, n - 16), SAMPLE - 32, replace=False)
            idx.append(np.sort(np.concatenate([np.arange(16), inner, np.arange(n - 16, n)])))
        idx[-1] = idx[-1] + off
    return np.concatenate(idx).astype(np.int64)


def float64_spread(runs, w0, offsets, sizes, x, y):
    """--float64: how far float32 rounding alone moves PyTorch's own run. Reruns every
    algorithm in float64 from the same start and prints, per step, the worst over tensors
    (and workers) of |w32 - w64| relative to the update w64 - w0: L2 and max, the measures
    tests/unit/test_reference.c bounds."""
    torch.set_default_dtype(torch.float64)
    x = x.double()
    again = {"sgdm": centralized(w0, offsets, x, y, lambda p: torch.optim.SGD(p, **SGDM))[0],
             "adamw": centralized(w0, offsets, x, y,
                                  lambda p: torch.optim.AdamW(p, **ADAMW))[0],
             "localsgd": local_sgd(w0, offsets, x, y, slowmo=False),
             "slowmo": local_sgd(w0, offsets, x, y, slowmo=True)}
    for name, w64 in again.items():
        w32 = runs[name].astype(np.float64).reshape(STEPS, -1, w0.size)
        w64 = w64.reshape(STEPS, -1, w0.size)
        line = []
        for s in range(STEPS):
            l2 = mx = 0.0
            for k in range(w32.shape[1]):
                for o, n in zip(offsets, sizes):
                    e = w32[s, k, o:o + n] - w64[s, k, o:o + n]
                    u = w64[s, k, o:o + n] - w0[o:o + n]
                    l2 = max(l2, np.linalg.norm(e) / np.linalg.norm(u))
                    mx = max(mx, np.abs(e).max() / np.abs(u).max())
            line.append(f"{l2:.2g}/{mx:.2g}")
        print(f"{name:9s} float32 vs float64 per step (L2/max):", " ".join(line))


def fmnist_batch(n):
    """The first n Fashion-MNIST training images and labels, the training split's mean and
    std (as `dpt-data fashion-mnist` stores them) and the normalised (n, 32, 32) batch."""
    train_images = read_idx("train-images-idx3-ubyte.gz")
    train_labels = read_idx("train-labels-idx1-ubyte.gz")
    # dataset_stats (src/data/import.c) term by term, so the constants are its bits
    hist = [int(h) for h in np.bincount(train_images.reshape(-1), minlength=256)]
    total, acc, var = sum(hist), 0.0, 0.0
    for v in range(256):
        acc += float(hist[v]) * v
    mean = acc / total
    for v in range(256):
        var += float(hist[v]) * (v - mean) * (v - mean)
    std = np.sqrt(var / total) / 255.0
    mean /= 255.0

    images = train_images[:n].copy()
    labels = train_labels[:n].copy()
    canvas = np.zeros((n, 32, 32), np.uint8)
    canvas[:, 2:30, 2:30] = images
    lut = ((np.arange(256) / 255.0 - mean) / std).astype(np.float32)
    return images, labels, mean, std, lut[canvas]   # (n, 32, 32) = NHWC with c = 1


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    images, labels, mean, std, inp = fmnist_batch(N_IMAGES)
    x = torch.from_numpy(inp).unsqueeze(1)              # NCHW for PyTorch
    y = torch.from_numpy(labels.astype(np.int64))

    model = LeNet(10)
    with torch.no_grad():   # float16 precision: exact in float32, and compresses
        for p in model.parameters():
            p.copy_(p.half().float())
    offsets, sizes, nparams = layout(model)
    w0 = flat(model, offsets, nparams)

    sgdm, sgdm_loss = centralized(w0, offsets, x, y,
                                  lambda p: torch.optim.SGD(p, **SGDM))
    adamw, adamw_loss = centralized(w0, offsets, x, y,
                                    lambda p: torch.optim.AdamW(p, **ADAMW))
    localsgd = local_sgd(w0, offsets, x, y, slowmo=False)
    slowmo = local_sgd(w0, offsets, x, y, slowmo=True)

    if "--float64" in sys.argv[1:]:
        float64_spread(dict(sgdm=sgdm, adamw=adamw, localsgd=localsgd, slowmo=slowmo),
                       w0, offsets, sizes, x, y)
        return 0

    idx = sample_index(offsets, sizes, np.random.default_rng(SEED))
    gz = dict(compression="gzip", compression_opts=9, shuffle=True)
    tmp = OUT + ".tmp"
    with h5py.File(tmp, "w") as f:
        text = {"schema": "dpt-torch-reference", "schema_version": "1.0",
                "creator": "tests/reference/make_torch_reference.py",
                "creator_version": "torch " + torch.__version__,
                "hdf5_version": h5py.version.hdf5_version}
        for key, val in text.items():   # fixed-length strings, as dpt's files have
            f.attrs[key] = np.bytes_(val)
        f.attrs["steps"] = STEPS
        f.attrs["num_classes"] = 10
        f.attrs["mean"] = np.array([mean])
        f.attrs["std"] = np.array([std])
        f.create_dataset("images", data=images[:, None], **gz)  # (n, 1, 28, 28) as dpt stores
        f.create_dataset("labels", data=labels)
        f.create_dataset("input", data=inp[..., None], **gz)    # (n, 32, 32, 1) NHWC
        lay = f.create_group("layout")
        lay.create_dataset("names", data=np.array(TENSORS, dtype="S"))
        lay.create_dataset("offset", data=np.array(offsets, np.int64))
        lay.create_dataset("size", data=np.array(sizes, np.int64))
        lay.attrs["nparams"] = nparams
        f.create_dataset("params_init", data=w0, **gz)
        f.create_dataset("sample_index", data=idx, **gz)

        def store(name, ws, attrs, loss=None):
            g = f.create_group(name)
            for key, val in attrs.items():
                g.attrs[key] = val
            g.create_dataset("params", data=ws[..., idx].astype(np.float32), **gz)
            g.create_dataset("update_norm", data=np.apply_along_axis(
                update_norms, -1, ws, w0, offsets, sizes))
            if loss is not None:
                g.create_dataset("loss", data=loss)

        store("sgdm", sgdm, dict(lr=SGDM["lr"], momentum=SGDM["momentum"],
                                 weight_decay=SGDM["weight_decay"]), sgdm_loss)
        store("adamw", adamw, dict(lr=ADAMW["lr"], beta1=ADAMW["betas"][0],
                                   beta2=ADAMW["betas"][1], eps=ADAMW["eps"],
                                   weight_decay=ADAMW["weight_decay"]), adamw_loss)
        local = dict(lr=LOCAL_LR, momentum=SGDM["momentum"],
                     weight_decay=SGDM["weight_decay"], workers=K, local_steps=H)
        store("localsgd", localsgd, local)
        store("slowmo", slowmo, dict(local, slowmo_lr=SLOWMO_ALPHA,
                                     slowmo_momentum=SLOWMO_BETA))
    os.replace(tmp, OUT)
    print(f"{OUT}: {os.path.getsize(OUT)} bytes, {nparams} parameters, "
          f"{idx.size} checked per step")
    print("loss sgdm", np.round(sgdm_loss, 4), "adamw", np.round(adamw_loss, 4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
