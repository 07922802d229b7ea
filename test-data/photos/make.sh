#!/usr/bin/env bash
# Regenerates every file in test-data/photos/ from pinned upstream sources.
# See test-data/README.md for what each file is and where it comes from.
#
# Idempotent: running it again produces byte-identical files (same pinned
# Pillow, same inputs). Nothing outside a temporary work dir is installed,
# except that the ICC profile is taken from the Debian package
# icc-profiles-free (extracted with `apt-get download` + `dpkg-deb -x` if the
# installed copy is missing or differs).
#
# Usage: test-data/photos/make.sh            (needs python3 >= 3.9, pip, network
#                                             access to the package registries)
#        KEEP_WORK=1 test-data/photos/make.sh  keeps the work dir for inspection
set -euo pipefail

# ---- pinned inputs ---------------------------------------------------------
SKIMAGE_VERSION=0.22.0
SKIMAGE_WHEEL=scikit_image-0.22.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
SKIMAGE_WHEEL_SHA256=c5c378db54e61b491b9edeefff87e49fcf7fdf729bb93c777d7a5f15d36f743e
PILLOW_VERSION=11.3.0
PIEXIF_VERSION=1.1.3
ICC_DEB_PACKAGE=icc-profiles-free
ICC_DEB_VERSION=2.0.1+dfsg-1.1
ICC_PATH=/usr/share/color/icc/sRGB.icc
ICC_SHA256=2a92d4bae450b76d8b0aa42193df974d75f62738ecebf74f01c5e75b12a95796

# sha256 of the source images inside the wheel (same as skimage/data/_registry.py)
declare -A SRC_SHA256=(
  [astronaut.png]=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
  [chelsea.png]=596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb
  [coffee.png]=cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7
  [logo.png]=f2c57fe8af089f08b5ba523d95573c26e62904ac5967f4c8851b27d033690168
  [rocket.jpg]=c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c
)

OUT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d -t atelier-photos.XXXXXX)"
cleanup() { if [[ "${KEEP_WORK:-0}" == 1 ]]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

check_sha() { # file expected
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [[ "$got" != "$2" ]]; then
    echo "sha256 mismatch for $1: got $got, want $2" >&2
    exit 1
  fi
}

# ---- tools: private venv with pinned Pillow + piexif ----------------------
python3 -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
"$PY" -m pip install --quiet --disable-pip-version-check \
  "Pillow==$PILLOW_VERSION" "piexif==$PIEXIF_VERSION"

# ---- source photos: the scikit-image wheel --------------------------------
"$PY" -m pip download --quiet --disable-pip-version-check --no-deps \
  --only-binary=:all: --python-version 3.11 --implementation cp \
  --platform manylinux2014_x86_64 \
  "scikit-image==$SKIMAGE_VERSION" -d "$WORK/dl"
check_sha "$WORK/dl/$SKIMAGE_WHEEL" "$SKIMAGE_WHEEL_SHA256"
SRC="$WORK/src"
mkdir -p "$SRC"
for f in "${!SRC_SHA256[@]}"; do
  "$PY" - "$WORK/dl/$SKIMAGE_WHEEL" "skimage/data/$f" "$SRC/$f" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[3], "wb") as out:
    out.write(z.read(sys.argv[2]))
EOF
  check_sha "$SRC/$f" "${SRC_SHA256[$f]}"
done

# ---- ICC profile: icc-profiles-free's sRGB.icc -----------------------------
ICC="$ICC_PATH"
if [[ ! -f "$ICC" ]] || [[ "$(sha256sum "$ICC" | cut -d' ' -f1)" != "$ICC_SHA256" ]]; then
  (cd "$WORK" && apt-get download "$ICC_DEB_PACKAGE=$ICC_DEB_VERSION")
  dpkg-deb -x "$WORK"/${ICC_DEB_PACKAGE}_*.deb "$WORK/iccdeb"
  ICC="$WORK/iccdeb$ICC_PATH"
fi
check_sha "$ICC" "$ICC_SHA256"

# ---- generate --------------------------------------------------------------
"$PY" - "$SRC" "$OUT_DIR" "$ICC" <<'EOF'
import shutil, struct, sys, zlib
from pathlib import Path

import piexif
from PIL import Image, ImageDraw

src, out, icc_path = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
LANCZOS = Image.Resampling.LANCZOS


def fit(im, longer):
    """Resize so the longer side is `longer` px, keeping the aspect ratio."""
    w, h = im.size
    if w >= h:
        size = (longer, round(h * longer / w))
    else:
        size = (round(w * longer / h), longer)
    return im.resize(size, LANCZOS)


def load(name, mode):
    im = Image.open(src / name)
    im.load()
    im = im.convert(mode)
    # Drop upstream metadata (chelsea.png and astronaut.png carry the standard
    # "sRGB IEC61966-2.1" ICC profile); otherwise Pillow would copy it into some
    # outputs (PNG, TIFF) but not others. Outputs are untagged sRGB, except
    # astronaut-icc.jpg, which gets its profile explicitly.
    im.info = {}
    return im


