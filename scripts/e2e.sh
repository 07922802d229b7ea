#!/usr/bin/env bash
# End-to-end browser tests of the web app (e2e/): builds the debug binary, starts
# `atelier serve` on a free 127.0.0.1 port over a throw-away data folder (SQLite, local
# blobs, credits on with a small sign-up grant), drives Debian's Chromium headless through
# the pinned `playwright-core` with Node's own test runner, and always stops the server.
#   - Screenshots, one per step, and the server's log land in ${E2E_OUT:-target/e2e}.
#   - Chromium is /usr/bin/chromium (E2E_CHROMIUM overrides). Without it, or without
#     node/npm, the tests are skipped with a note, except under CI=true, where that fails.
#   - Vision steps need ONNX Runtime: ORT_DYLIB_PATH, else scripts/setup-onnxruntime.sh.
# scripts/test.sh runs this after `cargo test`; it can also be run alone.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CHROMIUM=${E2E_CHROMIUM:-/usr/bin/chromium}
OUT=${E2E_OUT:-target/e2e}

unavailable() {
    if [ "${CI:-}" = true ]; then
        echo "e2e.sh: $1; the browser tests cannot run (CI=true: failing)" >&2
        exit 1
    fi
    echo "e2e.sh: $1; skipping the browser tests (install it to run them)" >&2
    exit 0
}
[ -x "$CHROMIUM" ] || unavailable "no Chromium at $CHROMIUM (apt-get install chromium)"
command -v node >/dev/null 2>&1 || unavailable "no node (Node.js 20 or later)"
command -v npm >/dev/null 2>&1 || unavailable "no npm"

cargo build -p atelier --locked --quiet
(cd e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

if [ -z "${ORT_DYLIB_PATH:-}" ]; then
    ORT_DYLIB_PATH=$(scripts/setup-onnxruntime.sh)
fi
export ORT_DYLIB_PATH

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/*.png "$OUT"/server.log

DATA=$(mktemp -d "${TMPDIR:-/tmp}/atelier-e2e.XXXXXX")
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT

# A free port in 18000-18999 (8080 and the ephemeral range are left to others).
PORT=$(node -e '
const net = require("net");
const start = 18000 + Math.floor(Math.random() * 1000);
(function next(i) {
  if (i === 1000) process.exit(1);
  const port = 18000 + ((start - 18000 + i) % 1000);
  const s = net.createServer().once("error", () => next(i + 1));
  s.listen(port, "127.0.0.1", () => s.close(() => console.log(port)));
})(0);')

# Sign-up grant 19: the happy path spends 10 (stylize) + at most 9 (a face pipeline);
# the error test's account stylizes once (10) and is then 1 to 9 short of a second.
# The sign-in limiter is raised: every page load of the tests refreshes a session.
cat >"$DATA/atelier.toml" <<EOF
data_dir = "$DATA/data"
workers = 2

[auth]
registration = "open"
auth_requests_per_minute = 1000

[credits]
enabled = true
signup_grant = 19
EOF

# The file alone configures the server: ATELIER_* variables of the caller's shell are dropped.
(
    for name in $(compgen -e | grep '^ATELIER_' || true); do unset "$name"; done
    RUST_LOG=${RUST_LOG:-warn} exec target/debug/atelier serve --config "$DATA/atelier.toml" \
        --listen "127.0.0.1:$PORT"
) >"$OUT/server.log" 2>&1 &
server=$!

BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$server" 2>/dev/null; then
        echo "e2e.sh: the server exited; its log:" >&2
        cat "$OUT/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
curl -fsS -o /dev/null "$BASE/healthz" || { echo "e2e.sh: no /healthz at $BASE" >&2; exit 1; }

echo "e2e.sh: browser tests against $BASE (screenshots in $OUT)" >&2
status=0
(
    cd e2e
    # E2E_CONFIG: the server's configuration, for tests that run the CLI against the same
    # data (an admin account, a credit grant).
    E2E_BASE_URL="$BASE" E2E_OUT="$OUT" E2E_CHROMIUM="$CHROMIUM" E2E_ROOT="$ROOT" E2E_CONFIG="$DATA/atelier.toml" \
        node --test --test-reporter=spec --test-concurrency=1 --test-timeout=150000 tests/*.test.js
) || status=$?
if [ "$status" != 0 ]; then
    echo "e2e.sh: browser tests failed; the server's log is $OUT/server.log, screenshots in $OUT" >&2
fi
exit "$status"
