#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the photo set for the thumbnail benchmark in bench/photos/ (gitignored).
#
# The photos are real ones: scikit-image ships a few public-domain / CC0
# photographs inside its wheel (skimage/data/), and a wheel comes from the
# Python package registry, the only kind of outside source this project may
# rely on. They are small (300x451 to 1411x1411), so the benchmark files are
# upscaled from them to camera-like sizes. Provenance and licences: bench/README.md.
#
# Idempotent: a file that already exists is kept, and a finished set is only
# re-listed. Bump RECIPE when the recipe changes so old sets are rebuilt.
#
# Output:
#   photos/orig/   the wheel's photos as shipped (PNG or JPEG)
#   photos/src/    the same as baseline JPEG q95 (converted where they were PNG)
#   photos/set/    the benchmark set, 2 to 24 MP, baseline JPEG q90 4:2:0
#   photos/huge/20000x20000.jpg   a 400 MP baseline JPEG q90 4:2:0
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

PHOTOS=${PHOTOS_DIR:-$here/photos}
# 0.25.2 publishes a cp311 manylinux2014 x86_64 wheel; the exact pin keeps the
# photo bytes (and so the benchmark input) the same from run to run.
SKIMAGE_VERSION=0.25.2
RECIPE="skimage-$SKIMAGE_VERSION/recipe-2"

# The wheel's colour photographs with a licence stated in the wheel itself.
# Left out: motorcycle_left/right.png (Middlebury stereo set; the wheel states
# no licence for them), and the grey-level or microscopy samples.
SOURCES=(astronaut.png chelsea.png coffee.png rocket.jpg retina.jpg hubble_deep_field.jpg)

# The benchmark set: every source photo at each of these sizes (megapixels),
# 30 files and 360 MP in all. Several photos per size so that no one photo's
# content decides the timing, and enough work per run (seconds, not tenths)
# that process start and library imports stay a small part of it.
SIZES_MP=(2 6 12 16 24)
# The huge file is square, so it comes from a square photo; 512 * 39.0625 = 20000 exactly.
HUGE_SOURCE=astronaut.png
HUGE_SCALE=39.0625
HUGE_SIDE=20000

apt_ensure libvips-tools imagemagick unzip
CONVERT=$(find_convert) || { echo "fetch-photos: no ImageMagick convert found" >&2; exit 1; }

mkdir -p "$PHOTOS/orig" "$PHOTOS/src" "$PHOTOS/set" "$PHOTOS/set-grain" "$PHOTOS/huge"

stamp="$PHOTOS/.recipe"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" != "$RECIPE" ]; then
    # Another recipe made these files: rebuild rather than mix two sets.
    echo "fetch-photos: recipe changed ($(cat "$stamp") -> $RECIPE), rebuilding" >&2
    rm -rf "${PHOTOS:?}/orig" "${PHOTOS:?}/src" "${PHOTOS:?}/set" "${PHOTOS:?}/set-grain" "${PHOTOS:?}/huge"
    mkdir -p "$PHOTOS/orig" "$PHOTOS/src" "$PHOTOS/set" "$PHOTOS/set-grain" "$PHOTOS/huge"
fi

# --- 1. the wheel's photos -------------------------------------------------
need_wheel=0
for s in "${SOURCES[@]}"; do
    [ -f "$PHOTOS/orig/$s" ] || need_wheel=1
done
if [ "$need_wheel" -eq 1 ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # --only-binary with an explicit platform and Python version picks the same
    # wheel whatever the local Python is; --no-deps because only its data is used.
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp \
        -d "$tmp" "scikit-image==$SKIMAGE_VERSION"
    wheel=$(find "$tmp" -maxdepth 1 -name 'scikit_image-*.whl' | head -n1)
    [ -n "$wheel" ] || { echo "fetch-photos: no wheel downloaded" >&2; exit 1; }
    members=()
    for s in "${SOURCES[@]}"; do members+=("skimage/data/$s"); done
    unzip -q -o "$wheel" "${members[@]}" -d "$tmp/x"
    for s in "${SOURCES[@]}"; do
        cp "$tmp/x/skimage/data/$s" "$PHOTOS/orig/$s"
    done
fi

# --- 2. sources as JPEG q95 ------------------------------------------------
for s in "${SOURCES[@]}"; do
    name=${s%.*}
    out="$PHOTOS/src/$name.jpg"
    [ -f "$out" ] && continue
    case "$s" in
        # Already JPEG: copy the bytes, re-encoding would only lose quality.
        *.jpg) cp "$PHOTOS/orig/$s" "$out" ;;
        # Written to a temporary name first, so an interrupted run leaves no
        # half file that a later run would take as done.
        *) vips copy "$PHOTOS/orig/$s" "$PHOTOS/src/.tmp-$name.jpg[Q=95,strip]"
           mv "$PHOTOS/src/.tmp-$name.jpg" "$out" ;;
    esac
