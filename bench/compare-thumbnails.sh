#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Thumbnail benchmark: atelier against vipsthumbnail, ImageMagick, Pillow and
# pyvips on the same JPEGs (bench/fetch-photos.sh), same output (256 px wide,
# JPEG quality 80, 4:2:0), one process per tool for all files.
#
# Each tool runs pinned to one core and again on all cores, RUNS times each
# (default 3); the table keeps the fastest run. Results go to stdout and to
# bench/out/results.md; method: docs/benchmarks.md, section "Thumbnails".
#
# Environment:
#   ATELIER      the atelier binary (default: target/release/atelier, built
#                with cargo when missing unless BENCH_BUILD=0). A missing
#                binary does not stop the run: atelier's rows say so.
#   RUNS         runs per configuration (default 3)
#   HUGE_RUNS    runs per tool for the 20000x20000 file (default 1)
#   BENCH_BUILD  0 = never run cargo (default 1)
#   BENCH_VENV   virtualenv for Pillow/pyvips (default ~/.cache/atelier-bench/venv)
#   RUN_TIMEOUT  seconds before one tool run is killed (default 600)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

RUNS=${RUNS:-3}
HUGE_RUNS=${HUGE_RUNS:-1}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
WIDTH=256
OUT="$here/out${SET:+-$SET}"
# Pinned so that a rerun measures the same Pillow and pyvips.
PILLOW_VERSION=11.3.0
PYVIPS_VERSION=2.2.3
CFFI_VERSION=1.17.1
# The thread knobs of every tool here; set to 1 for the one-core runs so that
# no tool starts threads that then fight over the single core.
ONE_CORE_ENV=(VIPS_CONCURRENCY=1 OMP_NUM_THREADS=1 MAGICK_THREAD_LIMIT=1 RAYON_NUM_THREADS=1)
# Extra arguments, set only for the 20000x20000 run.
ATELIER_EXTRA=()
PILLOW_EXTRA=()

# --- tools -----------------------------------------------------------------
apt_ensure libvips-tools imagemagick time
read -r -a MOGRIFY <<<"$(find_mogrify)" || true
if [ "${#MOGRIFY[@]}" -eq 0 ]; then
    echo "compare-thumbnails: no ImageMagick mogrify found" >&2
    exit 1
fi

# Pillow and pyvips go in their own virtualenv, outside the repository and
# away from the system Python's packages. pyvips binds the system libvips
# (ABI mode), the same library vipsthumbnail uses.
VENV=${BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/atelier-bench/venv}
PY="$VENV/bin/python"
if ! "$PY" -c "
import sys, PIL, pyvips
sys.exit(PIL.__version__ != '$PILLOW_VERSION' or pyvips.__version__ != '$PYVIPS_VERSION')
" 2>/dev/null; then
    echo "compare-thumbnails: setting up $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "pillow==$PILLOW_VERSION" "pyvips==$PYVIPS_VERSION" "cffi==$CFFI_VERSION"
fi

