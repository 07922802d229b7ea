#!/usr/bin/env python3
"""Writes the URL paths bench/transform-load.sh sends: signed atelier transform paths and
signed thumbor paths for the same resizes, one path a line, for transform-load.lua to walk.

atelier: `/t/{sig}/{options}/{id}.jpg`, sig = base64url(HMAC-SHA256(key, signed part)),
unpadded, as docs/transform-urls.md specifies (and `atelier sign` prints; the shell script
checks both agree). thumbor: `/{sig}/{path}`, sig = base64url(HMAC-SHA1(SECURITY_KEY, path)),
padded, as thumbor's own signer (libthumbor) writes it; the shell script checks that too.

Usage:
  transform_urls.py cold START COUNT ATELIER_KEY IMAGE_ID THUMBOR_KEY FILE_NAME OUT_PREFIX
  transform_urls.py warm ATELIER_KEY IMAGE_ID THUMBOR_KEY FILE_NAME OUT_PREFIX

Cold request i resizes to fit a box WIDTH x HEIGHT with WIDTH = 300 + i % 10 and
HEIGHT = 1000 + i // 10: consecutive requests differ in width, every request's URL is
unique (so every one misses atelier's cache), and the height never binds (a 2 MP photo of
any usual aspect ratio is 300-309 px wide, at most 309 px tall, on the way out), so the
work is that of a 300 px resize. The warm URL is the plain 300 px wide resize.

Writes OUT_PREFIX-atelier.txt and OUT_PREFIX-thumbor.txt.
"""

import base64
import hashlib
import hmac
import sys

COLD_WIDTHS = 10
COLD_MIN_HEIGHT = 1000
MAX_SIDE = 65535


def atelier_path(key: bytes, options: str, image_id: str) -> str:
    signed = f"{options}/{image_id}.jpg"
    mac = hmac.new(key, signed.encode(), hashlib.sha256).digest()
    sig = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    return f"/t/{sig}/{signed}"


def thumbor_path(key: bytes, path: str) -> str:
    mac = hmac.new(key, path.encode(), hashlib.sha1).digest()
    return f"/{base64.urlsafe_b64encode(mac).decode()}/{path}"


def box(i: int) -> tuple[int, int]:
    width, height = 300 + i % COLD_WIDTHS, COLD_MIN_HEIGHT + i // COLD_WIDTHS
    if height > MAX_SIDE:
        sys.exit(f"transform_urls: request {i} would need a box height over {MAX_SIDE}")
    return width, height


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "cold" and len(args) == 8:
        start, count = int(args[1]), int(args[2])
        akey, image_id, tkey, name, prefix = args[3:]
        atelier = (atelier_path(akey.encode(), "rs:inside:%d:%d" % box(i), image_id) for i in range(start, start + count))
        thumbor = (thumbor_path(tkey.encode(), "fit-in/%dx%d/%s" % (*box(i), name)) for i in range(start, start + count))
    elif args and args[0] == "warm" and len(args) == 6:
        akey, image_id, tkey, name, prefix = args[1:]
        atelier = iter([atelier_path(akey.encode(), "rs:inside:300:0", image_id)])
        thumbor = iter([thumbor_path(tkey.encode(), f"300x0/{name}")])
    else:
        sys.exit(__doc__)
    for server, paths in (("atelier", atelier), ("thumbor", thumbor)):
        with open(f"{prefix}-{server}.txt", "w", encoding="ascii") as out:
            for path in paths:
                out.write(path + "\n")


if __name__ == "__main__":
    main()
