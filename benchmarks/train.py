"""Training speed: trainer effective FLOP/s vs dense matmul and vs a Lightning-style loop.

    python -m benchmarks train [--n-samples 4000] [--n-genes 5000] [--latent 50] [--epochs 3]
                               [--threads 1] [--rounds 3] [--model vanilla] [--skip-baseline]

In one process: (1) dense matmul FLOP/s at the training shapes (64x5000 @ 5000x512) and for a
big square product (2048^3); (2) ``vae_core.train.fit`` on a simulated cohort (vanilla, batch 64,
hidden 512, adam) after a one-epoch warm-up, timing the training steps of each epoch (validation
excluded; history ``train_seconds``); (3) a straightforward Lightning-style loop written here
(nn.Module, per-sample Dataset + DataLoader, default unfused torch.optim.Adam, loss.item() logged
each step) on the same epochs of the same data. Because the machine is shared, ``--rounds``
interleaved rounds each measure matmul (before and after), trainer and baseline within seconds of
each other; each round's ratios use its own measurements (best epoch of each), and the medians
are reported. The time of one step's five large products alone bounds the achievable ratio to the
baseline (Amdahl). FLOPs are counted analytically: forward
2 B (G H + H 2d + d H + H G) per step, backward 2x forward (the usual convention; the exact
backward skips dL/dx of the first layer, also printed). The ratio vs matmul uses the
training-shape matmul (the work the trainer actually does); the square one is printed too.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def matmul_flops(m: int, k: int, n: int, seconds: float = 2.0) -> float:
    """Measured FLOP/s of float32 [m,k] @ [k,n] (2 m k n FLOPs per product), best of 3 runs."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    out = torch.empty(m, n)
    for _ in range(3):
        torch.mm(a, b, out=out)
    best = 0.0
    for _ in range(3):
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 3:
            torch.mm(a, b, out=out)
            reps += 1
        best = max(best, 2.0 * m * k * n * reps / (time.perf_counter() - t0))
    return best


def step_flops(b: int, g: int, h: int, d: int, exact: bool = False) -> float:
    """FLOPs of one training step: forward 2B(GH + H 2d + dH + HG), backward 2x forward.

    ``exact=True`` drops the input gradient of the first layer (x needs no grad): 3F - 2BGH.
    """
    fwd = 2.0 * b * (g * h + h * 2 * d + d * h + h * g)
    return 3.0 * fwd - (2.0 * b * g * h if exact else 0.0)


def _cohort(n_samples: int, n_genes: int, seed: int = 0):
    from vae_core.data import preprocess, simulate

    raw = simulate("tcga", n_samples=n_samples, n_genes=int(n_genes * 1.2), seed=seed)
    return preprocess(raw, n_top_genes=n_genes), "simulated (vae_core.data.simulate)"


# --------------------------------------------------------------------------- Lightning-style

class _RowDataset(torch.utils.data.Dataset):
    def __init__(self, X: np.ndarray):
        self.X = X

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        return torch.from_numpy(self.X[i])


class _PlainVAE(nn.Module):
    """The same architecture written the straightforward way (PyTorch-VAE style)."""

    def __init__(self, g: int, h: int, d: int):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(g, h), nn.BatchNorm1d(h), nn.Tanh())
        self.fc_mu, self.fc_var = nn.Linear(h, d), nn.Linear(h, d)
        self.decoder = nn.Sequential(nn.Linear(d, h), nn.BatchNorm1d(h), nn.Tanh())
        self.final_layer = nn.Linear(h, g)

    def forward(self, x):
        r = self.encoder(x)
        mu, logvar = self.fc_mu(r), self.fc_var(r)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.final_layer(self.decoder(z)), mu, logvar

    def loss_function(self, recon, x, mu, logvar, kld_weight):
        rec = F.mse_loss(recon, x)
        kld = torch.mean(-0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1))
        return {"loss": rec + kld_weight * kld, "rec": rec.detach(), "kld": kld.detach()}


def lightning_style(X: np.ndarray, epochs: int, h: int, d: int, lr: float = 1e-3,
                    seed: int = 0) -> tuple[list[float], int]:
    """Train with a per-sample DataLoader and default Adam; returns (seconds per epoch, steps/epoch)."""
    torch.manual_seed(seed)
    model = _PlainVAE(X.shape[1], h, d)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loader = torch.utils.data.DataLoader(_RowDataset(X), batch_size=64, shuffle=True,
                                         drop_last=True)
    kld_weight = 64 / len(X)
    seconds, logged = [], []
    for _ in range(epochs):
        model.train()
        t0 = time.perf_counter()
        for batch in loader:
            recon, mu, logvar = model(batch)
            losses = model.loss_function(recon, batch, mu, logvar, kld_weight)
            opt.zero_grad()
            losses["loss"].backward()
            opt.step()
            logged.append({k: v.item() for k, v in losses.items()})  # self.log(...)
        seconds.append(time.perf_counter() - t0)
    return seconds, len(loader)


