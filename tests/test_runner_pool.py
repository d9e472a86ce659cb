"""The local executor's worker pool (``docs/design.md``, "Executors": joblib's loky).

- the README's grid example, saved as a plain script without an ``if __name__ == "__main__":``
  guard and run with ``python example.py``, finishes and writes its records (the old spawn pool
  re-executed the script in every worker and hung);
- a worker that dies mid-training, or one that cannot even start, makes ``grid.run`` raise
  ``RuntimeError`` in the caller (the scripts run under a subprocess timeout: a hang fails);
- an exception in a training cancels the queued trainings and stops the workers;
- the cohort goes to each worker once (the initializer), never with a task;
- records are the same with ``n_workers=1`` (in this process) and ``n_workers=2`` (the pool);
- the plugins loaded in the driver are loaded in every worker, first, before the runner (and
  torch) is imported there, and are there when a training runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vae_core import grid, plugins
from vae_core.grid import runner
from vae_core.grid import store as gstore

TIMEOUT = 180  # seconds: far above the few seconds these scripts need; only a hang reaches it

TINY_TRAIN = {"max_epochs": 4, "min_epochs": 2, "hidden": 32, "batch_size": 32}

# The README's grid example ("Quick start"), shrunk to a tiny cohort and grid, as a user would
# save it: no main guard. The marker line shows how often the script body runs.
README_SCRIPT = """
print("script body ran", flush=True)
from vae_core import data, grid
adata = data.preprocess(data.simulate("tcga", n_samples=300, n_genes=80, seed=0), n_top_genes=40)
configs = grid.expand({{"model": ["vanilla", "dip"], "latent_dim": [10, 50], "lr": [1e-3],
                       "init": ["kaiming_uniform"], "optimizer": ["adam"], "activation": ["tanh"],
                       "repeats": 2, "train": {train!r}}})
runs = grid.run(configs, adata, store={store!r}, n_workers=2, progress=False)
print("records", len(runs), "ok", int((runs["status"] == "ok").sum()), flush=True)
"""

# A worker that dies mid-training: a TrainConfig whose ``device``, read by ``train.fit`` in a
# worker (another pid than the driver's), ends the process as a native crash or the OOM killer
# would (or raises). cloudpickle sends the class by value (it lives in __main__), so vae_core
# needs no test hook.
CRASH_SCRIPT = """
import dataclasses, os, sys, time
from vae_core import data, grid
from vae_core.train import TrainConfig
DRIVER = os.getpid()
MODE = {mode!r}

@dataclasses.dataclass(frozen=True)
class Doomed(TrainConfig):
    def __getattribute__(self, name):
        if (name == "device" and os.getpid() != DRIVER
                and sys._getframe(1).f_code.co_name == "fit"):
            if MODE == "crash":
                os._exit(13)
            raise ValueError("planted failure")
        return super().__getattribute__(name)

adata = data.preprocess(data.simulate("tcga", n_samples=300, n_genes=80, seed=0), n_top_genes=40)
configs = grid.expand({{"model": ["vanilla", "beta"], "latent_dim": [10, 20], "repeats": 2,
                       "train": {train!r}}})
configs[0] = Doomed(**configs[0].to_dict())
if MODE == "no_start":  # every worker exits while its interpreter starts
    os.environ["PYTHONPATH"] = {hook!r}
t0 = time.perf_counter()
try:
    grid.run(configs, adata, store={store!r}, n_workers=2, progress=False)
except RuntimeError as exc:
    print("RuntimeError after %.1f s" % (time.perf_counter() - t0), flush=True)
    print(exc, flush=True)
else:
    print("no error", flush=True)
time.sleep(1.0)
import psutil
def is_worker(p):
    try:
        return p.status() != psutil.STATUS_ZOMBIE and "popen_loky" in " ".join(p.cmdline())
    except psutil.Error:  # gone or a zombie: not alive
        return False
alive = [p.pid for p in psutil.Process().children(recursive=True) if is_worker(p)]
print("loky workers alive:", len(alive), flush=True)
"""


# A plugin that registers nothing: at import it appends "<pid> <runner imported?> <torch
# imported?>" to the file named by $VAE_TEST_PLUGIN_MARKER.
PLUGIN = """
import os, sys
with open(os.environ["VAE_TEST_PLUGIN_MARKER"], "a") as fh:
    fh.write(f"{os.getpid()} {'vae_core.grid.runner' in sys.modules} {'torch' in sys.modules}\\n")


def answer():
    return 42
"""

# Trainings whose config checks, when ``fit`` reads its device in a worker, that the driver's
# plugin is loaded in that process (cloudpickle sends the class by value: it lives in __main__).
PLUGIN_SCRIPT = """
import dataclasses, os, sys
from vae_core import data, grid, plugins
from vae_core.train import TrainConfig
DRIVER = os.getpid()
(PLUGIN,) = plugins.load([{plugin!r}])

