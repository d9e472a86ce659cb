"""Many trainings at once: ``fit_many`` stacks same-shaped configurations into one batched model.

Configurations with equal :func:`stack_group_key` (every ``STACK_FIELDS`` field) and the same
training-set size train together (``docs/design.md``, "Stacked training"): each member's module
is built exactly as ``fit`` builds it (``loop.build_model``: same seed, same initialisation), the
members' parameters and BatchNorm buffers are stacked with ``torch.func.stack_module_state`` and
one ``vmap(functional_call(model, ...))`` runs the forward pass and the model's own loss for all
members. The models stay the ones of ``vae_core.models``. The grid's runner groups its stacks
with the same rule (:func:`plan_stacks`), so what may share a stack is defined once, here.

Per member, as in ``fit``: its stratified split (seed), its shuffling generator (seed, CPU) and
noise generator (seed + 1, on the device). The noise is drawn outside ``vmap``, member by member
with ``model.draw_noise`` (the same numbers ``forward`` would draw) and passed in as ``noise=``.
Its own learning rate and ExponentialLR gamma per epoch, and its own
:class:`~vae_core.train.early_stop.EpochTracker`, the object that decides divergence, early
stopping and the history rows in ``fit`` too. The optimizer updates (PyTorch-default Adam, SGD,
RMSprop) are ``torch.optim``'s own functional updates (fused/foreach kernels, as ``fit``
chooses) applied to each member's views of the stacked tensors, grouped by learning rate. Every
operation is per member (batched matmuls, per-member BatchNorm statistics, elementwise updates;
the summed loss gives each member the gradient of its own loss), so a NaN in one member never
reaches another's parameters, gradients or optimizer state; a member that stops or fails is
taken out of the stack at the end of that epoch (its tensors dropped) and its result is kept.
Results therefore equal ``fit(config, adata)`` up to float rounding of batched vs single
products (SGD runs are bit-identical on CPU in the tests): same status, reason, epochs, splits;
validation losses within 1e-3 relative on the test cohorts (rounding differences grow with the
learning rate, as between fused and foreach Adam in ``fit`` itself).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import torch
from torch.func import functional_call, stack_module_state, vmap
from torch.optim import adam as _adam
from torch.optim import rmsprop as _rmsprop
from torch.optim import sgd as _sgd

from .config import FitResult, TrainConfig, check_config
from .early_stop import EpochTracker
from .loop import (
    autocast_for,
    build_model,
    execution_settings,
    fit_extra,
    generators,
    output_as_float,
    resolve_device,
    split_for,
    training_matrix,
)

#: TrainConfig fields the members of one stack share: the model's shape, the optimizer, the
#: batch size and loss scale, the split fraction and where/how the stack runs (precision,
#: threads, device). Members may differ in every other field: lr, init, seed, repeat, the early
#: stopping fields (min/max_epochs, patience, min_delta) and the embedding mode.
STACK_FIELDS: tuple[str, ...] = ("model", "latent_dim", "activation", "optimizer", "hidden",
                                 "batch_size", "loss_scale", "train_fraction", "precision",
                                 "n_threads", "device")


def stack_group_key(config: TrainConfig) -> tuple[tuple[str, Any], ...]:
    """Configurations with equal keys may train in one stack: ``(field, value)`` of every
    ``STACK_FIELDS`` field."""
    return tuple((f, getattr(config, f)) for f in STACK_FIELDS)


def plan_stacks(configs: Sequence[TrainConfig], stack_size: int | None,
                key: Callable[[int], Hashable] | None = None) -> list[list[int]]:
    """Positions of ``configs`` grouped into stacks of at most ``stack_size`` (None: no limit).

    Configurations share a stack when their :func:`stack_group_key` (and ``key(position)``,
    when given) are equal. Stacks come in the order of their first member, members in input
    order; a group of n configurations gives ceil(n / stack_size) stacks, all full but the last.
    """
    if stack_size is not None and (isinstance(stack_size, bool) or int(stack_size) < 1):
        raise ValueError(f"stack_size must be >= 1, got {stack_size!r}.")
    cap = max(1, len(configs)) if stack_size is None else int(stack_size)
    groups: dict[Hashable, list[int]] = {}
    for i, c in enumerate(configs):
        groups.setdefault((stack_group_key(c), key(i) if key else None), []).append(i)
    out = [ids[j:j + cap] for ids in groups.values() for j in range(0, len(ids), cap)]
    out.sort(key=lambda ids: ids[0])
    return out


def fit_many(configs: Sequence[TrainConfig], adata, *, device: str = "auto",
             stack_size: int | None = None) -> list[FitResult]:
    """Train every configuration of ``configs`` on ``adata``; results in input order.

    Each result equals ``fit(config, adata)`` within float rounding (status, reason, epochs,
    train_idx/val_idx, history; validation loss within 1e-3 relative): compatible configurations
    (equal ``stack_group_key``, same training-set size) train together as one batched model of
    at most ``stack_size`` members (None: all compatible ones in one stack). ``device`` is used
    for every configuration ("auto": CUDA if available; the configs' own ``device`` field only
    groups them). Each ``result.model`` is an ordinary module of ``vae_core.models`` in eval mode
    with the member's weights and BatchNorm statistics. ``extra`` adds ``stack_size`` (members
    that started in the stack) and ``stack_index``; ``wall_time`` is the stack's time until the
    member finished. Bad input raises ValueError as ``fit`` does; divergence never raises.
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
    sizes = [(len(tr), len(va)) for tr, va in splits]
    results: list[FitResult | None] = [None] * len(configs)
    for n_stack, ids in enumerate(plan_stacks(configs, stack_size, sizes.__getitem__)):
        with execution_settings(configs[ids[0]], dev):
            out = _fit_stack([configs[i] for i in ids], X, [splits[i] for i in ids], dev)
        for i, r in zip(ids, out):
            r.extra["stack_index"] = n_stack
            results[i] = r
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
                       amsgrad=False, beta1=0.9, beta2=0.999, lr=lr, weight_decay=0.0,
                       eps=1e-8, maximize=False)
        elif self.name == "sgd":
            _sgd.sgd(p, g, [None] * len(p), **kw, weight_decay=0.0, momentum=0.0, lr=lr,
                     dampening=0.0, nesterov=False, maximize=False)
        else:
            _rmsprop.rmsprop(p, g, st["square_avg"], [], [], st["step"], foreach=True, lr=lr,
                             alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                             centered=False)

    def keep(self, idx: torch.Tensor, params: list[torch.Tensor]) -> None:
        """Keep only the members ``idx`` (positions in the current stack); ``params`` the new
        stacked parameters."""
        self.state = {k: [t.index_select(0, idx.to(t.device)) for t in v]
                      for k, v in self.state.items()}
        self._views(params)


