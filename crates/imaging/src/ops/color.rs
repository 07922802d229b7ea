//! Pixel-level helpers shared by ops: alpha compositing and layout conversions.

use image::{DynamicImage, GrayImage, Rgb, RgbImage, Rgba, RgbaImage};

/// Each image as RGB, transparency read as white (as a viewer on a light page shows it):
/// what the vision models that take batches are given.
pub(crate) fn on_white(images: &[&DynamicImage]) -> Vec<image::RgbImage> {
    let one = |image: &DynamicImage| match image {
        // Already what the models take: one copy, not two.
        DynamicImage::ImageRgb8(rgb) => rgb.clone(),
        other => flatten(other, [255, 255, 255]).to_rgb8(),
    };
    images.iter().map(|image| one(image)).collect()
}

/// Composites an image over an opaque background; images without alpha come back as they are.
/// Grey images stay grey when the background is grey.
pub(crate) fn flatten(image: &DynamicImage, background: [u8; 3]) -> DynamicImage {
    let [br, bg, bb] = background;
    match image {
        DynamicImage::ImageLumaA8(la) if br == bg && bg == bb => {
            let mut out = GrayImage::new(la.width(), la.height());
            for (dst, src) in out.pixels_mut().zip(la.pixels()) {
                dst.0[0] = blend(src.0[0], br, src.0[1]);
            }
            DynamicImage::ImageLuma8(out)
        }
        other if other.color().has_alpha() => {
            let rgba = other.to_rgba8();
            let mut out = RgbImage::new(rgba.width(), rgba.height());
            for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
                let [r, g, b, a] = src.0;
                *dst = Rgb([blend(r, br, a), blend(g, bg, a), blend(b, bb, a)]);
            }
            DynamicImage::ImageRgb8(out)
        }
        other => other.clone(),
    }
}

/// `fg` over `bg` with coverage `alpha`, rounded.
#[inline]
pub(crate) fn blend(fg: u8, bg: u8, alpha: u8) -> u8 {
    let a = u32::from(alpha);
    ((u32::from(fg) * a + u32::from(bg) * (255 - a) + 127) / 255) as u8
}

/// Converts to RGBA, or returns the image if it is RGBA already. For ops that need an
/// alpha channel to put a colour into (padding, rotation corners).
pub(crate) fn into_rgba(image: DynamicImage) -> RgbaImage {
    match image {
        DynamicImage::ImageRgba8(rgba) => rgba,
        other => other.to_rgba8(),
    }
}

/// The layout an op should produce when it paints `background` into an image: alpha is
/// added only when the colour is not opaque.
pub(crate) fn canvas_like(image: &DynamicImage, width: u32, height: u32, background: [u8; 4]) -> DynamicImage {
    let opaque = background[3] == 255;
    match image {
        DynamicImage::ImageLuma8(_) if opaque && background[0] == background[1] && background[1] == background[2] => {
            DynamicImage::ImageLuma8(GrayImage::from_pixel(width, height, image::Luma([background[0]])))
        }
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageLuma8(_) if opaque => DynamicImage::ImageRgb8(
            RgbImage::from_pixel(width, height, Rgb([background[0], background[1], background[2]])),
        ),
        _ => DynamicImage::ImageRgba8(RgbaImage::from_pixel(width, height, Rgba(background))),
    }
}

/// Copies `src` onto `dst` at (x, y), converting layouts as needed; parts outside are clipped.
pub(crate) fn paste(dst: &mut DynamicImage, src: &DynamicImage, x: u32, y: u32) {
    match dst {
        DynamicImage::ImageLuma8(d) => image::imageops::replace(d, &src.to_luma8(), i64::from(x), i64::from(y)),
        DynamicImage::ImageRgb8(d) => image::imageops::replace(d, &src.to_rgb8(), i64::from(x), i64::from(y)),
        DynamicImage::ImageRgba8(d) => image::imageops::replace(d, &src.to_rgba8(), i64::from(x), i64::from(y)),
        other => {
            let mut rgba = other.to_rgba8();
            image::imageops::replace(&mut rgba, &src.to_rgba8(), i64::from(x), i64::from(y));
            *other = DynamicImage::ImageRgba8(rgba);
        }
    }
}

/// Rebuilds an image of `like`'s layout and size from raw bytes of that layout.
pub(crate) fn with_pixels(like: &DynamicImage, pixels: Vec<u8>) -> DynamicImage {
    let (w, h) = (like.width(), like.height());
    let rebuilt = match like {
        DynamicImage::ImageLuma8(_) => image::GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8),
        DynamicImage::ImageLumaA8(_) => image::GrayAlphaImage::from_raw(w, h, pixels).map(DynamicImage::ImageLumaA8),
        DynamicImage::ImageRgba8(_) => image::RgbaImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgba8),
        _ => image::RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8),
    };
    rebuilt.expect("pixel buffer has the size of the image it was taken from")
}

#[cfg(test)]
mod tests {
    use super::blend;

    #[test]
    fn blending_is_exact_at_the_ends_and_rounds_in_between() {
        let cases = [(200, 10, 255, 200), (200, 10, 0, 10), (255, 0, 128, 128), (0, 255, 128, 127)];
        for (fg, bg, alpha, expected) in cases {
            assert_eq!(blend(fg, bg, alpha), expected, "{fg} over {bg} at {alpha}");
        }
    }
}
