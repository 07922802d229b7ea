//! The hostile case table: every bad file, built by code from the committed photos or byte
//! by byte, with the typed error it must get. The tests that run it are in `hostile.rs`.

use atelier_imaging::Code;

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    /// Must decode (with default limits, no hint) to this size in display orientation.
    Decodes { width: u32, height: u32 },
    /// Must fail with this code.
    Fails(Code),
}

pub(super) struct Case {
    /// The file name under `test-data/hostile/`, and the row's name in failures.
    pub(super) name: &'static str,
    pub(super) bytes: Vec<u8>,
    pub(super) expect: Expect,
    /// Generated, and written to the committed corpus by `UPDATE_CORPUS=1`. Off for big
    /// files, which are only ever generated in memory, and for rows read from the corpus.
    pub(super) commit: bool,
}

pub(super) fn fails(name: &'static str, code: Code, bytes: Vec<u8>) -> Case {
    Case { name, bytes, expect: Expect::Fails(code), commit: true }
}

pub(super) fn decodes(name: &'static str, (width, height): (u32, u32), bytes: Vec<u8>) -> Case {
    Case { name, bytes, expect: Expect::Decodes { width, height }, commit: true }
}

pub(super) fn generated_only(case: Case) -> Case {
    Case { commit: false, ..case }
}

pub(super) fn cases() -> Vec<Case> {
    [not_images(), jpeg_cases(), png_cases(), gif_cases(), bmp_cases(), tiff_cases(), webp_cases(), fuzz_findings()]
        .into_iter()
        .flatten()
        .collect()
}

/// Valid files that the cases below cut or patch.
pub(super) fn originals() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("astronaut.jpg", photo("astronaut.jpg")),
        ("rotated-6.jpg", photo("rotated-6.jpg")),
        ("16x16 PNG", png_rgb(16, 16, gradient)),
        ("3-frame GIF", gif_animation(3)),
        ("4x4 BMP", bmp_rgb(4, 4)),
        ("8x8 TIFF", tiff_gray_8x8(&tiff_gray_entries(8, 8), 0)),
        ("chelsea.webp", photo("chelsea.webp")),
        ("logo-lossless.webp", photo("logo-lossless.webp")),
    ]
}

