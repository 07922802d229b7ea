#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Dataset throughput: 5,000 product-photo-like images in a zip, with a Fashion Product
# Images style `styles.csv`, through `augment x2 + classify`, by `atelier process --dataset`
# and by a Python baseline in the seed's style (bench/dataset_baseline.py: Pillow and
# onnxruntime in a multiprocessing.Pool of one process per core, each with a default
# InferenceSession, one image per run), on the same machine. Items/s (items / wall time of
# the whole process, start-up included) and peak memory of the whole process tree (the
# Python pool is several processes: bench/rss_tree.py adds them up). Goal: atelier at least
# 2x the baseline's items/s.
#
# What each side does per item: the original's bytes copied to images/{id}.jpg; 2 seeded
# variants (horizontal flip p 0.5, rotation within +-10 degrees, a crop of 80-100 % of the
# area resized back, brightness/contrast/saturation in [0.8, 1.2]) saved as JPEG to
# augmentation/{id}-v{k}.jpg; each variant classified with models/efficientnet_lite0.onnx
# (top 5 ImageNet labels); metadata.json with every item's CSV row, files and labels. The
# two sides draw their random numbers differently, so their variants are not the same
# pixels; the work per item is.
#
# Input: bench/make-dataset.py makes COUNT images (seeded crops and scales of the real
# photos bench/fetch-photos.sh takes from the scikit-image wheel, 400-1000 px on the longer
# side, JPEG q90 4:2:0) into bench/out/dataset/input/ (input-COUNT/ when COUNT is not 5000):
# dataset.zip (stored) and styles.csv; kept between runs. atelier gets the spec in
# bench/out/dataset/spec.json.
#
# Runs: RUNS rounds, each one run of each side in turn (the order alternates from round to
# round), each into a fresh output folder (bench/out/dataset/{atelier,python}-out/), under
# bench/rss_tree.py. Each output is then checked: COUNT files under images/, 2 x COUNT
# under augmentation/, metadata.json with COUNT items, each with 2 variants that have
# labels and whose files exist. A run whose output is wrong (or that exits non-zero) is FAILED and not
# timed. When the atelier binary does not know `process --dataset` yet, its rows say "to
# be measured" and the baseline runs alone. At 5,000 images the baseline takes about 25
# minutes a run on 2 busy cores.
#
# Results go to stdout and bench/out/dataset/results.md; per run, the tool's output in
# bench/out/dataset/runs/{side}-{n}.log and rss_tree's JSON in runs/{side}-{n}.json.
# Exits non-zero when something fails (a set-up step, a FAILED run); a ratio under the 2x
# goal is reported, not an error.
#
# Environment (defaults in brackets):
#   COUNT [5000]        images in the set
#   RUNS [3]            rounds (one run of each side per round)
#   PROCESSES           the baseline's pool size [its default, os.cpu_count()]
#   WAIT_QUIET [0]      seconds to wait, at most, for an idle machine before each round
#   ATELIER             [target/release/atelier] the binary to time
#   BENCH_BUILD [1]     0 never builds; otherwise `cargo build --release --locked -p atelier`
#                       runs when the default binary is missing
#   ORT_DYLIB_PATH      [~/.cache/atelier/onnxruntime-1.31.1/libonnxruntime.so.1.31.1];
#                       scripts/setup-onnxruntime.sh fetches it when missing
#   DATASET_VENV        [~/.cache/atelier-bench/dataset-venv] the baseline's virtualenv
#                       (onnxruntime 1.31.1, numpy 2.4.6, Pillow 11.3.0, pinned below)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)

case "${1:-}" in
    "") ;;
    -h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "dataset: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