def matmul_only_step(b: int, g: int, h: int, reps: int = 20) -> float:
    """Seconds of the five large products of one training step alone (fwd 2, bwd 3), best of 3."""
    x, w1, w4 = torch.randn(b, g), torch.randn(g, h), torch.randn(h, g)
    hh, gy = torch.randn(b, h), torch.randn(b, g)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            x @ w1, hh @ w4, gy @ w4.T, gy.T @ hh, hh.T @ x
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-samples", type=int, default=4000)
    ap.add_argument("--n-genes", type=int, default=5000)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--latent", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--model", default="vanilla")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads for every part (default 1: one training per core, as "
                         "the grid runs; the machine is shared)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved rounds of matmul / trainer / baseline (shared machine)")
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args(argv)

    from vae_core.train import TrainConfig, fit

    torch.set_num_threads(args.threads)
    g, h, d, b = args.n_genes, args.hidden, args.latent, 64
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpus {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    mm_train = matmul_flops(b, g, h)
    mm_square = matmul_flops(2048, 2048, 2048)
    print(f"dense matmul  64x{g} @ {g}x{h}: {mm_train / 1e9:7.1f} GFLOP/s   (the shape used for "
          "the ratio; re-measured around every round)")
    print(f"dense matmul  2048^3         : {mm_square / 1e9:7.1f} GFLOP/s")

    adata, source = _cohort(args.n_samples, g)
    print(f"cohort: {adata.n_obs} x {adata.n_vars}, {source}")
    cfg = TrainConfig(model=args.model, latent_dim=d, lr=1e-3, optimizer="adam",
                      activation="tanh", init="kaiming_uniform", hidden=h, batch_size=b,
                      max_epochs=1, min_epochs=1, device="cpu", n_threads=args.threads)
    fit(cfg, adata)  # warm-up
    cfg = TrainConfig(**{**cfg.to_dict(), "max_epochs": args.epochs, "min_epochs": args.epochs})
    f_step, f_exact = step_flops(b, g, h, d), step_flops(b, g, h, d, exact=True)
    print(f"FLOPs per step (forward 2B(GH+2Hd+dH+HG), backward 2x): {f_step / 1e9:.3f} GFLOP "
          f"(exact backward: {f_exact / 1e9:.3f})")
    if not args.skip_baseline:
        X = np.asarray(adata.X, dtype=np.float32)
        lightning_style(X[:640], 1, h, d)  # warm-up
    r_mm, r_l, bounds = [], [], []
    for rnd in range(1, args.rounds + 1):
        mm = matmul_flops(b, g, h, seconds=1.0)
        res = fit(cfg, adata)
        spe = res.extra["steps_per_epoch"]
        t_ep = min(hh["train_seconds"] for hh in res.history)
        eff = spe * f_step / t_ep
        mm2 = matmul_flops(b, g, h, seconds=1.0)
        mm_ref = 0.5 * (mm + mm2)
        r_mm.append(eff / mm_ref)
        line = (f"round {rnd}: matmul {mm / 1e9:5.1f}/{mm2 / 1e9:5.1f} GFLOP/s (before/after); "
                f"trainer {1e3 * t_ep / spe:5.1f} ms/step = {eff / 1e9:5.1f} GFLOP/s "
                f"-> {eff / mm_ref:.3f} x matmul")
        if not args.skip_baseline:
            X = np.asarray(adata.X[res.train_idx], dtype=np.float32)
            secs, spe_l = lightning_style(X, args.epochs, h, d)
            eff_l = spe_l * f_step / min(secs)
            r_l.append(eff / eff_l)
            t_mm = matmul_only_step(b, g, h)
            bounds.append(min(secs) / spe_l / t_mm)
            line += (f"; Lightning-style {1e3 * min(secs) / spe_l:5.1f} ms/step = "
                     f"{eff_l / 1e9:5.1f} GFLOP/s -> trainer {eff / eff_l:.2f} x; the step's 5 "
                     f"large products alone {1e3 * t_mm:5.1f} ms")
        print(line, flush=True)
    print(f"RATIO trainer / dense matmul (64x{g}@{g}x{h}, mean of before/after in each round): "
          f"median {np.median(r_mm):.3f}, best {max(r_mm):.3f}   (target >= 0.65)")
    if r_l:
        print(f"RATIO trainer / Lightning-style loop: median {np.median(r_l):.2f}, "
              f"best {max(r_l):.2f}   (target >= 3)")
        print(f"upper bound for that ratio (Lightning-style step / its 5 large products alone, "
              f"per round): median {np.median(bounds):.2f}: a trainer that still does the "
              "products cannot be faster than that")
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    return 0
