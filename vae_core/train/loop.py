"""One training: ``fit`` and ``encode``, and the pieces ``fit_many`` shares with them.

CONTRACT (shared with ``grid``): ``fit(config, adata)`` never raises for a diverging run; it
returns a ``FitResult`` with ``status="failed"`` and a reason.

The loop is written for speed on small dense data (``docs/design.md``, "Training protocol"):
the training matrix lives in one tensor on the device; each epoch draws a seeded ``randperm``,
gathers the epoch's batches into one contiguous buffer with ``index_select`` (last partial batch
dropped) and walks it by views; losses are accumulated as tensors (one host sync per epoch);
non-finite losses/parameters are checked once per epoch; the optimizer uses the fused (else
foreach) kernels; gradients are set to None. The per-epoch stopping rule and history are
:class:`~vae_core.train.early_stop.EpochTracker`'s, the same object ``fit_many`` uses.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from typing import Any

import numpy as np
import torch

from ..data.split import stratified_split
from ..models import build
from .config import EMBEDDINGS, OPTIMIZERS, FitResult, TrainConfig, check_config
from .early_stop import EpochTracker

# --------------------------------------------------------------------------- helpers


def resolve_device(device: str) -> torch.device:
    """``auto`` -> cuda if available else cpu; otherwise ``torch.device(device)`` (checked)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available; "
                         "use device='auto' or 'cpu'.")
    return dev


def make_optimizer(name: str, params, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam / RMSprop / SGD with PyTorch defaults but ``lr``, fused kernels where available."""
    params = list(params)
    if name == "adam":
        try:
            return torch.optim.Adam(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):  # pragma: no cover - old torch / device
            return torch.optim.Adam(params, lr=lr, foreach=True)
    if name == "sgd":
        try:
            return torch.optim.SGD(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):  # pragma: no cover
            return torch.optim.SGD(params, lr=lr, foreach=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {list(OPTIMIZERS)}.")


def build_model(config: TrainConfig, n_genes: int) -> torch.nn.Module:
    """``config``'s model, freshly initialised from ``config.seed`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return build(config.model, n_genes, config.latent_dim, activation=config.activation,
                     init=config.init, loss_scale=config.loss_scale, hidden=config.hidden,
                     batch_size=int(config.batch_size))


def generators(config: TrainConfig, device: torch.device
               ) -> tuple[torch.Generator, torch.Generator]:
    """(shuffling generator on the CPU from ``seed``, noise generator on ``device`` from
    ``seed + 1``): every training's two random streams."""
    return (torch.Generator().manual_seed(config.seed),
            torch.Generator(device=device).manual_seed(config.seed + 1))


def fit_extra(config: TrainConfig, device: torch.device, n_train: int, steps_per_epoch: int,
              steps: int) -> dict[str, Any]:
    """``FitResult.extra`` of a training (``fit_many`` adds its stack's fields)."""
    return {"steps_per_epoch": steps_per_epoch, "device": str(device), "n_train": n_train,
            "precision": config.precision, "steps": steps}


def _dense_float32(X) -> np.ndarray:
    if hasattr(X, "toarray"):
        X = X.toarray()
    return np.ascontiguousarray(np.asarray(X, dtype=np.float32))


def _params_finite(model: torch.nn.Module) -> bool:
    sums = torch.stack([p.detach().sum() for p in model.parameters()])
    return bool(torch.isfinite(sums).all())


def evaluate(model, X: torch.Tensor, n_train: int, step: int, batch_size: int,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, list[str]]:
    """Model's own loss and terms on ``X`` in eval mode, in near-equal chunks of ~``batch_size``.

    Returns (tensor [1 + n_terms]: sample-weighted means of loss and each term, term names).
    Chunks of the training batch size keep the batch-dependent terms (beta-TC's log q(z), DIP's
    covariance) on the same footing as in training; every sample is used.
    """
    was_training = model.training
    model.eval()
    n = X.shape[0]
    acc, names = None, []
    with torch.no_grad():
        for chunk in torch.tensor_split(X, max(1, math.ceil(n / batch_size))):
            out = model(chunk, generator=generator)
            lo = model.loss(chunk, out, n_train, step)
            v = torch.stack([lo.loss.detach(), *lo.terms.values()]).float() * chunk.shape[0]
            if acc is None:
                acc, names = v, list(lo.terms)
            else:
                acc += v
    model.train(was_training)
    return acc / n, names


