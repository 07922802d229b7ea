//! Counting a GIF's frames by walking its block structure, without decoding any of them.
//! Only the first frame is decoded; the count exists to refuse files built to exhaust a
//! server with thousands of frames.

use crate::error::{Error, Result};

/// Walks the block list and fails once more than `limit` image descriptors are seen. The
/// walk is linear in the file size and allocates nothing. A file that ends early is left
/// for the decoder to report: the first frame may still be whole.
pub(super) fn check_frame_count(bytes: &[u8], limit: u32) -> Result<()> {
    let mut frames: u32 = 0;
    let Some(mut pos) = after_header(bytes) else {
        return Ok(());
    };
    while let Some(&block) = bytes.get(pos) {
        match block {
            // Image descriptor: 10 bytes, an optional local colour table, then LZW data.
            0x2C => {
                frames += 1;
                if frames > limit {
                    return Err(Error::TooManyFrames { limit });
                }
                let Some(&packed) = bytes.get(pos + 9) else {
                    return Ok(());
                };
                pos += 10 + colour_table_len(packed);
                pos += 1; // LZW minimum code size
                let Some(next) = skip_sub_blocks(bytes, pos) else {
                    return Ok(());
                };
                pos = next;
            }
            // Extension: label, then sub-blocks.
            0x21 => {
                let Some(next) = skip_sub_blocks(bytes, pos + 2) else {
                    return Ok(());
                };
                pos = next;
            }
            // The trailer: a complete file, which must have shown at least one frame.
            0x3B if frames == 0 => {
                return Err(Error::Corrupt { format: "GIF", detail: "the file has no frames".into() });
            }
            // The trailer after frames, or garbage: stop counting either way.
            _ => return Ok(()),
        }
    }
    Ok(())
}

/// The extent (left + width, top + height) of the first frame's image descriptor.
pub(super) fn first_frame_extent(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut pos = after_header(bytes)?;
    loop {
        match *bytes.get(pos)? {
            0x2C => {
                let field =
                    |at: usize| bytes.get(pos + at..pos + at + 2).map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])));
                return Some((field(1)? + field(5)?, field(3)? + field(7)?));
            }
            0x21 => pos = skip_sub_blocks(bytes, pos + 2)?,
            _ => return None,
        }
    }
}

fn after_header(bytes: &[u8]) -> Option<usize> {
    // 6-byte signature, 7-byte logical screen descriptor, optional global colour table.
    let packed = *bytes.get(10)?;
    Some(13 + colour_table_len(packed))
}

fn colour_table_len(packed: u8) -> usize {
    if packed & 0x80 != 0 {
        3 * (1usize << ((packed & 0x07) + 1))
    } else {
        0
    }
}

fn skip_sub_blocks(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *bytes.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            return Some(pos);
        }
        pos += len;
    }
}
