#!/usr/bin/env bash
# Docker build step (see Dockerfile): puts the ONNX Runtime library that
# scripts/setup-onnxruntime.sh fetches (a pinned PyPI wheel, checked by sha256) under
# OUT/lib, and the licence and third-party notices from that same wheel under
# OUT/licenses/onnxruntime, since the image redistributes the library.
#   deploy/docker/fetch-onnxruntime.sh OUT
# Needs python3 with pip and PyPI, like the setup script; Linux x86_64 only.
set -euo pipefail
out=${1:?usage: deploy/docker/fetch-onnxruntime.sh OUT_DIR}
cd "$(dirname "$0")/../.."

lib=$(bash scripts/setup-onnxruntime.sh)
name=$(basename "$lib")
version=${name#libonnxruntime.so.}
install -D -m 0644 "$lib" "$out/lib/$name"

# The setup script keeps only the library; the notices come from the wheel again, which
# pip's cache still holds. Same tags as the setup script, so the same wheel.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" \
    --python-version 3.11 --implementation cp --abi cp311 --platform manylinux_2_28_x86_64 \
    "onnxruntime==$version" >&2
python3 - "$work" "$lib" "$out/licenses/onnxruntime" <<'PY'
import glob, hashlib, os, sys, zipfile
work, lib, dest = sys.argv[1:]
wheels = glob.glob(os.path.join(work, "onnxruntime-*.whl"))
if len(wheels) != 1:
    sys.exit(f"fetch-onnxruntime: expected one onnxruntime wheel, got {wheels}")
with zipfile.ZipFile(wheels[0]) as wheel, open(lib, "rb") as installed:
    # Notices from another build than the library would be worthless: compare the bytes.
    member = "onnxruntime/capi/" + os.path.basename(lib)
    if hashlib.sha256(wheel.read(member)).digest() != hashlib.sha256(installed.read()).digest():
        sys.exit(f"fetch-onnxruntime: {member} in {wheels[0]} is not the library the setup script checked")
    os.makedirs(dest, exist_ok=True)
    for notice in ("LICENSE", "ThirdPartyNotices.txt"):
        with open(os.path.join(dest, notice), "wb") as out:
            out.write(wheel.read("onnxruntime/" + notice))
PY
echo "fetch-onnxruntime: $name and its notices in $out" >&2
