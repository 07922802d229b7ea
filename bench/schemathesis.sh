#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# API conformance: Schemathesis generates requests from /openapi.json (valid ones and
# invalid ones) against a fresh `atelier serve`, and fails on any 5xx or any answer the
# document does not describe: an undocumented status, another content type, a body that
# does not validate against its schema, a missing documented header. What is checked is in
# bench/schemathesis.toml; bench/schemathesis_hooks.py aims part of the requests at an
# image, a job, a pipeline and an upload seeded here first, so success paths are covered.
#
# The server gets a throwaway data folder (SQLite, a blob folder) and one worker, on a
# port the kernel picks on 127.0.0.1; it is stopped on exit. Exit code: 0 when every
# check passed, non-zero otherwise. Reports: bench/out/schemathesis/ (JUnit XML, NDJSON).
#
# Arguments go to `schemathesis run` (e.g. `--checks all` for the stricter checks too).
#
# Environment:
#   ATELIER          the atelier binary (default: target/debug/atelier, or
#                    target/release/atelier with BENCH_RELEASE=1, built with cargo
#                    unless BENCH_BUILD=0)
#   BENCH_RELEASE    1 = build and test the release binary (default 0)
#   BENCH_BUILD      0 = never run cargo (default 1)
#   MAX_EXAMPLES     generated test cases per operation and phase (default 100)
#   SEED             Hypothesis seed, for a reproducible run (default 20240601);
#                    SEED=random draws a new one
#   PHASES           Schemathesis phases (default examples,coverage,fuzzing,stateful)
#   SCHEMATHESIS_VENV  virtualenv for Schemathesis (default
#                    ~/.cache/atelier-bench/schemathesis-VERSION)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

# Pinned, with everything it pulls in (bench/schemathesis-requirements.txt), so that a
# rerun generates the same requests from the same seed.
SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${MAX_EXAMPLES:-100}
SEED=${SEED:-20240601}
PHASES=${PHASES:-examples,coverage,fuzzing,stateful}
OUT="$here/out/schemathesis"

say() { echo "schemathesis.sh: $*" >&2; }

# --- Schemathesis ------------------------------------------------------------------
# In its own virtualenv, outside the repository, like the other bench tools.
VENV=${SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/atelier-bench/schemathesis-$SCHEMATHESIS_VERSION}
ST="$VENV/bin/schemathesis"
if ! "$ST" --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
    say "installing Schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$here/schemathesis-requirements.txt"
fi

# --- atelier -------------------------------------------------------------------------
if [ -z "${ATELIER:-}" ]; then
    profile=debug
    cargo_args=(build --locked -p atelier)
    if [ "${BENCH_RELEASE:-0}" = 1 ]; then
        profile=release
        cargo_args+=(--release)
    fi
    ATELIER="$root/target/$profile/atelier"
    if [ "${BENCH_BUILD:-1}" != 0 ]; then
        say "building $ATELIER"
        (cd "$root" && cargo "${cargo_args[@]}")
    fi
fi
[ -x "$ATELIER" ] || { say "no atelier binary at $ATELIER"; exit 1; }

# --- the server ----------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/atelier-schemathesis.XXXXXX")
server_pid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Started from the empty work folder so that no ./atelier.toml is read; port 0 lets the
# kernel pick a free port, which the server prints.
# Tokens outlive the run, and sign-in limits stay out of the way of the generated requests.
export ATELIER_AUTH__ACCESS_TTL_SECS=14400 ATELIER_AUTH__AUTH_REQUESTS_PER_MINUTE=100000
(cd "$work" && exec "$ATELIER" serve --listen 127.0.0.1:0 --data-dir "$work/data" --workers 1) \
    >"$work/server.log" 2>&1 &
server_pid=$!
base=""
for _ in $(seq 1 200); do
    base=$(sed -n 's|.*listening on \(http://127\.0\.0\.1:[0-9]*\).*|\1|p' "$work/server.log" | head -n 1)
    [ -n "$base" ] && curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; say "the server exited"; exit 1; }
    base=""
    sleep 0.1
done
[ -n "$base" ] || { cat "$work/server.log" >&2; say "the server did not answer /healthz"; exit 1; }
say "atelier at $base"

# --- seed data -----------------------------------------------------------------------
# json FIELD < JSON: prints one field of a JSON object (Python: no jq needed).
json() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# One admin account does everything (admin routes included), with credits for whatever the
# run submits; made the way an operator makes the first admin.
(cd "$work" && ATELIER_PASSWORD='generated requests only' "$ATELIER" user add schemathesis@example.com --admin \
    --data-dir "$work/data" >/dev/null &&
    "$ATELIER" credits grant schemathesis@example.com 100000000 --data-dir "$work/data" >/dev/null)
