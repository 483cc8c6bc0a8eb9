#!/usr/bin/python3
"""make_compress_reference.py - PyTorch's own powerSGD_hook and a float64 top-k with error
feedback, the oracles of tests/unit/test_compress_reference.c.

Writes tests/reference/compress.h5. Run by hand (never by `make test`), with Debian's
python3-torch and python3-h5py:

    /usr/bin/python3 tests/reference/make_compress_reference.py

The tensors are the seed LeNet's for 1x32x32 input and 10 classes (src/nn/model.c):
conv1.weight (64, 1, 5, 5), conv1.bias (64), conv2.weight (64, 64, 5, 5), conv2.bias,
fc1.weight (384, 1600), fc1.bias, fc2.weight (192, 384), fc2.bias, fc3.weight (10, 192),
fc3.bias: 794,762 floats. A tensor's matrix is PyTorch's tensor.view(shape[0], -1), which is
dpt's (rows, fan_in) row-major block; only the order of the columns differs from PyTorch's
own conv and fc1 layouts, which changes nothing here (the data are synthetic).

Inputs (participant k, round t) are computed by a formula the C test repeats bit for bit
(compress_input in the test): per tensor T and entry (a, b) of its matrix,

    x = (sum_{c<6} U_c[a] V_c[b] 2^(12-c) + N) * 2^-12

with U_c[a] = h(1, T, c, a) % 17 - 8, V_c[b] = h(2, T, c, b) % 17 - 8 and
N = h(3, k, t, T, i) % 2049 - 1024 (i the entry's index in the tensor; 1-D tensors: N
alone), h the splitmix64 chain of src/core/rng.h (rng_key's mixing). Every x is an exact
float32 (20 bits): a fixed rank-6 signal whose components halve one after another (so
rank 4 has a clear gap to the rest), plus noise that changes with k and t.

PowerSGD: world size 2 (two processes, a real gloo group on 127.0.0.1), rank 4,
start_powerSGD_iter 2, min_compression_rate 2, error feedback and warm start on (the
hook's defaults), ROUNDS rounds through powerSGD_hook itself, called with a bucket object
that holds the flat buffer and its per-tensor views (the hook reads only buffer(),
gradients(), index() and is_last()). The hook draws its first Q from torch's RNG; to
share it with dpt, the script puts its own draw (stored as /powersgd/q_init, in the hook's
layout: per compressed tensor, cols x rank, row-major) into the hook's state before the
first PowerSGD round, which the hook then orthogonalises as a warm start, and the C test
puts the same values into dpt's Q. The same run in float64 gives the rounding scale.

Top-k: K = 3 participants, ratio 0.01, ROUNDS rounds, in float64: acc = x + residual, the
k = max(1, floor(ratio*size + 1/2)) largest |acc| per tensor (ties: lower index), mean of
the K sparse vectors, residual = acc minus what was sent.

Stored per round: every entry of the tensors of at most SMALL floats and every STRIDE-th
entry of the larger ones (/sample_index, indices into the concatenated tensors), for the
mean (`out`) and each participant's residual (`residual`), as float32 (PowerSGD's are
float32 results; top-k's are the float64 results rounded once), and the L2 norms over
whole tensors of both (double). The float64 PowerSGD run keeps only its norms and, as the
attribute f32_vs_f64_rel, the largest |float32 - float64| of the mean over any entry,
divided by the RMS of that entry's tensor.
"""
import os
import sys
import tempfile

import h5py
import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as psgd

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "compress.h5")
TENSORS = [("conv1.weight", (64, 1, 5, 5)), ("conv1.bias", (64,)),
           ("conv2.weight", (64, 64, 5, 5)), ("conv2.bias", (64,)),
           ("fc1.weight", (384, 1600)), ("fc1.bias", (384,)),
           ("fc2.weight", (192, 384)), ("fc2.bias", (192,)),
           ("fc3.weight", (10, 192)), ("fc3.bias", (10,))]
ROUNDS = 5
RANK, START, MIN_RATE = 4, 2, 2
WORLD = 2
TOPK_K, TOPK_RATIO = 3, 0.01
SMALL, STRIDE = 2048, 251
QSEED = 20261207
M64 = (1 << 64) - 1


