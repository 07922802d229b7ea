#!/usr/bin/env bash
# The test command (README.md, .ci/run): brings up what the tests talk to on this machine,
# runs the whole workspace's tests against it, and stops what it started.
#   - an S3-compatible server: moto, from PyPI, in a venv under ~/.cache (never in the repo)
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.1.22
MOTO_PORT=${ATELIER_TEST_S3_PORT:-59123}
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/atelier-test/moto-$MOTO_VERSION
started=()

cleanup() {
    for pid in "${started[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

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

cargo test --workspace --locked "$@"
