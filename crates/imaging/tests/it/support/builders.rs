//! Byte-level builders for hostile and valid test files: checksums, zlib, PNG, JPEG
//! segments, TIFF/EXIF, BMP, GIF and WebP, written by hand so every byte is deliberate.

use rand::{RngCore, SeedableRng};

// ---------------------------------------------------------------------------------------
// Checksums and byte-level builders.

/// CRC-32 as PNG and gzip compute it, bit by bit: test files are small.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Adler-32, the checksum that ends a zlib stream.
pub fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// A zlib stream holding `data` in stored (uncompressed) deflate blocks: valid, and
/// byte-for-byte reproducible without any compressor.
pub fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[0x01, 0x00, 0x00, 0xFF, 0xFF]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// A zlib stream that inflates to `len` zero bytes while staying about 600 times smaller:
/// one fixed-Huffman block of a literal 0 and then back-references of 258 bytes each.
/// For zip-bomb style inputs.
pub fn zlib_zeros(len: usize) -> Vec<u8> {
    let mut bits = BitWriter::default();
    bits.push(1, 1); // BFINAL
    bits.push(1, 2); // BTYPE = 01, fixed Huffman
    let mut left = len;
    if left > 0 {
        bits.push_huffman(0b0011_0000, 8); // literal 0 (literals 0..=143 are 0x30 + value, 8 bits)
        left -= 1;
    }
    while left >= 258 {
        bits.push_huffman(0b1100_0101, 8); // length 258 (code 285, no extra bits)
        bits.push_huffman(0, 5); // distance code 0: one byte back, no extra bits
        left -= 258;
    }
    for _ in 0..left {
        bits.push_huffman(0b0011_0000, 8);
    }
    bits.push_huffman(0, 7); // end of block (code 256, 7 bits 0000000)
    let mut out = vec![0x78, 0x01];
    out.extend_from_slice(&bits.finish());
    // Adler-32 of n zeros: a = 1, b = n mod 65521.
    let b = (len % 65_521) as u32;
    out.extend_from_slice(&((b << 16) | 1).to_be_bytes());
    out
}

#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    current: u32,
    n_bits: u32,
}

impl BitWriter {
    /// Pushes `count` bits of `value`, least significant first (deflate's header fields).
    fn push(&mut self, value: u32, count: u32) {
        for i in 0..count {
            self.current |= ((value >> i) & 1) << self.n_bits;
            self.n_bits += 1;
            if self.n_bits == 8 {
                self.bytes.push(self.current as u8);
                self.current = 0;
                self.n_bits = 0;
            }
        }
    }

    /// Pushes a Huffman code, most significant bit first, as deflate stores codes.
    fn push_huffman(&mut self, code: u32, count: u32) {
        for i in (0..count).rev() {
            self.push((code >> i) & 1, 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n_bits > 0 {
            self.bytes.push(self.current as u8);
        }
        self.bytes
    }
}

/// The 8-byte PNG signature.
pub const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// One PNG chunk: length, type, data, and the CRC of type and data.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 12);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    out
}

/// The 13-byte IHDR payload: no interlace, default compression and filter.
pub fn png_ihdr(width: u32, height: u32, bit_depth: u8, color_type: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(13);
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&[bit_depth, color_type, 0, 0, 0]);
    out
}

/// A complete, valid 8-bit RGB PNG of `width` x `height`, whose pixels come from
/// `pixel(x, y)`. Stored deflate, so the bytes never change with a library version.
pub fn png_rgb(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let mut raw = Vec::with_capacity((height * (1 + 3 * width)) as usize);
    for y in 0..height {
        raw.push(0); // filter type None
        for x in 0..width {
            raw.extend_from_slice(&pixel(x, y));
        }
    }
    png_from_chunks(&[
        png_chunk(b"IHDR", &png_ihdr(width, height, 8, 2)),
        png_chunk(b"IDAT", &zlib_stored(&raw)),
        png_chunk(b"IEND", &[]),
    ])
}

/// The signature followed by the given chunks, as they are.
pub fn png_from_chunks(chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = PNG_SIGNATURE.to_vec();
    for chunk in chunks {
        out.extend_from_slice(chunk);
    }
    out
}