pub(super) fn not_images() -> Vec<Case> {
    vec![
        fails("empty", Code::EmptyInput, Vec::new()),
        fails("one-byte.bin", Code::UnsupportedFormat, vec![0xFF]),
        fails("random-16.bin", Code::UnsupportedFormat, random_bytes(1, 16)),
        fails("random-512.bin", Code::UnsupportedFormat, random_bytes(2, 512)),
        fails("random-8k.bin", Code::UnsupportedFormat, random_bytes(3, 8 << 10)),
        fails("random-64k.bin", Code::UnsupportedFormat, random_bytes(4, 64 << 10)),
        fails("text.txt", Code::UnsupportedFormat, b"This is a text file, not an image.\n".to_vec()),
        fails("document.pdf", Code::UnsupportedFormat, b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n".to_vec()),
        fails(
            "drawing.svg",
            Code::UnsupportedFormat,
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100000\" height=\"100000\"><rect width=\"1\" height=\"1\"/></svg>\n".to_vec(),
        ),
        fails("archive.zip", Code::UnsupportedFormat, b"PK\x03\x04\x14\x00\x00\x00\x00\x00image.png\x00PK\x05\x06\x00\x00".to_vec()),
        // Sniffed as AVIF, which this build does not decode.
        fails("header-only.avif", Code::UnsupportedFormat, b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf".to_vec()),
        // Almost BMP: the sniffer wants 26 bytes before it calls a file BMP.
        fails("bmp-magic-only.bmp", Code::UnsupportedFormat, b"BM".to_vec()),
    ]
}

pub(super) fn jpeg_cases() -> Vec<Case> {
    let jpeg = photo("astronaut.jpg");
    let rotated = photo("rotated-6.jpg");
    let is_app1 = |marker: u8| marker == 0xE1;
    let exif = |entries: &[IfdEntry], next: u32| jpeg_segment(0xE1, &exif_app1_payload(entries, next));
    let mut garbage_exif = b"Exif\0\0".to_vec();
    garbage_exif.extend_from_slice(&random_bytes(10, 4000));
    // Hundreds of maximal APP1 segments: about 20 MB of metadata in front of 23 KB of image.
    let huge_app1: Vec<Vec<u8>> = (0..300).map(|i| jpeg_segment(0xE1, &exif_filler(i))).collect();
    vec![
        fails("jpeg-soi-only.jpg", Code::TruncatedImage, b"\xFF\xD8\xFF".to_vec()),
        fails("jpeg-truncated-10pct.jpg", Code::TruncatedImage, truncated(&jpeg, 10)),
        fails("jpeg-truncated-50pct.jpg", Code::TruncatedImage, truncated(&jpeg, 50)),
        fails("jpeg-truncated-90pct.jpg", Code::TruncatedImage, truncated(&jpeg, 90)),
        fails("jpeg-truncated-before-eoi.jpg", Code::TruncatedImage, jpeg[..jpeg.len() - 2].to_vec()),
        fails("jpeg-header-then-eoi.jpg", Code::CorruptImage, jpeg_without_scan(&jpeg)),
        fails("jpeg-0x0.jpg", Code::CorruptImage, jpeg_with_declared_size(&jpeg, 0, 0)),
        fails("jpeg-65500x65500.jpg", Code::TooManyPixels, jpeg_with_declared_size(&jpeg, 65_500, 65_500)),
        fails("jpeg-65500x1000-rotated.jpg", Code::TooManyPixels, jpeg_with_declared_size(&rotated, 65_500, 1000)),
        // Over libjpeg's own maximum side (65,500), which it checks before we can.
        fails("jpeg-65535x65535.jpg", Code::TooManyPixels, jpeg_with_declared_size(&jpeg, 65_535, 65_535)),
        generated_only(decodes("jpeg-huge-exif.jpg", (256, 256), jpeg_rebuilt(&jpeg, &huge_app1, |_| true))),
        decodes(
            "jpeg-garbage-exif.jpg",
            (256, 256),
            jpeg_rebuilt(&jpeg, &[jpeg_segment(0xE1, &garbage_exif)], |_| true),
        ),
        // rotated-6.jpg is stored 160x120 and displays 120x160; without a valid orientation
        // it must come out as stored.
        decodes(
            "jpeg-exif-orientation-99.jpg",
            (160, 120),
            jpeg_rebuilt(&rotated, &[exif(&[IfdEntry::short(EXIF_ORIENTATION, 99)], 0)], |m| !is_app1(m)),
        ),
        decodes(
            "jpeg-exif-orientation-0.jpg",
            (160, 120),
            jpeg_rebuilt(&rotated, &[exif(&[IfdEntry::short(EXIF_ORIENTATION, 0)], 0)], |m| !is_app1(m)),
        ),
        // Orientation as a LONG with a count of 2^32-1, its values "at" the end of the file.
        decodes(
            "jpeg-exif-orientation-huge-count.jpg",
            (160, 120),
            jpeg_rebuilt(
                &rotated,
                &[exif(&[IfdEntry { tag: EXIF_ORIENTATION, kind: TIFF_LONG, count: u32::MAX, value: 0xFFFF_FFF0 }], 0)],
                |m| !is_app1(m),
            ),
        ),
        // IFD0's next-IFD offset points back at IFD0: a loop for a naive reader.
        decodes(
            "jpeg-exif-ifd-loop.jpg",
            (120, 160),
            jpeg_rebuilt(&rotated, &[exif(&[IfdEntry::short(EXIF_ORIENTATION, 6)], 8)], |m| !is_app1(m)),
        ),
        // An ICC profile in 3 chunks, numbered 3, 1, 3 (a duplicate, a gap) of a declared 2.
        decodes(
            "jpeg-icc-chunks-inconsistent.jpg",
            (256, 256),
            jpeg_rebuilt(&jpeg, &icc_chunks_inconsistent(), |_| true),
        ),
    ]
}

pub(super) fn png_cases() -> Vec<Case> {
    let png = png_rgb(16, 16, gradient);
    let ihdr = png_chunk(b"IHDR", &png_ihdr(16, 16, 8, 2));
    let idat = {
        let mut raw = Vec::new();
        for y in 0..16 {
            raw.push(0);
            (0..16).for_each(|x| raw.extend_from_slice(&gradient(x, y)));
        }
        png_chunk(b"IDAT", &zlib_stored(&raw))
    };
    let iend = png_chunk(b"IEND", &[]);
    let bad_crc = |chunk: &[u8]| {
        let mut chunk = chunk.to_vec();
        let last = chunk.len() - 1;
        chunk[last] ^= 0xFF;
        chunk
    };
    let bomb = |width: u32, height: u32| {
        png_from_chunks(&[png_chunk(b"IHDR", &png_ihdr(width, height, 8, 2)), idat.clone(), iend.clone()])
    };
    let mut orientation_99 = b"II\x2A\0\x08\0\0\0".to_vec();
    orientation_99.extend_from_slice(&crate::support::tiff_ifd_le(&[IfdEntry::short(EXIF_ORIENTATION, 99)], 0));
    vec![
        fails("png-signature-only.png", Code::TruncatedImage, crate::support::PNG_SIGNATURE.to_vec()),
        fails("png-truncated-in-ihdr.png", Code::TruncatedImage, png[..20].to_vec()),
        fails("png-truncated-50pct.png", Code::TruncatedImage, truncated(&png, 50)),
        fails("png-truncated-before-iend.png", Code::TruncatedImage, png[..png.len() - 12].to_vec()),
        fails(
            "png-bad-ihdr-crc.png",
            Code::CorruptImage,
            png_from_chunks(&[bad_crc(&ihdr), idat.clone(), iend.clone()]),
        ),
        fails(
            "png-bad-idat-crc.png",
            Code::CorruptImage,
            png_from_chunks(&[ihdr.clone(), bad_crc(&idat), iend.clone()]),
        ),
        fails("png-0x0.png", Code::CorruptImage, bomb(0, 0)),
        fails("png-100000x100000.png", Code::TooManyPixels, bomb(100_000, 100_000)),
        fails("png-1x60000000.png", Code::TooManyPixels, bomb(1, 60_000_000)),
        fails("png-2147483647x2147483647.png", Code::TooManyPixels, bomb(i32::MAX as u32, i32::MAX as u32)),
        // Under the pixel limit, so it is admitted: the decoder may allocate the declared
        // 7000x7000 RGBA (196 MB) before it finds that the data is missing. The pixel limit
        // is the allocation limit; this row keeps that visible.
        fails(
            "png-7000x7000-rgba-no-data.png",
            Code::TruncatedImage,
            png_from_chunks(&[
                png_chunk(b"IHDR", &png_ihdr(7000, 7000, 8, 6)),
                png_chunk(b"IDAT", &zlib_zeros(1000)[..40]),
            ]),
        ),
        // 16x16 pixels whose IDAT inflates to 64 MiB: the decoder must stop at the image's end.
        generated_only(decodes(
            "png-idat-inflates-to-64mib.png",
            (16, 16),
            png_from_chunks(&[ihdr.clone(), png_chunk(b"IDAT", &zlib_zeros(64 << 20)), iend.clone()]),
        )),
        decodes(
            "png-exif-orientation-99.png",
            (16, 16),
            png_from_chunks(&[ihdr.clone(), png_chunk(b"eXIf", &orientation_99), idat.clone(), iend.clone()]),
        ),
        decodes(
            "png-garbage-exif.png",
            (16, 16),
            png_from_chunks(&[ihdr.clone(), png_chunk(b"eXIf", &random_bytes(11, 300)), idat.clone(), iend.clone()]),
        ),
    ]
}

pub(super) fn gif_cases() -> Vec<Case> {
    let three = gif_animation(3);
    let mut no_frames = gif_header(1, 1);
    no_frames.push(GIF_TRAILER);
    let mut screen_bomb = gif_header(65_535, 65_535);
    screen_bomb.extend_from_slice(&gif_frame(1, 1, GIF_LZW_ONE_PIXEL));
    screen_bomb.push(GIF_TRAILER);
    // A 1x1 screen with a 65535x65535 frame: the frame is what would be decoded.
    let mut frame_bomb = gif_header(1, 1);
    frame_bomb.extend_from_slice(&gif_frame(65_535, 65_535, GIF_LZW_ONE_PIXEL));
    frame_bomb.push(GIF_TRAILER);
    // A 16x16 frame with one pixel of data.
    let mut short_lzw = gif_header(16, 16);
    short_lzw.extend_from_slice(&gif_frame(16, 16, GIF_LZW_ONE_PIXEL));
    short_lzw.push(GIF_TRAILER);
    let mut garbage_lzw = gif_header(16, 16);
    garbage_lzw.extend_from_slice(&gif_frame(16, 16, &random_bytes(20, 600)));
    garbage_lzw.push(GIF_TRAILER);
    vec![
        fails("gif-3000-frames.gif", Code::TooManyFrames, gif_animation(3000)),
        fails("gif-no-frames.gif", Code::CorruptImage, no_frames),
        fails("gif-header-only.gif", Code::TruncatedImage, gif_header(16, 16)),
        fails("gif-truncated-in-frame.gif", Code::TruncatedImage, three[..gif_header(1, 1).len() + 12].to_vec()),
        fails("gif-screen-65535x65535.gif", Code::TooManyPixels, screen_bomb),
        fails("gif-frame-65535x65535.gif", Code::TooManyPixels, frame_bomb),
        fails("gif-lzw-data-too-short.gif", Code::CorruptImage, short_lzw),
        fails("gif-lzw-garbage.gif", Code::CorruptImage, garbage_lzw),
    ]
}

pub(super) fn bmp_cases() -> Vec<Case> {
    let valid = bmp_rgb(4, 4);
    let pixels = valid[54..].to_vec();
    let top_down = {
        // The same rows, declared top-down with a negative height: a valid BMP.
        let rows: Vec<&[u8]> = pixels.chunks(12).rev().collect();
        bmp(4, -4, 24, 0, &[], &rows.concat())
    };
    vec![
        decodes("bmp-top-down.bmp", (4, 4), top_down),
        fails("bmp-truncated-50pct.bmp", Code::TruncatedImage, truncated(&valid, 50)),
        fails("bmp-header-only.bmp", Code::TruncatedImage, valid[..54].to_vec()),
        fails("bmp-100000x100000.bmp", Code::TooManyPixels, bmp(100_000, 100_000, 24, 0, &[], &pixels)),
        fails("bmp-100000x-100000.bmp", Code::TooManyPixels, bmp(100_000, -100_000, 24, 0, &[], &pixels)),
        fails("bmp-height-i32-min.bmp", Code::CorruptImage, bmp(4, i32::MIN, 24, 0, &[], &pixels)),
        fails("bmp-width-negative.bmp", Code::CorruptImage, bmp(-4, 4, 24, 0, &[], &pixels)),
        fails("bmp-i32-max-squared.bmp", Code::TooManyPixels, bmp(i32::MAX, i32::MAX, 24, 0, &[], &pixels)),
        fails("bmp-0x0.bmp", Code::CorruptImage, bmp(0, 0, 24, 0, &[], &[])),
        // 8 bits a pixel with a palette of 2^32-1 colours, none of them present.
        fails("bmp-palette-4g-colours.bmp", Code::CorruptImage, bmp(4, 4, 8, u32::MAX, &[], &[0; 16])),
        fails("bmp-bits-per-pixel-7.bmp", Code::CorruptImage, bmp(4, 4, 7, 0, &[], &pixels)),
    ]
}

pub(super) fn tiff_cases() -> Vec<Case> {
    let entries = tiff_gray_entries(8, 8);
    let chelsea = photo("chelsea.tif");
    let zeros_1k = zlib_zeros(1024);
    vec![
        fails("tiff-truncated-50pct.tif", Code::TruncatedImage, truncated(&chelsea, 50)),
        fails("tiff-header-only.tif", Code::TruncatedImage, b"II*\x00\x08\x00\x00\x00".to_vec()),
        // One Deflate strip of 1 KiB of zeros, declared to hold the whole image.
        fails("tiff-100000x100000-deflate.tif", Code::TooManyPixels, tiff_gray_deflate(100_000, 100_000, &zeros_1k)),
        fails(
            "tiff-4294967295x4294967295-deflate.tif",
            Code::TooManyPixels,
            tiff_gray_deflate(u32::MAX, u32::MAX, &zeros_1k),
        ),
        fails("tiff-0x0.tif", Code::CorruptImage, tiff_gray_8x8(&tiff_gray_entries(0, 0), 0)),
        // A strip or IFD that lies past the end looks exactly like a file cut short.
        fails(
            "tiff-strip-offset-past-the-end.tif",
            Code::TruncatedImage,
            tiff_gray_8x8(&with_entry(entries.clone(), IfdEntry::long(273, 0xFFFF_FF00)), 0),
        ),
        fails(
            "tiff-strip-byte-count-4gib.tif",
            Code::CorruptImage,
            tiff_gray_8x8(&with_entry(entries.clone(), IfdEntry::long(279, u32::MAX)), 0),
        ),
        fails(
            "tiff-rows-per-strip-0.tif",
            Code::CorruptImage,
            tiff_gray_8x8(&with_entry(entries.clone(), IfdEntry::long(278, 0)), 0),
        ),
        fails(
            "tiff-ifd-offset-past-the-end.tif",
            Code::TruncatedImage,
            b"II*\x00\xF0\xFF\xFF\x7F".iter().copied().chain([0u8; 16]).collect(),
        ),
        // The next-IFD offset points back at the first IFD (offset 8 + 64 pixel bytes).
        fails("tiff-ifd-loop.tif", Code::CorruptImage, tiff_gray_8x8(&entries, 72)),
        fails(
            "tiff-bits-per-sample-255.tif",
            Code::CorruptImage,
            tiff_gray_8x8(&with_entry(entries.clone(), IfdEntry::short(258, 255)), 0),
        ),
    ]
}

pub(super) fn webp_cases() -> Vec<Case> {
    let lossy = photo("chelsea.webp");
    let lossless = photo("logo-lossless.webp");
    let vp8l = webp_chunks(&lossless).into_iter().find(|(fourcc, _)| fourcc == b"VP8L").expect("a VP8L chunk").1;
    let vp8l_sized = |width: u32, height: u32| {
        // VP8L header: 0x2F, then 14 bits width-1, 14 bits height-1, alpha bit, version.
        let mut payload = vp8l.clone();
        let packed = u32::from_le_bytes(payload[1..5].try_into().expect("4 bytes"));
        let packed = (packed & 0xF000_0000) | ((height - 1) << 14) | (width - 1);
        payload[1..5].copy_from_slice(&packed.to_le_bytes());
        webp_from_chunks(&[(*b"VP8L", payload)])
    };
    let mut riff_size_lies = lossy.clone();
    riff_size_lies[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    vec![
        fails("webp-lossy-truncated-50pct.webp", Code::TruncatedImage, truncated(&lossy, 50)),
        fails("webp-lossy-truncated-90pct.webp", Code::TruncatedImage, truncated(&lossy, 90)),
        fails("webp-lossless-truncated-50pct.webp", Code::TruncatedImage, truncated(&lossless, 50)),
        fails("webp-riff-header-only.webp", Code::TruncatedImage, lossy[..12].to_vec()),
        // The RIFF size may overstate the file; the chunks inside are what counts.
        decodes("webp-riff-size-4gib.webp", (200, 133), riff_size_lies),
        fails("webp-vp8l-16383x16383.webp", Code::TooManyPixels, vp8l_sized(16_383, 16_383)),
        // 16384 is VP8L's largest side (14 bits + 1).
        fails("webp-vp8l-16384x16384.webp", Code::TooManyPixels, vp8l_sized(16_384, 16_384)),
        fails(
            "webp-vp8x-canvas-60000x60000.webp",
            Code::TooManyPixels,
            webp_from_chunks(&[(*b"VP8X", webp_vp8x(0x10, 60_000, 60_000)), (*b"VP8L", vp8l.clone())]),
        ),
        fails(
            "webp-vp8x-canvas-100000x100000.webp",
            Code::TooManyPixels,
            webp_from_chunks(&[(*b"VP8X", webp_vp8x(0x10, 100_000, 100_000)), (*b"VP8L", vp8l.clone())]),
        ),
    ]
}

/// Reproducers from fuzzing (docs/fuzzing.md), kept as files under `test-data/hostile/`:
/// their bytes are the record, so they have no generator. Add one row per finding, e.g.
/// `from_corpus("fuzz-decode-<sha1>.bin", Expect::Fails(Code::CorruptImage))`.
pub(super) fn fuzz_findings() -> Vec<Case> {
    Vec::new()
}

/// A row whose bytes are a committed file (a fuzz finding) rather than generated.
#[allow(dead_code)] // Used as findings come in.
pub(super) fn from_corpus(name: &'static str, expect: Expect) -> Case {
    let path = corpus_dir().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    Case { name, bytes, expect, commit: false }
}

// ---------------------------------------------------------------------------------------
// Builders used by several cases.

/// An 8x8 grayscale TIFF with the given (possibly lying) tags.
pub(super) fn tiff_gray_8x8(entries: &[IfdEntry], next_ifd: u32) -> Vec<u8> {
    let pixels: Vec<u8> = (0..64u8).map(|i| i * 4).collect();
    tiff_le(&pixels, entries, next_ifd)
}

/// A 65,533-byte APP1 payload that starts like EXIF and is otherwise filler.
pub(super) fn exif_filler(index: u32) -> Vec<u8> {
    let mut payload = exif_app1_payload(&[IfdEntry::short(EXIF_ORIENTATION, 1)], 0);
    payload.resize(65_533, (index % 251) as u8);
    payload
}

pub(super) fn icc_chunks_inconsistent() -> Vec<Vec<u8>> {
    [3u8, 1, 3]
        .iter()
        .map(|&seq| {
            let mut payload = b"ICC_PROFILE\0".to_vec();
            payload.extend_from_slice(&[seq, 2]);
            payload.extend_from_slice(&random_bytes(u64::from(seq), 200));
            jpeg_segment(0xE2, &payload)
        })
        .collect()
}
