#!/usr/bin/env bash
# Regenerate every figure and table of the paper: set-up (.venv on first use), then papermill over
# the numbered notebooks with one params file. Works from any current directory.
#
#   bash run_all.sh [--profile smoke|quick|paper] [--params FILE] [--data-dir DIR] [--from NN] [--only NN]
#
# --params FILE: a params file of your own (e.g. a copy of params/quick.yaml for your cohort);
# its `profile:` value (else the file name) names the run. Executed notebooks (and their HTML)
# go to results/<profile>/notebooks/; figures and tables to figures/<profile>/; the results page
# to results/<profile>/index.html with provenance.json beside it. The source notebooks are never
# overwritten.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROFILE=quick
DATA_DIR=""
FROM=""
ONLY=""
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
PARAMS_FILE=""
PROFILE_SET=""
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) PROFILE="${2:?--profile needs a value}"; PROFILE_SET=1; shift 2 ;;
    --profile=*) PROFILE="${1#*=}"; PROFILE_SET=1; shift ;;
    --params) PARAMS_FILE="${2:?--params needs a file}"; shift 2 ;;
    --params=*) PARAMS_FILE="${1#*=}"; shift ;;
    --data-dir) DATA_DIR="${2:?--data-dir needs a value}"; shift 2 ;;
    --data-dir=*) DATA_DIR="${1#*=}"; shift ;;
    --from) FROM="${2:?--from needs a notebook number, e.g. 03}"; shift 2 ;;
    --only) ONLY="${2:?--only needs a notebook number, e.g. 03}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_all.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -n "$PARAMS_FILE" ]; then
  if [ ! -f "$PARAMS_FILE" ]; then
    echo "run_all.sh: --params '$PARAMS_FILE' is not a file (give a params YAML, e.g. a copy" \
         "of $REPO/params/quick.yaml)." >&2
    exit 2
  fi
  PARAMS="$(cd "$(dirname "$PARAMS_FILE")" && pwd)/$(basename "$PARAMS_FILE")"
  if [ -z "$PROFILE_SET" ]; then
    PROFILE="$(sed -n 's/^profile:[[:space:]]*["'"'"']\{0,1\}\([A-Za-z0-9_.-]*\).*/\1/p' "$PARAMS" | head -n 1)"
    [ -n "$PROFILE" ] || PROFILE="$(basename "$PARAMS" | sed 's/\.ya\{0,1\}ml$//')"
  fi
else
  PARAMS="$REPO/params/$PROFILE.yaml"
fi
if [ ! -f "$PARAMS" ]; then
  echo "run_all.sh: no params file for profile '$PROFILE' ($PARAMS). Valid profiles:" \
       "$(cd "$REPO/params" && ls *.yaml | sed 's/\.yaml$//' | tr '\n' ' ')" >&2
  exit 2
fi
if [ -n "$DATA_DIR" ]; then DATA_DIR="$(cd "$DATA_DIR" 2>/dev/null && pwd)" || {
  echo "run_all.sh: --data-dir '$DATA_DIR' is not a directory." >&2; exit 2; }; fi

source "$REPO/scripts/setup_env.sh"
BIN="$(dirname "$PY")"
ROOT="${VAE_BENCH_ROOT:-$REPO}"
OUT="$ROOT/results/$PROFILE/notebooks"
mkdir -p "$OUT" "$ROOT/figures/$PROFILE"
extra=()
sets=()   # the same values for the results page's provenance (nbreport index --set KEY=VALUE)
[ -n "$DATA_DIR" ] && extra+=(-p data_dir "$DATA_DIR") && sets+=(--set "data_dir=$DATA_DIR")
# the run's name: the notebooks' `profile` parameter agrees with results/<profile>/
[ -n "$PARAMS_FILE" ] && extra+=(-p profile "$PROFILE") && sets+=(--set "profile=$PROFILE")
# Wall time and peak memory of each notebook, one JSON line each (provenance.json reads them);
# a whole run starts a new log, --from/--only add to it (the latest entry per notebook counts).
RUNLOG="$ROOT/results/$PROFILE/run_log.jsonl"
if [ -z "$ONLY" ] && [ -z "$FROM" ]; then : > "$RUNLOG"; fi
# Relative entries of the params' `plugins:` list are found beside the params file first.
export VAE_BENCH_PARAMS_DIR="$(dirname "$PARAMS")"
# Matplotlib without a display (setup_env.sh points numba's cache into the environment).
export MPLBACKEND=Agg

t_all=$(date +%s)
status=0
executed=()
# HTML copies of the executed notebooks, all in one nbconvert process (one start-up, not six)
export_html() {
  local have=() f
  for f in "${executed[@]}"; do [ -f "$f" ] && have+=("$f"); done
  [ "${#have[@]}" -gt 0 ] || return 0
  "$BIN/jupyter" nbconvert --to html --log-level ERROR "${have[@]}" --output-dir "$OUT" \
    >/dev/null 2>&1 || echo "run_all.sh: warning: HTML export failed (executed notebooks are in $OUT)" >&2
}
for nb in "$REPO"/notebooks/[0-9][0-9]_*.ipynb; do
  name="$(basename "$nb" .ipynb)"
  num="${name%%_*}"
  if [ -n "$ONLY" ] && [ "$num" != "$ONLY" ]; then continue; fi
  if [ -n "$FROM" ] && [ "$num" \< "$FROM" ]; then continue; fi
  echo "==> [$PROFILE] $name"
  t0=$(date +%s)
  executed+=("$OUT/$name.ipynb")
  if ! "$PY" -m vae_core.provenance time --log "$RUNLOG" --name "$name" -- \
        "$BIN/papermill" "$nb" "$OUT/$name.ipynb" -f "$PARAMS" "${extra[@]}" \
        --cwd "$REPO/notebooks" --kernel python3 --log-level ERROR --no-progress-bar \
        2> >(grep -v "Kernel is running over TCP without encryption" >&2); then
    "$PY" -m vae_core.nbreport failure "$OUT/$name.ipynb" >&2 || true
    echo "run_all.sh: stopped at $name (profile $PROFILE). Executed copy with the error:" \
         "$OUT/$name.ipynb" >&2
    status=1
    break
  fi
  echo "    done in $(( $(date +%s) - t0 )) s -> $OUT/$name.ipynb"
done
export_html
if [ "$status" -eq 0 ]; then
  "$PY" -m vae_core.nbreport index --profile "$PROFILE" --root "$ROOT" --params "$PARAMS" \
    "${sets[@]}"
  echo "==> all notebooks done in $(( $(date +%s) - t_all )) s; figures in $ROOT/figures/$PROFILE/"
fi
exit "$status"