def training_matrix(adata) -> np.ndarray:
    """adata.X as a dense C-contiguous float32 [n, G] array, checked (2-D, finite, labelled)."""
    if "label" not in adata.obs:
        raise ValueError("adata.obs has no 'label' column; fit splits stratified by label.")
    X = _dense_float32(adata.X)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"adata.X must be a 2-D samples x genes matrix, got shape {X.shape}.")
    if not np.isfinite(X).all():
        raise ValueError(f"adata.X has {int((~np.isfinite(X)).sum())} non-finite values; run "
                         "vae_core.data.preprocess (it fills missing cells) before training.")
    return X


def split_for(config: TrainConfig, adata) -> tuple[np.ndarray, np.ndarray]:
    """The stratified (train_idx, val_idx) split of ``config`` (its seed and train_fraction)."""
    train_idx, val_idx = stratified_split(adata.obs["label"].to_numpy(), config.train_fraction,
                                          config.seed)
    n_train, bs = len(train_idx), int(config.batch_size)
    if n_train < bs:
        raise ValueError(f"the training part has {n_train} samples, fewer than batch_size={bs}; "
                         "use a smaller batch_size or a larger cohort.")
    return train_idx, val_idx


@contextlib.contextmanager
def execution_settings(config: TrainConfig, device: torch.device):
    """Apply ``n_threads``, ``precision="tf32"`` (CUDA only) and, on CPU, flush-to-zero of
    denormal floats for a block; restore them after.

    tf32 sets ``torch.set_float32_matmul_precision("high")`` on CUDA; on CPU it is a no-op
    (CPU float32 products stay float32). Denormals (|v| < 1.2e-38 in float32) are flushed to
    zero on CPU (``torch.set_flush_denormal(True)``, reset to PyTorch's default ``False`` after):
    IWAE's importance weights put such values in the decoder's gradients, and CPU matrix
    products on denormals are many times slower (see the README's Benchmarks section); values
    that small change no loss or gradient visibly.
    """
    old_threads = torch.get_num_threads()
    old_prec = torch.get_float32_matmul_precision()
    if config.n_threads:
        torch.set_num_threads(int(config.n_threads))
    if config.precision == "tf32" and device.type == "cuda":
        torch.set_float32_matmul_precision("high")
    ftz = device.type == "cpu" and torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if ftz:
            torch.set_flush_denormal(False)
        if config.n_threads:
            torch.set_num_threads(old_threads)
        torch.set_float32_matmul_precision(old_prec)