/// A gradient that tells rows and columns apart, for builders that need some pixels.
pub fn gradient(x: u32, y: u32) -> [u8; 3] {
    [(x * 16) as u8, (y * 16) as u8, 128]
}

/// One JPEG marker segment: `FF marker`, a big-endian length that counts itself, payload.
/// Panics if the payload is over the format's 65,533 bytes.
pub fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len() + 2).expect("a JPEG segment holds at most 65,533 bytes");
    let mut out = vec![0xFF, marker];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The marker segments of a JPEG before its first SOS, as (marker, whole segment bytes),
/// and the offset where the SOS starts. Panics on a file that is not a plain JPEG: it is
/// for editing known-good fixtures, not for parsing untrusted input.
pub fn jpeg_header_segments(jpeg: &[u8]) -> (Vec<(u8, Vec<u8>)>, usize) {
    assert_eq!(&jpeg[..2], b"\xFF\xD8", "not a JPEG");
    let mut segments = Vec::new();
    let mut pos = 2;
    loop {
        assert_eq!(jpeg[pos], 0xFF, "expected a marker at byte {pos}");
        let marker = jpeg[pos + 1];
        if marker == 0xDA {
            return (segments, pos);
        }
        let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        segments.push((marker, jpeg[pos..pos + 2 + len].to_vec()));
        pos += 2 + len;
    }
}

/// `jpeg` with `extra` segments inserted right after SOI and every header segment for
/// which `keep(marker)` is false removed.
pub fn jpeg_rebuilt(jpeg: &[u8], extra: &[Vec<u8>], keep: impl Fn(u8) -> bool) -> Vec<u8> {
    let (segments, sos) = jpeg_header_segments(jpeg);
    let mut out = b"\xFF\xD8".to_vec();
    for segment in extra {
        out.extend_from_slice(segment);
    }
    for (_, segment) in segments.iter().filter(|(marker, _)| keep(*marker)) {
        out.extend_from_slice(segment);
    }
    out.extend_from_slice(&jpeg[sos..]);
    out
}

/// `jpeg` with the size in its SOF0/SOF1/SOF2 header replaced.
pub fn jpeg_with_declared_size(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
    let (segments, _) = jpeg_header_segments(jpeg);
    let mut offset = 2;
    for (marker, segment) in &segments {
        if matches!(marker, 0xC0..=0xC2) {
            let mut out = jpeg.to_vec();
            // FF Cn, length (2), precision (1), height (2), width (2).
            out[offset + 5..offset + 7].copy_from_slice(&height.to_be_bytes());
            out[offset + 7..offset + 9].copy_from_slice(&width.to_be_bytes());
            return out;
        }
        offset += segment.len();
    }
    panic!("no SOF0..SOF2 segment");
}

/// One 12-byte IFD entry of a little-endian TIFF: tag, field type, count, and the value
/// (or the offset of the values when they do not fit in four bytes). Types: 3 SHORT, 4 LONG.
#[derive(Debug, Clone, Copy)]
pub struct IfdEntry {
    pub tag: u16,
    pub kind: u16,
    pub count: u32,
    pub value: u32,
}

pub const TIFF_SHORT: u16 = 3;
pub const TIFF_LONG: u16 = 4;

impl IfdEntry {
    pub fn short(tag: u16, value: u16) -> IfdEntry {
        IfdEntry { tag, kind: TIFF_SHORT, count: 1, value: u32::from(value) }
    }

    pub fn long(tag: u16, value: u32) -> IfdEntry {
        IfdEntry { tag, kind: TIFF_LONG, count: 1, value }
    }
}

/// An IFD at file offset `at`: entry count, entries (sorted by tag here), next-IFD offset.
pub fn tiff_ifd_le(entries: &[IfdEntry], next_ifd: u32) -> Vec<u8> {
    let mut sorted = entries.to_vec();
    sorted.sort_by_key(|entry| entry.tag);
    let mut out = (sorted.len() as u16).to_le_bytes().to_vec();
    for entry in &sorted {
        out.extend_from_slice(&entry.tag.to_le_bytes());
        out.extend_from_slice(&entry.kind.to_le_bytes());
        out.extend_from_slice(&entry.count.to_le_bytes());
        // A single SHORT sits in the first two bytes; little-endian u32 puts it there.
        out.extend_from_slice(&entry.value.to_le_bytes());
    }
    out.extend_from_slice(&next_ifd.to_le_bytes());
    out
}

