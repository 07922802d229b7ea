#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Job queue throughput: trivial jobs claimed and completed per second through the real
# Queue API (crates/storage/benches/queue.rs), on PostgreSQL and on SQLite, with a queue
# that keeps 100,000 finished jobs of history. Each engine gets a sweep of claimer counts
# (1, 2, 4, 8, 16; 5,000 jobs each) and a main run (8 claimers, 20,000 jobs). Results go
# to stdout and bench/out/queue/results.md.
#
# Exits non-zero when the PostgreSQL main run is below PG_MIN_RATE jobs/s (the target:
# 1,000 on 2 cores), when a run loses a job, or when PostgreSQL is not reachable.
#
# Environment (defaults in brackets):
#   PG_URL [postgres://postgres@127.0.0.1:5432/test]  the server; the benchmark makes a
#                  scratch database on it and drops it afterwards. A local cluster that is
#                  down is started with pg_ctlcluster.
#   PG_MIN_RATE [1000]    the PostgreSQL floor, jobs/s
#   SQLITE_MIN_RATE []    a SQLite floor, none unless set
#   QUEUE_BENCH_JOBS, QUEUE_BENCH_CLAIMERS, QUEUE_BENCH_HISTORY, QUEUE_BENCH_SWEEP,
#   QUEUE_BENCH_SWEEP_JOBS   passed through (see the bench's header)
#   WAIT_QUIET [0]        seconds to wait for an idle machine before measuring
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

case "${1:-}" in
    "") ;;
    -h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "queue: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
PG_MIN_RATE=${PG_MIN_RATE:-1000}
OUT=$root/bench/out/queue
mkdir -p "$OUT"
cd "$root"

# --- build -------------------------------------------------------------------
echo "queue: building the benchmark (release)" >&2
cargo bench -p atelier-storage --bench queue --locked --no-run

# --- PostgreSQL ----------------------------------------------------------------
if ! command -v pg_isready >/dev/null 2>&1; then
    echo "queue: pg_isready not found: install the PostgreSQL client (and server)" >&2
    exit 1
fi
if ! pg_isready -q -d "$PG_URL"; then
    # The machine's own cluster, as scripts/test.sh starts it; a running one is left alone.
    echo "queue: PostgreSQL is not answering at $PG_URL; starting the local cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
    for _ in $(seq 1 50); do pg_isready -q -d "$PG_URL" && break; sleep 0.2; done
    pg_isready -q -d "$PG_URL" || { echo "queue: PostgreSQL at $PG_URL did not come up" >&2; exit 1; }
fi
pg_setting() { psql -X -q -At -d "$PG_URL" -c "SHOW $1" 2>/dev/null || echo "?"; }
PG_VERSION=$(pg_setting server_version)
PG_SETTINGS="fsync=$(pg_setting fsync), synchronous_commit=$(pg_setting synchronous_commit)"
PG_SETTINGS+=", autovacuum=$(pg_setting autovacuum), shared_buffers=$(pg_setting shared_buffers)"

# --- runs ----------------------------------------------------------------------
wait_quiet queue
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RUSTC_START=$(rustc_running)

# run NAME URL MIN_RATE: the bench's stdout to $OUT/NAME.txt; its status in RC_NAME.
run() {
    local name=$1 url=$2 floor=$3 status=0
    echo "queue: measuring $name" >&2
    env -u QUEUE_BENCH_MIN_RATE QUEUE_BENCH_DB="$url" ${floor:+QUEUE_BENCH_MIN_RATE="$floor"} \
        cargo bench -q -p atelier-storage --bench queue --locked >"$OUT/$name.txt" || status=$?
    cat "$OUT/$name.txt"
    printf -v "RC_$name" '%s' "$status"
}
run postgres "$PG_URL" "$PG_MIN_RATE"
run sqlite sqlite "${SQLITE_MIN_RATE:-}"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
RUSTC_END=$(rustc_running)

# --- report --------------------------------------------------------------------
verdict() {
    local name=$1 rc=$2 floor=$3
    if [ "$rc" -ne 0 ] && ! grep -q '^{"queue_bench"' "$OUT/$name.txt"; then
        echo "**$name: FAILED** (exit $rc; see the run's output above)"
    elif [ -z "$floor" ]; then
        echo "$name: no floor."
    elif [ "$rc" -eq 0 ]; then
        echo "$name: **PASS**, at or above $floor jobs/s."
    else
        echo "$name: **BELOW** $floor jobs/s."
    fi
}
table() { grep '^|' "$OUT/$1.txt" || echo "(no results)"; }
report() {
    echo "## Job queue throughput: trivial jobs claimed and completed per second"
    echo
    echo "Machine: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores," \
        "$(free -g | awk '/Mem:/ { print $2 }') GiB; $(date -u +%Y-%m-%d)." \
        "Load average at start: $LOAD_START; at end: $LOAD_END. rustc running at start: $RUSTC_START; at end: $RUSTC_END."
    echo "Commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')."
    echo "PostgreSQL $PG_VERSION ($PG_SETTINGS), on the same machine over TCP; SQLite in WAL mode, one connection."
    echo
    echo "Each run enqueues its jobs (payload \`{}\`, no owner), then that many tasks loop" \
        "\`claim\` → \`complete\` until a claim finds nothing. Before any run the database gets" \
        "${QUEUE_BENCH_HISTORY:-100000} finished jobs of history and an ANALYZE. Latencies are per call, as the task saw them."
    echo
    echo "### PostgreSQL"
    echo
    table postgres
    echo
    verdict postgres "$RC_postgres" "$PG_MIN_RATE"
    echo
    echo "### SQLite"
    echo
    table sqlite
    echo
    verdict sqlite "$RC_sqlite" "${SQLITE_MIN_RATE:-}"
}
report | tee "$OUT/results.md"
echo "queue: wrote $OUT/results.md" >&2
[ "$RC_postgres" -eq 0 ] && [ "$RC_sqlite" -eq 0 ]
