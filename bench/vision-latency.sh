#!/usr/bin/env bash
# Per-model latency of atelier's vision crate next to Python onnxruntime, in one run: the
# same ONNX Runtime (1.31.1 on both sides), models, input photo, pre- and post-processing
# and intra-op thread count. The Rust side is `crates/vision/examples/latency.rs` (the
# public `Vision` methods, and the bare session run under each); the Python side is
# `bench/vision-latency.py` (the same steps in numpy, Pillow and scipy). For each thread
# count and model the two alternate, a process each, ROUNDS times (Rust, Python, Rust,
# Python, ...): the machine is shared, so neither side gets all the quiet moments. Each
# side keeps its best p50 of the rounds, and its least CPU time per call (all threads,
# from /proc), which a busy machine disturbs far less than wall time. Results go to stdout
# and bench/out/vision-latency/results.md (raw JSON lines next to it); method and
# figures: docs/benchmarks.md, "Vision: per-model latency".
#
# Exits non-zero only when something fails (a build, a run, a missing model); a ratio over
# the 1.1 goal is reported, not an error.
#
# Environment (defaults in brackets):
#   THREADS ["1 2"]   intra-op thread counts to measure
#   RUNS [20]  WARMUP [3]  ROUNDS [3]   timed calls (at least), untimed calls first,
#                       rounds per side and model
#   MIN_TIME [1]        seconds each figure is timed for, at least (more calls when fast)
#   ONLY                comma-separated models (blazeface_back_256, mnist_cnn,
#                       efficientnet_lite0, nsfw_mobilenet_v2, faceres+emotion,
#                       multistyle26, arbitrary)
#   ORT_DYLIB_PATH      [~/.cache/atelier/onnxruntime-1.31.1/libonnxruntime.so.1.31.1];
#                       scripts/setup-onnxruntime.sh fetches it when missing
#   VISION_BENCH_VENV   [~/.cache/atelier-bench/vision-latency-venv]
#   BENCH_BUILD [1]     0 uses the example binary as it is
#   WAIT_QUIET [0]      seconds to wait, at most, for an idle machine before measuring
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)

case "${1:-}" in
    "") ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "vision-latency: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

THREADS=${THREADS:-1 2}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-3}
MIN_TIME=${MIN_TIME:-1}
OUT="$here/out/vision-latency"
cache=${XDG_CACHE_HOME:-$HOME/.cache}
# Python onnxruntime and what the port uses, pinned (the same pins as
# scripts/make-style-fixtures.sh, plus scipy for connected components).
PINS=(onnxruntime==1.31.1 numpy==2.4.6 Pillow==11.3.0 scipy==1.16.3
    flatbuffers==25.12.19 packaging==26.4 protobuf==7.36.2)

# --- ONNX Runtime for the Rust side: the library from the same PyPI wheel ------------
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$cache/atelier/onnxruntime-1.31.1/libonnxruntime.so.1.31.1}
if [ ! -f "$ORT_DYLIB_PATH" ] || [ ! -f "$cache/atelier/onnxruntime-1.31.1/mnist_5k.csv.gz" ]; then
    echo "vision-latency: running scripts/setup-onnxruntime.sh" >&2
    "$root/scripts/setup-onnxruntime.sh" >&2
fi
[ -f "$ORT_DYLIB_PATH" ] || { echo "vision-latency: no ONNX Runtime library at $ORT_DYLIB_PATH" >&2; exit 1; }

