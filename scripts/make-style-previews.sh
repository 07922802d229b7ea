#!/usr/bin/env bash
# Regenerates crates/web/assets/styles/00.jpg .. 25.jpg: one small preview of each of the
# 26 built-in `stylize` styles, which the web app's style picker shows (served publicly at
# /ui/styles/NN.jpg and embedded in the binary with the rest of crates/web/assets/).
#
# Why generated, not drawn: a preview is what atelier itself makes of one photo in that
# style, so the picker shows exactly what the op does. Provenance: atelier's own CLI
# (`atelier process`), the checkout's models/multistyle26.onnx, and
# test-data/photos/astronaut.jpg (see test-data's sources), centre-cropped to a square,
# stylized at 256 px a side with the op's defaults (strength 1, colours not kept), then
# shrunk to 96x96 and written as baseline JPEG at quality 80 (each well under 6 KB).
#
# Usage: scripts/make-style-previews.sh   (builds the debug binary; needs ONNX Runtime:
#                                          ORT_DYLIB_PATH, else scripts/setup-onnxruntime.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

PHOTO=test-data/photos/astronaut.jpg
DEST=crates/web/assets/styles
STYLES=26
SIDE=96
MAX_BYTES=6144

if [ -z "${ORT_DYLIB_PATH:-}" ]; then
    ORT_DYLIB_PATH="$(scripts/setup-onnxruntime.sh)"
fi
export ORT_DYLIB_PATH

cargo build --quiet -p atelier
ATELIER=target/debug/atelier

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$DEST"
for ((style = 0; style < STYLES; style++)); do
    name=$(printf '%02d' "$style")
    "$ATELIER" process \
        --op "thumbnail:width=256,height=256,crop=true" \
        --op "stylize:style=$style,max_side=256" \
        --op "thumbnail:width=$SIDE,height=$SIDE,crop=true" \
        --op "convert:format=jpeg,quality=80" \
        --output "$WORK/$name" "$PHOTO" >/dev/null
    out=$(find "$WORK/$name" -type f -name '*.jpg' | head -n 1)
    if [ -z "$out" ]; then
        echo "make-style-previews.sh: style $style made no output" >&2
        exit 1
    fi
    size=$(wc -c <"$out")
    if [ "$size" -gt "$MAX_BYTES" ]; then
        echo "make-style-previews.sh: style $style preview is $size bytes (over $MAX_BYTES)" >&2
        exit 1
    fi
    cp "$out" "$DEST/$name.jpg"
    echo "$DEST/$name.jpg ($size bytes)"
done