# --------------------------------------------------------------------------- one stack

class _Member:
    """One member of a stack: its module (built as ``fit`` builds it), split, generators,
    learning rate and :class:`EpochTracker`."""

    def __init__(self, config: TrainConfig, split: tuple[np.ndarray, np.ndarray], n_genes: int,
                 device: torch.device):
        self.config = config
        self.model = build_model(config, n_genes).to(device)
        self.train_idx, self.val_idx = split
        self.shuffle_gen, self.noise_gen = generators(config, device)
        self.train_t = torch.from_numpy(np.asarray(self.train_idx, dtype=np.int64))
        self.lr = float(config.lr)
        self.tracker = EpochTracker(config)
        self.steps = 0
        self.wall_time = 0.0


class _Stack:
    """The shared state of one stack: the stateless module ``vmap`` calls, the stacked
    parameters, buffers and optimizer state of the members still training (``active``, in stack
    order), the cohort on the device and the global step."""

    def __init__(self, configs: list[TrainConfig], X: np.ndarray,
                 splits: list[tuple[np.ndarray, np.ndarray]], device: torch.device):
        c0 = configs[0]
        self.device, self.precision = device, c0.precision
        self.bf16 = c0.precision == "bf16"
        self.n_train, self.n_val = len(splits[0][0]), len(splits[0][1])
        self.bs, self.n_genes = int(c0.batch_size), X.shape[1]
        self.steps_per_epoch = self.n_train // self.bs
        self.members = [_Member(c, sp, self.n_genes, device) for c, sp in zip(configs, splits)]
        self.base = copy.deepcopy(self.members[0].model).to("meta")  # the stateless shell
        self.lr_gamma = self.base.lr_gamma
        self.params, self.buffers = stack_module_state([m.model for m in self.members])
        self.names = list(self.params)
        self.opt = _StackedOptimizer(c0.optimizer, self._plist(), device)
        self.xd = torch.from_numpy(X).to(device)
        self.xval = torch.stack([self.xd.index_select(0, torch.as_tensor(m.val_idx,
                                                                         device=device))
                                 for m in self.members])  # [M, n_val, G]
        self.active = list(range(len(self.members)))
        self.step = 0
        self.term_names: list[str] = []

    def _plist(self) -> list[torch.Tensor]:
        return [self.params[k] for k in self.names]

    def active_members(self) -> list[_Member]:
        return [self.members[j] for j in self.active]

    def _noise(self, batch: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """[A, ...] the noise each active member's ``forward`` would draw for ``batch`` samples."""
        return torch.stack([self.base.draw_noise(batch, m.noise_gen, dtype=dtype,
                                                 device=self.device)
                            for m in self.active_members()])

    def _member_loss(self, p, b, x, noise, step):
        base = self.base
        with autocast_for(self.precision, self.device):
            out = functional_call(base, (p, b), (x,), {"noise": noise})
        if self.bf16:
            out = output_as_float(out)
        lo = base.loss(x, out, self.n_train, step)
        self.term_names[:] = list(lo.terms)
        return torch.stack([lo.loss, *[t.to(lo.loss.dtype) for t in lo.terms.values()]])

    def _eval_loss(self, p, b, x, noise, step):
        out = functional_call(self.base, (p, b), (x,), {"noise": noise})
        lo = self.base.loss(x, out, self.n_train, step)
        return torch.stack([lo.loss.detach(), *lo.terms.values()]).float()

    def train_epoch(self) -> list[list[float]]:
        """One epoch of updates of every active member: [A][mean loss, *terms]."""
        spe, bs, n_used = self.steps_per_epoch, self.bs, self.steps_per_epoch * self.bs
        gidx = torch.stack([m.train_t[torch.randperm(self.n_train, generator=m.shuffle_gen)
                                      [:n_used]] for m in self.active_members()])
        gidx = gidx.view(len(self.active), spe, bs).transpose(0, 1).reshape(-1)
        batches = self.xd.index_select(0, gidx.to(self.device)).view(spe, len(self.active), bs,
                                                                     self.n_genes)
        lrs = [m.lr for m in self.active_members()]
        plist = self._plist()
        noise_dtype = torch.bfloat16 if self.bf16 else torch.float32
        self.base.train()
        acc = None
        for i in range(spe):
            noise = self._noise(bs, noise_dtype)
            vals = vmap(lambda p, b, x, n, t=self.step: self._member_loss(p, b, x, n, t))(
                self.params, self.buffers, batches[i], noise)
            grads = torch.autograd.grad(vals[:, 0].sum(), plist)
            self.opt.step(grads, lrs)
            self.step += 1
            v = vals.detach()
            acc = v if acc is None else acc + v
        return (acc / spe).tolist()  # the epoch's one host sync

    def params_finite(self) -> list[bool]:
        """Per active member: are all its parameters finite?"""
        sums = torch.stack([p.detach().flatten(1).sum(1) for p in self._plist()])
        return torch.isfinite(sums).all(0).tolist()

    def validate(self) -> list[list[float]]:
        """Validation loss and terms of every active member, as ``evaluate`` computes them for
        ``fit`` (eval mode, chunks of ~batch_size): [A][loss, *terms]."""
        self.base.eval()
        vacc = None
        with torch.no_grad():
            xval = self.xval.index_select(0, torch.as_tensor(self.active, device=self.device))
            for chunk in torch.tensor_split(xval, max(1, math.ceil(self.n_val / self.bs)), dim=1):
                noise = self._noise(chunk.shape[1])
                v = vmap(lambda p, b, x, n, t=self.step: self._eval_loss(p, b, x, n, t))(
                    self.params, self.buffers, chunk, noise) * chunk.shape[1]
                vacc = v if vacc is None else vacc + v
        return (vacc / self.n_val).tolist()

    def end_epoch(self, m: _Member, epoch: int, train_vals: list[float], finite: bool,
                  val_vals: list[float], t_ep: float, t_train: float) -> bool:
        """The member's epoch end, through its tracker exactly as in ``fit``: True to go on."""
        m.steps = self.step
        tracker = m.tracker
        going = (tracker.check_training(epoch, train_vals, finite)
                 and tracker.end_epoch(epoch, train_vals, self.term_names, val_vals,
                                       self.term_names, lr=m.lr, step=self.step,
                                       train_seconds=t_train,
                                       seconds=time.perf_counter() - t_ep))
        if going and self.lr_gamma is not None:
            m.lr = m.lr * self.lr_gamma  # ExponentialLR, per member
        return going

    @torch.no_grad()
    def finish(self, pos: int, t0: float) -> None:
        """Copy active member ``pos`` into its own module (eval mode)."""
        m = self.members[self.active[pos]]
        for k, v in self.params.items():
            m.model.get_parameter(k).copy_(v[pos])
        for k, v in self.buffers.items():
            m.model.get_buffer(k).copy_(v[pos])
        m.model.eval()
        m.wall_time = time.perf_counter() - t0

    def keep(self, positions: list[int]) -> None:
        """Keep only the active members at ``positions``: drop the others from every stacked
        tensor (parameters, buffers, optimizer state)."""
        if len(positions) == len(self.active):
            return
        idx = torch.as_tensor(positions, device=self.device)
        self.params = {k: v.detach().index_select(0, idx).requires_grad_()
                       for k, v in self.params.items()}
        self.buffers = {k: v.index_select(0, idx) for k, v in self.buffers.items()}
        self.opt.keep(idx, self._plist())
        self.active = [self.active[p] for p in positions]

    def result(self, m: _Member) -> FitResult:
        extra = fit_extra(m.config, self.device, self.n_train, self.steps_per_epoch, m.steps)
        extra["stack_size"] = len(self.members)
        return m.tracker.result(m.model, m.train_idx, m.val_idx, m.wall_time, extra)


def _fit_stack(configs: list[TrainConfig], X: np.ndarray,
               splits: list[tuple[np.ndarray, np.ndarray]], device: torch.device
               ) -> list[FitResult]:
    """Train one stack of compatible configurations epoch by epoch until every member stopped."""
    t0 = time.perf_counter()
    stack = _Stack(configs, X, splits, device)
    for epoch in range(1, max(int(c.max_epochs) for c in configs) + 1):
        t_ep = time.perf_counter()
        train_vals = stack.train_epoch()
        t_train = time.perf_counter() - t_ep
        finite = stack.params_finite()
        val_vals = stack.validate()  # of the whole stack (failed members' numbers unused)
        keep = []
        for pos, m in enumerate(stack.active_members()):
            if stack.end_epoch(m, epoch, train_vals[pos], finite[pos], val_vals[pos], t_ep,
                               t_train):
                keep.append(pos)
            else:
                stack.finish(pos, t0)
        if not keep:
            break
        stack.keep(keep)
    return [stack.result(m) for m in stack.members]
