"""Training: ``TrainConfig``, ``fit`` and ``encode`` (SPEC 4).

CONTRACT (shared with ``grid``): ``fit(config, adata)`` never raises for a diverging run; it
returns a ``FitResult`` with ``status="failed"`` and a reason.

The loop is written for speed on small dense data (SPEC 9): the training matrix lives in one
tensor on the device; each epoch draws a seeded ``randperm``, gathers the epoch's batches into one
contiguous buffer with ``index_select`` (last partial batch dropped) and walks it by views; losses
are accumulated as tensors (one host sync per epoch); non-finite losses/parameters are checked once
per epoch; the optimizer uses the fused (else foreach) kernels; gradients are set to None.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .data.split import stratified_split
from .models import MODELS, build
from .models.base import ACTIVATIONS, INITS, LOSS_SCALES

OPTIMIZERS = ("adam", "rmsprop", "sgd")
EMBEDDINGS = ("sample", "mean")
#: ``TrainConfig.precision``: fp32 everywhere; tf32 matmuls on CUDA (no-op on CPU); bf16 autocast
#: of the forward pass with fp32 master weights, fp32 loss and fp32 validation.
PRECISIONS = ("fp32", "tf32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """One training: the grid's five hyperparameters plus the fixed protocol (SPEC 4)."""

    model: str = "vanilla"
    latent_dim: int = 10
    lr: float = 1e-3
    init: str = "kaiming_uniform"
    optimizer: str = "adam"
    activation: str = "tanh"
    seed: int = 0
    repeat: int = 0
    batch_size: int = 64
    max_epochs: int = 1000
    min_epochs: int = 5
    patience: int = 3
    min_delta: float = 1e-4
    loss_scale: str = "published"
    embedding: str = "sample"
    device: str = "auto"
    hidden: int = 512
    train_fraction: float = 0.7
    n_threads: int | None = None
    precision: str = "fp32"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class FitResult:
    """Outcome of one training (SPEC 10)."""

    config: TrainConfig
    status: str                       # "ok" | "failed"
    epochs: int
    val_loss: float                   # validation loss of the model kept (nan if failed early)
    best_val_loss: float
    history: list[dict[str, float]]   # per epoch: epoch, train_loss, val_loss, train_<term>, val_<term>
    model: Any                        # the torch module (eval mode), None if it never built
    train_idx: np.ndarray
    val_idx: np.ndarray
    reason: str = ""
    wall_time: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


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


def check_config(config: TrainConfig) -> None:
    """Raise ValueError naming the bad field, its value and the valid choices."""
    choices = {"model": MODELS, "optimizer": OPTIMIZERS, "activation": ACTIVATIONS,
               "init": INITS, "loss_scale": LOSS_SCALES, "embedding": EMBEDDINGS,
               "precision": PRECISIONS}
    for name, allowed in choices.items():
        value = getattr(config, name)
        if value not in allowed:
            raise ValueError(f"TrainConfig.{name}={value!r} is not valid; choose one of "
                             f"{list(allowed)}.")
    for name in ("latent_dim", "batch_size", "max_epochs", "hidden"):
        if int(getattr(config, name)) < 1:
            raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(config, name)!r}.")
    if not (config.lr > 0 and math.isfinite(config.lr)):
        raise ValueError(f"TrainConfig.lr must be a positive finite number, got {config.lr!r}.")


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


# --------------------------------------------------------------------------- fit

def fit(config: TrainConfig, adata) -> FitResult:
    """Train ``config`` on ``adata`` (X float32 z-scored, obs["label"]) per SPEC 4.

    Stratified 70/30 split by label with ``config.seed``; fresh initialisation from the seed;
    batches of ``batch_size`` from a seeded permutation (last partial batch dropped); validation
    on the whole validation part in eval mode after every epoch; early stopping on the validation
    loss (``min_delta``, ``patience``, ``min_epochs`` .. ``max_epochs``), keeping the model at the
    stop; ExponentialLR per epoch as published (model's ``lr_gamma``). A non-finite loss or
    parameter ends the run with ``status="failed"`` (``reason`` names what and the epoch); it never
    raises for that. ``extra`` holds ``steps`` (global iterations), ``steps_per_epoch``, ``device``
    and ``n_train``. Same seed (and thread count) -> identical numbers.
    """
    t0 = time.perf_counter()
    check_config(config)
    device = resolve_device(config.device)
    X = training_matrix(adata)
    train_idx, val_idx = split_for(config, adata)
    with execution_settings(config, device):
        return _fit(config, X, train_idx, val_idx, device, t0)


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
    products on denormals are ~10x slower (IWAE at TCGA size: 35 -> ~7 s per epoch); values that
    small change no loss or gradient visibly.
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