def mix(z):
    """splitmix64's finaliser on uint64 arrays (rng_mix in src/core/rng.h)."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9e3779b97f4a7c15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xbf58476d1ce4e5b9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94d049bb133111eb)
        return z ^ (z >> np.uint64(31))


def h(*parts):
    """mix(...mix(mix(p0) ^ p1)... ^ pn), parts broadcast as uint64 arrays."""
    z = mix(np.asarray(parts[0], dtype=np.uint64))
    for p in parts[1:]:
        z = mix(z ^ np.asarray(p, dtype=np.uint64))
    return z


def matrix_shape(shape):
    rows = shape[0]
    return rows, int(np.prod(shape)) // rows


def tensor_input(T, shape, k, t):
    rows, cols = matrix_shape(shape)
    i = np.arange(rows * cols, dtype=np.uint64)
    noise = (h(3, k, t, T, i) % np.uint64(2049)).astype(np.int64) - 1024
    val = noise
    if len(shape) > 1:
        a, b = i // np.uint64(cols), i % np.uint64(cols)
        for c in range(6):
            u = (h(1, T, c, a) % np.uint64(17)).astype(np.int64) - 8
            v = (h(2, T, c, b) % np.uint64(17)).astype(np.int64) - 8
            val = val + u * v * (1 << (12 - c))
    return val.astype(np.float64) * 2.0 ** -12


def full_input(k, t):
    return np.concatenate([tensor_input(T, s, k, t) for T, (_, s) in enumerate(TENSORS)])


def compressed_tensors():
    """(index, rows, cols, r) of the tensors the hook compresses, in tensor order."""
    out = []
    for T, (_, shape) in enumerate(TENSORS):
        rows, cols = matrix_shape(shape)
        r = min(rows, cols, RANK)
        if psgd._should_compress(rows, cols, r, MIN_RATE)[0]:
            out.append((T, rows, cols, r))
    return out


def q_init():
    g = torch.Generator().manual_seed(QSEED)
    return torch.cat([torch.randn(cols * r, generator=g) for _, _, cols, r in compressed_tensors()])


class Bucket:
    """What powerSGD_hook reads of a DDP bucket: the flat buffer and its tensor views."""

    def __init__(self, flat):
        self.flat, self.views, off = flat, [], 0
        for _, shape in TENSORS:
            n = int(np.prod(shape))
            self.views.append(flat[off:off + n].view(shape))
            off += n

    def buffer(self):
        return self.flat

    def gradients(self):
        return self.views

    def index(self):
        return 0

    def is_last(self):
        return True


def powersgd_worker(rank, port, dtype, outdir):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD)
    state = psgd.PowerSGDState(process_group=None, matrix_approximation_rank=RANK,
                               start_powerSGD_iter=START, min_compression_rate=MIN_RATE,
                               use_error_feedback=True, warm_start=True)
    q = q_init().to(dtype)
    plen = sum(rows * r for _, rows, _, r in compressed_tensors())
    state.q_memory_dict[0] = q.clone()
    state.p_memory_dict[0] = torch.zeros(plen, dtype=dtype)
    outs, resids = [], []
    for t in range(ROUNDS):
        flat = torch.from_numpy(full_input(rank, t)).to(dtype)
        out = psgd.powerSGD_hook(state, Bucket(flat)).wait()
        outs.append(out.double().numpy().copy())
        err = state.error_dict.get(0)
        resids.append(np.zeros(flat.numel()) if err is None else err.double().numpy().copy())
    np.save(os.path.join(outdir, f"out{rank}.npy"), np.array(outs))
    np.save(os.path.join(outdir, f"res{rank}.npy"), np.array(resids))
    dist.destroy_process_group()


def run_powersgd(dtype):
    with tempfile.TemporaryDirectory() as d:
        port = 29500 + os.getpid() % 1000
        mp.spawn(powersgd_worker, args=(port, dtype, d), nprocs=WORLD, join=True)
        outs = [np.load(os.path.join(d, f"out{r}.npy")) for r in range(WORLD)]
        res = [np.load(os.path.join(d, f"res{r}.npy")) for r in range(WORLD)]
    assert np.array_equal(outs[0], outs[1]), "the ranks' outputs differ"
    return outs[0], np.stack(res, axis=1)   # (rounds, n), (rounds, world, n)


def topk_select(acc, k):
    """indices of the k largest |acc|, ties to the lower index"""
    order = np.lexsort((np.arange(acc.size), -np.abs(acc)))
    return np.sort(order[:k])


def run_topk():
    sizes = [int(np.prod(s)) for _, s in TENSORS]
    offs = np.cumsum([0] + sizes)
    n = offs[-1]
    resid = np.zeros((TOPK_K, n))
    outs, resids = [], []
    for t in range(ROUNDS):
        total = np.zeros(n)
        for k in range(TOPK_K):
            acc = full_input(k, t) + resid[k]
            for T, size in enumerate(sizes):
                seg = acc[offs[T]:offs[T + 1]]
                kk = max(1, min(size, int(np.floor(TOPK_RATIO * size + 0.5))))
                sel = topk_select(seg, kk)
                total[offs[T] + sel] += seg[sel]
                seg[sel] = 0.0
            resid[k] = acc
        outs.append(total / TOPK_K)
        resids.append(resid.copy())
    return np.array(outs), np.array(resids)


def sample_index():
    idx, off = [], 0
    for _, shape in TENSORS:
        n = int(np.prod(shape))
        step = 1 if n <= SMALL else STRIDE
        idx.append(off + np.arange(0, n, step))
        off += n
    return np.concatenate(idx).astype(np.int64)


def norms(v):
    """per-tensor L2 norms over the last axis"""
    out, off = [], 0
    for _, shape in TENSORS:
        n = int(np.prod(shape))
        out.append(np.sqrt((v[..., off:off + n] ** 2).sum(axis=-1)))
        off += n
    return np.stack(out, axis=-1)


def store(g, out, res, idx, samples=True):
    gz = dict(compression="gzip", shuffle=True)
    if samples:
        g.create_dataset("out", data=out[..., idx].astype(np.float32), **gz)
        g.create_dataset("residual", data=res[..., idx].astype(np.float32), **gz)
    g.create_dataset("out_norm", data=norms(out))
    g.create_dataset("residual_norm", data=norms(res))


def main():
    out32, res32 = run_powersgd(torch.float32)
    out64, res64 = run_powersgd(torch.float64)
    tk_out, tk_res = run_topk()
    idx = sample_index()
    # float32's distance to float64, relative to each tensor's norm: the rounding scale
    dev = np.abs(out32 - out64)
    scale = np.repeat(norms(out64) / np.sqrt([np.prod(s) for _, s in TENSORS]),
                      [int(np.prod(s)) for _, s in TENSORS], axis=-1)
    rel = (dev / np.maximum(scale, 1e-30)).max()
    print(f"powersgd: float32 vs float64, largest |difference| / tensor RMS = {rel:.3g}")
    tmp = OUT + ".tmp"
    with h5py.File(tmp, "w") as f:
        text = {"schema": "dpt-compress-reference", "schema_version": "1.0",
                "creator": "tests/reference/make_compress_reference.py",
                "creator_version": "torch " + torch.__version__}
        for key, val in text.items():
            f.attrs[key] = np.bytes_(val)
        f.attrs["rounds"] = ROUNDS
        f.create_dataset("names", data=np.array([n for n, _ in TENSORS], dtype="S"))
        f.create_dataset("sizes", data=np.array([int(np.prod(s)) for _, s in TENSORS], np.int64))
        f.create_dataset("sample_index", data=idx)
        g = f.create_group("powersgd")
        for key, val in dict(rank=RANK, start_iter=START, min_rate=MIN_RATE,
                             participants=WORLD).items():
            g.attrs[key] = val
        g.attrs["f32_vs_f64_rel"] = np.array([rel])
        g.create_dataset("q_init", data=q_init().numpy())
        store(g, out32, res32, idx)
        g64 = f.create_group("powersgd_f64")
        store(g64, out64, res64, idx, samples=False)
        g = f.create_group("topk")
        g.attrs["ratio"] = np.array([TOPK_RATIO])
        g.attrs["participants"] = TOPK_K
        store(g, tk_out, tk_res, idx)
    os.replace(tmp, OUT)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    sys.exit(main())