def autocast_for(precision: str, device: torch.device):
    """``torch.autocast(device.type, bfloat16)`` for ``precision="bf16"``, else a no-op context."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def output_as_float(out):
    """The ModelOutput with every tensor field cast to float32 (bf16 forward -> fp32 loss)."""
    return dataclasses.replace(out, **{f.name: getattr(out, f.name).float()
                                       for f in dataclasses.fields(out)
                                       if getattr(out, f.name) is not None})


# --------------------------------------------------------------------------- fit

def fit(config: TrainConfig, adata) -> FitResult:
    """Train ``config`` on ``adata`` (X float32 z-scored, obs["label"]).

    The protocol of ``docs/design.md``, "Training protocol": stratified 70/30 split by label with
    ``config.seed``; fresh initialisation from the seed; batches of ``batch_size`` from a seeded
    permutation (last partial batch dropped); validation on the whole validation part in eval
    mode after every epoch; early stopping on the validation loss (``min_delta``, ``patience``,
    ``min_epochs`` .. ``max_epochs``), keeping the model at the stop; ExponentialLR per epoch as
    published (model's ``lr_gamma``). A non-finite loss or parameter ends the run with
    ``status="failed"`` (``reason`` names what and the epoch); it never raises for that.
    ``extra`` holds ``steps`` (global iterations), ``steps_per_epoch``, ``device``,
    ``precision`` and ``n_train``. Same seed (and thread count) -> identical numbers.
    """
    t0 = time.perf_counter()
    check_config(config)
    device = resolve_device(config.device)
    X = training_matrix(adata)
    train_idx, val_idx = split_for(config, adata)
    with execution_settings(config, device):
        return _fit(config, X, train_idx, val_idx, device, t0)


def _train_epoch(model, opt, batches: torch.Tensor, n_train: int, step: int, bf16: bool,
                 noise_gen: torch.Generator, device: torch.device
                 ) -> tuple[list[float], list[str]]:
    """One epoch of updates over ``batches`` [steps, B, G]: (mean loss and terms, term names)."""
    model.train()
    acc, names = None, []
    for i in range(batches.shape[0]):
        xb = batches[i]
        if bf16:
            with autocast_for("bf16", device):
                out = model(xb, generator=noise_gen)
            lo = model.loss(xb, output_as_float(out), n_train, step + i)
        else:
            out = model(xb, generator=noise_gen)
            lo = model.loss(xb, out, n_train, step + i)
        opt.zero_grad(set_to_none=True)
        lo.loss.backward()
        opt.step()
        v = torch.stack([lo.loss.detach(), *lo.terms.values()])
        if acc is None:
            acc, names = v, list(lo.terms)
        else:
            acc += v
    return (acc / batches.shape[0]).tolist(), names  # the epoch's one host sync


def _fit(config: TrainConfig, X: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray,
         device: torch.device, t0: float) -> FitResult:
    n_train, bs, n_genes = len(train_idx), int(config.batch_size), X.shape[1]
    model = build_model(config, n_genes).to(device)
    xtr = torch.from_numpy(X[train_idx]).to(device)
    xval = torch.from_numpy(X[val_idx]).to(device)
    shuffle_gen, noise_gen = generators(config, device)
    opt = make_optimizer(config.optimizer, model.parameters(), config.lr, device)
    sched = (torch.optim.lr_scheduler.ExponentialLR(opt, gamma=model.lr_gamma)
             if model.lr_gamma is not None else None)
    steps_per_epoch = n_train // bs
    n_used = steps_per_epoch * bs
    tracker = EpochTracker(config)
    step = 0
    for epoch in range(1, int(config.max_epochs) + 1):
        t_ep = time.perf_counter()
        perm = torch.randperm(n_train, generator=shuffle_gen)[:n_used].to(device)
        batches = xtr.index_select(0, perm).view(steps_per_epoch, bs, n_genes)
        lr = opt.param_groups[0]["lr"]
        train_vals, names = _train_epoch(model, opt, batches, n_train, step,
                                         config.precision == "bf16", noise_gen, device)
        step += steps_per_epoch
        t_train = time.perf_counter() - t_ep
        if not tracker.check_training(epoch, train_vals, _params_finite(model)):
            break
        vacc, vnames = evaluate(model, xval, n_train, step, bs, noise_gen)
        if not tracker.end_epoch(epoch, train_vals, names, vacc.tolist(), vnames, lr=lr,
                                 step=step, train_seconds=t_train,
                                 seconds=time.perf_counter() - t_ep):
            break
        if sched is not None:
            sched.step()
    model.eval()
    return tracker.result(model, train_idx, val_idx, time.perf_counter() - t0,
                          fit_extra(config, device, n_train, steps_per_epoch, step))


# --------------------------------------------------------------------------- encode

def encode(model, X, *, mode: str = "sample", seed: int = 0,
           batch_size: int = 4096) -> dict[str, np.ndarray | None]:
    """Embed X [n, G] with a trained model (eval mode, no grad, batches of ``batch_size``).

    Returns float32 numpy arrays: ``z`` (one sample of q(z|x) for ``mode="sample"``, the posterior
    mean for ``"mean"``), ``mu`` [n, d], ``logvar`` [n, d] and ``logits`` (None for Gaussian
    models; CAT-VAE: ``mu`` = softmax(logits), ``logvar`` None, ``logits`` [n, d]).
    Deterministic for a seed.
    """
    if mode not in EMBEDDINGS:
        raise ValueError(f"mode={mode!r} is not valid; choose one of {list(EMBEDDINGS)}.")
    device = next(model.parameters()).device
    Xt = torch.as_tensor(_dense_float32(X) if not isinstance(X, torch.Tensor) else X,
                         dtype=torch.float32)
    gen = torch.Generator(device=device).manual_seed(int(seed))
    was_training = model.training
    model.eval()
    parts: dict[str, list[np.ndarray]] = {}
    with torch.no_grad():
        for start in range(0, Xt.shape[0], batch_size):
            post = model.posterior(Xt[start:start + batch_size].to(device), mode, gen)
            for k, v in post.items():
                if v is not None:
                    parts.setdefault(k, []).append(v.float().cpu().numpy())
    model.train(was_training)
    out: dict[str, np.ndarray | None] = {"z": None, "mu": None, "logvar": None, "logits": None}
    out.update({k: np.concatenate(v).astype(np.float32, copy=False) for k, v in parts.items()})
    return out