def _fit(config: TrainConfig, X: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray,
         device: torch.device, t0: float) -> FitResult:
    n_train, bs, n_genes = len(train_idx), int(config.batch_size), X.shape[1]
    with torch.random.fork_rng(devices=[]):  # fresh init from the seed, global RNG untouched
        torch.manual_seed(config.seed)
        model = build(config.model, n_genes, config.latent_dim, activation=config.activation,
                      init=config.init, loss_scale=config.loss_scale, hidden=config.hidden,
                      batch_size=bs)
    model.to(device)
    xtr = torch.from_numpy(X[train_idx]).to(device)
    xval = torch.from_numpy(X[val_idx]).to(device)
    shuffle_gen = torch.Generator().manual_seed(config.seed)
    noise_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    opt = make_optimizer(config.optimizer, model.parameters(), config.lr, device)
    sched = (torch.optim.lr_scheduler.ExponentialLR(opt, gamma=model.lr_gamma)
             if model.lr_gamma is not None else None)
    steps_per_epoch = n_train // bs
    n_used = steps_per_epoch * bs
    history: list[dict[str, float]] = []
    step, epoch, status, reason = 0, 0, "ok", ""
    best, wait, val_loss = math.inf, 0, math.nan
    extra = {"steps_per_epoch": steps_per_epoch, "device": str(device), "n_train": n_train,
             "precision": config.precision}
    bf16 = config.precision == "bf16"

    for epoch in range(1, int(config.max_epochs) + 1):
        t_ep = time.perf_counter()
        perm = torch.randperm(n_train, generator=shuffle_gen)[:n_used].to(device)
        batches = xtr.index_select(0, perm).view(steps_per_epoch, bs, n_genes)
        model.train()
        acc, names = None, []
        for i in range(steps_per_epoch):
            xb = batches[i]
            if bf16:
                with autocast_for("bf16", device):
                    out = model(xb, generator=noise_gen)
                lo = model.loss(xb, output_as_float(out), n_train, step)
            else:
                out = model(xb, generator=noise_gen)
                lo = model.loss(xb, out, n_train, step)
            opt.zero_grad(set_to_none=True)
            lo.loss.backward()
            opt.step()
            step += 1
            v = torch.stack([lo.loss.detach(), *lo.terms.values()])
            if acc is None:
                acc, names = v, list(lo.terms)
            else:
                acc += v
        train_vals = (acc / steps_per_epoch).tolist()  # the epoch's one host sync
        t_train = time.perf_counter() - t_ep
        if not math.isfinite(train_vals[0]) or not all(map(math.isfinite, train_vals)):
            status, reason = "failed", f"non-finite training loss in epoch {epoch}"
            break
        if not _params_finite(model):
            status, reason = "failed", f"non-finite parameters after epoch {epoch}"
            break
        vacc, vnames = evaluate(model, xval, n_train, step, bs, noise_gen)
        val_vals = vacc.tolist()
        val_loss = val_vals[0]
        rec: dict[str, float] = {"epoch": epoch, "train_loss": train_vals[0], "val_loss": val_loss}
        rec.update({f"train_{k}": v for k, v in zip(names, train_vals[1:])})
        rec.update({f"val_{k}": v for k, v in zip(vnames, val_vals[1:])})
        rec.update(lr=opt.param_groups[0]["lr"], step=step, train_seconds=t_train,
                   seconds=time.perf_counter() - t_ep)
        history.append(rec)
        if not math.isfinite(val_loss):
            status, reason = "failed", f"non-finite validation loss in epoch {epoch}"
            break
        if sched is not None:
            sched.step()
        if val_loss < best - config.min_delta:
            best, wait = val_loss, 0
        else:
            wait += 1
        if epoch >= config.min_epochs and wait >= config.patience:
            break

    model.eval()
    extra["steps"] = step
    return FitResult(
        config=config, status=status, epochs=epoch,
        val_loss=val_loss if status == "ok" else math.nan,
        best_val_loss=best if math.isfinite(best) else math.nan,
        history=history, model=model, train_idx=train_idx, val_idx=val_idx, reason=reason,
        wall_time=time.perf_counter() - t0, extra=extra,
    )


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


def __getattr__(name: str):
    """``vae_core.train.fit_many`` is ``vae_core.stacked.fit_many`` (lazy: stacked imports us)."""
    if name == "fit_many":
        from .stacked import fit_many

        return fit_many
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
