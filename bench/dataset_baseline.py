#!/usr/bin/env python3
"""The Python side of the dataset benchmark (bench/dataset.sh): a zip of product photos with
a `styles.csv`, through `augment x2 + classify`, written the way a data team would write it
(the "seed's style"): a `multiprocessing.Pool(os.cpu_count())`, each worker opening the zip
and creating its own `onnxruntime.InferenceSession` once in the pool initializer, with the
default SessionOptions and providers=['CPUExecutionProvider'] (no thread tuning: each
session's intra-op pool is ONNX Runtime's default, one thread per physical core, so the
pool's processes share the cores), Pillow for decoding, augmenting and encoding, and one
image per `session.run`.

    python bench/dataset_baseline.py --archive dataset.zip --metadata styles.csv \
        --models models --out OUT [--processes N] [--seed 1] [--variants 2]

Runs in the benchmark's virtualenv (onnxruntime 1.31.1, numpy 2.4.6, Pillow 11.3.0).

Per archive entry (an image; in archive order, `index` from 0), in a worker:
  1. its bytes are written unchanged to OUT/images/{id}.jpg ({id}: the entry's file stem,
     which is how `styles.csv` keys its rows);
  2. the image is decoded (`convert('RGB')`) and --variants variants are made, all drawn
     from `random.Random(seed ^ index)`: a horizontal flip (p 0.5), a rotation uniform in
     [-10, 10] degrees (bilinear, same size, corners black), a crop of 80-100 % of the area
     keeping the aspect ratio at a random position, resized back to the original size
     (bilinear), then brightness, contrast and saturation factors uniform in [0.8, 1.2]
     (`ImageEnhance`); each is saved as JPEG q90 to OUT/augmentation/{id}-v{k}.jpg;
  3. each variant (not the original) is classified with models/efficientnet_lite0.onnx
     (centre square, 256x256 bilinear, centre 224x224, NCHW (pixel - 127) / 128, softmax
     of `logits`), keeping the top 5 of models/imagenet_labels.txt.

Outputs:
  OUT/images/, OUT/augmentation/   as above
  OUT/metadata.json   {"version": 1, "items": [{index, name, metadata (the item's CSV row,
                      or null), image, variants: [{file, params, annotations: {labels:
                      [{label, score}]}}]}]}, in archive order
  stdout              one JSON line at the end: {"items": N, "seconds": S, "items_per_s": X}
                      (S from the start of main, after the imports, to metadata.json written)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing
import os
import random
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageEnhance, ImageOps

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
FLIP_P = 0.5
MAX_ROTATION = 10.0
CROP_AREA = (0.8, 1.0)
JITTER = 0.2
QUALITY = 90
TOP_K = 5

# Per worker process, set by init_worker.
_archive: zipfile.ZipFile | None = None
_session: ort.InferenceSession | None = None
_labels: list[str] = []
_out: Path = Path()
_seed = 0
_variants = 0


def init_worker(archive: str, models: str, out: str, seed: int, variants: int) -> None:
    global _archive, _session, _labels, _out, _seed, _variants
    _archive = zipfile.ZipFile(archive)
    _session = ort.InferenceSession(str(Path(models) / "efficientnet_lite0.onnx"),
                                    providers=["CPUExecutionProvider"])
    _labels = (Path(models) / "imagenet_labels.txt").read_text(encoding="utf-8").splitlines()
    _out, _seed, _variants = Path(out), seed, variants


def augment(img: Image.Image, rng: random.Random) -> tuple[Image.Image, dict]:
    w, h = img.size
    flip = rng.random() < FLIP_P
    if flip:
        img = ImageOps.mirror(img)
    angle = rng.uniform(-MAX_ROTATION, MAX_ROTATION)
    img = img.rotate(angle, resample=Image.BILINEAR, fillcolor=(0, 0, 0))
    area = rng.uniform(*CROP_AREA)
    cw, ch = max(1, min(w, round(w * area ** 0.5))), max(1, min(h, round(h * area ** 0.5)))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    img = img.resize((w, h), Image.BILINEAR, box=(x, y, x + cw, y + ch))
    brightness, contrast, saturation = (rng.uniform(1 - JITTER, 1 + JITTER) for _ in range(3))
    img = ImageEnhance.Brightness(img).enhance(brightness)
    img = ImageEnhance.Contrast(img).enhance(contrast)
    img = ImageEnhance.Color(img).enhance(saturation)
    params = {"flip_horizontal": flip, "rotation": angle, "crop": [x, y, cw, ch],
              "brightness": brightness, "contrast": contrast, "saturation": saturation}
    return img, params


def classify_tensor(img: Image.Image) -> np.ndarray:
    w, h = img.size
    short = min(w, h)
    left, top = (w - short) // 2, (h - short) // 2
    scaled = img.crop((left, top, left + short, top + short)).resize((256, 256), Image.BILINEAR)
    crop = np.asarray(scaled.crop((16, 16, 240, 240)), dtype=np.float32)
    return ((crop - 127.0) / 128.0).transpose(2, 0, 1)[None]


def classify(img: Image.Image) -> list[dict]:
    logits, _features = _session.run(["logits", "features"], {"image": classify_tensor(img)})
    z = logits[0] - logits[0].max()
    probs = np.exp(z) / np.exp(z).sum()
    top = np.argsort(-probs)[:TOP_K]
    return [{"label": _labels[i], "score": float(probs[i])} for i in top]


def process(task: tuple[int, str, dict | None]) -> dict:
    index, name, row = task
    stem = Path(name).stem
    data = _archive.read(name)
    image_path = f"images/{stem}.jpg"
    (_out / image_path).write_bytes(data)
    img = Image.open(io.BytesIO(data)).convert("RGB")
    rng = random.Random(_seed ^ index)
    variants = []
    for k in range(_variants):
        variant, params = augment(img, rng)
        file = f"augmentation/{stem}-v{k}.jpg"
        variant.save(_out / file, "JPEG", quality=QUALITY)
        variants.append({"file": file, "params": params, "annotations": {"labels": classify(variant)}})
    return {"index": index, "name": name, "metadata": row, "image": image_path, "variants": variants}


def main() -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description="augment x2 + classify over a zip, Pillow + onnxruntime in a Pool")
    parser.add_argument("--archive", required=True)
    parser.add_argument("--metadata", required=True)
    parser.add_argument("--models", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--processes", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--variants", type=int, default=2)
    args = parser.parse_args()

    with open(args.metadata, newline="", encoding="utf-8") as f:
        rows = {row["id"]: row for row in csv.DictReader(f)}
    with zipfile.ZipFile(args.archive) as zf:
        names = [n for n in zf.namelist() if n.lower().endswith(IMAGE_EXTENSIONS) and not n.endswith("/")]
    out = Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "augmentation").mkdir(parents=True, exist_ok=True)

    tasks = [(i, n, rows.get(Path(n).stem)) for i, n in enumerate(names)]
    with multiprocessing.Pool(args.processes, initializer=init_worker,
                              initargs=(args.archive, args.models, args.out, args.seed, args.variants)) as pool:
        items = list(pool.imap(process, tasks, chunksize=8))
    with open(out / "metadata.json", "w", encoding="utf-8") as f:
        json.dump({"version": 1, "items": items}, f)

    seconds = time.perf_counter() - started
    print(json.dumps({"items": len(items), "seconds": round(seconds, 3),
                      "items_per_s": round(len(items) / seconds, 2) if seconds > 0 else None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
