"""Thumbnails JPEGs with pyvips, all in one process: the pyvips row of
bench/compare-thumbnails.sh.

usage: pyvips_thumbs.py WIDTH OUTDIR FILE...

Each FILE becomes OUTDIR/<stem>.jpg, WIDTH pixels wide, JPEG Q 80 (libvips
subsamples chroma 4:2:0 by default below Q 90), metadata stripped.
"""

import os
import sys

import pyvips

# libvips' largest coordinate: with it as the height, only the width constrains
# the thumbnail, as `vipsthumbnail -s 256x` does. Without a height,
# thumbnail() fits a WIDTH x WIDTH square, which differs for portrait photos.
UNBOUNDED = 10_000_000


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    width = int(argv[1])
    outdir = argv[2]
    for path in argv[3:]:
        stem = os.path.splitext(os.path.basename(path))[0]
        # thumbnail() from a file name lets libvips shrink on load (JPEG DCT scaling).
        thumb = pyvips.Image.thumbnail(path, width, height=UNBOUNDED)
        thumb.write_to_file(os.path.join(outdir, stem + ".jpg"), Q=80, strip=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