# --- photos ----------------------------------------------------------------
# Its table goes to stderr: stdout carries only the results.
"$here/fetch-photos.sh" >&2
# SET=grain uses the copies with sensor-like grain (camera-like entropy).
SET_DIR="$here/photos/set${SET:+-$SET}"
mapfile -t FILES < <(find "$SET_DIR" -maxdepth 1 -name '*.jpg' ! -name '.*' | sort)
HUGE="$here/photos/huge/20000x20000.jpg"
NFILES=${#FILES[@]}
[ "$NFILES" -gt 0 ] || { echo "compare-thumbnails: no photos in $SET_DIR" >&2; exit 1; }
# Input megapixels, for MP/s.
IN_MP=$(for f in "${FILES[@]}"; do vipsheader -f width "$f"; vipsheader -f height "$f"; done |
    awk 'NR % 2 { w = $1; next } { s += w * $1 } END { printf "%.3f", s / 1e6 }')

# --- atelier -----------------------------------------------------------------
ATELIER_NOTE=""
if [ -z "${ATELIER:-}" ]; then
    ATELIER="$root/target/release/atelier"
    if [ ! -x "$ATELIER" ] && [ "${BENCH_BUILD:-1}" != 0 ] && command -v cargo >/dev/null 2>&1; then
        echo "compare-thumbnails: building $ATELIER" >&2
        (cd "$root" && cargo build --release -p atelier) || true
    fi
fi
if [ ! -x "$ATELIER" ]; then
    ATELIER_NOTE="not measured: $ATELIER does not exist (build it with \`cargo build --release -p atelier\` or set ATELIER)"
    echo "compare-thumbnails: NOTE: atelier $ATELIER_NOTE" >&2
fi

# --- commands ----------------------------------------------------------------
# tool_cmd TOOL CORES OUTDIR FILE...: prints nothing, fills CMD with the argv
# that thumbnails FILE... into OUTDIR. CORES is 1 or all.
tool_cmd() {
    local tool=$1 cores=$2 outdir=$3
    shift 3
    case "$tool" in
        atelier)
            local jobs=1
            [ "$cores" = all ] && jobs=0 # 0 = one worker per core
            CMD=("$ATELIER" process --jobs "$jobs" "${ATELIER_EXTRA[@]}"
                --op "thumbnail:width=$WIDTH"
                --op 'convert:format=jpeg,quality=80,subsampling=4:2:0'
                -o "$outdir" "$@")
            ;;
        vipsthumbnail)
            # -s 256x: 256 wide, any height. Q below 90 gets 4:2:0 by default
            # in libvips (subsample-mode=auto), checked below by check_thumbs.py.
            CMD=(vipsthumbnail -s "${WIDTH}x")
            [ "$cores" = 1 ] && CMD+=(--vips-concurrency=1)
            CMD+=(-o "$outdir/%s.jpg[Q=80,strip]" "$@")
            ;;
        imagemagick)
            # jpeg:size asks libjpeg for DCT-scaled decoding to at least
            # 512x512 (shrink-on-load), as ImageMagick's own docs advise for
            # thumbnails; without it IM decodes every pixel.
            CMD=("${MOGRIFY[@]}" -path "$outdir" -define jpeg:size=$((2 * WIDTH))x$((2 * WIDTH))
                -thumbnail "${WIDTH}x" -quality 80 -sampling-factor 4:2:0 "$@")
            ;;
        pillow)
            CMD=("$PY" "$here/pillow_thumbs.py" "${PILLOW_EXTRA[@]}" "$WIDTH" "$outdir" "$@")
            ;;
        pyvips)
            CMD=("$PY" "$here/pyvips_thumbs.py" "$WIDTH" "$outdir" "$@")
            ;;
        *) echo "unknown tool $tool" >&2; return 1 ;;
    esac
}

# measure TOOL CORES OUTDIR FILE...: runs the tool once; sets WALL (seconds)
# and RSS_KB, or returns 1 when it failed.
measure() {
    local tool=$1 cores=$2 outdir=$3
    shift 3
    tool_cmd "$tool" "$cores" "$outdir" "$@"
    rm -rf "$outdir"
    mkdir -p "$outdir"
    local tfile="$OUT/.time" log="$OUT/logs/${outdir##*/}.log" t0 t1 rc=0
    local pre=(env)
    if [ "$cores" = 1 ]; then
        pre=(env "${ONE_CORE_ENV[@]}" taskset -c 0)
    else
        # Unset, not 1: every tool then picks its own default (all cores).
        pre=(env -u VIPS_CONCURRENCY -u OMP_NUM_THREADS -u MAGICK_THREAD_LIMIT -u RAYON_NUM_THREADS)
    fi
    # Wall time from bash's microsecond clock around the run: /usr/bin/time's
    # own "Elapsed" has 10 ms steps, too coarse for sub-second runs. Peak RSS
    # from /usr/bin/time -v (the process's getrusage ru_maxrss).
    t0=$EPOCHREALTIME
    "${pre[@]}" timeout "$RUN_TIMEOUT" /usr/bin/time -v -o "$tfile" "${CMD[@]}" >"$log" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    if [ "$rc" -ne 0 ]; then
        echo "compare-thumbnails: $tool (cores=$cores) failed with status $rc; see $log" >&2
        tail -n 5 "$log" >&2
        return 1
    fi
    WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
    RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tfile")
}