done

# --- 3. the 2-24 MP set ----------------------------------------------------
# Upscaled from the wheel's originals (lossless where it ships PNG), not from
# the q95 copies, so as not to stack two JPEG generations.
for mp in "${SIZES_MP[@]}"; do
    for s in "${SOURCES[@]}"; do
        src=${s%.*}
        out="$PHOTOS/set/$(printf '%02d' "$mp")mp-$src.jpg"
        [ -f "$out" ] && continue
        tmpout="$PHOTOS/set/.tmp-$(basename "$out")"
        # ImageMagick does the upscale because libvips has no Lanczos upsampler
        # (`vips resize` switches to a bicubic interpolator when scale > 1).
        # N@ = largest size of at most N pixels with the photo's aspect ratio.
        # Baseline (non-progressive), q90, 4:2:0 (2x2 luma sampling), no
        # metadata: what a typical camera or phone export looks like.
        # -quiet: hubble_deep_field.jpg carries XMP that IM6 warns about parsing.
        "$CONVERT" -quiet "$PHOTOS/orig/$s" -filter Lanczos -resize "$((mp * 1000000))@" \
            -quality 90 -sampling-factor 2x2,1x1,1x1 -interlace none -strip "$tmpout"
        mv "$tmpout" "$out"
    done
done

# --- 3b. the same set with sensor-like grain ---------------------------------
# Upscaled photos are far smoother than camera files (0.4-1.9 bits/px against 2-4),
# and entropy decoding is most of a thumbnailer's time. Gaussian grain brings them to
# camera-like bits/px, so the comparison is not flattered by easy files.
for f in "$PHOTOS"/set/*.jpg; do
    out="$PHOTOS/set-grain/$(basename "$f")"
    [ -f "$out" ] && continue
    tmpout="$PHOTOS/set-grain/.tmp-$(basename "$f")"
    "$CONVERT" -quiet "$f" -seed 7 -attenuate 0.6 +noise Gaussian \
        -quality 90 -sampling-factor 2x2,1x1,1x1 -interlace none -strip "$tmpout"
    mv "$tmpout" "$out"
done

# --- 4. the huge file ------------------------------------------------------
huge="$PHOTOS/huge/${HUGE_SIDE}x${HUGE_SIDE}.jpg"
if [ ! -f "$huge" ]; then
    echo "fetch-photos: making $huge (streams through libvips; takes a minute)" >&2
    # libvips streams: it never holds the 400 MP image in memory, where
    # ImageMagick would need GiBs and exceed Debian's policy limits.
    vips resize "$PHOTOS/orig/$HUGE_SOURCE" \
        "$PHOTOS/huge/.tmp-huge.jpg[Q=90,strip,subsample-mode=on,interlace=false]" "$HUGE_SCALE"
    mv "$PHOTOS/huge/.tmp-huge.jpg" "$huge"
fi
got=$(vipsheader -f width "$huge")x$(vipsheader -f height "$huge")
if [ "$got" != "${HUGE_SIDE}x${HUGE_SIDE}" ]; then
    echo "fetch-photos: $huge is $got, expected ${HUGE_SIDE}x${HUGE_SIDE}" >&2
    exit 1
fi

echo "$RECIPE" >"$stamp"

# --- 5. what was made ------------------------------------------------------
# bits/px shows how much entropy-coded data a decoder must read per pixel.
# Upscaled photos are smoother than a camera's, so expect well under the
# 2-4 bits/px of a camera JPEG at q90.
source_of() {
    local base
    base=$(basename "$1" .jpg)
    case "$1" in
        */set/*) echo "${base#*mp-}" ;;
        */huge/*) echo "${HUGE_SOURCE%.*}" ;;
        *) echo "$base" ;;
    esac
}
echo
echo "| file | source photo | size (px) | MP | bytes | bits/px |"
echo "| --- | --- | --- | ---: | ---: | ---: |"
for f in "$PHOTOS"/src/*.jpg "$PHOTOS"/set/*.jpg "$huge"; do
    w=$(vipsheader -f width "$f")
    h=$(vipsheader -f height "$f")
    bytes=$(stat -c %s "$f")
    awk -v f="${f#"$PHOTOS"/}" -v s="$(source_of "$f")" -v w="$w" -v h="$h" -v b="$bytes" \
        'BEGIN { printf "| %s | %s | %dx%d | %.1f | %d | %.2f |\n", f, s, w, h, w*h/1e6, b, b*8/(w*h) }'
done
