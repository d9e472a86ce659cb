"""The import graph of ``vae_core`` (``docs/design.md``, the layers): no cycles, layers one way.

Every module of the package is parsed with ``ast`` (nothing is imported). An edge A -> B means
that importing A imports B:

- module-level imports count for cycles (also inside module-level ``if``/``try``/``with`` and
  class bodies); imports inside functions do not (they run later), nor do imports under
  ``if TYPE_CHECKING:``;
- relative imports are resolved against the importing module; ``from X import n`` is an import of
  the submodule ``X.n`` when that module exists (``from . import loop``, ``from .. import train``)
  and of ``X`` itself otherwise (``from ..train import fit`` imports the package ``vae_core.train``);
- importing ``a.b.c`` also runs the packages ``a.b`` and ``a``, except those the importing
  module lives in (a package whose ``__init__`` imports its own submodules is fine);
- a cycle is a strongly connected component of more than one module (or a module importing
  itself).

The layer rules use every import, at module level or inside functions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "vae_core"
PACKAGE = "vae_core"


# ----------------------------------------------------------------------------- the graph

def _modules() -> dict[str, tuple[Path, bool]]:
    """module name -> (file, is_package) for every module of vae_core."""
    out: dict[str, tuple[Path, bool]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(body: list[ast.stmt], module_level: bool) -> Iterator[tuple[ast.stmt, bool]]:
    """(import statement, at module level?) for every runtime import in ``body``."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, module_level
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _import_nodes(node.body, False)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_nodes(node.orelse, module_level)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                sub = getattr(node, field, None)
                if isinstance(sub, list):
                    stmts = [s for item in sub
                             for s in (item.body if isinstance(item, (ast.ExceptHandler,
                                                                      ast.match_case))
                                       else [item])]
                    yield from _import_nodes(stmts, module_level)


def _base(module: str, is_pkg: bool, level: int) -> str:
    parts = module.split(".")
    if not is_pkg:
        parts = parts[:-1]
    if level > 1:
        parts = parts[:len(parts) - (level - 1)]
    return ".".join(parts)


def _targets(module: str, is_pkg: bool, node: ast.stmt) -> set[str]:
    """The vae_core modules a statement imports explicitly."""
    out: set[str] = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                out.add(alias.name)
        return out
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = _base(module, is_pkg, node.level)
        source = f"{base}.{node.module}" if node.module else base
    else:
        source = node.module or ""
    if not (source == PACKAGE or source.startswith(PACKAGE + ".")):
        return out
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        out.add(sub if sub in MODULES else source)
    return out


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _edges(module_level_only: bool) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, (path, is_pkg) in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        own = set(_ancestors(module)) | ({module} if is_pkg else set())
        for node, at_top in _import_nodes(tree.body, True):
            if module_level_only and not at_top:
                continue
            for target in _targets(module, is_pkg, node):
                graph[module].add(target)
                graph[module].update(a for a in _ancestors(target) if a not in own)
        graph[module] &= set(MODULES)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with a cycle (Tarjan), each as one cycle path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_path(graph, comp) for comp in comps]


def _path(graph: dict[str, set[str]], comp: list[str]) -> list[str]:
    """One cycle through the first module of a strongly connected component."""
    start, members = comp[0], set(comp)
    prev: dict[str, str] = {}
    queue, seen = [start], {start}
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]  # start -> ... -> v -> start
            if w not in seen:
                seen.add(w)
                prev[w] = v
                queue.append(w)
    return comp  # pragma: no cover - a component always has a cycle


def _imports_of(prefix: str) -> dict[str, set[str]]:
    graph = _edges(module_level_only=False)
    return {m: targets for m, targets in graph.items()
            if m == prefix or m.startswith(prefix + ".")}


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


# ----------------------------------------------------------------------------- tests

def test_the_parser_sees_the_known_edges():
    graph = _edges(module_level_only=True)
    assert "vae_core.train" in graph["vae_core.grid.runner"]  # from .. import train
    assert "vae_core.train.stacked" in graph["vae_core.grid.runner"]
    assert "vae_core.train.config" in graph["vae_core.train"]  # a package's own submodule
    assert "vae_core.train" not in graph["vae_core.train.loop"]  # from .config: not the parent
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"a"}}) == [["a", "a"]]


def test_no_import_cycles_between_modules():
    cycles = _cycles(_edges(module_level_only=True))
    assert not cycles, "import cycles (module-level imports):\n" + "\n".join(
        " -> ".join(c) for c in cycles)


@pytest.mark.parametrize("layer, allowed", [
    ("vae_core.models", ("vae_core.models", "vae_core.registry", "vae_core.keys")),
])
def test_models_import_only_models_registry_and_keys(layer, allowed):
    bad = {m: sorted(t for t in targets if t != "vae_core"
                     and not any(_under(t, a) for a in allowed))
           for m, targets in _imports_of(layer).items()}
    bad = {m: t for m, t in bad.items() if t}
    assert not bad, f"{layer} may import only {allowed} from vae_core: {bad}"


@pytest.mark.parametrize("layer, forbidden", [
    ("vae_core.downstream", ("vae_core.models", "vae_core.train")),
    ("vae_core.disentangle", ("vae_core.models", "vae_core.train")),
    ("vae_core.plots", ("vae_core.models", "vae_core.train", "vae_core.grid.runner")),
])
def test_layers_do_not_import_training(layer, forbidden):
    bad = {m: sorted(t for t in targets if any(_under(t, f) for f in forbidden))
           for m, targets in _imports_of(layer).items()}
    bad = {m: t for m, t in bad.items() if t}
    assert not bad, f"{layer} must not import {forbidden}: {bad}"


def test_train_submodules_do_not_import_their_package():
    """``vae_core.train``'s ``__init__`` imports its submodules; they never import it back."""
    bad = {m: sorted(t for t in targets if t == "vae_core.train")
           for m, targets in _imports_of("vae_core.train").items() if m != "vae_core.train"}
    assert not {m: t for m, t in bad.items() if t}, bad


@pytest.mark.parametrize("statement", [
    "import vae_core.grid.spec",
    "from vae_core.grid import expand, config_key, load_records",
    "import vae_core.grid._pool",
    "from vae_core.train import TrainConfig, FitResult, check_config",
    "import vae_core.provenance",
])
def test_light_imports_do_not_import_torch(statement):
    import subprocess
    import sys

    code = f"import sys\n{statement}\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT.parent).stdout
    assert out.strip() == "False", f"{statement!r} imports torch"
