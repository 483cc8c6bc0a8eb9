#!/usr/bin/python3
"""make_diloco_reference.py - one DiLoCo run written in PyTorch, the oracle of
tests/unit/test_outer.c (diloco_matches_pytorch).

K workers each take H steps of torch.optim.AdamW on the quadratic loss
0.5 * sum(a * (w - c_k)^2) (gradient a * (w - c_k), formed in float32 as the C test forms
it), starting every round from the global x0; x0 then takes one step of
torch.optim.SGD(lr=eta, momentum=mu, nesterov=True) on the pseudo-gradient
x0 - mean_k(x_k). Inner optimizer states are kept across rounds (model.work.momentum:
keep). Writes diloco.txt beside this script: the sizes and hyper-parameters, the inputs,
then x0 after every round, every float with 9 significant digits (exact for float32).

Run with Debian's python3 (it has torch): /usr/bin/python3 tests/reference/make_diloco_reference.py
"""
import os

import torch

N, K, H, ROUNDS = 7, 3, 4, 5
LR, BETA1, BETA2, EPS, WD = 0.01, 0.9, 0.999, 1e-8, 0.01
ETA, MU = 0.7, 0.9


def floats(seed, n, scale):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1).mul(scale).float()


def main():
    x0 = floats(1, N, 1.0)
    a = floats(2, N, 1.0).abs() + 0.5
    c = [floats(10 + k, N, 2.0) for k in range(K)]
    workers = [x0.clone().requires_grad_(True) for _ in range(K)]
    inner = [torch.optim.AdamW([w], lr=LR, betas=(BETA1, BETA2), eps=EPS, weight_decay=WD)
             for w in workers]
    glob = x0.clone().requires_grad_(True)
    outer = torch.optim.SGD([glob], lr=ETA, momentum=MU, nesterov=True)
    rounds = []
    for _ in range(ROUNDS):
        for k in range(K):
            with torch.no_grad():
                workers[k].copy_(glob)
            for _ in range(H):
                with torch.no_grad():
                    workers[k].grad = (workers[k] - c[k]) * a
                inner[k].step()
        with torch.no_grad():
            mean = workers[0].detach().clone()
            for k in range(1, K):
                mean += workers[k]
            mean /= K
            glob.grad = glob.detach() - mean
        outer.step()
        rounds.append(glob.detach().clone())
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "diloco.txt")
    with open(out, "w") as f:
        f.write("# written by make_diloco_reference.py (PyTorch %s); do not edit\n"
                % torch.__version__)
        f.write("%d %d %d %d\n" % (N, K, H, ROUNDS))
        f.write("%.17g %.17g %.17g %.17g %.17g %.17g %.17g\n"
                % (LR, BETA1, BETA2, EPS, WD, ETA, MU))
        for v in [x0, a] + c + rounds:
            f.write(" ".join("%.9g" % x for x in v.tolist()) + "\n")


if __name__ == "__main__":
    main()