@dataclasses.dataclass(frozen=True)
class Checked(TrainConfig):
    def __getattribute__(self, name):
        if (name == "device" and os.getpid() != DRIVER
                and sys._getframe(1).f_code.co_name == "fit"):
            if PLUGIN not in plugins.loaded():
                raise RuntimeError("the driver's plugin is not loaded in this worker")
            print("checked in", os.getpid(), flush=True)
        return super().__getattribute__(name)

adata = data.preprocess(data.simulate("tcga", n_samples=300, n_genes=80, seed=0), n_top_genes=40)
configs = [Checked(**c.to_dict()) for c in grid.expand(
    {{"model": ["vanilla"], "latent_dim": [10, 20], "repeats": 2, "train": {train!r}}})]
df = grid.run(configs, adata, store={store!r}, n_workers=2, progress=False)
print("driver", DRIVER, "records", len(df), "ok", int((df["status"] == "ok").sum()), flush=True)
"""


def _run_script(tmp_path: Path, code: str, **env_vars: str) -> str:
    script = tmp_path / "example.py"
    script.write_text(textwrap.dedent(code))
    env = {**os.environ, "OMP_NUM_THREADS": "1", **env_vars}
    env.pop("PYTHONPATH", None)
    try:
        proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                              check=False, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:  # a pool that never reports: the failure we guard
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout
        pytest.fail(f"{script.name} still running after {TIMEOUT} s (hang). Output:\n{out}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    cols = ["key", "status", "epochs", "val_loss", "best_val_loss", "active_units"]
    return df[cols].sort_values("key").reset_index(drop=True)


@pytest.mark.slow
def test_readme_example_runs_as_a_plain_script_and_matches_one_process(tmp_path):
    store = tmp_path / "results" / "mine" / "grid" / "tcga"
    out = _run_script(tmp_path, README_SCRIPT.format(train=TINY_TRAIN, store=str(store)))
    assert out.count("script body ran") == 1, out  # workers did not re-execute the script
    assert "records 8 ok 8" in out, out
    pooled = grid.load_records(store)
    assert len(pooled) == 8 and (pooled["status"] == "ok").all()
    assert grid.load_embedding(store, pooled["key"][0]).shape[0] == 300

    # the same configurations in this process give the same records (one torch thread each)
    from vae_core import data

    adata = data.preprocess(data.simulate("tcga", n_samples=300, n_genes=80, seed=0),
                            n_top_genes=40)
    configs = grid.expand({"model": ["vanilla", "dip"], "latent_dim": [10, 50], "lr": [1e-3],
                           "init": ["kaiming_uniform"], "optimizer": ["adam"],
                           "activation": ["tanh"], "repeats": 2, "train": TINY_TRAIN})
    alone = grid.run(configs, adata, tmp_path / "alone", n_workers=1, progress=False)
    pd.testing.assert_frame_equal(_comparable(pooled), _comparable(alone), rtol=1e-5)
    for key in alone["key"]:
        np.testing.assert_array_equal(grid.load_embedding(store, key),
                                      grid.load_embedding(tmp_path / "alone", key))


@pytest.mark.slow
def test_a_worker_that_dies_mid_training_raises_in_the_caller(tmp_path):
    store = tmp_path / "store"
    out = _run_script(tmp_path, CRASH_SCRIPT.format(mode="crash", train=TINY_TRAIN,
                                                    store=str(store), hook=""))
    assert "RuntimeError after" in out, out
    assert "worker process of the local executor died" in out
    assert "EXIT(13)" in out  # loky's report of the exit code is passed on
    assert "loky workers alive: 0" in out, out
    assert len(grid.load_records(store)) < 8  # what finished is stored, the rest is not


@pytest.mark.slow
def test_a_worker_that_cannot_start_raises_in_the_caller(tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text("import os\nos._exit(3)\n")
    out = _run_script(tmp_path, CRASH_SCRIPT.format(mode="no_start", train=TINY_TRAIN,
                                                    store=str(tmp_path / "store"),
                                                    hook=str(hook)))
    assert "RuntimeError after" in out, out
    assert "worker process of the local executor died" in out
    assert "loky workers alive: 0" in out, out
    assert len(grid.load_records(tmp_path / "store")) == 0


@pytest.mark.slow
def test_an_exception_in_a_training_cancels_the_queue_and_stops_the_workers(tmp_path):
    slow = {**TINY_TRAIN, "max_epochs": 40, "min_epochs": 40}  # a few seconds per training
    out = _run_script(tmp_path, CRASH_SCRIPT.format(mode="raise", train=slow,
                                                    store=str(tmp_path / "store"), hook=""))
    assert "RuntimeError after" in out, out
    assert "ValueError: planted failure" in out
    assert "loky workers alive: 0" in out, out
    assert len(grid.load_records(tmp_path / "store")) < 4  # the queue was not trained


@pytest.mark.slow
def test_workers_load_the_drivers_plugins_first(tmp_path):
    plugin, marker = tmp_path / "my_plugin.py", tmp_path / "marker.txt"
    plugin.write_text(PLUGIN)
    out = _run_script(tmp_path, PLUGIN_SCRIPT.format(
        plugin=str(plugin), train={**TINY_TRAIN, "max_epochs": 2}, store=str(tmp_path / "s")),
        VAE_TEST_PLUGIN_MARKER=str(marker))
    assert "records 4 ok 4" in out, out
    driver = int(out.split("driver ")[1].split()[0])
    rows = [line.split() for line in marker.read_text().splitlines()]
    workers = {int(pid): rest for pid, *rest in rows if int(pid) != driver}
    assert [int(pid) for pid, *_ in rows].count(driver) == 1  # loaded once in the driver
    assert workers, rows  # and in the workers
    # first thing in a worker: neither the runner nor torch imported yet
    assert all(rest == ["False", "False"] for rest in workers.values()), rows
    trained_in = {int(line.split()[-1]) for line in out.splitlines()
                  if line.startswith("checked in")}
    assert trained_in and trained_in <= set(workers), (trained_in, workers)


def test_the_cohort_goes_to_each_worker_once_not_with_every_task(monkeypatch, tmp_path):
    """Spy on the loky pool: the cohort is in the initializer's arguments; tasks stay small."""
    import cloudpickle
    from joblib.externals import loky

    seen: dict[str, list] = {"initargs": [], "task_bytes": []}

    class Spy(loky.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            seen["initargs"].append(kwargs.get("initargs"))
            super().__init__(*args, **kwargs)

        def submit(self, fn, *args, **kwargs):
            seen["task_bytes"].append(len(cloudpickle.dumps((fn, args, kwargs))))
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(loky, "ProcessPoolExecutor", Spy)
    rng = np.random.default_rng(0)
    n, g = 400, 300  # the cohort pickles to ~480 KB
    import anndata

    labels = np.repeat(["a", "b", "c", "d"], n // 4)
    X = (rng.normal(size=(n, g)) + 2 * (labels[:, None] == "a")).astype(np.float32)
    adata = anndata.AnnData(X=X, obs=pd.DataFrame({"label": pd.Categorical(labels)},
                                                  index=[f"S{i}" for i in range(n)]))
    configs = grid.expand({"model": ["vanilla"], "latent_dim": [10, 20], "repeats": 3,
                           "train": {**TINY_TRAIN, "max_epochs": 2}})
    df = grid.run(configs, adata, tmp_path / "store", n_workers=2, progress=False)
    assert (df["status"] == "ok").all() and len(df) == 6
    # provenance is collected in the worker that trained: this host, the CPU
    assert (df["prov_host"] == socket.gethostname()).all()
    assert df["prov_device"].str.startswith("cpu (").all() and df["prov_commit"].notna().all()
    assert len(seen["initargs"]) == 1  # one pool for the run
    sent_X = seen["initargs"][0][0]
    assert seen["initargs"][0][3] == tuple(plugins.loaded())  # the driver's plugins go along
    np.testing.assert_array_equal(sent_X, X)
    cohort_bytes = len(cloudpickle.dumps(seen["initargs"][0]))
    assert cohort_bytes > n * g * 4
    assert len(seen["task_bytes"]) == 6
    assert max(seen["task_bytes"]) < cohort_bytes / 20  # a config, not the cohort


def test_in_flight_tasks_are_bounded(monkeypatch, tmp_path):
    """At most 2 * n_workers tasks are submitted before results are collected."""
    from joblib.externals import loky

    in_flight, peak = [0], [0]

    class Counting(loky.ProcessPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            fut = super().submit(fn, *args, **kwargs)
            fut.add_done_callback(lambda _: in_flight.__setitem__(0, in_flight[0] - 1))
            return fut

    monkeypatch.setattr(loky, "ProcessPoolExecutor", Counting)
    from vae_core import data

    adata = data.preprocess(data.simulate("tcga", n_samples=300, n_genes=80, seed=0),
                            n_top_genes=40)
    configs = grid.expand({"model": ["vanilla"], "latent_dim": [10, 20, 30], "repeats": 4,
                           "train": {**TINY_TRAIN, "max_epochs": 2}})
    df = grid.run(configs, adata, tmp_path / "store", n_workers=2, progress=False)
    assert len(df) == 12 and len(gstore.stored_keys(tmp_path / "store")) == 12
    assert 2 <= peak[0] <= 4


def test_pool_error_message_names_the_keys_and_the_fix():
    err = runner._pool_broken(RuntimeError("The exit codes of the workers are {EXIT(13)}"),
                              ["aaaa", "bbbb"])
    text = str(err)
    assert isinstance(err, RuntimeError)
    assert "aaaa, bbbb" in text and "EXIT(13)" in text and "n_workers=1" in text
