"""Checks that a tool's thumbnails are what the benchmark asked for, so that no
tool wins by doing less (a smaller size, a lower quality, no subsampling).

usage: check_thumbs.py WIDTH EXPECTED_COUNT DIR

Prints one line about the JPEGs under DIR: count, widths, chroma
subsampling, estimated JPEG quality, progressive or not, total bytes. Exits 1 when the count or the width is off,
or when a file is not a 4:2:0 JPEG of quality 80 (estimated from its tables).
"""

import os
import sys

from PIL import Image, JpegImagePlugin

# The IJG (libjpeg) base luminance table; every tool here uses libjpeg(-turbo)
# and so scales this table by the quality setting.
STD_LUMA = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
]


def luma_table(q: int) -> list[int]:
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return sorted(min(255, max(1, (v * scale + 50) // 100)) for v in STD_LUMA)


def estimate_quality(im: Image.Image) -> int | None:
    tables = getattr(im, "quantization", None)
    if not tables or 0 not in tables:
        return None
    got = sorted(tables[0])  # sorted: independent of zigzag vs natural order
    for q in range(1, 101):
        if luma_table(q) == got:
            return q
    return None


SAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0", -1: "?"}


def main(argv: list[str]) -> int:
    width, expected, d = int(argv[1]), int(argv[2]), argv[3]
    # Walk the whole folder: a tool may write sub-folders. Only JPEGs count;
    # other files (a tool's own report, say) are listed but not judged.
    names, others = [], []
    for top, _dirs, files in os.walk(d):
        for n in files:
            p = os.path.join(top, n)
            (names if n.lower().endswith((".jpg", ".jpeg")) else others).append(p)
    names.sort()
    widths, samplings, qualities, progressive = set(), set(), set(), set()
    total = 0
    for p in names:
        total += os.path.getsize(p)
        with Image.open(p) as im:
            if im.format != "JPEG":
                samplings.add(f"not JPEG ({im.format})")
                continue
            widths.add(im.size[0])
            samplings.add(SAMPLING.get(JpegImagePlugin.get_sampling(im), "?"))
            qualities.add(estimate_quality(im))
            progressive.add(bool(im.info.get("progressive")))
    print(
        f"files={len(names)} widths={sorted(widths)} sampling={sorted(samplings)} "
        f"quality~{sorted(qualities, key=str)} progressive={sorted(progressive)} bytes={total}"
        + (f" other_files={len(others)}" if others else "")
    )
    ok = len(names) == expected and widths == {width} and samplings == {"4:2:0"} and qualities == {80}
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