account='{"email": "schemathesis@example.com", "password": "generated requests only"}'
token=$(curl -fsS -H 'content-type: application/json' --data-binary "$account" "$base/v1/auth/login" | json access_token)
auth="authorization: Bearer $token"
post_json() { curl -fsS -H "$auth" -H 'content-type: application/json' --data-binary "$2" "$base$1"; }

image=$(curl -fsS -H "$auth" --data-binary @"$root/test-data/photos/rocket.jpg" "$base/v1/images" | json id)
pipeline=seeded-thumbs
post_json /v1/pipelines \
    '{"name": "'$pipeline'", "pipeline": {"version": 1, "steps": [{"op": "thumbnail", "width": 64}, {"op": "convert", "format": "webp"}]}}' \
    >/dev/null
job=$(post_json /v1/jobs '{"pipeline": "'$pipeline'", "images": ["'"$image"'"]}' | json id)
output=""
for _ in $(seq 1 300); do
    job_json=$(curl -fsS -H "$auth" "$base/v1/jobs/$job")
    state=$(json state <<<"$job_json")
    case "$state" in
        succeeded)
            # The first output's name under the job: its blob key less `jobs/{id}/`.
            output=$(python3 -c '
import json, sys
job = json.load(sys.stdin)
print(job["results"]["items"][0]["outputs"][0]["key"].split("/", 2)[2])' <<<"$job_json")
            break
            ;;
        queued | running) sleep 0.1 ;;
        *) say "the seeded job ended $state: $job_json"; exit 1 ;;
    esac
done
[ -n "$output" ] || { say "the seeded job did not finish"; exit 1; }
upload=$(post_json /v1/uploads '{"size": 1000}' | json id)
# DELETE gets its own image and upload (bench/schemathesis_hooks.py).
doomed_image=$(curl -fsS -H "$auth" --data-binary @"$root/test-data/photos/chelsea.png" "$base/v1/images" | json id)
doomed_upload=$(post_json /v1/uploads '{"size": 1000}' | json id)
say "seeded image $image, pipeline $pipeline, job $job (output $output), upload $upload"

# --- the run -------------------------------------------------------------------------
rm -rf "$OUT"
mkdir -p "$OUT"
seed_args=()
[ "$SEED" = random ] || seed_args=(--seed "$SEED")
say "Schemathesis $SCHEMATHESIS_VERSION: $MAX_EXAMPLES examples per operation, phases $PHASES, seed $SEED"
status=0
# PYTHONDONTWRITEBYTECODE: loading the hooks leaves no __pycache__ in bench/.
env SCHEMATHESIS_HOOKS="$here/schemathesis_hooks.py" PYTHONDONTWRITEBYTECODE=1 \
    ATELIER_SEED_IMAGE="$image" ATELIER_SEED_PIPELINE="$pipeline" ATELIER_SEED_JOB="$job" \
    ATELIER_SEED_OUTPUT="$output" ATELIER_SEED_UPLOAD="$upload" \
    ATELIER_SEED_IMAGE_TO_DELETE="$doomed_image" ATELIER_SEED_UPLOAD_TO_DELETE="$doomed_upload" \
    "$ST" --config-file "$here/schemathesis.toml" run "$base/openapi.json" --header "$auth" \
    --phases "$PHASES" --max-examples "$MAX_EXAMPLES" "${seed_args[@]}" \
    --workers 1 --request-timeout 30 --no-color \
    --report junit,ndjson --report-dir "$OUT" \
    --generation-database none "$@" 2>&1 | tee "$OUT/output.txt" || status=$?

# The server must have survived the run, and logged no panic.
if ! kill -0 "$server_pid" 2>/dev/null; then
    say "the server died during the run"
    status=1
fi
if grep -q 'panicked' "$work/server.log"; then
    grep -B2 -A8 'panicked' "$work/server.log" >&2
    say "the server panicked during the run"
    status=1
fi
cp "$work/server.log" "$OUT/server.log"

# --- summary -------------------------------------------------------------------------
# Schemathesis printed its own summary above; this is the one line to read.
operations=$(sed -n 's/^ *Tested: \([0-9]*\).*/\1/p' "$OUT/output.txt" | head -n 1)
cases=$(sed -n '/^Test cases:/{n;s/^ *//;p;}' "$OUT/output.txt" | head -n 1)
echo
if [ "$status" -eq 0 ]; then
    echo "schemathesis.sh: PASS: ${operations:-?} operations, test cases: ${cases:-?}; no 5xx, no answer outside the document"
else
    echo "schemathesis.sh: FAIL (exit $status): ${operations:-?} operations, test cases: ${cases:-?}"
    echo "schemathesis.sh: details in ${OUT#"$root"/}/output.txt, the server's log in ${OUT#"$root"/}/server.log"
fi
exit "$status"
