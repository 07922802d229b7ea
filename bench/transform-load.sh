#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Load benchmark of signed transform URLs: atelier's `GET /t/...` against thumbor, both on
# 127.0.0.1, both resizing the same ~2 MP JPEG to 300 px wide (JPEG q80, 4:2:0, baseline).
#
#   cold  every request a different URL (a width of 300-309 px and a box height that never
#         binds), so atelier renders each one and thumbor, with no result storage, too
#   warm  one URL, primed once: atelier serves it from its derived-blob cache, thumbor from
#         its file result storage
#
# wrk (Debian's) drives both with the same threads, connections and duration, walking a
# pre-generated list of signed paths (bench/transform-load.lua). The servers run one after
# the other, never at the same time. RSS is sampled from /proc during every run (thumbor:
# the parent plus its forked workers). With --soak, atelier then runs cold for SOAK_DURATION
# seconds more (default 300) with RSS sampled every 5 s, and the script says whether RSS
# stayed flat. Results go to stdout and bench/out/transform-load/results.md; method and
# figures: docs/benchmarks.md, section "Transform URLs under load".
#
# Exits non-zero when a run fails: a non-2xx answer, a socket error or timeout, a server
# that died, a cold URL list that ran out (a repeat would be a cache hit), a cold run that
# atelier answered from its cache, or an output that is not a 300 px q80 4:2:0 JPEG.
#
# Environment (defaults in brackets):
#   DURATION [30]  CONNECTIONS [8]  THREADS [2]   seconds, connections and wrk threads per run
#   SOAK_DURATION [300]        seconds of the --soak run
#   PHOTO [bench/photos/set-grain/02mp-coffee.jpg]   the input (made by fetch-photos.sh)
#   MAX_CONCURRENT [0]  MAX_WAITING [64]   atelier's [transform] settings (0 = one per core)
#   THUMBOR_PROCESSES [0]      thumbor --processes (0 = one per core)
#   ATELIER        the binary (default target/release/atelier, built with cargo unless
#                  BENCH_BUILD=0)
#   THUMBOR_VENV   [~/.cache/atelier-bench/thumbor-venv]
#   ATELIER_PORT [18080]  THUMBOR_PORT [18888]
#   COLD_MAX_RPS [1000]        cold URLs generated per second of run
#   WAIT_QUIET [0]             seconds to wait for an idle machine before measuring
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

SOAK=0
for arg in "$@"; do
    case "$arg" in
        --soak) SOAK=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "transform-load: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-2}
SOAK_DURATION=${SOAK_DURATION:-300}
SOAK_INTERVAL=5
# Sampling period of RSS during the short runs, seconds.
RSS_INTERVAL=1
# The soak's warm-up: RSS after it is the reference the rest of the run is held to.
SOAK_WARMUP=60
SOAK_TOLERANCE=1.2
COLD_MAX_RPS=${COLD_MAX_RPS:-1000}
MAX_CONCURRENT=${MAX_CONCURRENT:-0}
MAX_WAITING=${MAX_WAITING:-64}
THUMBOR_PROCESSES=${THUMBOR_PROCESSES:-0}
ATELIER_PORT=${ATELIER_PORT:-18080}
THUMBOR_PORT=${THUMBOR_PORT:-18888}
PHOTO=${PHOTO:-$here/photos/set-grain/02mp-coffee.jpg}
OUT="$here/out/transform-load"
LUA="$here/transform-load.lua"
QUALITY=80
# thumbor and everything it pulls in, pinned so that a rerun measures the same code.
THUMBOR_PINS=(thumbor==7.8.0 pillow==12.3.0 tornado==6.6.1 libthumbor==2.0.2 derpconf==0.8.4
    colorama==0.4.6 JpegIPTC==1.5 piexif==1.1.3 pytz==2026.6 six==1.17.0 statsd==4.0.1
    thumbor-plugins-gifv==0.1.5 webcolors==1.13)
