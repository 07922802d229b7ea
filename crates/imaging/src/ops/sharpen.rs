//! `sharpen`: unsharp mask. Adds back `amount` times the difference between the image and
//! its Gaussian blur, where that difference is at least `threshold` (to spare flat areas).

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::blur::gaussian;
use super::color::with_pixels;
use super::{check_range, Ctx, FieldError, Params};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Sharpen {
    /// Radius of the detail to enhance, as a Gaussian sigma in pixels (0.3..=20).
    #[schemars(range(min = 0.3, max = 20.0))]
    pub sigma: f32,
    /// Strength: 0 does nothing, 1 doubles local contrast (0..=10).
    #[schemars(range(min = 0.0, max = 10.0))]
    pub amount: f32,
    /// Differences smaller than this (0..=255) are left alone, so noise is not amplified.
    pub threshold: u8,
}

impl Default for Sharpen {
    fn default() -> Self {
        Sharpen { sigma: 1.0, amount: 1.0, threshold: 0 }
    }
}

impl Params for Sharpen {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("sigma", self.sigma, 0.3, 20.0)?;
        check_range("amount", self.amount, 0.0, 10.0)
    }
}

impl Sharpen {
    pub(crate) fn apply(&self, image: DynamicImage, ctx: &Ctx<'_>) -> Result<DynamicImage> {
        let blurred = gaussian(&image, self.sigma, &ctx.deadline)?;
        let channels = usize::from(image.color().channel_count());
        let colour_channels = if image.color().has_alpha() { channels - 1 } else { channels };
        let threshold = i16::from(self.threshold);
        let mut pixels = image.as_bytes().to_vec();
        for (px, soft) in pixels.chunks_exact_mut(channels).zip(blurred.as_bytes().chunks_exact(channels)) {
            for c in 0..colour_channels {
                let diff = i16::from(px[c]) - i16::from(soft[c]);
                if diff.abs() >= threshold {
                    let sharpened = f32::from(px[c]) + self.amount * f32::from(diff);
                    px[c] = sharpened.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        Ok(with_pixels(&image, pixels))
    }
}
