//! EXIF orientation: read from a JPEG APP1 segment, and how it changes the displayed size.

use image::metadata::Orientation;

/// Reads the orientation tag from an APP1 payload ("Exif\0\0" + TIFF). Anything malformed
/// counts as "no rotation": a broken EXIF block must never fail an otherwise good image.
pub(super) fn orientation_from_app1(payload: &[u8]) -> Orientation {
    let Some(tiff) = payload.strip_prefix(b"Exif\0\0") else {
        return Orientation::NoTransforms;
    };
    // Cameras and editors write slightly broken EXIF often (a bad next-IFD offset, say);
    // take whatever parsed rather than dropping the orientation with the rest.
    let parsed = match exif::Reader::new().continue_on_error(true).read_raw(tiff.to_vec()) {
        Ok(parsed) => parsed,
        Err(exif::Error::PartialResult(partial)) => partial.into_inner().0,
        Err(_) => return Orientation::NoTransforms,
    };
    parsed
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|field| field.value.get_uint(0))
        .and_then(|value| u8::try_from(value).ok())
        .and_then(Orientation::from_exif)
        .unwrap_or(Orientation::NoTransforms)
}

/// Whether displaying with this orientation swaps width and height.
pub(super) fn swaps_axes(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90 | Orientation::Rotate270 | Orientation::Rotate90FlipH | Orientation::Rotate270FlipH
    )
}

pub(super) fn oriented_size(width: u32, height: u32, orientation: Orientation) -> (u32, u32) {
    if swaps_axes(orientation) {
        (height, width)
    } else {
        (width, height)
    }
}