THUMBOR_VERSION=${THUMBOR_PINS[0]#thumbor==}

# --- tools -------------------------------------------------------------------
apt_ensure wrk curl
VENV=${THUMBOR_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/atelier-bench/thumbor-venv}
TPY="$VENV/bin/python"
if ! "$TPY" -c "import thumbor, sys; sys.exit(thumbor.__version__ != '$THUMBOR_VERSION')" 2>/dev/null; then
    echo "transform-load: setting up thumbor $THUMBOR_VERSION in $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "${THUMBOR_PINS[@]}"
fi

# has_simd BINARY: whether libjpeg-turbo in BINARY has its x86 SIMD (AVX2) paths. They are
# built only when nasm is there at build time; without them JPEG work is markedly slower.
has_simd() {
    # grep -c, not -q: -q stops reading early, and pipefail would then see nm's SIGPIPE.
    [ "$(nm "$1" 2>/dev/null | grep -c 'jsimd_.*avx2')" -gt 0 ]
}
if [ -z "${ATELIER:-}" ]; then
    ATELIER="$root/target/release/atelier"
    if [ "${BENCH_BUILD:-1}" != 0 ]; then
        apt_ensure nasm binutils
        if [ -x "$ATELIER" ] && ! has_simd "$ATELIER"; then
            # Built before nasm was installed: mozjpeg-sys's build script does not rerun by itself.
            echo "transform-load: $ATELIER has no SIMD JPEG code; rebuilding mozjpeg-sys with nasm" >&2
            (cd "$root" && cargo clean --release -p mozjpeg-sys)
        fi
        echo "transform-load: cargo build --release --locked -p atelier" >&2
        (cd "$root" && cargo build --release --locked -p atelier)
    fi
fi
[ -x "$ATELIER" ] || { echo "transform-load: no atelier binary at $ATELIER" >&2; exit 1; }
SIMD=no
has_simd "$ATELIER" && SIMD=yes
[ "$SIMD" = yes ] || echo "transform-load: WARNING: $ATELIER was built without nasm: no SIMD JPEG code" >&2

# --- the photo ---------------------------------------------------------------
if [ ! -f "$PHOTO" ]; then
    "$here/fetch-photos.sh" >&2
fi
[ -f "$PHOTO" ] || { echo "transform-load: $PHOTO does not exist" >&2; exit 1; }
PHOTO_SIZE=$("$TPY" -c "from PIL import Image; im = Image.open('$PHOTO'); print('%dx%d' % im.size)")

rm -rf "$OUT"
mkdir -p "$OUT/logs" "$OUT/urls" "$OUT/thumbor-root" "$OUT/check" "$OUT/rss"
# thumbor's file loader serves from this folder; atelier gets the same bytes by upload.
cp "$PHOTO" "$OUT/thumbor-root/photo.jpg"
ATELIER_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
THUMBOR_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(16))')

# --- processes ---------------------------------------------------------------
# Everything started here is stopped by its id on the way out.
PIDS=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

# pids_of PID: PID and its children (thumbor forks one worker per process).
pids_of() {
    echo "$1"
    pgrep -P "$1" || true
}

# rss_kb PID: VmRSS of PID and its children, KiB; empty when PID is gone.
rss_kb() {
    local total=0 p kb alive=0
    for p in $(pids_of "$1"); do
        kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || true
        [ -n "$kb" ] && { total=$((total + kb)); alive=1; }
    done
    [ "$alive" -eq 1 ] && echo "$total"
}

# cpu_ticks PID: user + system CPU time of PID and its children, in clock ticks.
cpu_ticks() {
    local total=0 p t
    for p in $(pids_of "$1"); do
        # Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends the name.
        t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }') || true
        [ -n "$t" ] && total=$((total + t))
    done
    echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)

# sampler PID INTERVAL FILE: appends "seconds rss_kb" lines until killed.
sampler() {
    local pid=$1 interval=$2 file=$3 t0=$EPOCHREALTIME kb
    while kb=$(rss_kb "$pid"); do
        awk -v a="$t0" -v b="$EPOCHREALTIME" -v kb="$kb" 'BEGIN { printf "%.1f %d\n", b - a, kb }' >>"$file"
        sleep "$interval"
    done
}

