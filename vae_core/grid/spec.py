"""Grid specs (``docs/design.md``, "Grid"): validation, expansion into ``TrainConfig`` objects, stable keys and seeds.

A spec is a mapping ``{axis: [values], "repeats": int, "train": {TrainConfig field: value},
"fraction": "full" | "half" | N, "design_seed": int}`` or a list of such mappings. Every axis, value and fixed field is checked before anything trains; an
error names the offending entry and lists the valid ones.

Expansion order (deterministic): **repeats outermost**, then the axes in ``keys.GRID_AXES`` order
(model, latent_dim, lr, init, optimizer, activation, then the optional ``hidden``; the last varies fastest), each axis in the
order its values are given in the spec. Repeats outermost means a run stopped part-way has covered
the whole grid once before it starts on repeat 1, so partial results are usable.

``fraction: half`` keeps, for every model, the half of the product whose value positions (0-based,
in the order the spec lists them) over the other axes sum to an even number. With two values per
axis this is a regular 2^(k-1) fractional factorial, defining relation I = (-1)^k ABCDE in
the usual -1/+1 coding (resolution V for the five hyperparameters: every main effect and every two-factor interaction is
estimable, none aliased with another), so each value of each hyperparameter still appears in half
of a model's trainings, balanced against every other axis. At least two of the varied
hyperparameter axes must have an even number of values (otherwise the half is not balanced).

``fraction: N`` (an integer) keeps, for every model, N configurations of the product of the
other axes chosen by ``design.balanced_design``: every level of every axis appears equally often
(counts differ by at most 1), every pair of axes is as balanced as N allows (an orthogonal array
of strength 2 where the search reaches one, e.g. N = 180 on the paper's 6 x 6 x 5 x 3 x 2; else
every pair cell is within one of its expectation), and the design is a deterministic function of
the axes' levels, N and the design seed (``design_seed`` in the spec, else ``expand``'s
``base_seed``). Every model gets the same N configurations (model comparisons are paired), and
each is the full grid's configuration with the same key and seed, so a designed run is a subset
of the full store and ``fraction: full`` in the same store trains only the rest. The design is
over the values' canonical order (``_canonical_rank``), so the order a spec lists them in does not
change it. ``design_report(spec)`` returns what the design achieved (also logged at INFO).
N must lie between the largest number of levels of an axis and the full product per model.

Key: the first 16 hex digits of the SHA-1 of the canonical JSON (sorted keys) of every experiment
field of the ``TrainConfig`` (all fields but ``seed`` and the execution-only ``device``,
``n_threads`` and ``precision``) plus ``repeat``. The seed is derived from the key, so the same key always trains
with the same seed (same split, same initialisation), whichever executor or machine runs it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .. import registry
from ..keys import GRID_AXES, OPEN_AXES, OPTIONAL_AXES
from ..train import PRECISIONS, TrainConfig
from .design import DesignReport, balanced_design

log = logging.getLogger(__name__)

#: TrainConfig fields that say *where/how fast* a training runs, not *what* it computes.
#: ``precision`` (fp32 | tf32 | bf16) changes numbers only within float tolerance, so fp32 and bf16
#: runs of a configuration share its key; the record keeps the precision it trained with.
EXECUTION_FIELDS: tuple[str, ...] = ("device", "n_threads", "precision")
#: Fields the grid sets itself; a spec may not fix them.
DERIVED_FIELDS: tuple[str, ...] = ("seed", "repeat")
#: Keys of a spec mapping besides the axes.
SPEC_EXTRA_KEYS: tuple[str, ...] = ("repeats", "train", "fraction", "design_seed")
#: Named values of a spec's ``fraction`` (the full product or its balanced half); an integer N
#: asks for a balanced design of N configurations per model (see the module doc).
FRACTIONS: tuple[str, ...] = ("full", "half")
#: Allowed values of string-valued protocol fields (``docs/design.md``, "Training protocol").
FIELD_CHOICES: dict[str, tuple[str, ...]] = {
    "loss_scale": ("published", "elbo"),
    "embedding": ("sample", "mean"),
    "precision": PRECISIONS,
}


def _config_fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(TrainConfig)}


def _as_number(value: Any) -> float | None:
    """``value`` as a float if it is a number or a numeric string (``"1e-3"``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _axes() -> dict[str, tuple]:
    """Every axis a spec may vary, in expansion order, with its default levels."""
    return {**GRID_AXES, **OPTIONAL_AXES}


def axis_levels(axis: str) -> tuple:
    """The valid values of a closed axis, or the paper's default levels of an open one
    (``model``: every registered model)."""
    if axis == "model":
        return registry.model_names()
    return _axes()[axis]


def normalise_value(axis: str, value: Any) -> Any:
    """Map a spec value onto the canonical value of an axis.

    ``model``: a registered model name (``vae_core.registry``; plugins register more).
    ``latent_dim`` and ``hidden``: any positive integer (``64``, ``"64"``, ``64.0``).
    ``lr``: any positive finite number (``1e-3``, ``"1e-3"``, ``3e-4``); a value equal to one of
    the paper's levels within 1e-9 (relative) becomes that level, so keys do not depend on how
    YAML spelled it. Other axes: one of their listed values. Raises ``ValueError`` naming the
    axis, the value and what is valid.
    """
    kind = OPEN_AXES.get(axis)
    if kind is not None:
        num = _as_number(value)
        ok = num is not None and math.isfinite(num) and num > 0
        if ok and kind == "int":
            if float(num).is_integer():
                return int(num)
        elif ok:
            for v in _axes()[axis]:
                if math.isclose(num, float(v), rel_tol=1e-9, abs_tol=0.0):
                    return v
            return float(num)
        what = "a positive integer" if kind == "int" else "a positive number"
        raise ValueError(
            f"grid spec: invalid value {value!r} for axis {axis!r}: it must be {what} (the "
            f"paper's levels are {list(_axes()[axis])}). Fix the spec's {axis!r} list.")
    valid = axis_levels(axis)
    if isinstance(value, str) and value.strip() in valid:
        return value.strip()
    hint = (" Register a new model with vae_core.models.register in a plugin file and list it "
            "under 'plugins:' in the params." if axis == "model" else "")
    raise ValueError(
        f"grid spec: unknown value {value!r} for axis {axis!r}; valid values are "
        f"{list(valid)}. Fix the spec's {axis!r} list.{hint}"
    )


def _coerce_field(name: str, value: Any, field: dataclasses.Field) -> Any:
    """Coerce a fixed ``train`` field to the type of its TrainConfig declaration."""
    ftype = str(field.type)
    if value is None:
        if "None" in ftype:
            return None
        raise ValueError(f"grid spec: train field {name!r} may not be None (type {ftype}).")
    if ftype.startswith("int"):
        num = _as_number(value)
        if num is None or not float(num).is_integer():
            raise ValueError(f"grid spec: train field {name!r} must be an integer, got {value!r}.")
        return int(num)
    if ftype.startswith("float"):
        num = _as_number(value)
        if num is None:
            raise ValueError(f"grid spec: train field {name!r} must be a number, got {value!r}.")
        return float(num)
    if ftype.startswith("str"):
        if not isinstance(value, str):
            raise ValueError(f"grid spec: train field {name!r} must be a string, got {value!r}.")
        value = value.strip()
        if name in FIELD_CHOICES and value not in FIELD_CHOICES[name]:
            raise ValueError(
                f"grid spec: train field {name!r} = {value!r} is not valid; choose one of "
                f"{list(FIELD_CHOICES[name])}."
            )
        return value
    return value


def _validate_train(train: Any) -> dict[str, Any]:
    if train is None:
        return {}
    if not isinstance(train, Mapping):
        raise TypeError(
            f"grid spec: 'train' must be a mapping of TrainConfig fields, got {type(train).__name__}."
        )
    fields = _config_fields()
    settable = [n for n in fields if n not in DERIVED_FIELDS]
    out = {}
    for name, value in train.items():
        if name in DERIVED_FIELDS:
            raise ValueError(
                f"grid spec: train field {name!r} is set by the grid (derived from the key); "
                "remove it from 'train' (use 'repeats' for the number of repeats)."
            )
        if name not in fields:
            raise ValueError(
                f"grid spec: unknown train field {name!r}; valid TrainConfig fields are "
                f"{settable}."
            )
        if name in _axes():
            out[name] = normalise_value(name, value)
        else:
            out[name] = _coerce_field(name, value, fields[name])
    return out


def _design_axes(axes: dict[str, list]) -> list[str]:
    """The axes a ``fraction: N`` design varies: every listed axis but ``model``."""
    return [a for a in axes if a != "model"]


def _fraction_n(fraction: Any) -> int | None:
    """``fraction`` as the integer N of a designed fraction, or None for a named fraction."""
    if isinstance(fraction, bool):
        return None
    if isinstance(fraction, numbers.Integral):
        return int(fraction)
    if isinstance(fraction, float) and fraction.is_integer():
        return int(fraction)
    if isinstance(fraction, str) and fraction.strip().lstrip("+-").isdigit():
        return int(fraction.strip())
    return None


def _validate_fraction(spec: Mapping[str, Any], axes: dict[str, list]) -> str | int:
    fraction = spec.get("fraction", "full")
    n = _fraction_n(fraction)
    if n is not None:
        names = _design_axes(axes)
        levels = {a: len(axes[a]) for a in names}
        total = math.prod(levels.values())
        widest = max(levels, key=lambda a: levels[a]) if levels else None
        minimum = levels[widest] if widest else 1
        if n < minimum:
            where = (f"the largest number of levels ({minimum}, axis {widest!r})" if widest
                     else "1 (no hyperparameter axis is listed)")
            raise ValueError(
                f"grid spec: fraction {n} is smaller than {where}: every level of every axis "
                f"must appear, so N must be at least {minimum} (and at most the full product, "
                f"{total} configurations per model). Set 'fraction' to {minimum} or more.")
        if n > total:
            shape = " x ".join(f"{a} {levels[a]}" for a in names) or "no hyperparameter axis"
            raise ValueError(
                f"grid spec: fraction {n} is larger than the full product of {total} "
                f"configurations per model ({shape}); use 'fraction: full' for the whole "
                f"product, or N <= {total}.")
        ds = spec.get("design_seed", 0)
        if isinstance(ds, bool) or not isinstance(ds, numbers.Integral) or ds < 0:
            raise ValueError(f"grid spec: 'design_seed' must be an integer >= 0, got {ds!r}.")
        return n
    if "design_seed" in spec:
        raise ValueError(
            f"grid spec: 'design_seed' applies only to 'fraction: N' (an integer), but "
            f"'fraction' is {fraction!r}; remove 'design_seed' or give an integer fraction.")
    if fraction not in FRACTIONS:
        raise ValueError(f"grid spec: 'fraction' must be one of {list(FRACTIONS)} or an "
                         f"integer N (a balanced design of N configurations per model), got "
                         f"{fraction!r}.")
    if fraction == "half":
        even = [a for a, v in axes.items() if a != "model" and len(v) % 2 == 0]
        if len(even) < 2:
            raise ValueError(
                "grid spec: fraction 'half' needs at least two hyperparameter axes (besides "
                f"'model') with an even number of values for a balanced half; got {even or 'none'}"
                f" among {[f'{a}: {len(v)}' for a, v in axes.items() if a != 'model']}. Use "
                "'fraction: full' or give those axes 2 (or 4, 6) values.")
    return fraction


def validate(spec: Mapping[str, Any]) -> tuple[dict[str, list], int, dict[str, Any]]:
    """Check one spec mapping; return ``(axes, repeats, train)`` with canonical values.

    ``axes`` maps every grid axis named in the spec to its de-duplicated canonical values, in the
    given order. Raises ``ValueError`` (naming the problem and the valid choices) on an unknown
    axis, value or train field, an empty axis, or ``repeats`` that is not an integer >= 1.
    """
    if not isinstance(spec, Mapping):
        raise TypeError(
            f"grid spec must be a mapping (axis -> list of values, plus 'repeats' and 'train') "
            f"or a list of them, got {type(spec).__name__}: {spec!r}."
        )
    for name in spec:
        if name not in _axes() and name not in SPEC_EXTRA_KEYS:
            raise ValueError(
                f"grid spec: unknown axis {name!r}; valid axes are {list(_axes())} "
                f"(plus {list(SPEC_EXTRA_KEYS)})."
            )
    repeats = spec.get("repeats", 1)
    if isinstance(repeats, bool) or not isinstance(repeats, numbers.Integral) or repeats < 1:
        raise ValueError(
            f"grid spec: 'repeats' must be an integer >= 1, got {repeats!r}."
        )
    train = _validate_train(spec.get("train"))
    axes: dict[str, list] = {}
    for axis in _axes():
        if axis not in spec:
            continue
        if axis in train:
            raise ValueError(
                f"grid spec: {axis!r} is given both as a grid axis and as a fixed train field; "
                "keep one of them."
            )
        values = spec[axis]
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            values = [values]
        values = list(values)
        if not values:
            raise ValueError(
                f"grid spec: axis {axis!r} has no values; give at least one of "
                f"{list(axis_levels(axis))} or drop the axis (then the TrainConfig default is used)."
            )
        canon = [normalise_value(axis, v) for v in values]
        axes[axis] = list(dict.fromkeys(canon))
    _validate_fraction(spec, axes)
    return axes, int(repeats), train


def experiment_fields(config: TrainConfig) -> dict[str, Any]:
    """The fields that define what a training computes: all but seed and execution fields."""
    d = config.to_dict()
    for name in ("seed", *EXECUTION_FIELDS):
        d.pop(name, None)
    return d


def _hash(fields: dict[str, Any]) -> str:
    canon = json.dumps(fields, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha1(canon.encode()).hexdigest()[:16]


def seed_from_key(key: str, base_seed: int = 0) -> int:
    """Deterministic 31-bit seed of a training, derived from its key (and the base seed)."""
    digest = hashlib.sha1(f"seed|{key}|{int(base_seed)}".encode()).hexdigest()
    return int(digest[:8], 16) & 0x7FFFFFFF


def config_key(config: TrainConfig) -> str:
    """Stable key of a training: 16 hex digits of SHA-1 over its experiment fields + repeat.

    The experiment fields are every TrainConfig field but ``seed`` and the execution-only
    ``device``, ``n_threads`` and ``precision``. When ``config.seed`` is the seed ``expand``
    derives from that hash (the default), the hash is the key; any other seed (``expand(base_seed=...)`` or a
    hand-made config) is hashed in too, so two trainings with different seeds never share a key.
    """
    fields = experiment_fields(config)
    key = _hash(fields)
    if config.seed == seed_from_key(key):
        return key
    return _hash({**fields, "seed": int(config.seed)})


def _canonical_rank(axis: str, value: Any) -> Any:
    """Sort key of a level in the canonical order of its axis (independent of the order a spec
    lists it): the paper's order for closed axes, ascending size for ``latent_dim`` and
    ``hidden``, descending for ``lr`` (as the paper lists them, 1e-1 first)."""
    kind = OPEN_AXES.get(axis)
    if kind == "float":
        return -float(value)
    if kind == "int":
        return int(value)
    levels = list(axis_levels(axis))
    return levels.index(value) if value in levels else len(levels)


def _design(spec: Mapping[str, Any], axes: dict[str, list], n: int, base_seed: int
            ) -> tuple[set[tuple], DesignReport, list[str]]:
    """Configurations (value tuples over the design axes) of a ``fraction: N`` spec."""
    names = _design_axes(axes)
    canon = {a: sorted(axes[a], key=lambda v, a=a: _canonical_rank(a, v)) for a in names}
    seed = int(spec.get("design_seed", base_seed))
    rows, report = balanced_design([len(canon[a]) for a in names] or [1], n, seed)
    if not names:
        return {()}, report, names
    chosen = {tuple(canon[a][i] for a, i in zip(names, row, strict=True)) for row in rows}
    return chosen, dataclasses.replace(report, axes=tuple(names)), names


def design_report(spec: Mapping[str, Any] | Sequence[Mapping[str, Any]], *, base_seed: int = 0
                  ) -> DesignReport | list[DesignReport | None] | None:
    """What the ``fraction: N`` design of ``spec`` achieved (``design.DesignReport``).

    Level counts per axis, worst pairwise imbalance (max over axis pairs and cells of
    |count - expected|; 0 for an orthogonal array, below 1 when every cell is floor or ceil of
    its expectation), ``orthogonal`` and ``pair_optimal`` flags, N and the design seed; axes in
    the spec's ``keys.GRID_AXES`` order without ``model``. None for a spec without an integer
    fraction; a list (one entry per spec) for a list of specs. Same arguments as ``expand``.
    """
    if not isinstance(spec, Mapping):
        return [design_report(s, base_seed=base_seed) for s in spec]
    axes, _, _ = validate(spec)
    n = _fraction_n(spec.get("fraction", "full"))
    if n is None:
        return None
    return _design(spec, axes, n, base_seed)[1]


def _expand_one(spec: Mapping[str, Any], base_seed: int) -> list[TrainConfig]:
    axes, repeats, train = validate(spec)
    fraction = spec.get("fraction", "full")
    half = fraction == "half"
    n_design = _fraction_n(fraction)
    names = list(axes)
    chosen, dnames = None, []
    if n_design is not None:
        chosen, rep, dnames = _design(spec, axes, n_design, base_seed)
        log.info("grid design (fraction: %d per model): %s", n_design, rep.summary())
    out = []
    for repeat in range(repeats):
        for combo, pos in zip(itertools.product(*(axes[a] for a in names)),
                              itertools.product(*(range(len(axes[a])) for a in names))):
            if half and sum(p for a, p in zip(names, pos) if a != "model") % 2:
                continue
            values = dict(zip(names, combo))
            if chosen is not None and tuple(values[a] for a in dnames) not in chosen:
                continue
            cfg = TrainConfig(**train, **values, repeat=repeat)
            seed = seed_from_key(_hash(experiment_fields(cfg)), base_seed)
            out.append(dataclasses.replace(cfg, seed=seed))
    return out


def expand(
    spec: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    train: Mapping[str, Any] | None = None,
    base_seed: int = 0,
) -> list[TrainConfig]:
    """Expand a grid spec (``docs/design.md``, "Grid") into one ``TrainConfig`` per training.

    Parameters
    ----------
    spec
        ``{axis: [values], "repeats": int, "train": {field: value},
        "fraction": "full"|"half"|N, "design_seed": int}`` with axes from ``keys.GRID_AXES``
        and ``keys.OPTIONAL_AXES`` (``hidden``); ``model`` takes any registered model,
        ``latent_dim`` and ``hidden`` any positive integer, ``lr`` any positive number
        (an axis left out takes its TrainConfig/``train`` value), or a list of such mappings:
        their union, in order, trainings with an already-seen key dropped. ``fraction: half``:
        the balanced half-fraction of the product; ``fraction: N``: a balanced design of N
        configurations per model, a subset of the full product's keys (module doc).
    train
        Fixed TrainConfig fields for every spec (the notebooks' ``train`` parameter); a spec's own
        ``train`` entries take precedence.
    base_seed
        Mixed into the derived seeds (the ``seed`` parameter of the notebooks); a non-zero base
        seed gives other seeds and therefore other keys, so such grids never collide with the
        default one in a store. Also the design seed of ``fraction: N`` unless the spec gives
        ``design_seed``.

    Returns
    -------
    list of TrainConfig
        Product of the axes (or its half, or the N-design) times ``repeats`` (repeats outermost, then ``GRID_AXES`` order with
        the last axis fastest). Each carries ``repeat`` and a ``seed`` derived from its key.
        Every spec in a list is validated before any is expanded.
    """
    specs = [spec] if isinstance(spec, Mapping) else list(spec)
    if not specs:
        raise ValueError("grid spec: empty list of specs; give at least one mapping.")
    if train:
        specs = [{**s, "train": {**train, **(s.get("train") or {})}}
                 if isinstance(s, Mapping) else s for s in specs]
    for s in specs:
        validate(s)
    seen: set[str] = set()
    out: list[TrainConfig] = []
    for s in specs:
        for cfg in _expand_one(s, base_seed):
            key = config_key(cfg)
            if key not in seen:
                seen.add(key)
                out.append(cfg)
    return out
