//! What `blur_faces` and `pixelate_faces` share: finding the faces, the pixel rectangle a
//! face covers once padded, and rewriting such a rectangle in place without changing the
//! image's layout.

use image::DynamicImage;

use super::detect_faces::known_or_detected;
use super::{Ctx, OpName};
use crate::annotations::Annotations;
use crate::error::{Error, Result};
use crate::models::FaceAnnotation;

/// Runs `redact` on the padded rectangle of every face in `image`: those an earlier
/// `detect_faces` step found, else those detected now for `op`.
pub(crate) fn each_face(
    mut image: DynamicImage,
    annotations: &mut Annotations,
    op: OpName,
    padding: f32,
    ctx: &Ctx<'_>,
    mut redact: impl FnMut(&mut DynamicImage, Rect) -> Result<()>,
) -> Result<DynamicImage> {
    let faces = known_or_detected(&image, annotations, op, ctx)?;
    let size = (image.width(), image.height());
    for face in &faces {
        if let Some(rect) = region(face, padding, size) {
            redact(&mut image, rect)?;
        }
    }
    Ok(image)
}

/// A rectangle of whole pixels: left, top, width, height.
pub(crate) type Rect = (u32, u32, u32, u32);

/// The pixels `face` covers, grown by `padding` times its size on every side (hair, chin
/// and ears sit outside the detector's box) and clipped to a `size` image. `None` when
/// nothing of it is inside.
pub(crate) fn region(face: &FaceAnnotation, padding: f32, size: (u32, u32)) -> Option<Rect> {
    let (pad_x, pad_y) = (face.width.max(0.0) * padding, face.height.max(0.0) * padding);
    let clip = |v: f32, max: u32| -> u32 { v.clamp(0.0, max as f32) as u32 };
    // Outwards to whole pixels: a partly covered pixel is redacted too.
    let (x0, y0) = (clip((face.x - pad_x).floor(), size.0), clip((face.y - pad_y).floor(), size.1));
    let (x1, y1) =
        (clip((face.x + face.width + pad_x).ceil(), size.0), clip((face.y + face.height + pad_y).ceil(), size.1));
    (x1 > x0 && y1 > y0).then_some((x0, y0, x1 - x0, y1 - y0))
}

/// The image's bytes and channel count, for the 8-bit layouts pipelines carry.
pub(crate) fn bytes_mut(image: &mut DynamicImage) -> Result<(&mut [u8], usize)> {
    let channels = usize::from(image.color().channel_count());
    let bytes: &mut [u8] = match image {
        DynamicImage::ImageLuma8(buffer) => buffer,
        DynamicImage::ImageLumaA8(buffer) => buffer,
        DynamicImage::ImageRgb8(buffer) => buffer,
        DynamicImage::ImageRgba8(buffer) => buffer,
        other => return Err(Error::Internal(format!("face redaction got a {:?} image", other.color()))),
    };
    Ok((bytes, channels))
}

/// Copies `patch` (the layout of `image`, as cut by `crop_imm`) back over `image` at `rect`.
pub(crate) fn put_back(image: &mut DynamicImage, patch: &DynamicImage, rect: Rect) -> Result<()> {
    let (x, y, w, h) = rect;
    if patch.color() != image.color() || (patch.width(), patch.height()) != (w, h) {
        return Err(Error::Internal("a redacted patch changed layout or size".into()));
    }
    let width = image.width() as usize;
    let (bytes, channels) = bytes_mut(image)?;
    let row_len = w as usize * channels;
    for (row, source) in patch.as_bytes().chunks_exact(row_len).enumerate() {
        let start = ((y as usize + row) * width + x as usize) * channels;
        bytes[start..start + row_len].copy_from_slice(source);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::region;
    use crate::models::FaceAnnotation;

    fn face(x: f32, y: f32, width: f32, height: f32) -> FaceAnnotation {
        FaceAnnotation { x, y, width, height, score: 0.9, landmarks: [[0.0; 2]; 6], attributes: None }
    }

    #[test]
    fn a_region_is_the_padded_box_rounded_outwards_and_clipped_to_the_image() {
        let cases = [
            (face(10.0, 20.0, 20.0, 10.0), 0.0, Some((10, 20, 20, 10))),
            (face(10.0, 20.0, 20.0, 10.0), 0.25, Some((5, 17, 30, 16))),
            (face(10.5, 20.2, 9.0, 9.0), 0.0, Some((10, 20, 10, 10))),
            (face(-10.0, 90.0, 30.0, 30.0), 0.0, Some((0, 90, 20, 10))),
            (face(200.0, 20.0, 10.0, 10.0), 0.5, None),
            (face(10.0, 10.0, 0.0, 0.0), 0.5, None),
        ];
        for (face, padding, expected) in cases {
            assert_eq!(region(&face, padding, (100, 100)), expected, "{face:?} padded {padding}");
        }
    }
}