# wait_http URL PID: until URL answers 2xx, or PID dies, or 60 s pass.
wait_http() {
    local url=$1 pid=$2 i
    for ((i = 0; i < 600; i++)); do
        curl -sf -o /dev/null "$url" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# stop_server PID: SIGTERM to it and its children (the parent first, so that tornado's
# process manager does not restart the workers), then SIGKILL after 15 s.
stop_server() {
    local pid=$1 i p
    local all
    mapfile -t all < <(pids_of "$pid")
    for p in "${all[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for ((i = 0; i < 150; i++)); do
        local alive=0
        for p in "${all[@]}"; do
            kill -0 "$p" 2>/dev/null && alive=1
        done
        [ "$alive" -eq 0 ] && return 0
        sleep 0.1
    done
    for p in "${all[@]}"; do
        kill -9 "$p" 2>/dev/null || true
    done
}

# --- atelier -----------------------------------------------------------------
atelier_env=(
    ATELIER_LISTEN="127.0.0.1:$ATELIER_PORT"
    ATELIER_DATA_DIR="$OUT/atelier-data"
    ATELIER_TRANSFORM__KEYS="$ATELIER_KEY"
    ATELIER_TRANSFORM__MAX_CONCURRENT="$MAX_CONCURRENT"
    ATELIER_TRANSFORM__MAX_WAITING="$MAX_WAITING"
    # thumbor charges nothing: neither does atelier here (renders would cost the owner).
    ATELIER_CREDITS__ENABLED=false
)
start_atelier() {
    # From $OUT, so that no atelier.toml of the checkout's is read.
    (cd "$OUT" && exec env "${atelier_env[@]}" "$ATELIER" serve) >"$OUT/logs/atelier.log" 2>&1 &
    APID=$!
    PIDS+=("$APID")
    wait_http "http://127.0.0.1:$ATELIER_PORT/healthz" "$APID" || {
        echo "transform-load: atelier did not start; see $OUT/logs/atelier.log" >&2
        tail -n 5 "$OUT/logs/atelier.log" >&2
        exit 1
    }
}

# atelier_metric NAME: the value of one counter from /metrics.
atelier_metric() {
    curl -sf "http://127.0.0.1:$ATELIER_PORT/metrics" |
        awk -v n="$1" '$1 == n || $1 == n "_total" { print $2; found = 1; exit } END { if (!found) print 0 }'
}

# --- thumbor -----------------------------------------------------------------
# thumbor_conf FILE RESULT_STORAGE: a config with the same output settings as atelier's
# defaults: q80, baseline (thumbor's default is progressive), 4:2:0 (Pillow's default).
thumbor_conf() {
    local file=$1 result_storage=$2
    cat >"$file" <<EOF
SECURITY_KEY = '$THUMBOR_KEY'
ALLOW_UNSAFE_URL = False
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = '$OUT/thumbor-root'
# The original is read from the loader's folder on every request, as atelier reads its blob.
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = $result_storage
RESULT_STORAGE_FILE_STORAGE_ROOT_PATH = '$OUT/thumbor-results'
QUALITY = $QUALITY
PROGRESSIVE_JPEG = False
AUTO_WEBP = False
EOF
}
start_thumbor() {
    local conf=$1 label=$2
    (cd "$OUT" && exec "$VENV/bin/thumbor" -i 127.0.0.1 -p "$THUMBOR_PORT" -c "$conf" \
        --processes "$THUMBOR_PROCESSES" -l warning) >"$OUT/logs/thumbor-$label.log" 2>&1 &
    TPID=$!
    PIDS+=("$TPID")
    wait_http "http://127.0.0.1:$THUMBOR_PORT/healthcheck" "$TPID" || {
        echo "transform-load: thumbor did not start; see $OUT/logs/thumbor-$label.log" >&2
        tail -n 5 "$OUT/logs/thumbor-$label.log" >&2
        exit 1
    }
    # Forked workers come up after the parent answers; give them a moment to be counted.
    sleep 2
}

# --- runs --------------------------------------------------------------------
declare -A R_RPS R_P50 R_P99 R_REQ R_RSS0 R_RSSMAX R_RSSEND R_WHY R_CPU
FAILED=0
ROWS=()

# run_wrk LABEL PID PORT PATHS SECONDS INTERVAL KIND: one wrk run with RSS sampled every
# INTERVAL s; fills the R_* entries for LABEL. KIND cold checks that no URL was repeated.
run_wrk() {
    local label=$1 pid=$2 port=$3 paths=$4 seconds=$5 interval=$6 kind=$7
    local rssfile="$OUT/rss/$label.txt" log="$OUT/logs/wrk-$label.log" spid line
    ROWS+=("$label")
    R_RSS0[$label]=$(rss_kb "$pid" || true)
    : >"$rssfile"
    sampler "$pid" "$interval" "$rssfile" &
    spid=$!
    PIDS+=("$spid")
    local ticks0 ticks1
    ticks0=$(cpu_ticks "$pid")
    echo "transform-load: $label: wrk -t$THREADS -c$CONNECTIONS -d${seconds}s ($(wc -l <"$paths") paths)" >&2
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" --timeout 10s -s "$LUA" \
        "http://127.0.0.1:$port" -- "$paths" "$THREADS" >"$log" 2>&1 || true
    R_RSSEND[$label]=$(rss_kb "$pid" || true)
    ticks1=$(cpu_ticks "$pid")
    kill "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    R_RSSMAX[$label]=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$rssfile")
    line=$(grep '^RESULT ' "$log" || true)
    if [ -z "$line" ]; then
        R_WHY[$label]="wrk printed no result; see $log"
    else
        local k v
        declare -A f=()
        for kv in ${line#RESULT }; do
            k=${kv%%=*} v=${kv#*=}
            f[$k]=$v
        done
        R_REQ[$label]=${f[requests]} R_RPS[$label]=${f[rps]}
        R_P50[$label]=${f[p50_us]} R_P99[$label]=${f[p99_us]}
        # The server's CPU time per request: steadier than req/s on a machine shared with others.
        R_CPU[$label]=$(awk -v t=$((ticks1 - ticks0)) -v hz="$CLK_TCK" -v n="${f[requests]}" \
            'BEGIN { if (n > 0) printf "%.2f", 1000 * t / hz / n; else print "n/a" }')
        local errors=$((f[connect] + f[read] + f[write] + f[timeout]))
        if [ -z "${R_RSSEND[$label]}" ]; then
            R_WHY[$label]="the server died during the run"
        elif [ "${f[non2xx]}" -ne 0 ] || [ "$errors" -ne 0 ]; then
            R_WHY[$label]="${f[non2xx]} non-2xx answers, $errors socket errors/timeouts (see $log)"
        elif [ "$kind" = cold ] && [ "${f[wrapped]}" -ne 0 ]; then
            R_WHY[$label]="the cold URL list ran out (${f[wrapped]} repeats): raise COLD_MAX_RPS"
        elif [ "${f[requests]}" -eq 0 ]; then
            R_WHY[$label]="no request completed"
        fi
    fi
    if [ -n "${R_WHY[$label]:-}" ]; then
        FAILED=1
        echo "transform-load: $label FAILED: ${R_WHY[$label]}" >&2
    else
        echo "transform-load: $label: ${R_RPS[$label]} req/s, p50 $((R_P50[$label] / 1000)) ms," \
            "p99 $((R_P99[$label] / 1000)) ms, RSS max $((R_RSSMAX[$label] / 1024)) MiB" >&2
    fi
}

# check_output NAME URL: fetches one output and checks it is a 300 px wide q80 4:2:0
# baseline JPEG (bench/check_thumbs.py, plus the baseline check).
check_output() {
    local name=$1 url=$2 dir="$OUT/check/$1" got
    mkdir -p "$dir"
    curl -sf -o "$dir/out.jpg" "$url" || { echo "transform-load: $name: $url failed" >&2; return 1; }
    if ! got=$("$TPY" "$here/check_thumbs.py" 300 1 "$dir") || [[ $got != *"progressive=[False]"* ]]; then
        echo "transform-load: $name output is not a 300 px baseline q80 4:2:0 JPEG: $got" >&2
        return 1
    fi
    echo "transform-load: $name output: $got" >&2
    CHECKS+=("$name: $got")
}
CHECKS=()

wait_quiet transform-load
quiet_note() {
    local n
    n=$(rustc_running)
    if [ "${n:-0}" -gt 0 ]; then
        echo "transform-load: WARNING: $n rustc processes are running; figures will be skewed" >&2
        echo "yes ($n rustc)"
    else
        echo "no"
    fi
}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
IDLE_BUSY=$(busy_pct)
BUSY_START=$(quiet_note)
cat "$PHOTO" >/dev/null

# atelier: upload, sign, check, then cold, warm and the soak.
start_atelier
account='{"email": "bench@example.com", "password": "transform load bench"}'
token=$(curl -sf -H 'content-type: application/json' --data-binary "$account" \
    "http://127.0.0.1:$ATELIER_PORT/v1/auth/register" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
upload=$(curl -sf -H "authorization: Bearer $token" --data-binary @"$PHOTO" "http://127.0.0.1:$ATELIER_PORT/v1/images")
IMAGE_ID=$(printf '%s' "$upload" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
COLD_COUNT=$((DURATION * COLD_MAX_RPS))
SOAK_COUNT=$((SOAK_DURATION * COLD_MAX_RPS))
python3 "$here/transform_urls.py" cold 0 "$COLD_COUNT" "$ATELIER_KEY" "$IMAGE_ID" "$THUMBOR_KEY" photo.jpg "$OUT/urls/cold"
python3 "$here/transform_urls.py" warm "$ATELIER_KEY" "$IMAGE_ID" "$THUMBOR_KEY" photo.jpg "$OUT/urls/warm"
if [ "$SOAK" -eq 1 ]; then
    python3 "$here/transform_urls.py" cold "$COLD_COUNT" "$SOAK_COUNT" "$ATELIER_KEY" "$IMAGE_ID" "$THUMBOR_KEY" \
        photo.jpg "$OUT/urls/soak"
fi
# The generated paths must be what the tools' own signers write.
sign() { (cd "$OUT" && env "${atelier_env[@]}" "$ATELIER" sign "$IMAGE_ID" "$1" --ext jpg --base ''); }
for pair in "rs:inside:300:1000 cold" "rs:inside:300:0 warm"; do
    read -r opts list <<<"$pair"
    if [ "$(sign "$opts")" != "$(head -n1 "$OUT/urls/$list-atelier.txt")" ]; then
        echo "transform-load: $list URL differs from \`atelier sign\`'s" >&2
        exit 1
    fi
done
"$TPY" - "$THUMBOR_KEY" "$OUT/urls" <<'EOF'
import sys
from libthumbor import CryptoURL
key, urls = sys.argv[1], sys.argv[2]
crypto = CryptoURL(key=key)
want = {
    "cold": crypto.generate(width=300, height=1000, fit_in=True, image_url="photo.jpg"),
    "warm": crypto.generate(width=300, height=0, image_url="photo.jpg"),
}
for name, url in want.items():
    with open(f"{urls}/{name}-thumbor.txt") as f:
        got = f.readline().strip()
    if got != url:
        sys.exit(f"transform-load: thumbor {name} URL {got} differs from libthumbor's {url}")
EOF

ABASE="http://127.0.0.1:$ATELIER_PORT"
check_output atelier-warm "$ABASE$(head -n1 "$OUT/urls/warm-atelier.txt")"
# The first cold URL is checked with one past the run's end, so that the run still misses.
check_output atelier-cold "$ABASE$(sign "rs:inside:300:65000")"
hits0=$(atelier_metric atelier_transform_cache_hits)
run_wrk atelier-cold "$APID" "$ATELIER_PORT" "$OUT/urls/cold-atelier.txt" "$DURATION" "$RSS_INTERVAL" cold
hits1=$(atelier_metric atelier_transform_cache_hits)
if [ -z "${R_WHY[atelier-cold]:-}" ] && [ "$hits1" != "$hits0" ]; then
    R_WHY[atelier-cold]="$((hits1 - hits0)) cache hits during a cold run"
    FAILED=1
fi
run_wrk atelier-warm "$APID" "$ATELIER_PORT" "$OUT/urls/warm-atelier.txt" "$DURATION" "$RSS_INTERVAL" warm
ATELIER_MISSES=$(atelier_metric atelier_transform_cache_misses)
ATELIER_HITS=$(atelier_metric atelier_transform_cache_hits)
if [ "$SOAK" -eq 1 ]; then
    run_wrk atelier-soak "$APID" "$ATELIER_PORT" "$OUT/urls/soak-atelier.txt" "$SOAK_DURATION" "$SOAK_INTERVAL" cold
fi
DERIVED_FILES=$(find "$OUT/atelier-data/blobs" -path '*derived*' -type f | wc -l)
stop_server "$APID"

# thumbor cold: no result storage, so every request renders.
thumbor_conf "$OUT/thumbor-cold.conf" None
start_thumbor "$OUT/thumbor-cold.conf" cold
TBASE="http://127.0.0.1:$THUMBOR_PORT"
THUMBOR_WORKERS=$(pgrep -cP "$TPID" || true)
check_output thumbor-cold "$TBASE$(head -n1 "$OUT/urls/cold-thumbor.txt")"
run_wrk thumbor-cold "$TPID" "$THUMBOR_PORT" "$OUT/urls/cold-thumbor.txt" "$DURATION" "$RSS_INTERVAL" cold
stop_server "$TPID"

# thumbor warm: file result storage, primed by the check's request.
thumbor_conf "$OUT/thumbor-warm.conf" "'thumbor.result_storages.file_storage'"
start_thumbor "$OUT/thumbor-warm.conf" warm
check_output thumbor-warm "$TBASE$(head -n1 "$OUT/urls/warm-thumbor.txt")"
run_wrk thumbor-warm "$TPID" "$THUMBOR_PORT" "$OUT/urls/warm-thumbor.txt" "$DURATION" "$RSS_INTERVAL" warm
THUMBOR_RESULTS=$(find "$OUT/thumbor-results" -type f 2>/dev/null | wc -l)
stop_server "$TPID"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_END=$(quiet_note)

# --- report ------------------------------------------------------------------
mib() { awk -v k="${1:-0}" 'BEGIN { printf "%.0f", k / 1024 }'; }
ms() { awk -v u="${1:-0}" 'BEGIN { printf "%.1f", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
report() {
    echo "## Transform URLs under load: $(basename "$PHOTO") ($PHOTO_SIZE) to 300 px wide, JPEG q$QUALITY 4:2:0"
    echo
    echo "Machine: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores," \
        "$(free -g | awk '/Mem:/ { print $2 }') GiB; $(date -u +%Y-%m-%d)." \
        "CPU busy before the runs (2 s, nothing started yet): $IDLE_BUSY %. Load average at start: $LOAD_START;" \
        "at end: $LOAD_END. rustc running at start: $BUSY_START; at end: $BUSY_END."
    echo "wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }') -t$THREADS -c$CONNECTIONS, ${DURATION} s a run, one server at a time."
    echo "atelier: $("$ATELIER" --version) (libjpeg-turbo SIMD: $SIMD), [transform] max_concurrent = $MAX_CONCURRENT (0 = one per core)," \
        "max_waiting = $MAX_WAITING. thumbor $THUMBOR_VERSION (Pillow $("$TPY" -c 'import PIL; print(PIL.__version__)'))," \
        "--processes $THUMBOR_PROCESSES ($THUMBOR_WORKERS workers), STORAGE no_storage; result storage off (cold) / file (warm)."
    echo
    echo "| server | mode | requests | req/s | p50 ms | p99 ms | server CPU ms/req | RSS before MiB | RSS max MiB | RSS after MiB |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    local label
    for label in "${ROWS[@]}"; do
        local server=${label%%-*} mode=${label#*-}
        if [ -n "${R_WHY[$label]:-}" ]; then
            echo "| $server | $mode | FAILED: ${R_WHY[$label]} | | | | | | | |"
            continue
        fi
        echo "| $server | $mode | ${R_REQ[$label]} | ${R_RPS[$label]} | $(ms "${R_P50[$label]}") |" \
            "$(ms "${R_P99[$label]}") | ${R_CPU[$label]} | $(mib "${R_RSS0[$label]}") | $(mib "${R_RSSMAX[$label]}") |" \
            "$(mib "${R_RSSEND[$label]}") |"
    done
    echo
    if [ -z "${R_WHY[atelier-cold]:-}${R_WHY[thumbor-cold]:-}" ]; then
        local r
        r=$(ratio "${R_RPS[atelier-cold]}" "${R_RPS[thumbor-cold]}")
        echo "Cold req/s, atelier / thumbor: **$r** (goal: at least 3): $(awk -v r="$r" 'BEGIN { print (r >= 3 ? "met" : "not met") }')." \
            "Server CPU per cold request, thumbor / atelier: $(ratio "${R_CPU[thumbor-cold]}" "${R_CPU[atelier-cold]}")."
    fi
    if [ -z "${R_WHY[atelier-warm]:-}${R_WHY[thumbor-warm]:-}" ]; then
        echo "Warm req/s, atelier / thumbor: $(ratio "${R_RPS[atelier-warm]}" "${R_RPS[thumbor-warm]}")."
    fi
    echo "atelier counters after cold and warm: $ATELIER_MISSES renders (misses), $ATELIER_HITS cache hits;" \
        "$DERIVED_FILES derived blobs at the end. thumbor result storage: $THUMBOR_RESULTS files."
    if [ "$SOAK" -eq 1 ] && [ -z "${R_WHY[atelier-soak]:-}" ]; then
        echo
        echo "### Soak: atelier cold for $SOAK_DURATION s, RSS every $SOAK_INTERVAL s"
        echo
        awk -v w="$SOAK_WARMUP" -v tol="$SOAK_TOLERANCE" '
            { t[NR] = $1; r[NR] = $2 }
            END {
                for (i = 1; i <= NR; i++) if (t[i] >= w) { ref = r[i]; reft = t[i]; break }
                for (i = 1; i <= NR; i++) { if (r[i] > max) max = r[i]; if (t[i] >= w && r[i] > maxafter) maxafter = r[i] }
                printf "RSS (MiB): first sample %.0f; at %.0f s (after the warm-up) %.0f; last %.0f (at %.0f s); max %.0f; max after the warm-up %.0f.\n",
                    r[1] / 1024, reft, ref / 1024, r[NR] / 1024, t[NR], max / 1024, maxafter / 1024
                printf "Flat (every sample after %d s at most %.1f x the %d s value): %s.\n",
                    w, tol, w, (maxafter <= tol * ref ? "yes" : "NO")
            }' "$OUT/rss/atelier-soak.txt"
        echo
        echo "Samples (s MiB): $(awk '{ printf "%s%.0f %.0f", (NR > 1 ? ", " : ""), $1, $2 / 1024 }' "$OUT/rss/atelier-soak.txt")."
    fi
    echo
    echo "Outputs checked (bench/check_thumbs.py):"
    local c
    for c in "${CHECKS[@]}"; do
        echo "- $c"
    done
}

report | tee "$OUT/results.md"
echo "transform-load: wrote $OUT/results.md" >&2
if [ "$SOAK" -eq 1 ] && [ -z "${R_WHY[atelier-soak]:-}" ] && grep -q '^Flat .*: NO\.$' "$OUT/results.md"; then
    echo "transform-load: RSS grew during the soak" >&2
    FAILED=1
fi
exit "$FAILED"
