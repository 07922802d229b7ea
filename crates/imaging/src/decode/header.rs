//! Reading the size a file declares, straight from its header bytes, before any decoder
//! library sees them. Libraries refuse sizes past their own hard limits with errors we
//! cannot tell from corruption; reading the size first lets every oversized file get the
//! same `too_many_pixels`, and nothing is allocated on the library's word.

use crate::format::Format;

/// Width and height as stored (before EXIF orientation), or `None` when the header is too
/// short or malformed to say: the decoder will then report what is wrong.
pub(super) fn declared_size(bytes: &[u8], format: Format) -> Option<(u32, u32)> {
    match format {
        Format::Png => png(bytes),
        Format::Gif => gif(bytes),
        Format::Bmp => bmp(bytes),
        Format::Webp => webp(bytes),
        Format::Tiff => tiff(bytes),
        Format::Jpeg => jpeg(bytes),
        Format::Avif => None,
    }
}

/// Whether a RIFF container (WebP) declares more bytes than it has: a truncated file.
pub(super) fn riff_is_truncated(bytes: &[u8]) -> bool {
    let declared = bytes.get(4..8).map(|b| u32_le(b) as usize).unwrap_or(0);
    declared.saturating_add(8) > bytes.len()
}

fn png(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    Some((u32_be(bytes.get(16..20)?), u32_be(bytes.get(20..24)?)))
}

/// The logical screen, or the largest frame when a frame pokes out of it (the decoder
/// allocates for frames too).
fn gif(bytes: &[u8]) -> Option<(u32, u32)> {
    let screen = (u32::from(u16_le(bytes.get(6..8)?)), u32::from(u16_le(bytes.get(8..10)?)));
    let frame = super::gif::first_frame_extent(bytes).unwrap_or((0, 0));
    Some((screen.0.max(frame.0), screen.1.max(frame.1)))
}

fn bmp(bytes: &[u8]) -> Option<(u32, u32)> {
    let header_len = u32_le(bytes.get(14..18)?);
    if header_len == 12 {
        // OS/2 BITMAPCOREHEADER: 16-bit sizes.
        return Some((u32::from(u16_le(bytes.get(18..20)?)), u32::from(u16_le(bytes.get(20..22)?))));
    }
    let width = i32::from_le_bytes(bytes.get(18..22)?.try_into().ok()?);
    let height = i32::from_le_bytes(bytes.get(22..26)?.try_into().ok()?);
    // A negative height means top-down rows; the size is its magnitude. i32::MIN has
    // none: leave that header to the decoder, which calls it corrupt.
    if height == i32::MIN || width < 0 {
        return None;
    }
    Some((width.unsigned_abs(), height.unsigned_abs()))
}

fn webp(bytes: &[u8]) -> Option<(u32, u32)> {
    let chunk = bytes.get(12..16)?;
    let data = bytes.get(20..)?;
    match chunk {
        b"VP8X" => {
            let w = u32_le24(data.get(4..7)?) + 1;
            let h = u32_le24(data.get(7..10)?) + 1;
            Some((w, h))
        }
        b"VP8L" => {
            if *data.first()? != 0x2F {
                return None;
            }
            let bits = u32_le(data.get(1..5)?);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8 " => {
            if data.get(3..6)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            let w = u32::from(u16_le(data.get(6..8)?) & 0x3FFF);
            let h = u32::from(u16_le(data.get(8..10)?) & 0x3FFF);
            Some((w, h))
        }
        _ => None,
    }
}

/// The first IFD's ImageWidth (256) and ImageLength (257) tags.
fn tiff(bytes: &[u8]) -> Option<(u32, u32)> {
    let little = bytes.get(0..2)? == b"II";
    let read16 =
        |at: usize| bytes.get(at..at + 2).map(|b| if little { u16_le(b) } else { u16::from_be_bytes([b[0], b[1]]) });
    let read32 = |at: usize| bytes.get(at..at + 4).map(|b| if little { u32_le(b) } else { u32_be(b) });
    let ifd = read32(4)? as usize;
    let entries = usize::from(read16(ifd)?).min(4096);
    let (mut width, mut height) = (None, None);
    for i in 0..entries {
        let entry = ifd + 2 + i * 12;
        let tag = read16(entry)?;
        let value = match read16(entry + 2)? {
            3 => u32::from(read16(entry + 8)?),
            4 => read32(entry + 8)?,
            _ => continue,
        };
        match tag {
            256 => width = Some(value),
            257 => height = Some(value),
            _ => {}
        }
    }
    Some((width?, height?))
}

/// The first start-of-frame segment (any SOFn), found by walking the marker segments.
fn jpeg(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut pos = 2;
    loop {
        // Skip fill bytes before a marker.
        while *bytes.get(pos)? == 0xFF && *bytes.get(pos + 1)? == 0xFF {
            pos += 1;
        }
        if *bytes.get(pos)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(pos + 1)?;
        let len = usize::from(u16::from_be_bytes([*bytes.get(pos + 2)?, *bytes.get(pos + 3)?]));
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let h = u16::from_be_bytes([*bytes.get(pos + 5)?, *bytes.get(pos + 6)?]);
            let w = u16::from_be_bytes([*bytes.get(pos + 7)?, *bytes.get(pos + 8)?]);
            return Some((u32::from(w), u32::from(h)));
        }
        if marker == 0xDA || len < 2 {
            return None;
        }
        pos += 2 + len;
    }
}

fn u16_le(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn u32_be(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn u32_le24(b: &[u8]) -> u32 {
    u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16
}