COUNT=${COUNT:-5000}
RUNS=${RUNS:-3}
OUT="$here/out/dataset"
cache=${XDG_CACHE_HOME:-$HOME/.cache}
# The baseline's packages, pinned (the same pins as bench/stylize-e2e.sh).
PINS=(onnxruntime==1.31.1 numpy==2.4.6 Pillow==11.3.0 flatbuffers==25.12.19 packaging==26.4 protobuf==7.36.2)
# atelier's job: the same work as bench/dataset_baseline.py's defaults.
SPEC='{"version": 1, "augment": {"variants": 2, "seed": 1, "flip_horizontal": 0.5, "max_rotation": 10, "crop_scale": [0.8, 1.0], "color_jitter": 0.2}, "inference": [{"op": "classify", "top_k": 5}], "infer_on": "variants", "batch_size": 16, "output": {"quality": 90}}'

# --- ONNX Runtime for atelier: the library from the same PyPI wheel --------------------
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$cache/atelier/onnxruntime-1.31.1/libonnxruntime.so.1.31.1}
if [ ! -f "$ORT_DYLIB_PATH" ]; then
    echo "dataset: running scripts/setup-onnxruntime.sh" >&2
    "$root/scripts/setup-onnxruntime.sh" >&2
fi
[ -f "$ORT_DYLIB_PATH" ] || { echo "dataset: no ONNX Runtime library at $ORT_DYLIB_PATH" >&2; exit 1; }

