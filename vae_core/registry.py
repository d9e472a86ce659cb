"""The torch-free list of model names and labels: the one source for grid validation, plots and
the scorecard (see ``docs/design.md``, "Registries").

The paper's six models are declared here with the names the paper prints; their torch classes
register themselves in ``vae_core.models`` (``models.register``), which also adds any new model
here. Light modules (``grid.spec``, ``plots``, the scorecard) ask this module, so they never need
torch to know which models exist.

    >>> from vae_core import registry
    >>> registry.model_names()[:2]
    ('vanilla', 'beta')
    >>> registry.model_label("betatc")
    'β-TCVAE'
"""

from __future__ import annotations

import re

#: The six models of the paper, in the paper's order, with the names it prints.
PAPER_MODELS: dict[str, str] = {
    "vanilla": "Vanilla VAE",
    "beta": "β-VAE",
    "betatc": "β-TCVAE",
    "dip": "DIP-VAE",
    "iwae": "IWAE",
    "cat": "CAT-VAE",
}

_MODELS: dict[str, str] = dict(PAPER_MODELS)

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def check_name(name: object, what: str = "model") -> str:
    """``name`` if it is a valid registry name (lower-case letters, digits, ``_``), else ValueError."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{what} name {name!r} is not valid: use lower-case letters, digits and '_' and "
            "start with a letter (e.g. 'huber_vae'). It becomes a grid value, a table value and "
            "part of file names.")
    return name


def add_model(name: str, label: str | None = None) -> None:
    """Declare model ``name`` (display ``label``, default the name). Called by
    ``vae_core.models.register``; re-declaring a name updates its label."""
    check_name(name)
    _MODELS[name] = str(label) if label else _MODELS.get(name, name)


def model_names() -> tuple[str, ...]:
    """Every declared model: the paper's six first, then registered ones in registration order."""
    return tuple(_MODELS)


def model_label(name: object) -> str:
    """Display name of a model (``"betatc"`` -> ``"β-TCVAE"``); an unknown name is returned as is."""
    return _MODELS.get(str(name), str(name))


def model_labels() -> dict[str, str]:
    """name -> display name for every declared model (a copy)."""
    return dict(_MODELS)


def is_paper_model(name: object) -> bool:
    """True for the six models the paper reports numbers for."""
    return str(name) in PAPER_MODELS
