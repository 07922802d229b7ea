//! Adds an ICC profile to a WebP file: the extended (VP8X) container with an ICCP chunk.
//! libwebp's simple encoder cannot, and its mux library is more than this needs.

/// Rewrites `webp` (as libwebp's simple API writes it) with `icc` embedded. Returns `None`
/// if `webp` is not the RIFF layout we expect.
pub(super) fn with_icc_profile(webp: &[u8], icc: &[u8], width: u32, height: u32, has_alpha: bool) -> Option<Vec<u8>> {
    if webp.len() < 20 || &webp[0..4] != b"RIFF" || &webp[8..12] != b"WEBP" {
        return None;
    }
    let mut chunks = Vec::new();
    let mut pos = 12;
    while pos + 8 <= webp.len() {
        let fourcc: [u8; 4] = webp[pos..pos + 4].try_into().ok()?;
        let len = u32::from_le_bytes(webp[pos + 4..pos + 8].try_into().ok()?) as usize;
        let end = pos.checked_add(8)?.checked_add(len)?;
        let payload = webp.get(pos + 8..end)?;
        chunks.push((fourcc, payload));
        pos = end + (len & 1);
    }
    let mut body = Vec::with_capacity(webp.len() + icc.len() + 64);
    body.extend_from_slice(b"WEBP");
    let mut flags = 0x20u8; // ICC profile present
    if has_alpha {
        flags |= 0x10;
    }
    let mut vp8x = [0u8; 10];
    vp8x[0] = flags;
    vp8x[4..7].copy_from_slice(&(width - 1).to_le_bytes()[..3]);
    vp8x[7..10].copy_from_slice(&(height - 1).to_le_bytes()[..3]);
    push_chunk(&mut body, b"VP8X", &vp8x);
    push_chunk(&mut body, b"ICCP", icc);
    for (fourcc, payload) in chunks {
        if &fourcc != b"VP8X" && &fourcc != b"ICCP" {
            push_chunk(&mut body, &fourcc, payload);
        }
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&u32::try_from(body.len()).ok()?.to_le_bytes());
    out.extend_from_slice(&body);
    Some(out)
}

fn push_chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], payload: &[u8]) {
    out.extend_from_slice(fourcc);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        out.push(0);
    }
}