# bench TOOL CORES RUNS LABEL FILE...: best wall time over RUNS, the largest
# peak RSS over RUNS, and the checked output; sets BEST_WALL, MAX_RSS_KB, BYTES,
# CHECK. Returns 1 when a run failed, 2 when the output is not what was asked
# (a tool that exits 0 having written nothing must not get a row of numbers).
bench() {
    local tool=$1 cores=$2 runs=$3 label=$4 i
    shift 4
    local outdir="$OUT/$label"
    BEST_WALL="" MAX_RSS_KB=0 BYTES="" CHECK=""
    for ((i = 1; i <= runs; i++)); do
        measure "$tool" "$cores" "$outdir" "$@" || return 1
        echo "  $label run $i: ${WALL}s, ${RSS_KB} KiB" >&2
        if [ -z "$BEST_WALL" ] || awk -v a="$WALL" -v b="$BEST_WALL" 'BEGIN { exit !(a < b) }'; then
            BEST_WALL=$WALL
        fi
        [ "$RSS_KB" -gt "$MAX_RSS_KB" ] && MAX_RSS_KB=$RSS_KB
    done
    # Thumbnails only: a sidecar file a tool may write is not output size.
    BYTES=$(find "$outdir" -type f \( -iname '*.jpg' -o -iname '*.jpeg' \) -printf '%s\n' |
        awk '{ s += $1 } END { print s + 0 }')
    # Same size, quality and subsampling for every tool, or the row is flagged.
    if ! CHECK=$("$PY" "$here/check_thumbs.py" "$WIDTH" "$#" "$outdir"); then
        echo "compare-thumbnails: $label output is not what was asked: $CHECK" >&2
        return 2
    fi
    echo "  $label output: $CHECK" >&2
}

mkdir -p "$OUT/logs"
NCPU=$(nproc)
TOOLS=(atelier vipsthumbnail imagemagick pillow pyvips)

# Other work on the machine (a cargo build) skews every number: record the
# load average at start and end so that a reader can tell.
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# Page cache warm-up, so that the first tool measured does not pay for disk reads.
cat "${FILES[@]}" >/dev/null

declare -A ROW_WALL ROW_RSS ROW_BYTES ROW_WHY
for cores in 1 all; do
    for tool in "${TOOLS[@]}"; do
        key="$tool/$cores"
        if [ "$tool" = atelier ] && [ -n "$ATELIER_NOTE" ]; then
            continue
        fi
        echo "compare-thumbnails: $tool, cores=$cores, $NFILES files, $RUNS runs" >&2
        rc=0
        bench "$tool" "$cores" "$RUNS" "$tool-$cores" "${FILES[@]}" || rc=$?
        case $rc in
            0) ROW_WALL[$key]=$BEST_WALL ROW_RSS[$key]=$MAX_RSS_KB ROW_BYTES[$key]=$BYTES ;;
            1) ROW_WALL[$key]=FAILED ROW_WHY[$key]="failed (exit status; see bench/out/logs/$tool-$cores.log)" ;;
            *) ROW_WALL[$key]=FAILED ROW_WHY[$key]="wrong output: $CHECK" ;;
        esac
    done
done

# --- the 20000x20000 file ----------------------------------------------------
declare -A HUGE_WALL HUGE_RSS HUGE_WHY
HUGE_TOOLS=(atelier vipsthumbnail pillow)
cat "$HUGE" >/dev/null
for tool in "${HUGE_TOOLS[@]}"; do
    if [ "$tool" = atelier ] && [ -n "$ATELIER_NOTE" ]; then
        continue
    fi
    # The default pixel limits (atelier 50 MP, Pillow ~179 MP) refuse 400 MP.
    ATELIER_EXTRA=(--max-pixels 400000000)
    PILLOW_EXTRA=(--no-limit)
    echo "compare-thumbnails: $tool, 20000x20000, 1 core, $HUGE_RUNS runs" >&2
    rc=0
    bench "$tool" 1 "$HUGE_RUNS" "huge-$tool" "$HUGE" || rc=$?
    case $rc in
        0) HUGE_WALL[$tool]=$BEST_WALL HUGE_RSS[$tool]=$MAX_RSS_KB ;;
        1) HUGE_WALL[$tool]=FAILED HUGE_WHY[$tool]="failed (exit status; see bench/out/logs/huge-$tool.log)" ;;
        *) HUGE_WALL[$tool]=FAILED HUGE_WHY[$tool]="wrong output: $CHECK" ;;
    esac
    ATELIER_EXTRA=()
    PILLOW_EXTRA=()
done