/// An EXIF APP1 payload ("Exif\0\0" and a little-endian TIFF) with one IFD.
pub fn exif_app1_payload(entries: &[IfdEntry], next_ifd: u32) -> Vec<u8> {
    let mut out = b"Exif\0\0II\x2A\0\x08\0\0\0".to_vec();
    out.extend_from_slice(&tiff_ifd_le(entries, next_ifd));
    out
}

/// The EXIF Orientation tag (0x0112), a SHORT; valid values are 1..=8.
pub const EXIF_ORIENTATION: u16 = 0x0112;

/// The tags of a baseline grayscale TIFF with one uncompressed strip at offset 8.
pub fn tiff_gray_entries(width: u32, height: u32) -> Vec<IfdEntry> {
    vec![
        IfdEntry::long(256, width),          // ImageWidth
        IfdEntry::long(257, height),         // ImageLength
        IfdEntry::short(258, 8),             // BitsPerSample
        IfdEntry::short(259, 1),             // Compression: none
        IfdEntry::short(262, 1),             // PhotometricInterpretation: black is zero
        IfdEntry::long(273, 8),              // StripOffsets
        IfdEntry::short(277, 1),             // SamplesPerPixel
        IfdEntry::long(278, height),         // RowsPerStrip
        IfdEntry::long(279, width * height), // StripByteCounts
    ]
}

/// A little-endian TIFF: header, `pixels` at offset 8, then the IFD built from `entries`
/// (which may lie about anything: they are written as given).
pub fn tiff_le(pixels: &[u8], entries: &[IfdEntry], next_ifd: u32) -> Vec<u8> {
    let ifd_offset = 8 + pixels.len() as u32;
    let mut out = b"II\x2A\0".to_vec();
    out.extend_from_slice(&ifd_offset.to_le_bytes());
    out.extend_from_slice(pixels);
    out.extend_from_slice(&tiff_ifd_le(entries, next_ifd));
    out
}

/// Replaces the value of every entry with `tag`.
pub fn with_entry(mut entries: Vec<IfdEntry>, replacement: IfdEntry) -> Vec<IfdEntry> {
    entries.retain(|entry| entry.tag != replacement.tag);
    entries.push(replacement);
    entries
}

/// A BMP with a 40-byte BITMAPINFOHEADER (BI_RGB), as declared: the sizes are not checked
/// against the data, so it can describe anything. `palette` holds 4 bytes per colour.
pub fn bmp(width: i32, height: i32, bits_per_pixel: u16, colours_used: u32, palette: &[u8], pixels: &[u8]) -> Vec<u8> {
    let data_offset = 14 + 40 + palette.len() as u32;
    let file_size = data_offset + pixels.len() as u32;
    let mut out = b"BM".to_vec();
    out.extend_from_slice(&file_size.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&data_offset.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // planes
    out.extend_from_slice(&bits_per_pixel.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // BI_RGB
    out.extend_from_slice(&(pixels.len() as u32).to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes()); // 72 dpi
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&colours_used.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // important colours
    out.extend_from_slice(palette);
    out.extend_from_slice(pixels);
    out
}

/// A valid 24-bit BMP of `width` x `height` (bottom-up), pixels from [`gradient`].
pub fn bmp_rgb(width: u32, height: u32) -> Vec<u8> {
    let stride = (width * 3).div_ceil(4) * 4;
    let mut pixels = vec![0u8; (stride * height) as usize];
    for y in 0..height {
        for x in 0..width {
            let [r, g, b] = gradient(x, height - 1 - y);
            let at = (y * stride + x * 3) as usize;
            pixels[at..at + 3].copy_from_slice(&[b, g, r]);
        }
    }
    bmp(width as i32, height as i32, 24, 0, &[], &pixels)
}

/// A GIF89a header with a logical screen of `width` x `height` and a 2-colour global
/// palette (black, white).
pub fn gif_header(width: u16, height: u16) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&[0x80, 0, 0]); // global table of 2 colours, background 0, aspect 0
    out.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    out
}

