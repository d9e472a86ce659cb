"""The notebooks' parameters cells default to the quick profile (params/quick.yaml).

A reader who opens a notebook in JupyterLab and runs it top to bottom then gets the same run as
``bash run_all.sh`` (and does not overwrite ``results/quick/`` with a differently sized cohort).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _parameters(nb_path: Path) -> dict:
    nb = json.loads(nb_path.read_text())
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{nb_path.name}: expected one tagged parameters cell"
    scope: dict = {}
    exec("".join(cells[0]["source"]), {}, scope)  # noqa: S102 - the project's own notebook
    return scope


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_defaults_equal_quick_profile(nb_path):
    quick = yaml.safe_load((REPO / "params" / "quick.yaml").read_text())
    params = _parameters(nb_path)
    shared = sorted(set(params) & set(quick))
    assert "profile" in shared
    differ = {k: (params[k], quick[k]) for k in shared if params[k] != quick[k]}
    assert not differ, (f"{nb_path.name}: parameters cell defaults differ from params/quick.yaml "
                        f"(notebook value, quick value): {differ}")


def test_every_params_file_names_every_grid_notebook_parameter():
    """Each profile sets stack_size and the other run-wide keys the grid notebooks read."""
    for name in ("smoke", "quick", "paper", "paper_lite"):
        spec = yaml.safe_load((REPO / "params" / f"{name}.yaml").read_text())
        for key in ("stack_size", "executor", "n_workers", "train", "grid_tcga", "grid_gtex"):
            assert key in spec, f"params/{name}.yaml lacks {key!r}"
