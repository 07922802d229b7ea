"""Thumbnails JPEGs with Pillow, all in one process: the Pillow row of
bench/compare-thumbnails.sh.

usage: pillow_thumbs.py [--no-limit] WIDTH OUTDIR FILE...

Each FILE becomes OUTDIR/<stem>.jpg, WIDTH pixels wide, JPEG quality 80, 4:2:0.
--no-limit lifts Pillow's decompression-bomb guard (MAX_IMAGE_PIXELS), which
refuses images over about 179 MP, for the 400 MP file.
"""

import os
import sys

from PIL import Image


def main(argv: list[str]) -> int:
    args = argv[1:]
    if args and args[0] == "--no-limit":
        Image.MAX_IMAGE_PIXELS = None
        args = args[1:]
    if len(args) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    width = int(args[0])
    outdir = args[1]
    for path in args[2:]:
        stem = os.path.splitext(os.path.basename(path))[0]
        with Image.open(path) as im:
            w, h = im.size  # from the header; nothing decoded yet
            # The box's height must be just above the aspect-ratio height, not
            # "unbounded": Image.thumbnail() passes the box itself (times
            # reducing_gap=2) to draft(), and JPEG draft() picks its DCT scale
            # from min(width ratio, height ratio). A huge box height makes
            # that ratio 0, which silently disables shrink-on-load and decodes
            # every pixel.
            im.thumbnail((width, width * h // w + 1))
            im.save(os.path.join(outdir, stem + ".jpg"), "JPEG", quality=80, subsampling="4:2:0")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
