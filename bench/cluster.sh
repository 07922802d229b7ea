#!/usr/bin/env bash
# atelier as a cluster on one machine, in separate processes: one command per promise.
#   bench/cluster.sh scale     1 API + N workers (1, 2, 4), 2,000 thumbnail jobs each, and
#                              the queue alone (trivial jobs claimed and completed per second)
#   bench/cluster.sh fault     workers killed every few seconds, PostgreSQL restarted,
#                              the S3 server stopped for 10 s: nothing lost or doubled
#   bench/cluster.sh rolling   SIGTERM to each API replica and worker under load
#   bench/cluster.sh soak      5 minutes at saturation: 429s, flat latency, flat RSS
# Each prints its figures, writes bench/out/cluster/<scenario>.md and exits non-zero when
# a promise is broken. What they start, and stop again:
#   - a private PostgreSQL cluster (initdb in a temporary folder, its own port), so that
#     restarting it disturbs nothing else on the machine;
#   - moto, the S3 server the tests use (scripts/test.sh's venv), on its own port;
#   - target/release/atelier, built first unless ATELIER names a binary.
# Knobs (environment): JOBS, WORKERS ("1 2 4"), PACE, KILL_EVERY, LEASE_MS, SOAK_SECONDS,
# MAX_QUEUED, THREADS; see bench/cluster/<scenario>.py.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-}
case "$MODE" in scale | fault | rolling | soak) ;; *) echo "usage: $0 scale|fault|rolling|soak" >&2; exit 2 ;; esac

OUT=bench/out/cluster
mkdir -p "$OUT"
export CLUSTER_OUT=$PWD/$OUT

if [ -z "${ATELIER:-}" ]; then
    cargo build --release -p atelier --locked >&2
    ATELIER=$PWD/target/release/atelier
fi
export ATELIER

started=()
cleanup() {
    for pid in "${started[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
    if [ -n "${PGDATA_DIR:-}" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$PGDATA_DIR"
    fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- a private PostgreSQL -----------------------------------------------------------------
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "cluster.sh: PostgreSQL's server binaries are missing (apt-get install postgresql)" >&2; exit 2; }
if [ "$(id -u)" = 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi
PGDATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/atelier-cluster-pg.XXXXXX")
[ "$(id -u)" = 0 ] && chown postgres "$PGDATA_DIR"
PGPORT=$(free_port)
as_pg "$PGBIN/initdb" -D "$PGDATA_DIR/data" -A trust -U postgres >/dev/null
# In its configuration file, not on pg_ctl's command line, so a stop and start keeps them.
printf "port = %s\nunix_socket_directories = '%s'\nlisten_addresses = '127.0.0.1'\nmax_connections = 300\n" \
    "$PGPORT" "$PGDATA_DIR" >>"$PGDATA_DIR/data/postgresql.conf"
as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR/data" -l "$PGDATA_DIR/log" -w start >/dev/null
export CLUSTER_PG_BASE="postgres://postgres@127.0.0.1:$PGPORT"
# The fault scenario stops and starts it through this.
if [ "$(id -u)" = 0 ]; then
    export CLUSTER_PG_CTL="runuser -u postgres -- $PGBIN/pg_ctl -D $PGDATA_DIR/data -l $PGDATA_DIR/log"
else
    export CLUSTER_PG_CTL="$PGBIN/pg_ctl -D $PGDATA_DIR/data -l $PGDATA_DIR/log"
fi

# --- moto, the S3 server ------------------------------------------------------------------
MOTO_VERSION=5.1.22
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/atelier-test/moto-$MOTO_VERSION
if [ ! -x "$VENV/bin/moto_server" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "moto[server]==$MOTO_VERSION"
fi
S3PORT=$(free_port)
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3PORT" >"$OUT/moto.log" 2>&1 &
started+=($!)
export CLUSTER_S3_PID=$!
export CLUSTER_S3="http://127.0.0.1:$S3PORT"
for _ in $(seq 1 100); do curl -fs -o /dev/null "$CLUSTER_S3/" && break; sleep 0.1; done

echo "cluster.sh: $MODE on $(nproc) cores; PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on :$PGPORT, moto $MOTO_VERSION on :$S3PORT" >&2
status=0
python3 bench/cluster "$MODE" || status=$?
if [ "$MODE" = scale ]; then
    # The queue alone, trivial jobs claimed and completed, on the same private cluster.
    PG_URL="$CLUSTER_PG_BASE/postgres" bench/queue.sh || status=$?
fi
exit "$status"
