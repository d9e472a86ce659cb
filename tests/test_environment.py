"""The two environment descriptions (pyproject.toml, environment.yml) pin the same versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def _parse(req: str) -> tuple[str, str]:
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)\s*", req)
    assert m, f"dependency {req!r} is not pinned with '=='; pin it in both files"
    return m.group(1).lower().replace("_", "-"), m.group(2)


def _pyproject_pins() -> dict[str, str]:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta.get("optional-dependencies", {}).values():
        reqs += extra
    return dict(_parse(r) for r in reqs)


def _conda_pins() -> dict[str, str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return dict(_parse(r) for r in pip if not r.startswith("-e"))


def test_pins_agree():
    py, conda = _pyproject_pins(), _conda_pins()
    only_py = sorted(set(py) - set(conda))
    only_conda = sorted(set(conda) - set(py))
    assert not only_py, f"in pyproject.toml but not environment.yml: {only_py}"
    assert not only_conda, f"in environment.yml but not pyproject.toml: {only_conda}"
    differ = {k: (py[k], conda[k]) for k in py if py[k] != conda[k]}
    assert not differ, f"versions differ (pyproject, environment.yml): {differ}"


def test_torch_pinned_to_local_cpu_wheel():
    assert _pyproject_pins()["torch"] == "2.13.0"


def test_parser_rejects_unpinned():
    import pytest

    with pytest.raises(AssertionError, match="not pinned"):
        _parse("torch>=2.0")


def test_installed_versions_match_pins():
    """The environment the tests run in is the pinned one (catches a stale .venv)."""
    from importlib.metadata import PackageNotFoundError, version

    wrong = {}
    for name, pin in _pyproject_pins().items():
        try:
            got = version(name)
        except PackageNotFoundError:
            wrong[name] = (pin, "missing")
            continue
        if got.split("+")[0] != pin:
            wrong[name] = (pin, got)
    assert not wrong, f"installed versions differ from the pins (pin, installed): {wrong}"