def write_png16_rgb(path, channels, size):
    """Minimal 16-bit RGB PNG writer (Pillow cannot write 16-bit RGB PNGs).

    Per-row adaptive filter (None/Sub/Up/Average/Paeth, least sum of absolute
    signed bytes), as libpng does, so decoders see every filter type."""
    w, h = size
    bpp = 6
    data = [c.getdata() for c in channels]
    rows = []
    for y in range(h):
        row = bytearray()
        for x in range(w):
            for d in data:
                v = min(65535, max(0, round(d[y * w + x] * 257.0)))
                row += struct.pack(">H", v)
        rows.append(bytes(row))

    def paeth(a, b, c):
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        if pa <= pb and pa <= pc:
            return a
        return b if pb <= pc else c

    raw = bytearray()
    prev = bytes(len(rows[0]))
    for row in rows:
        cands = []
        for ft in range(5):
            out = bytearray(len(row))
            for i, x in enumerate(row):
                a = row[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                pred = (0, a, b, (a + b) // 2, paeth(a, b, c))[ft]
                out[i] = (x - pred) & 0xFF
            cost = sum(v if v < 128 else 256 - v for v in out)
            cands.append((cost, ft, out))
        cost, ft, out = min(cands, key=lambda t: (t[0], t[1]))
        raw.append(ft)
        raw += out
        prev = row

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
           + chunk(b"IEND", b""))
    path.write_bytes(png)


# rocket.jpg: original bytes, untouched.
shutil.copyfile(src / "rocket.jpg", out / "rocket.jpg")

chelsea = load("chelsea.png", "RGB")      # 451x300
astronaut = load("astronaut.png", "RGB")  # 512x512
coffee = load("coffee.png", "RGB")        # 600x400
logo = load("logo.png", "RGB")            # 500x500; its alpha is all 255

# chelsea.png: longer side 300, RGB 8-bit PNG.
fit(chelsea, 300).save(out / "chelsea.png", optimize=True)

# astronaut.jpg / astronaut-icc.jpg: 256x256, q90, 4:2:0, baseline.
astro256 = astronaut.resize((256, 256), LANCZOS)
astro256.save(out / "astronaut.jpg", quality=90, subsampling=2)
astro256.save(out / "astronaut-icc.jpg", quality=90, subsampling=2,
              icc_profile=icc_path.read_bytes())

# logo.png: RGBA 200x200 with real transparency. The upstream logo.png is RGBA
# but fully opaque (a disc on white), so alpha is an anti-aliased disc mask
# drawn at 4x and box-downsampled: 0 outside the disc, 255 inside, partial
# values on the rim. Then 500 -> 200 (Pillow resizes RGBA premultiplied).
ss = 4
disc = Image.new("L", (500 * ss, 500 * ss), 0)
ImageDraw.Draw(disc).ellipse((12 * ss, 11 * ss, 490 * ss - 1, 489 * ss - 1), fill=255)
logo_rgba = logo.copy()
logo_rgba.putalpha(disc.resize((500, 500), Image.Resampling.BOX))
logo200 = logo_rgba.resize((200, 200), LANCZOS)
logo200.save(out / "logo.png", optimize=True)

# logo-lossless.webp: same pixels as logo.png, lossless; exact=True keeps the
# RGB of fully transparent pixels, so it decodes identical to logo.png.
logo200.save(out / "logo-lossless.webp", lossless=True, exact=True, quality=100, method=6)

# coffee-gray.png: longer side 200, 8-bit grayscale (ITU-R 601-2 luma).
fit(coffee, 200).convert("L").save(out / "coffee-gray.png", optimize=True)

# coffee-16bit.png: longer side 160, 16-bit RGB; each channel resampled in
# float from the 8-bit source, then scaled by 257 (so low bits are populated).
c16 = [fit(ch.convert("F"), 160) for ch in coffee.split()]
write_png16_rgb(out / "coffee-16bit.png", c16, c16[0].size)

# chelsea.webp: lossy q80, longer side 200.
fit(chelsea, 200).save(out / "chelsea.webp", quality=80, method=4)

# chelsea.gif: 256-colour palette, median cut + Floyd-Steinberg, longer side 150.
fit(chelsea, 150).quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                           dither=Image.Dither.FLOYDSTEINBERG).save(out / "chelsea.gif")

# chelsea.bmp: 24-bit BMP, longer side 120.
chelsea120 = fit(chelsea, 120)
chelsea120.save(out / "chelsea.bmp")

# chelsea.tif: RGB 8-bit, chunky, LZW with horizontal predictor (tag 317 = 2).
chelsea120.save(out / "chelsea.tif", compression="tiff_lzw", tiffinfo={317: 2})

