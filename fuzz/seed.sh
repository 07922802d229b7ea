#!/bin/sh
# Seeds fuzz/corpus/<target>/ from the committed fixtures (test-data/photos/ and
# test-data/hostile/). Safe to re-run: libFuzzer names corpus files by content hash, and
# seeds are written under fixed names. See docs/fuzzing.md.
set -eu
cd "$(dirname "$0")"
data=../test-data

mkdir -p corpus/decode corpus/pipeline
for f in "$data"/photos/* "$data"/hostile/*; do
    case "$f" in *.sh) continue ;; esac
    cp "$f" "corpus/decode/seed-$(basename "$f")"
done

# pipeline: "<document>\0<image>". A few documents (inline and JSON) over a few small
# images, so the fuzzer starts with every op reachable and both parsers exercised.
i=0
while IFS= read -r doc; do
    for img in photos/chelsea.gif photos/chelsea.bmp photos/rotated-6.jpg photos/chelsea.webp \
        photos/coffee-gray.png hostile/bmp-top-down.bmp hostile/jpeg-exif-orientation-99.jpg; do
        i=$((i + 1))
        { printf '%b' "$doc"; printf '\0'; cat "$data/$img"; } > "corpus/pipeline/seed-$i"
    done
done <<'DOCS'
thumbnail:width=64
thumbnail:width=32,height=32,crop=true,gravity=north_east
resize:width=100,height=50,fit=cover\nconvert:format=webp,quality=50
resize:width=40,fit=contain,background=#ff0000\nconvert:format=png,compression=9
crop:width=10,height=10,gravity=south\nrotate:angle=33,expand=true
flip:direction=both\ngrayscale\nsharpen:sigma=1.5,amount=2,threshold=3
blur:sigma=2.5\nadjust:brightness=0.2,contrast=1.5,saturation=0.5,gamma=1.2
augment:variants=3,seed=7,max_rotation=20,crop_scale=[0.5,1],noise=4\nthumbnail:width=16
watermark:image=logo,opacity=0.5,gravity=south_east
convert:format=jpeg,quality=10,progressive=true,subsampling=4:4:4,keep_icc=true
{"version":1,"steps":[{"op":"thumbnail","width":32}]}
{"version":1,"name":"n","steps":[{"op":"resize","width":8,"height":8,"fit":"fill","upscale":true},{"op":"convert","format":"png"}]}
DOCS
echo "decode: $(ls corpus/decode | wc -l) seeds, pipeline: $(ls corpus/pipeline | wc -l) seeds"
