#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Face recall and precision of atelier's face detection on real multi-face photos,
# with the tiled passes on and off (crates/vision/examples/face_recall.rs), against the
# face centres marked by hand in bench/faces-truth.json. Results: bench/README.md.
#
# The photos come from two registry packages, pinned by version and sha256 (the package
# and each photo taken out of it):
#   - npm @vladmandic/face-api@1.7.15: package/demo/sample1.jpg .. sample6.jpg
#     (1920 px wide group photos, 22 faces); the package is MIT, the photos' own licence
#     is not stated;
#   - PyPI insightface==2.1 (py3-none-any wheel): insightface/data/images/t1.jpg
#     (1280 x 886, 6 faces); the photos' licence is not stated either.
# So they are never committed: they are downloaded to a temporary folder and kept in
# ${XDG_CACHE_HOME:-$HOME/.cache}/atelier-bench/faces/ (FACES_DIR to move it), where a
# second run finds them, checks them and downloads nothing.
#
# Usage: bench/faces-recall.sh [--draw OUT_DIR]
#   --draw writes each photo at half size with the boxes and centres on it.
# Needs npm, python3 with pip, cargo, and the ONNX Runtime library from
# scripts/setup-onnxruntime.sh (run here when ORT_DYLIB_PATH is not set).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

FACE_API=@vladmandic/face-api@1.7.15
FACE_API_TGZ=vladmandic-face-api-1.7.15.tgz
FACE_API_SHA256=0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031
INSIGHTFACE=insightface==2.1
INSIGHTFACE_WHEEL=insightface-2.1-py3-none-any.whl
INSIGHTFACE_SHA256=dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399

# photo name, path in its package, sha256
PHOTOS=(
    "sample1.jpg package/demo/sample1.jpg 8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51"
    "sample2.jpg package/demo/sample2.jpg 7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691"
    "sample3.jpg package/demo/sample3.jpg 8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936"
    "sample4.jpg package/demo/sample4.jpg 729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc"
    "sample5.jpg package/demo/sample5.jpg 6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938"
    "sample6.jpg package/demo/sample6.jpg 9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87"
    "t1.jpg insightface/data/images/t1.jpg 47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489"
)

DEST=${FACES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/atelier-bench/faces}

say() { echo "faces-recall: $*" >&2; }
die() { say "error: $*"; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
check() { # file, expected sha256
    local got
    got=$(sha256_of "$1")
    [ "$got" = "$2" ] || die "$1: sha256 $got, expected $2"
}

have_all() {
    local entry name _ sum
    for entry in "${PHOTOS[@]}"; do
        read -r name _ sum <<<"$entry"
        [ -f "$DEST/$name" ] && [ "$(sha256_of "$DEST/$name")" = "$sum" ] || return 1
    done
}

if ! have_all; then
    command -v npm >/dev/null || die "npm is needed to fetch $FACE_API"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    say "fetching $FACE_API and $INSIGHTFACE"
    (cd "$tmp" && npm pack --silent "$FACE_API" >/dev/null)
    check "$tmp/$FACE_API_TGZ" "$FACE_API_SHA256"
    tar -xzf "$tmp/$FACE_API_TGZ" -C "$tmp" package/demo
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "$INSIGHTFACE"
    check "$tmp/$INSIGHTFACE_WHEEL" "$INSIGHTFACE_SHA256"
    python3 -m zipfile -e "$tmp/$INSIGHTFACE_WHEEL" "$tmp"
    mkdir -p "$DEST"
    for entry in "${PHOTOS[@]}"; do
        read -r name path sum <<<"$entry"
        check "$tmp/$path" "$sum"
        cp "$tmp/$path" "$DEST/$name"
    done
fi

if [ -z "${ORT_DYLIB_PATH:-}" ]; then
    ORT_DYLIB_PATH=$("$repo/scripts/setup-onnxruntime.sh")
    export ORT_DYLIB_PATH
fi
cd "$repo"
exec cargo run --quiet --locked --release -p atelier-vision --example face_recall -- \
    "$DEST" "$here/faces-truth.json" "$@"