# --- the Python side ------------------------------------------------------------------
VENV=${VISION_BENCH_VENV:-$cache/atelier-bench/vision-latency-venv}
PY="$VENV/bin/python"
stamp="$VENV/.atelier-pins"
if [ ! -x "$PY" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${PINS[*]}" ]; then
    echo "vision-latency: setting up ${PINS[*]} in $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
    echo "${PINS[*]}" >"$stamp"
fi

# --- the Rust side --------------------------------------------------------------------
target=${CARGO_TARGET_DIR:-$root/target}
LATENCY="$target/release/examples/latency"
if [ "${BENCH_BUILD:-1}" != 0 ]; then
    echo "vision-latency: cargo build --release --locked -p atelier-vision --example latency" >&2
    (cd "$root" && cargo build --release --locked -p atelier-vision --example latency)
fi
[ -x "$LATENCY" ] || { echo "vision-latency: no example binary at $LATENCY" >&2; exit 1; }

# --- the runs -------------------------------------------------------------------------
rm -rf "$OUT"
mkdir -p "$OUT"
MODELS=${ONLY:-blazeface_back_256,mnist_cnn,efficientnet_lite0,nsfw_mobilenet_v2,faceres+emotion,multistyle26,arbitrary}
wait_quiet vision-latency
BUSY_START=$(busy_pct)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RUSTC_START=$(rustc_running)
for t in $THREADS; do
    for model in ${MODELS//,/ }; do
        for round in $(seq 1 "$ROUNDS"); do
            echo "vision-latency: threads $t, $model, round $round: atelier, onnxruntime-python" >&2
            "$LATENCY" --threads "$t" --runs "$RUNS" --warmup "$WARMUP" --min-time "$MIN_TIME" --only "$model" \
                >>"$OUT/atelier.jsonl"
            "$PY" "$here/vision-latency.py" --threads "$t" --runs "$RUNS" --warmup "$WARMUP" \
                --min-time "$MIN_TIME" --only "$model" >>"$OUT/onnxruntime-python.jsonl"
        done
    done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
RUSTC_END=$(rustc_running)

# --- the table ------------------------------------------------------------------------
"$PY" - "$OUT" "$RUNS" "$MIN_TIME" "$ROUNDS" "$BUSY_START" "$LOAD_START" "$LOAD_END" "$RUSTC_START" "$RUSTC_END" \
    <<'EOF' | tee "$OUT/results.md"
import json, sys
from pathlib import Path

out, runs, min_time, rounds, busy, load_start, load_end, rustc_start, rustc_end = sys.argv[1:]
SIDES = ("atelier", "onnxruntime-python")
best, checks, order = {}, {}, []
for side in SIDES:
    for line in (Path(out) / f"{side}.jsonl").read_text().splitlines():
        row = json.loads(line)
        if (row["threads"], row["model"]) not in order:
            order.append((row["threads"], row["model"]))
        for field in ("p50_ms", "cpu_ms"):
            key = (row["threads"], row["model"], row["timed"], side, field)
            if row[field] is not None:
                best[key] = min(best.get(key, float("inf")), row[field])
        if row["check"]:
            checks.setdefault((row["threads"], row["model"], side), row["check"])

def cell(v):
    return "-" if v is None else f"{v:.2f}"

def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"

print(f"ONNX Runtime 1.31.1 on both sides. Each figure: at least {runs} warm calls and {min_time} s; "
      f"best of {rounds} rounds per side, the sides alternating.")
print(f"CPU {busy} % busy in the 2 s before; load average {load_start} at the start, {load_end} at the end; rustc processes running: "
      f"{rustc_start} at the start, {rustc_end} at the end.")
for timed, title in (("method", "The public method (pre-processing, run, post-processing)"),
                     ("session", "The session run alone")):
    print()
    print(f"{title}: p50 wall ms and CPU ms per call")
    print()
    goal = " within 1.1x |" if timed == "method" else ""
    print(f"| model | threads | atelier ms | onnxruntime-python ms | ratio | atelier CPU ms | python CPU ms | CPU ratio |{goal}")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" + (" --- |" if goal else ""))
    for threads, model in order:
        get = lambda side, field: best.get((threads, model, timed, side, field))
        a, p = get("atelier", "p50_ms"), get("onnxruntime-python", "p50_ms")
        ca, cp = get("atelier", "cpu_ms"), get("onnxruntime-python", "cpu_ms")
        row = f"| {model} | {threads} | {cell(a)} | {cell(p)} | {ratio(a, p)} | {cell(ca)} | {cell(cp)} | {ratio(ca, cp)} |"
        if goal:
            row += " - |" if a is None or p is None else (" yes |" if a <= 1.1 * p else " **no** |")
        print(row)
print()
print("ratio = atelier / onnxruntime-python (under 1: atelier faster). CPU = all threads of the process.")
notes = []
for threads, model in order:
    ca, cp = checks.get((threads, model, "atelier")), checks.get((threads, model, "onnxruntime-python"))
    if ca != cp:
        notes.append(f"- {model}, {threads} thread(s): atelier `{ca}`, python `{cp}`")
if notes:
    print()
    print("Result digests that differ (the JPEG decoders and Lanczos resamplers differ by a little;")
    print("a different face count or class would mean the two sides did not do the same work):")
    print("\n".join(notes))
EOF
