//! The one way this crate scales pixels: fast_image_resize (the imaging core's resizer),
//! with a convolution filter so that shrinking averages instead of skipping pixels.

use fast_image_resize::{FilterType, IntoImageView, IntoImageViewMut, ResizeAlg, ResizeOptions, Resizer};
use image::{ImageBuffer, Pixel};

use crate::error::{Error, Result};

/// Scales `src` to `width` x `height` (bilinear, antialiased when shrinking).
pub(crate) fn resize<P>(src: &ImageBuffer<P, Vec<u8>>, width: u32, height: u32) -> Result<ImageBuffer<P, Vec<u8>>>
where
    P: Pixel<Subpixel = u8>,
    ImageBuffer<P, Vec<u8>>: IntoImageView + IntoImageViewMut,
{
    if (src.width(), src.height()) == (width, height) {
        return Ok(src.clone());
    }
    let mut dst = ImageBuffer::<P, Vec<u8>>::new(width, height);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new().resize(src, &mut dst, &options).map_err(|err| Error::Internal(format!("resizing failed: {err}")))?;
    Ok(dst)
}