/// LZW data (minimum code size 2) for exactly one pixel of colour 0: clear, 0, end.
pub const GIF_LZW_ONE_PIXEL: &[u8] = &[0x44, 0x01];

/// A graphic control extension (a 100 ms frame delay) and an image descriptor for a
/// `width` x `height` frame at the origin, followed by `lzw` as sub-blocks.
pub fn gif_frame(width: u16, height: u16, lzw: &[u8]) -> Vec<u8> {
    let mut out = vec![0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00];
    out.push(0x2C);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.push(0); // no local colour table, not interlaced
    out.push(2); // LZW minimum code size
    for block in lzw.chunks(255) {
        out.push(block.len() as u8);
        out.extend_from_slice(block);
    }
    out.push(0);
    out
}

/// The GIF trailer byte.
pub const GIF_TRAILER: u8 = 0x3B;

/// An animated GIF of `frames` 1x1 frames on a 1x1 screen: 23 bytes a frame.
pub fn gif_animation(frames: usize) -> Vec<u8> {
    let mut out = gif_header(1, 1);
    for _ in 0..frames {
        out.extend_from_slice(&gif_frame(1, 1, GIF_LZW_ONE_PIXEL));
    }
    out.push(GIF_TRAILER);
    out
}

/// A grayscale TIFF declaring `width` x `height` in one Deflate-compressed `strip`.
pub fn tiff_gray_deflate(width: u32, height: u32, strip: &[u8]) -> Vec<u8> {
    let entries = [
        IfdEntry::long(256, width),
        IfdEntry::long(257, height),
        IfdEntry::short(258, 8),
        IfdEntry::short(259, 8), // Compression: Deflate
        IfdEntry::short(262, 1),
        IfdEntry::long(273, 8),
        IfdEntry::short(277, 1),
        IfdEntry::long(278, height),
        IfdEntry::long(279, strip.len() as u32),
    ];
    tiff_le(strip, &entries, 0)
}

/// The JPEG's header segments (tables, SOF) and then EOI, with no scan at all.
pub fn jpeg_without_scan(jpeg: &[u8]) -> Vec<u8> {
    let (_, sos) = jpeg_header_segments(jpeg);
    let mut out = jpeg[..sos].to_vec();
    out.extend_from_slice(b"\xFF\xD9");
    out
}

/// The chunks of a RIFF/WebP file as (fourcc, payload), read from a known-good fixture.
pub fn webp_chunks(webp: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    assert!(webp.len() >= 12 && &webp[..4] == b"RIFF" && &webp[8..12] == b"WEBP", "not a WebP");
    let mut chunks = Vec::new();
    let mut pos = 12;
    while pos + 8 <= webp.len() {
        let fourcc: [u8; 4] = webp[pos..pos + 4].try_into().expect("4 bytes");
        let len = u32::from_le_bytes(webp[pos + 4..pos + 8].try_into().expect("4 bytes")) as usize;
        chunks.push((fourcc, webp[pos + 8..pos + 8 + len].to_vec()));
        pos += 8 + len + len % 2;
    }
    chunks
}

/// A RIFF/WebP file from (fourcc, payload) chunks, padded and sized as the format says.
pub fn webp_from_chunks(chunks: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut body = b"WEBP".to_vec();
    for (fourcc, payload) in chunks {
        body.extend_from_slice(fourcc);
        body.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        body.extend_from_slice(payload);
        if payload.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// A VP8X chunk payload: feature flags and a canvas of `width` x `height` (24 bits each).
pub fn webp_vp8x(flags: u8, width: u32, height: u32) -> Vec<u8> {
    let mut out = vec![flags, 0, 0, 0];
    out.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    out.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    out
}

/// `len` bytes from a ChaCha stream seeded with `seed`: the same on every platform and run.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = vec![0u8; len];
    rng.fill_bytes(&mut out);
    out
}

/// The first `percent` % of `bytes` (rounded down).
pub fn truncated(bytes: &[u8], percent: usize) -> Vec<u8> {
    bytes[..bytes.len() * percent / 100].to_vec()
}
