#!/usr/bin/env bash
# Create .venv in the repository and install the project into it when missing or outdated.
# Sourced by run_all.sh and run_tests.sh; sets PY to the venv's python.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VAE_BENCH_VENV:-$REPO/.venv}"
STAMP="$VENV/.vae-benchmark-installed"
want="$(cat "$REPO/pyproject.toml" | sha256sum | cut -c1-16)"

pick_python() {
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1 &&
       "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$cand"; return 0
    fi
  done
  echo "error: vae-benchmark needs Python >= 3.11 (none found on PATH). Install it, or create" \
       "the environment with conda: conda env create -f environment.yml" >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  base_py="$(pick_python)"
  echo "[setup] creating $VENV with $($base_py --version)"
  "$base_py" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "[setup] installing vae-benchmark and its pinned dependencies into $VENV (first run: a few minutes)"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  # torch==2.13.0 is pinned: a CPU wheel; an unpinned torch would pull gigabytes of CUDA packages.
  "$VENV/bin/python" -m pip install --quiet -e "$REPO[dev,ray]"
  rm -rf "$VENV/numba_cache"   # compiled for the previous package versions
  echo "$want" > "$STAMP"
fi
# numba's compiled kernels (scanpy's kNN connectivities, UMAP) are cached inside the environment
# they were compiled for; filled once here so no notebook or test pays the ~25 s cold compile.
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$VENV/numba_cache}"
if [ ! -d "$NUMBA_CACHE_DIR" ]; then
  "$VENV/bin/python" -m vae_core._warmup || echo "[setup] numba warm-up failed (harmless: kernels compile on first use)" >&2
fi
PY="$VENV/bin/python"
export PY
