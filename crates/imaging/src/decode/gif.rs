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
            // Trailer, or garbage: stop counting either way.
            _ => return Ok(()),
        }
    }
    Ok(())
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
