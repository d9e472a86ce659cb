"""Many trainings at once: ``fit_many`` stacks same-shaped configurations into one batched model.

Configurations that share every shape and protocol field (model, latent_dim, activation,
optimizer, hidden, batch_size, loss_scale, train_fraction, precision, and the data's training-set
size) train together: each member's module is built exactly as ``fit`` builds it (same seed, same
initialisation), the members' parameters and BatchNorm buffers are stacked with
``torch.func.stack_module_state`` and one ``vmap(functional_call(model, ...))`` runs the forward
pass and the model's own loss for all members (STYLE "torch.func — many small models at once").
The models stay the ones of ``vae_core.models``.

Per member, as in ``fit``: its stratified split (seed), its shuffling generator (seed, CPU) and
noise generator (seed + 1, on the device). The noise is drawn outside ``vmap``, member by member
with ``model.draw_noise`` (the same numbers ``forward`` would draw) and passed in as ``noise=``.
Its own learning rate and ExponentialLR gamma per epoch, its own early stopping and divergence
checks (per epoch, as ``fit``). The optimizer updates (PyTorch-default Adam, SGD, RMSprop) are
``torch.optim``'s own functional updates (fused/foreach kernels, as ``fit`` chooses) applied to
each member's views of the stacked tensors, grouped by learning rate. Every operation is per
member (batched matmuls, per-member BatchNorm statistics, elementwise updates; the summed loss
gives each member the gradient of its own loss), so a NaN in one member never reaches another's
parameters, gradients or optimizer state; a member that stops or fails is taken out of the
stack at the end of that epoch (its tensors dropped) and its result is kept. Results therefore
equal ``fit(config, adata)`` up to float rounding of batched vs single products (SGD runs are
bit-identical on CPU in the tests): same status, reason, epochs, splits; validation
losses within 1e-3 relative on the test cohorts (1e-6 to 5e-4 measured; differences of
rounding grow with the learning rate, as between fused and foreach Adam in ``fit`` itself).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.func import functional_call, stack_module_state, vmap
from torch.optim import adam as _adam
from torch.optim import rmsprop as _rmsprop
from torch.optim import sgd as _sgd

from .models import build
from .train import (
    FitResult,
    TrainConfig,
    autocast_for,
    check_config,
    execution_settings,
    output_as_float,
    resolve_device,
    split_for,
    training_matrix,
)

#: TrainConfig fields that must agree for configurations to share a stack (besides n_train).
STACK_FIELDS: tuple[str, ...] = ("model", "latent_dim", "activation", "optimizer", "hidden",
                                 "batch_size", "loss_scale", "train_fraction", "precision",
                                 "n_threads")

def stack_group_key(config: TrainConfig) -> tuple[Any, ...]:
    """Configurations with equal keys can train in one stack (``STACK_FIELDS``)."""
    return tuple(getattr(config, f) for f in STACK_FIELDS)


def fit_many(configs: Sequence[TrainConfig], adata, *, device: str = "auto",
             stack_size: int | None = None) -> list[FitResult]:
    """Train every configuration of ``configs`` on ``adata``; results in input order.

    Each result equals ``fit(config, adata)`` within float rounding (status, reason, epochs,
    train_idx/val_idx, history; validation loss within 1e-3 relative): compatible configurations
    (equal ``STACK_FIELDS``, same training-set size) train together as one batched model of at
    most ``stack_size`` members (None: all compatible ones in one stack). ``device`` is used for
    every configuration ("auto": CUDA if available; the configs' own ``device`` field is ignored).
    Each ``result.model`` is an ordinary module of ``vae_core.models`` in eval mode with the
    member's weights and BatchNorm statistics. ``extra`` adds ``stack_size`` (members that
    started in the stack) and ``stack_index``; ``wall_time`` is the stack's time until the member
    finished. Bad input raises ValueError as ``fit`` does; divergence never raises.
    """
    configs = list(configs)
    if stack_size is not None and (isinstance(stack_size, bool) or int(stack_size) < 1):
        raise ValueError(f"stack_size must be a positive integer or None, got {stack_size!r}.")
    for c in configs:
        if not isinstance(c, TrainConfig):
            raise TypeError(f"fit_many expects TrainConfig objects, got {type(c).__name__}.")
        check_config(c)
    if not configs:
        return []
    dev = resolve_device(device)
    X = training_matrix(adata)
    splits = [split_for(c, adata) for c in configs]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, c in enumerate(configs):
        groups.setdefault((*stack_group_key(c), len(splits[i][0]), len(splits[i][1])),
                          []).append(i)
    results: list[FitResult | None] = [None] * len(configs)
    cap = len(configs) if stack_size is None else int(stack_size)
    n_stack = 0
    for members in groups.values():
        for start in range(0, len(members), cap):
            ids = members[start:start + cap]
            with execution_settings(configs[ids[0]], dev):
                out = _fit_stack([configs[i] for i in ids], X, [splits[i] for i in ids], dev)
            for i, r in zip(ids, out):
                r.extra["stack_index"] = n_stack
                results[i] = r
            n_stack += 1
    return results  # type: ignore[return-value]


# --------------------------------------------------------------------------- optimizers

class _StackedOptimizer:
    """Adam / SGD / RMSprop of ``fit`` (``torch.optim`` defaults but lr) on stacked parameters.

    Parameters and optimizer state are stacked [M, ...]; each step calls ``torch.optim``'s own
    functional update (``torch.optim.adam.adam`` etc., fused kernels for Adam and SGD as
    ``make_optimizer`` chooses, else foreach) on the per-member views, once per distinct
    learning rate, so every member gets exactly the update a single ``torch.optim`` optimizer
    would make. Members never share an element: a NaN stays in its own member.
    """

    def __init__(self, name: str, params: list[torch.Tensor], device: torch.device):
        self.name = name
        self.fused = name in ("adam", "sgd")
        self.state: dict[str, list[torch.Tensor]] = {}
        if name == "adam":
            self.state = {"exp_avg": [torch.zeros_like(p) for p in params],
                          "exp_avg_sq": [torch.zeros_like(p) for p in params]}
        elif name == "rmsprop":
            self.state = {"square_avg": [torch.zeros_like(p) for p in params]}
        if name != "sgd":  # per-member step counters (fused: on the device, as torch.optim)
            m = params[0].shape[0]
            dev = device if self.fused else torch.device("cpu")
            self.state["step"] = [torch.zeros(m, dtype=torch.float32, device=dev)
                                  for _ in params]
        self._views(params)

    def _views(self, params: list[torch.Tensor]) -> None:
        with torch.no_grad():
            self.pviews = [p.detach().unbind(0) for p in params]
        self.sviews = {k: [t.unbind(0) for t in v] for k, v in self.state.items()}

    def _pick(self, views: list[tuple[torch.Tensor, ...]], pos: list[int]) -> list[torch.Tensor]:
        return [v[i] for i in pos for v in views]

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor], lrs: list[float]) -> None:
        """One update; ``grads`` stacked like the parameters, ``lrs`` one float per member."""
        gviews = [g.contiguous().unbind(0) for g in grads]  # fused kernels want dense views
        groups: dict[float, list[int]] = {}
        for i, lr in enumerate(lrs):
            groups.setdefault(lr, []).append(i)
        for lr, pos in groups.items():
            p, g = self._pick(self.pviews, pos), self._pick(gviews, pos)
            st = {k: self._pick(v, pos) for k, v in self.sviews.items()}
            try:
                self._update(p, g, st, lr, fused=self.fused)
            except (RuntimeError, TypeError, ValueError):  # pragma: no cover - no fused kernel
                if not self.fused:
                    raise
                self.fused = False
                self._update(p, g, st, lr, fused=False)

    def _update(self, p, g, st, lr: float, fused: bool) -> None:
        kw = {"fused": True} if fused else {"foreach": True}
        if self.name == "adam":
            _adam.adam(p, g, st["exp_avg"], st["exp_avg_sq"], [], st["step"], **kw,
                                  amsgrad=False, beta1=0.9, beta2=0.999, lr=lr,
                                  weight_decay=0.0, eps=1e-8, maximize=False)
        elif self.name == "sgd":
            _sgd.sgd(p, g, [None] * len(p), **kw, weight_decay=0.0, momentum=0.0,
                                lr=lr, dampening=0.0, nesterov=False, maximize=False)
        else:
            _rmsprop.rmsprop(p, g, st["square_avg"], [], [], st["step"], foreach=True,
                                        lr=lr, alpha=0.99, eps=1e-8, weight_decay=0.0,
                                        momentum=0.0, centered=False)

    def keep(self, idx: torch.Tensor, params: list[torch.Tensor]) -> None:
        """Keep only the members ``idx`` (positions in the current stack); ``params`` the new
        stacked parameters."""
        self.state = {k: [t.index_select(0, idx.to(t.device)) for t in v]
                      for k, v in self.state.items()}
        self._views(params)


# --------------------------------------------------------------------------- one stack

class _Member:
    """Book-keeping of one member: generators, lr, stopping state, history."""

    def __init__(self, config: TrainConfig, split: tuple[np.ndarray, np.ndarray],
                 model: torch.nn.Module, device: torch.device):
        self.config, self.model = config, model
        self.train_idx, self.val_idx = split
        self.shuffle_gen = torch.Generator().manual_seed(config.seed)
        self.noise_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
        self.train_t = torch.from_numpy(np.asarray(self.train_idx, dtype=np.int64))
        self.lr = float(config.lr)
        self.history: list[dict[str, float]] = []
        self.status, self.reason = "ok", ""
        self.best, self.wait, self.val_loss = math.inf, 0, math.nan
        self.epochs, self.steps, self.done = 0, 0, False
        self.wall_time = 0.0


def _fit_stack(configs: list[TrainConfig], X: np.ndarray,
               splits: list[tuple[np.ndarray, np.ndarray]], device: torch.device
               ) -> list[FitResult]:
    t0 = time.perf_counter()
    c0 = configs[0]
    n_train, n_val = len(splits[0][0]), len(splits[0][1])
    bs, n_genes = int(c0.batch_size), X.shape[1]
    steps_per_epoch, bf16 = n_train // bs, c0.precision == "bf16"
    n_used = steps_per_epoch * bs
    members = []
    for c, sp in zip(configs, splits):
        with torch.random.fork_rng(devices=[]):  # exactly fit's initialisation
            torch.manual_seed(c.seed)
            model = build(c.model, n_genes, c.latent_dim, activation=c.activation, init=c.init,
                          loss_scale=c.loss_scale, hidden=c.hidden, batch_size=bs)
        members.append(_Member(c, sp, model.to(device), device))
    m_size = len(members)
    base = copy.deepcopy(members[0].model).to("meta")  # the stateless shell vmap calls
    lr_gamma = base.lr_gamma
    params, buffers = stack_module_state([m.model for m in members])
    names = list(params)
    opt = _StackedOptimizer(c0.optimizer, [params[k] for k in names], device)
    xd = torch.from_numpy(X).to(device)
    xval_all = torch.stack([xd.index_select(0, torch.as_tensor(m.val_idx, device=device))
                            for m in members])  # [M, n_val, G]
    term_names: list[str] = []
    noise_dtype = torch.bfloat16 if bf16 else torch.float32

    def member_loss(p, b, x, noise, step):
        with autocast_for(c0.precision, device):
            out = functional_call(base, (p, b), (x,), {"noise": noise})
        if bf16:
            out = output_as_float(out)
        lo = base.loss(x, out, n_train, step)
        term_names[:] = list(lo.terms)
        return torch.stack([lo.loss, *[t.to(lo.loss.dtype) for t in lo.terms.values()]])

    def draw(active, batch, dtype=torch.float32):
        return torch.stack([base.draw_noise(batch, members[j].noise_gen, dtype=dtype,
                                            device=device) for j in active])

    active = list(range(m_size))  # member ids, in stack order
    step = 0
    max_epochs = max(int(c.max_epochs) for c in configs)
    for epoch in range(1, max_epochs + 1):
        t_ep = time.perf_counter()
        gidx = torch.stack([members[j].train_t[torch.randperm(
            n_train, generator=members[j].shuffle_gen)[:n_used]] for j in active])
        gidx = gidx.view(len(active), steps_per_epoch, bs).transpose(0, 1).reshape(-1)
        batches = xd.index_select(0, gidx.to(device)).view(steps_per_epoch, len(active), bs,
                                                            n_genes)
        lrs = [members[j].lr for j in active]
        plist = [params[k] for k in names]
        base.train()
        acc = None
        for i in range(steps_per_epoch):
            noise = draw(active, bs, noise_dtype)
            vals = vmap(lambda p, b, x, n, t=step: member_loss(p, b, x, n, t))(
                params, buffers, batches[i], noise)
            grads = torch.autograd.grad(vals[:, 0].sum(), plist)
            opt.step(grads, lrs)
            step += 1
            v = vals.detach()
            acc = v if acc is None else acc + v
        train_vals = (acc / steps_per_epoch).tolist()  # [A][1 + n_terms]
        t_train = time.perf_counter() - t_ep
        finite_params = torch.stack([p.detach().flatten(1).sum(1) for p in plist])
        finite_params = torch.isfinite(finite_params).all(0).tolist()
        # validation of the whole stack (failed members' numbers are ignored)
        base.eval()
        vacc = None
        with torch.no_grad():
            xval = xval_all.index_select(0, torch.as_tensor(active, device=device))
            for chunk in torch.tensor_split(xval, max(1, math.ceil(n_val / bs)), dim=1):
                noise = draw(active, chunk.shape[1])
                v = vmap(lambda p, b, x, n, t=step: _eval_loss(base, p, b, x, n, n_train, t))(
                    params, buffers, chunk, noise) * chunk.shape[1]
                vacc = v if vacc is None else vacc + v
        val_vals = (vacc / n_val).tolist()
        keep = []
        for pos, j in enumerate(active):
            m = members[j]
            m.epochs, m.steps = epoch, step
            tv = train_vals[pos]
            if not all(map(math.isfinite, tv)):
                m.status, m.reason = "failed", f"non-finite training loss in epoch {epoch}"
            elif not finite_params[pos]:
                m.status, m.reason = "failed", f"non-finite parameters after epoch {epoch}"
            else:
                vv = val_vals[pos]
                m.val_loss = vv[0]
                rec: dict[str, float] = {"epoch": epoch, "train_loss": tv[0], "val_loss": vv[0]}
                rec.update({f"train_{k}": x for k, x in zip(term_names, tv[1:])})
                rec.update({f"val_{k}": x for k, x in zip(term_names, vv[1:])})
                rec.update(lr=m.lr, step=step, train_seconds=t_train,
                           seconds=time.perf_counter() - t_ep)
                m.history.append(rec)
                if not math.isfinite(m.val_loss):
                    m.status, m.reason = "failed", f"non-finite validation loss in epoch {epoch}"
                else:
                    if lr_gamma is not None:
                        m.lr = m.lr * lr_gamma
                    if m.val_loss < m.best - m.config.min_delta:
                        m.best, m.wait = m.val_loss, 0
                    else:
                        m.wait += 1
                    if not ((epoch >= m.config.min_epochs and m.wait >= m.config.patience)
                            or epoch >= int(m.config.max_epochs)):
                        keep.append(pos)
                        continue
            _finish(m, pos, params, buffers, t0)
        if not keep:
            break
        if len(keep) < len(active):  # drop the finished members from every stacked tensor
            idx = torch.as_tensor(keep, device=device)
            params = {k: v.detach().index_select(0, idx).requires_grad_() for k, v in
                      params.items()}
            buffers = {k: v.index_select(0, idx) for k, v in buffers.items()}
            opt.keep(idx, [params[k] for k in names])
            active = [active[p] for p in keep]
    return [_result(m, steps_per_epoch, device, n_train, m_size) for m in members]


def _eval_loss(base, p, b, x, noise, n_train, step):
    out = functional_call(base, (p, b), (x,), {"noise": noise})
    lo = base.loss(x, out, n_train, step)
    return torch.stack([lo.loss.detach(), *lo.terms.values()]).float()


@torch.no_grad()
def _finish(m: _Member, pos: int, params: dict[str, torch.Tensor],
            buffers: dict[str, torch.Tensor], t0: float) -> None:
    """Copy member ``pos`` of the stack into its own module (eval mode) and mark it done."""
    for k, v in params.items():
        m.model.get_parameter(k).copy_(v[pos])
    for k, v in buffers.items():
        m.model.get_buffer(k).copy_(v[pos])
    m.model.eval()
    m.done, m.wall_time = True, time.perf_counter() - t0


def _result(m: _Member, steps_per_epoch: int, device: torch.device, n_train: int,
            stack_size: int) -> FitResult:
    ok = m.status == "ok"
    return FitResult(
        config=m.config, status=m.status, epochs=m.epochs,
        val_loss=m.val_loss if ok else math.nan,
        best_val_loss=m.best if math.isfinite(m.best) else math.nan,
        history=m.history, model=m.model, train_idx=m.train_idx, val_idx=m.val_idx,
        reason=m.reason, wall_time=m.wall_time,
        extra={"steps_per_epoch": steps_per_epoch, "device": str(device), "n_train": n_train,
               "steps": m.steps, "precision": m.config.precision, "stack_size": stack_size},
    )
