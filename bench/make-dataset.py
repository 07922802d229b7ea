#!/usr/bin/env python3
"""The input set of the dataset benchmark (bench/dataset.sh): N product-photo-like JPEGs in
one zip, and a `styles.csv` with the columns of the Fashion Product Images data set.

    python bench/make-dataset.py [--count 5000] [--seed 1] [--out bench/out/dataset/input]

Runs in the benchmark's virtualenv (Pillow 11.3.0; bench/dataset.sh makes it). No product
photo data set ships in a registry this project may use (models/SOURCES.md), so the images
are made from the real photographs bench/fetch-photos.sh takes from the scikit-image wheel
(`bench/photos/orig/`: astronaut, chelsea, coffee, rocket, retina, hubble_deep_field; the
script is run when they are missing): for each image a seeded random choice of photo, a crop
at a random position of 3:4, 4:3 or square aspect covering 50-100 % of the largest such crop
(linear), scaled with Lanczos to a longer side of 400-1000 px. Most are enlarged (the photos
are 300x451 to 1411x1411), so they are smoother than camera files of the same size.

Inputs:
  bench/photos/orig/*   the six photos (bench/fetch-photos.sh)
  --count N [5000]      images to make
  --seed S [1]          everything drawn comes from it: the same seed and count give the
                        same bytes (with the same Pillow and libjpeg, which the venv pins)
  --out DIR [bench/out/dataset/input]
  --processes P [cpu count]   worker processes for the encoding (no effect on the output)

Outputs, in DIR:
  dataset.zip   {id}.jpg for id = 10000 .. 10000+N-1, flat, stored (no compression), in
                id order; baseline JPEG q90 4:2:0, no metadata
  styles.csv    one row per image: id,gender,masterCategory,subCategory,articleType,
                baseColour,season,year,usage,productDisplayName (seeded plausible values;
                some display names hold a comma and are quoted; some `usage` cells are
                empty, as in the real file)
  RECIPE        the recipe the two files were made with, written last; when it matches,
                nothing is made again (a changed count, seed, photo or Pillow remakes both)

Prints a one-line summary (files, bytes, sizes) to stderr.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import multiprocessing
import os
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import PIL
from PIL import Image

HERE = Path(__file__).resolve().parent
ORIG = HERE / "photos" / "orig"
SOURCES = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "retina.jpg", "hubble_deep_field.jpg"]
FIRST_ID = 10000
# Bump when anything below changes what is made.
RECIPE_VERSION = "make-dataset/1"
ASPECTS = [(3, 4), (4, 3), (1, 1)]  # width:height
LONG_SIDE = (400, 1000)
CROP_LINEAR = (0.5, 1.0)  # of the largest crop of that aspect the photo holds
QUALITY = 90
# A fixed time stamp in the zip, so that the same images give the same archive bytes.
ZIP_TIME = (2024, 1, 1, 0, 0, 0)

# --- styles.csv ------------------------------------------------------------------------
# masterCategory -> subCategory -> articleTypes, the shape of the real file's values.
CATEGORIES = {
    "Apparel": {
        "Topwear": ["Tshirts", "Shirts", "Tops", "Sweatshirts", "Kurtas", "Jackets", "Sweaters"],
        "Bottomwear": ["Jeans", "Trousers", "Shorts", "Track Pants", "Skirts", "Capris"],
        "Innerwear": ["Briefs", "Bra", "Innerwear Vests", "Trunk"],
        "Dress": ["Dresses"],
        "Loungewear and Nightwear": ["Night suits", "Lounge Pants"],
    },
    "Accessories": {
        "Watches": ["Watches"],
        "Bags": ["Handbags", "Backpacks", "Clutches", "Laptop Bag"],
        "Belts": ["Belts"],
        "Eyewear": ["Sunglasses"],
        "Jewellery": ["Earrings", "Necklace and Chains", "Pendant", "Ring"],
        "Socks": ["Socks"],
        "Wallets": ["Wallets"],
        "Headwear": ["Caps"],
    },
    "Footwear": {
        "Shoes": ["Casual Shoes", "Sports Shoes", "Formal Shoes", "Heels", "Flats"],
        "Sandal": ["Sandals", "Sports Sandals"],
        "Flip Flops": ["Flip Flops"],
    },
    "Personal Care": {
        "Fragrance": ["Perfume and Body Mist", "Deodorant"],
        "Lips": ["Lipstick", "Lip Gloss"],
        "Nails": ["Nail Polish"],
        "Skin Care": ["Face Moisturisers"],
        "Makeup": ["Kajal and Eyeliner", "Foundation and Primer"],
    },
}
# Roughly the real file's mix: most rows are apparel.
MASTER_WEIGHTS = {"Apparel": 48, "Accessories": 25, "Footwear": 21, "Personal Care": 6}
GENDERS = [("Men", 50), ("Women", 42), ("Unisex", 3), ("Boys", 3), ("Girls", 2)]
COLOURS = ["Black", "White", "Blue", "Navy Blue", "Grey", "Brown", "Red", "Green", "Pink", "Purple",
           "Silver", "Beige", "Yellow", "Maroon", "Olive", "Orange", "Gold", "Charcoal", "Teal", "Multi"]
SEASONS = [("Summer", 48), ("Fall", 26), ("Winter", 19), ("Spring", 7)]
USAGES = [("Casual", 78), ("Sports", 9), ("Ethnic", 7), ("Formal", 5), ("Smart Casual", 1), ("Party", 1), ("", 1)]
BRANDS = ["Puma", "Nike", "Adidas", "Titan", "Fastrack", "Reebok", "Wrangler", "Lee", "Levis", "Jealous 21",
          "Peter England", "Fabindia", "Inkfruit", "Skagen", "Catwalk", "Lakme", "Baggit", "Wildcraft", "Lotto",
          "United Colors of Benetton", "Arrow", "Van Heusen", "ADIDAS Originals", "Kiara", "Timex"]
PATTERNS = ["", "", "", "Solid ", "Striped ", "Printed ", "Check ", "Slim Fit "]
# Appended after a comma, as some real display names have ("Puma Men Blue Shirt, Formal").
SUFFIXES = ["Pack of 2", "Pack of 3", "Set of 2", "Formal", "Limited Edition"]
# Articles only one gender wears, so that no row reads "Men ... Bra".
WOMEN_ONLY = {"Bra", "Dresses", "Skirts", "Capris", "Tops", "Heels", "Handbags", "Clutches", "Earrings",
              "Lipstick", "Lip Gloss", "Nail Polish", "Kajal and Eyeliner", "Foundation and Primer"}
MEN_ONLY = {"Briefs", "Trunk", "Innerwear Vests"}
COLUMNS = ["id", "gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "year",
           "usage", "productDisplayName"]


def weighted(rng: random.Random, pairs):
    values = [v for v, _ in pairs]
    return rng.choices(values, weights=[w for _, w in pairs])[0]


def style_row(rng: random.Random, item_id: int) -> list[str]:
    master = weighted(rng, MASTER_WEIGHTS.items())
    sub = rng.choice(sorted(CATEGORIES[master]))
    article = rng.choice(CATEGORIES[master][sub])
    gender = weighted(rng, GENDERS)
    if article in WOMEN_ONLY:
        gender = "Girls" if gender == "Girls" else "Women"
    elif article in MEN_ONLY:
        gender = "Boys" if gender == "Boys" else "Men"
    elif master == "Personal Care" and gender in ("Boys", "Girls"):
        gender = "Unisex"
    colour = rng.choice(COLOURS)
    name = f"{rng.choice(BRANDS)} {gender} {rng.choice(PATTERNS)}{colour} {article}"
    if rng.random() < 0.06:
        name += f", {rng.choice(SUFFIXES)}"
    return [str(item_id), gender, master, sub, article, colour, weighted(rng, SEASONS),
            str(rng.randint(2008, 2018)), weighted(rng, USAGES), name]


# --- the images ------------------------------------------------------------------------
_photos: list[Image.Image] = []


def _load_photos() -> None:
    global _photos
    _photos = [Image.open(ORIG / name).convert("RGB") for name in SOURCES]
    for photo in _photos:
        photo.load()


def image_recipe(seed: int, index: int):
    """What image `index` is cut from: (photo number, crop box, output size)."""
    rng = random.Random(seed * 1_000_003 + index)
    photo = rng.randrange(len(SOURCES))
    aw, ah = rng.choice(ASPECTS)
    long_side = rng.randint(*LONG_SIDE)
    size = (long_side, round(long_side * ah / aw)) if aw >= ah else (round(long_side * aw / ah), long_side)
    return rng, photo, (aw, ah), size


def make_image(job: tuple[int, int]) -> tuple[int, bytes, tuple[int, int]]:
    seed, index = job
    rng, photo_index, (aw, ah), size = image_recipe(seed, index)
    photo = _photos[photo_index]
    pw, ph = photo.size
    # The largest crop of this aspect the photo holds, then a random share of it.
    if pw * ah >= ph * aw:
        mh, mw = ph, ph * aw / ah
    else:
        mw, mh = pw, pw * ah / aw
    f = rng.uniform(*CROP_LINEAR)
    cw, ch = mw * f, mh * f
    x, y = rng.uniform(0, pw - cw), rng.uniform(0, ph - ch)
    out = photo.resize(size, Image.LANCZOS, box=(x, y, x + cw, y + ch))
    buf = io.BytesIO()
    # subsampling=2 is 4:2:0; baseline; no EXIF/ICC.
    out.save(buf, "JPEG", quality=QUALITY, subsampling=2, optimize=False, progressive=False)
    return index, buf.getvalue(), size


# --- driver ----------------------------------------------------------------------------


def sources_digest() -> str:
    h = hashlib.sha256()
    for name in SOURCES:
        h.update(name.encode() + b"\0" + hashlib.sha256((ORIG / name).read_bytes()).digest())
    return h.hexdigest()[:16]


def ensure_photos() -> None:
    if all((ORIG / name).is_file() for name in SOURCES):
        return
    print("make-dataset: running bench/fetch-photos.sh", file=sys.stderr)
    # Its table goes to stderr too, so that this script's stdout stays clean.
    subprocess.run([str(HERE / "fetch-photos.sh")], check=True, stdout=sys.stderr)
    missing = [name for name in SOURCES if not (ORIG / name).is_file()]
    if missing:
        sys.exit(f"make-dataset: fetch-photos.sh did not make {', '.join(missing)}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Makes the dataset benchmark's input set.")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "dataset" / "input")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")

    ensure_photos()
    recipe = (f"{RECIPE_VERSION} count={args.count} seed={args.seed} first_id={FIRST_ID} "
              f"photos={sources_digest()} pillow={PIL.__version__}\n")
    out: Path = args.out
    stamp, archive, styles = out / "RECIPE", out / "dataset.zip", out / "styles.csv"
    if stamp.is_file() and stamp.read_text() == recipe and archive.is_file() and styles.is_file():
        print(f"make-dataset: {out} is up to date ({args.count} images, seed {args.seed})", file=sys.stderr)
        return 0

    out.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    started = time.monotonic()

    # styles.csv: its own random stream, so the images do not depend on the metadata.
    meta_rng = random.Random(f"styles:{args.seed}")
    tmp_styles = out / ".tmp-styles.csv"
    with open(tmp_styles, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        for i in range(args.count):
            writer.writerow(style_row(meta_rng, FIRST_ID + i))
    os.replace(tmp_styles, styles)

    tmp_archive = out / ".tmp-dataset.zip"
    total, sizes = 0, {}
    with zipfile.ZipFile(tmp_archive, "w", compression=zipfile.ZIP_STORED) as zf, \
            multiprocessing.Pool(args.processes, initializer=_load_photos) as pool:
        jobs = ((args.seed, i) for i in range(args.count))
        for index, data, size in pool.imap(make_image, jobs, chunksize=16):
            info = zipfile.ZipInfo(f"{FIRST_ID + index}.jpg", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
            total += len(data)
            sizes[size] = sizes.get(size, 0) + 1
    os.replace(tmp_archive, archive)
    stamp.write_text(recipe)

    pixels = sum(w * h * n for (w, h), n in sizes.items())
    print(f"make-dataset: {args.count} images in {archive} ({total / 2**20:.0f} MiB, "
          f"{pixels / args.count / 1e6:.2f} MP and {total * 8 / pixels:.2f} bits/px on average), "
          f"{styles}; {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
