"""A user's own model and metric, in a file outside the package, through ``run_all.sh``.

The plugin file lives in a temporary directory; a smoke-sized params file lists it under
``plugins:`` and uses levels the paper does not have (latent 64, lr 3e-4, hidden width 1024).
The model must reach ``runs_tcga.csv``, Fig 3, the scorecard ("n/a: not in the paper") and the
index page; the metric must get its column, its reason column and its figure.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from vae_core import paths

REPO = Path(__file__).resolve().parent.parent

PLUGIN = '''
"""A toy plugin: an L1-reconstruction VAE and the mean embedding norm."""
import numpy as np
from torch.nn import functional as F

from vae_core.downstream import register_metric
from vae_core.models import VAE, LossOutput, gaussian_kl, register


class L1VAE(VAE):
    lr_gamma = 0.95

    def loss(self, x, out, n_train, step):
        rec = F.l1_loss(out.recon, x, reduction="sum") / x.shape[0]
        kl = gaussian_kl(out.mu, out.logvar).mean()
        return LossOutput(rec / self.n_genes + self.kl_weight(n_train) * kl,
                          {"rec": rec.detach(), "kl": kl.detach()})


register("l1toy", L1VAE, label="L1 toy VAE")


def embedding_norm(embedding, obs):
    return {"embedding_norm": float(np.linalg.norm(np.asarray(embedding), axis=1).mean())}


register_metric("embedding_norm", embedding_norm, needs=("label",))
'''


def _params(tmp_path: Path) -> Path:
    plugin_dir = tmp_path / "my_plugins"
    plugin_dir.mkdir()
    (plugin_dir / "toy_plugin.py").write_text(PLUGIN)
    p = yaml.safe_load((REPO / "params" / "smoke.yaml").read_text())
    models = ["vanilla", "beta", "l1toy"]
    grid = {"model": models, "latent_dim": [64], "lr": [3e-4], "hidden": [1024],
            "init": ["kaiming_uniform"], "optimizer": ["adam"], "activation": ["tanh"],
            "repeats": 1}
    p.update(profile="plugin_toy", plugins=["../my_plugins/toy_plugin.py"],
             grid_tcga=grid, grid_gtex=dict(grid), disentangle_models=models,
             disentangle_latent_dims=[64])
    p["train"]["max_epochs"] = 4
    params_dir = tmp_path / "params"
    params_dir.mkdir()
    path = params_dir / "plugin_toy.yaml"
    path.write_text(yaml.safe_dump(p, sort_keys=False))
    return path


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_plugin_model_and_metric_flow_through_run_all(tmp_path, clean_registries):
    params = _params(tmp_path)
    env = dict(os.environ, VAE_BENCH_ROOT=str(tmp_path), MPLBACKEND="Agg",
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    r = subprocess.run(["bash", str(REPO / "run_all.sh"), "--params", str(params)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=880,
                       check=False)
    assert r.returncode == 0, f"run_all.sh failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"

    res = paths.results_dir("plugin_toy", tmp_path)
    fig_dir = paths.figures_dir("plugin_toy", tmp_path)
    runs = pd.read_csv(res / "tables" / "runs_tcga.csv")
    assert set(runs["model"]) == {"vanilla", "beta", "l1toy"}
    assert set(runs["latent_dim"]) == {64} and set(runs["hidden"]) == {1024}
    assert np.allclose(runs["lr"], 3e-4)
    # the metric: its column (finite where the training succeeded) and its reason column
    ok = runs["status"] == "ok"
    assert ok.any(), runs[["model", "status"]]
    assert "embedding_norm" in runs and "embedding_norm_reason" in runs
    assert np.isfinite(runs.loc[ok, "embedding_norm"]).all()
    assert (runs.loc[ok, "embedding_norm"] > 0).all()
    assert "embedding_norm" in pd.read_csv(res / "tables" / "runs_gtex.csv")

    # figures: the metric's own, the extra model's loss-vs-downstream, and Fig 3 with the model
    for name in ("metric_embedding_norm", "figS_l1toy_loss_vs_downstream",
                 "fig3_models_ari_aic"):
        for ext in ("png", "pdf"):
            f = fig_dir / f"{name}.{ext}"
            assert f.is_file() and f.stat().st_size > 2_000, f
    import vae_core.plugins as vae_plugins
    from vae_core import plots

    vae_plugins.load(["../my_plugins/toy_plugin.py"], base=params.parent)
    t = plots.load_tables("plugin_toy", tmp_path)
    fig = plots.draw("fig3_models_ari_aic", t)
    ticks = {lbl.get_text().split("\n")[0] for ax in fig.axes for lbl in ax.get_xticklabels()}
    assert {"L1 toy VAE", "Vanilla VAE", "β-VAE"} <= ticks, ticks

    card = (fig_dir / "scorecard.md").read_text()
    toy_rows = [line for line in card.splitlines() if "L1 toy VAE" in line or "l1toy" in line]
    assert toy_rows, "the plugin model has no scorecard row"
    assert all("n/a: not in the paper" in line for line in toy_rows), toy_rows
    assert "embedding_norm" in card or "Embedding" in card

    index = (res / "index.html").read_text()
    assert "L1 toy VAE" in index
    assert "metric_embedding_norm.png" in index
    assert "Missing expected files" not in index