# rotated-6.jpg: upright portrait crop of the astronaut (120x160 as displayed),
# stored rotated 90 degrees counter-clockwise (160x120 pixels) with EXIF
# Orientation=6, so a correct decoder shows her upright at 120x160.
portrait = astronaut.crop((64, 0, 448, 512)).resize((120, 160), LANCZOS)
stored = portrait.transpose(Image.Transpose.ROTATE_90)  # CCW -> 160x120
exif = {
    "0th": {
        piexif.ImageIFD.Orientation: 6,
        piexif.ImageIFD.Software: b"atelier test-data/photos/make.sh",
    },
    "Exif": {},
    "GPS": {  # FAKE coordinates: 12 deg 34' 56.78" N, 65 deg 43' 21.09" W
        piexif.GPSIFD.GPSVersionID: (2, 3, 0, 0),
        piexif.GPSIFD.GPSLatitudeRef: b"N",
        piexif.GPSIFD.GPSLatitude: ((12, 1), (34, 1), (5678, 100)),
        piexif.GPSIFD.GPSLongitudeRef: b"W",
        piexif.GPSIFD.GPSLongitude: ((65, 1), (43, 1), (2109, 100)),
        piexif.GPSIFD.GPSAltitudeRef: 0,
        piexif.GPSIFD.GPSAltitude: (1234, 10),
    },
    "1st": {},
    "thumbnail": None,
}
stored.save(out / "rotated-6.jpg", quality=90, subsampling=2, exif=piexif.dump(exif))
EOF

# ---- verify ----------------------------------------------------------------
"$PY" - "$OUT_DIR" <<'EOF'
import sys
from pathlib import Path
from PIL import Image, ImageOps

d = Path(sys.argv[1])
expect = {  # name: (format, size, mode)
    "rocket.jpg": ("JPEG", (640, 427), "RGB"),
    "chelsea.png": ("PNG", (300, 200), "RGB"),
    "astronaut.jpg": ("JPEG", (256, 256), "RGB"),
    "astronaut-icc.jpg": ("JPEG", (256, 256), "RGB"),
    "logo.png": ("PNG", (200, 200), "RGBA"),
    "logo-lossless.webp": ("WEBP", (200, 200), "RGBA"),
    "coffee-gray.png": ("PNG", (200, 133), "L"),
    "coffee-16bit.png": ("PNG", (160, 107), "RGB"),  # Pillow reduces 16-bit RGB to 8-bit mode RGB
    "chelsea.webp": ("WEBP", (200, 133), "RGB"),
    "chelsea.gif": ("GIF", (150, 100), "P"),
    "chelsea.bmp": ("BMP", (120, 80), "RGB"),
    "chelsea.tif": ("TIFF", (120, 80), "RGB"),
    "rotated-6.jpg": ("JPEG", (160, 120), "RGB"),
}
ok = True
for name, want in expect.items():
    with Image.open(d / name) as im:
        im.load()
        got = (im.format, im.size, im.mode)
        if got != want:
            ok = False
            print(f"FAIL {name}: got {got}, want {want}")
# structural checks
png16 = (d / "coffee-16bit.png").read_bytes()
assert png16[24] == 16 and png16[25] == 2, "coffee-16bit.png must be 16-bit RGB"
with Image.open(d / "astronaut-icc.jpg") as im:
    assert im.info.get("icc_profile"), "astronaut-icc.jpg lacks ICC"
for name in expect:
    if name not in ("rocket.jpg", "astronaut-icc.jpg"):
        with Image.open(d / name) as im:
            assert not im.info.get("icc_profile"), f"{name} must have no ICC"
with Image.open(d / "logo.png") as a, Image.open(d / "logo-lossless.webp") as b:
    assert a.convert("RGBA").tobytes() == b.convert("RGBA").tobytes(), "webp not lossless"
    hist = a.getchannel("A").histogram()
    assert hist[0] > 0 and hist[255] > 0 and sum(hist[1:255]) > 0, "logo alpha not real"
with Image.open(d / "rotated-6.jpg") as im:
    ex = im.getexif()
    assert ex.get(0x0112) == 6, "orientation"
    gps = ex.get_ifd(0x8825)
    assert gps.get(1) == "N" and gps.get(3) == "W" and 2 in gps and 4 in gps, gps
    assert ImageOps.exif_transpose(im).size == (120, 160)
with Image.open(d / "chelsea.bmp") as im:
    assert im.info.get("compression", 0) == 0
print("verify:", "OK" if ok else "FAILED")
sys.exit(0 if ok else 1)
EOF

cd "$OUT_DIR" && sha256sum rocket.jpg chelsea.png astronaut.jpg astronaut-icc.jpg logo.png \
  logo-lossless.webp coffee-gray.png coffee-16bit.png chelsea.webp chelsea.gif chelsea.bmp \
  chelsea.tif rotated-6.jpg
