#!/usr/bin/env bash
# The test command (README.md, .ci/run): brings up what the tests talk to on this machine,
# runs the whole workspace's tests against it, and stops what it started.
#   - PostgreSQL: the machine's own cluster (127.0.0.1:5432, trust auth, database `test`),
#     started if it is down; tests create and drop their own databases in it
#   - an S3-compatible server: moto, from PyPI, in a venv under ~/.cache (never in the repo)
#   - the ONNX Runtime library and the MNIST test digits the vision tests load, fetched
#     (pinned, checksummed) by scripts/setup-onnxruntime.sh into ~/.cache, once
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.1.22
MOTO_PORT=${ATELIER_TEST_S3_PORT:-59123}
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/atelier-test/moto-$MOTO_VERSION
started=()

PG_URL=${ATELIER_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}

cleanup() {
    for pid in "${started[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    # Each queue test makes a database; drop them so runs do not pile up.
    if command -v psql >/dev/null 2>&1; then
        psql -q -h 127.0.0.1 -U postgres -d test -At \
            -c "SELECT datname FROM pg_database WHERE datname LIKE 'atelier_test_%'" 2>/dev/null |
            while read -r db; do psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
    fi
}
trap cleanup EXIT

# --- PostgreSQL ------------------------------------------------------------------------
if command -v pg_isready >/dev/null 2>&1; then
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        echo "test.sh: starting PostgreSQL" >&2
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
        for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
    fi
    export ATELIER_TEST_POSTGRES="$PG_URL"
else
    echo "test.sh: no PostgreSQL client tools here; the queue tests run on SQLite only" >&2
fi

# --- S3: moto ------------------------------------------------------------------------
if [ ! -x "$VENV/bin/moto_server" ]; then
    echo "test.sh: installing moto $MOTO_VERSION into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "moto[server]==$MOTO_VERSION"
fi
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"${TMPDIR:-/tmp}/atelier-moto.log" 2>&1 &
started+=($!)
for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$MOTO_PORT/"; then
        break
    fi
    sleep 0.1
done
# moto creates buckets without credentials checks; the tests use one bucket.
curl -fsS -o /dev/null -X PUT "http://127.0.0.1:$MOTO_PORT/atelier-test"
export ATELIER_TEST_S3="http://127.0.0.1:$MOTO_PORT"
export ATELIER_TEST_S3_BUCKET=atelier-test

# --- ONNX Runtime ------------------------------------------------------------------------
# The vision crate loads the library at run time; its model tests find it through
# ORT_DYLIB_PATH (and fail under CI=true without it).
ORT_DYLIB_PATH=$(scripts/setup-onnxruntime.sh)
export ORT_DYLIB_PATH

cargo test --workspace --locked "$@"

# --- End-to-end browser tests (scripts/e2e.sh) ----------------------------------------------
# The web app in headless Chromium against a real `atelier serve`. Skipped with a note when
# Chromium or Node is missing, except under CI=true, where that fails. ATELIER_TEST_SKIP_E2E=1
# skips them (for a quick local run of some Rust tests).
if [ "${ATELIER_TEST_SKIP_E2E:-}" != 1 ]; then
    scripts/e2e.sh
fi