# --- the Python side ------------------------------------------------------------------
VENV=${DATASET_VENV:-$cache/atelier-bench/dataset-venv}
PY="$VENV/bin/python"
stamp="$VENV/.atelier-pins"
if [ ! -x "$PY" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${PINS[*]}" ]; then
    echo "dataset: setting up ${PINS[*]} in $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
    echo "${PINS[*]}" >"$stamp"
fi

# --- the input set --------------------------------------------------------------------
if [ "$COUNT" = 5000 ]; then in="$OUT/input"; else in="$OUT/input-$COUNT"; fi
"$PY" "$here/make-dataset.py" --count "$COUNT" --out "$in"

# --- atelier ----------------------------------------------------------------------------
target=${CARGO_TARGET_DIR:-$root/target}
if [ -z "${ATELIER:-}" ]; then
    ATELIER="$target/release/atelier"
    if [ ! -x "$ATELIER" ] && [ "${BENCH_BUILD:-1}" != 0 ]; then
        echo "dataset: cargo build --release --locked -p atelier" >&2
        (cd "$root" && cargo build --release --locked -p atelier)
    fi
fi
ATELIER_STATE=ok
if [ ! -x "$ATELIER" ]; then
    echo "dataset: no atelier binary at $ATELIER; atelier: to be measured" >&2
    ATELIER_STATE="to be measured (no binary at $ATELIER)"
elif ! grep -q -- '--dataset' <<<"$("$ATELIER" process --help 2>/dev/null || true)"; then
    echo "dataset: $ATELIER does not take \`process --dataset\` yet; atelier: to be measured" >&2
    ATELIER_STATE="to be measured (\`process --dataset\` not in this binary)"
fi

# --- the runs ---------------------------------------------------------------------------
mkdir -p "$OUT"
rm -rf "$OUT/runs" "$OUT/atelier-out" "$OUT/python-out"
mkdir -p "$OUT/runs"
spec="$OUT/spec.json"
echo "$SPEC" >"$spec"
runs_tsv="$OUT/runs.tsv"
: >"$runs_tsv"

# check_output DIR: prints "ok", or what is wrong with the output in DIR.
check_output() {
    "$PY" - "$1" "$COUNT" <<'EOF'
import json, sys
from pathlib import Path

out, count = Path(sys.argv[1]), int(sys.argv[2])

def problem():
    for folder, want in (("images", count), ("augmentation", 2 * count)):
        d = out / folder
        got = sum(1 for p in d.rglob("*") if p.is_file()) if d.is_dir() else 0
        if got != want:
            return f"{got} files in {folder}/, expected {want}"
    try:
        items = json.loads((out / "metadata.json").read_text(encoding="utf-8"))["items"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return f"metadata.json: {type(e).__name__}: {e}"
    if len(items) != count:
        return f"metadata.json has {len(items)} items, expected {count}"
    for n, item in enumerate(items):
        variants = item.get("variants") or []
        if len(variants) != 2:
            return f"metadata.json item {n}: {len(variants)} variants, expected 2"
        for v in variants:
            labels = (v.get("annotations") or {}).get("labels") or []
            if not labels or not all("label" in l and "score" in l for l in labels):
                return f"metadata.json item {n}: a variant without labels"
            if not (out / str(v.get("file"))).is_file():
                return f"metadata.json item {n}: no file {v.get('file')}"
        # The original: a path (the baseline) or an object with its `file` (atelier).
        image = item.get("image")
        image = image.get("file") if isinstance(image, dict) else image
        if image and not (out / str(image)).is_file():
            return f"metadata.json item {n}: no file {image}"
    return None

try:
    print(problem() or "ok")
except Exception as e:  # a metadata.json of another shape than expected
    print(f"metadata.json: {type(e).__name__}: {e}")
EOF
}

# run_side SIDE ROUND: one timed run into a fresh folder, checked; a line in runs.tsv.
run_side() {
    local side=$1 n=$2 dest="$OUT/$1-out" log="$OUT/runs/$1-$2.log" json="$OUT/runs/$1-$2.json" cmd status
    if [ "$side" = atelier ]; then
        cmd=("$ATELIER" process --dataset "$spec" --metadata "$in/styles.csv" --models "$root/models"
            "$in/dataset.zip" -o "$dest" --json)
    else
        cmd=("$PY" "$here/dataset_baseline.py" --archive "$in/dataset.zip" --metadata "$in/styles.csv"
            --models "$root/models" --out "$dest")
        [ -z "${PROCESSES:-}" ] || cmd+=(--processes "$PROCESSES")
    fi
    rm -rf "$dest"
    sync
    echo "dataset: round $n: $side" >&2
    if python3 "$here/rss_tree.py" --json "$json" -- "${cmd[@]}" >"$log" 2>&1; then
        status=$(check_output "$dest") || status="the output check failed to run"
        [ "$status" = ok ] || status="FAILED: $status"
    else
        status="FAILED: exit status $? (see runs/$side-$n.log)"
    fi
    [ "$status" = ok ] || echo "dataset: $side round $n $status" >&2
    printf '%s\t%s\t%s\n' "$n" "$side" "$status" >>"$runs_tsv"
}

BUSY_START=$(busy_pct)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RUSTC_START=$(rustc_running)
busy_rounds=()
for n in $(seq 1 "$RUNS"); do
    wait_quiet dataset
    busy_rounds+=("$(busy_pct)")
    if [ $((n % 2)) -eq 1 ]; then order=(atelier python); else order=(python atelier); fi
    for side in "${order[@]}"; do
        if [ "$side" = atelier ] && [ "$ATELIER_STATE" != ok ]; then
            printf '%s\t%s\t%s\n' "$n" atelier "$ATELIER_STATE" >>"$runs_tsv"
            continue
        fi
        run_side "$side" "$n"
    done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
RUSTC_END=$(rustc_running)

# --- the table ------------------------------------------------------------------------
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
"$PY" - "$OUT" "$COUNT" "$BUSY_START" "${busy_rounds[*]}" "$LOAD_START" "$LOAD_END" "$RUSTC_START" "$RUSTC_END" \
    "$(nproc)" "$CPU_MODEL" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$ATELIER" <<'EOF' | tee "$OUT/results.md"
import json, statistics, sys
from pathlib import Path

(out, count, busy, busy_rounds, load_start, load_end, rustc_start, rustc_end,
 cores, cpu, date, atelier) = sys.argv[1:]
out, count = Path(out), int(count)
SIDES = ("atelier", "python")
rows = []
for line in (out / "runs.tsv").read_text().splitlines():
    n, side, status = line.split("\t", 2)
    path = out / "runs" / f"{side}-{n}.json"
    m = json.loads(path.read_text()) if path.is_file() else None
    own = None
    log = out / "runs" / f"{side}-{n}.log"
    if side == "python" and log.is_file():
        for text in reversed(log.read_text(errors="replace").splitlines()):
            if text.startswith("{") and '"items_per_s"' in text:
                own = json.loads(text).get("items_per_s")
                break
    rows.append((int(n), side, status, m, own))

def f(v, fmt="{:.1f}"):
    return "-" if v is None else fmt.format(v)

print(f"# Dataset benchmark: {count} images, augment x2 + classify")
print()
print(f"{date}; {cores} cores ({cpu}); CPU {busy} % busy in the 2 s before the runs, "
      f"{', '.join(b + ' %' for b in busy_rounds.split())} before each round; load average {load_start} "
      f"at the start, {load_end} at the end; rustc processes running: {rustc_start} at the start, "
      f"{rustc_end} at the end.")
print()
print("Items/s = items / wall time of the whole process (start-up, model load and writing "
      "metadata.json included). Peak RSS: the process tree's resident memory added up at "
      "each 50 ms sample (shared pages count once per process); PSS splits shared pages "
      "between their processes (sampled every second). CPU s: user + system time of the whole tree.")
print()
print("| round | side | status | wall s | items/s | CPU s | CPU ms / item | peak RSS MiB | peak PSS MiB | processes | baseline's own items/s |")
print("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
ok = {side: [] for side in SIDES}
for n, side, status, m, own in rows:
    if status == "ok" and m:
        ok[side].append(m)
        print(f"| {n} | {side} | ok | {m['wall_s']:.1f} | {count / m['wall_s']:.2f} | {m['cpu_s']:.1f} | "
              f"{1000 * m['cpu_s'] / count:.1f} | {m['peak_rss_mib']:.0f} | {f(m.get('peak_pss_mib'), '{:.0f}')} | "
              f"{m['peak_processes']} | {f(own, '{:.2f}')} |")
    else:
        print(f"| {n} | {side} | {status} | - | - | - | - | - | - | - | - |")
print()
print("| side | runs ok | median items/s | median CPU ms / item | peak RSS MiB (max of runs) | peak PSS MiB (max of runs) |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
med = {}
for side in SIDES:
    ms = ok[side]
    if ms:
        med[side] = statistics.median(count / m["wall_s"] for m in ms)
        cpu_ms = statistics.median(1000 * m["cpu_s"] / count for m in ms)
        pss = [m["peak_pss_mib"] for m in ms if m.get("peak_pss_mib") is not None]
        print(f"| {side} | {len(ms)} | {med[side]:.2f} | {cpu_ms:.1f} | {max(m['peak_rss_mib'] for m in ms):.0f} | "
              f"{f(max(pss) if pss else None, '{:.0f}')} |")
    else:
        pending = any(s == side and status.startswith("to be measured") for _, s, status, _, _ in rows)
        print(f"| {side} | 0 | {'to be measured' if pending else '-'} | - | - | - |")
print()
if "atelier" in med and "python" in med:
    ratio = med["atelier"] / med["python"]
    print(f"atelier / python items/s: **{ratio:.2f}x** (goal: at least 2x: {'met' if ratio >= 2 else 'NOT met'}).")
else:
    print("atelier / python items/s: to be measured.")
print()
print(f"atelier: `{atelier} process --dataset spec.json --metadata styles.csv --models models dataset.zip -o DIR --json`, "
      f"spec `{(out / 'spec.json').read_text().strip()}`. python: `bench/dataset_baseline.py` "
      "(multiprocessing.Pool(os.cpu_count()), a default onnxruntime 1.31.1 InferenceSession per process, Pillow 11.3.0).")
EOF

if grep -q $'\tFAILED' "$runs_tsv"; then exit 1; fi