# --- report ------------------------------------------------------------------
ver() {
    local v
    v=$("$@" 2>/dev/null | head -n1) || true
    echo "${v:-?}"
}
atelier_version="not built"
[ -z "$ATELIER_NOTE" ] && atelier_version=$(ver "$ATELIER" --version)
report() {
    echo "## Thumbnails ($(basename "$SET_DIR")): $NFILES JPEGs, $IN_MP MP in total, to ${WIDTH} px wide, JPEG q80 4:2:0"
    echo
    echo "Machine: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $NCPU cores," \
        "$(free -g | awk '/Mem:/ { print $2 }') GiB; $(date -u +%Y-%m-%d)."
    echo "Best of $RUNS runs (wall time); peak RSS is the largest of the runs." \
        "Load average (1, 5, 15 min) at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "\"1\" = pinned to one core with \`taskset -c 0\` and every thread knob at 1; \"$NCPU\" = all cores, tools' default threading."
    echo
    echo "| tool | cores | files | images/s | MP/s in | peak RSS MiB | total output bytes |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    local cores tool key w n
    for cores in 1 all; do
        n=$cores
        [ "$cores" = all ] && n=$NCPU
        for tool in "${TOOLS[@]}"; do
            key="$tool/$cores"
            if [ "$tool" = atelier ] && [ -n "$ATELIER_NOTE" ]; then
                echo "| atelier | $n | $NFILES | to be measured | | | |"
                continue
            fi
            w=${ROW_WALL[$key]:-FAILED}
            if [ "$w" = FAILED ]; then
                echo "| $tool | $n | $NFILES | ${ROW_WHY[$key]:-failed} | | | |"
                continue
            fi
            awk -v t="$tool" -v c="$n" -v f="$NFILES" -v w="$w" -v mp="$IN_MP" \
                -v r="${ROW_RSS[$key]}" -v b="${ROW_BYTES[$key]}" \
                'BEGIN { printf "| %s | %s | %d | %.2f | %.1f | %.0f | %d |\n", t, c, f, f / w, mp / w, r / 1024, b }'
        done
    done
    echo
    # atelier against the fastest peer, one core: >1 means atelier is faster.
    local best_tool="" best_w="" p
    for p in "${TOOLS[@]}"; do
        [ "$p" = atelier ] && continue
        w=${ROW_WALL[$p/1]:-FAILED}
        [ "$w" = FAILED ] && continue
        if [ -z "$best_w" ] || awk -v a="$w" -v b="$best_w" 'BEGIN { exit !(a < b) }'; then
            best_w=$w best_tool=$p
        fi
    done
    if [ -n "$ATELIER_NOTE" ]; then
        echo "atelier / fastest peer (1 core, images/s): to be measured; fastest peer is $best_tool. atelier $ATELIER_NOTE."
    elif [ "${ROW_WALL[atelier/1]:-FAILED}" = FAILED ] || [ -z "$best_w" ]; then
        echo "atelier / fastest peer (1 core, images/s): n/a (a run failed)."
    else
        awk -v a="${ROW_WALL[atelier/1]}" -v b="$best_w" -v t="$best_tool" \
            'BEGIN { printf "atelier / fastest peer (1 core, images/s): %.2f (fastest peer: %s; above 1 = atelier faster)\n", b / a, t }'
    fi
    echo
    echo "### One 20000x20000 JPEG (400 MP, $(stat -c %s "$HUGE") bytes) to ${WIDTH} px wide, 1 core"
    echo
    echo "Best of $HUGE_RUNS run(s). atelier runs with \`--max-pixels 400000000\`, Pillow with \`Image.MAX_IMAGE_PIXELS = None\`."
    echo
    echo "| tool | wall s | peak RSS MiB |"
    echo "| --- | ---: | ---: |"
    for tool in "${HUGE_TOOLS[@]}"; do
        if [ "$tool" = atelier ] && [ -n "$ATELIER_NOTE" ]; then
            echo "| atelier | to be measured | |"
            continue
        fi
        w=${HUGE_WALL[$tool]:-FAILED}
        if [ "$w" = FAILED ]; then
            echo "| $tool | ${HUGE_WHY[$tool]:-failed} | |"
            continue
        fi
        awk -v t="$tool" -v w="$w" -v r="${HUGE_RSS[$tool]}" \
            'BEGIN { printf "| %s | %.2f | %.0f |\n", t, w, r / 1024 }'
    done
    echo
    echo "Versions: $(ver vips --version); $(ver "${MOGRIFY[@]}" -version | sed 's/^Version: //');" \
        "Pillow $("$PY" -c 'import PIL.features as f, PIL; print(PIL.__version__, "(libjpeg-turbo", f.version("libjpeg_turbo") or "?", "bundled)")');" \
        "pyvips $("$PY" -c 'import pyvips; print(pyvips.__version__)') on libvips $("$PY" -c 'import pyvips; print(".".join(str(pyvips.version(i)) for i in range(3)))');" \
        "libjpeg62-turbo $(dpkg-query -W -f='${Version}' libjpeg62-turbo 2>/dev/null || echo '?');" \
        "atelier: $atelier_version."
}

report | tee "$OUT/results.md"
echo "compare-thumbnails: wrote $OUT/results.md" >&2
