//! `adjust`: brightness, contrast, saturation and gamma, in one pass through a lookup
//! table (gamma, contrast, brightness) and a blend towards luma (saturation).

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::color::with_pixels;
use super::{check_range, FieldError, Params};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Adjust {
    /// Added to every channel, as a fraction of full scale (-1..=1; 0 = unchanged).
    #[schemars(range(min = -1.0, max = 1.0))]
    pub brightness: f32,
    /// Contrast around mid-grey (0..=4; 1 = unchanged, 0 = flat grey).
    #[schemars(range(min = 0.0, max = 4.0))]
    pub contrast: f32,
    /// Colourfulness (0..=4; 1 = unchanged, 0 = grey).
    #[schemars(range(min = 0.0, max = 4.0))]
    pub saturation: f32,
    /// Gamma (0.1..=10; 1 = unchanged, above 1 brightens mid-tones).
    #[schemars(range(min = 0.1, max = 10.0))]
    pub gamma: f32,
}

impl Default for Adjust {
    fn default() -> Self {
        Adjust { brightness: 0.0, contrast: 1.0, saturation: 1.0, gamma: 1.0 }
    }
}

impl Params for Adjust {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("brightness", self.brightness, -1.0, 1.0)?;
        check_range("contrast", self.contrast, 0.0, 4.0)?;
        check_range("saturation", self.saturation, 0.0, 4.0)?;
        check_range("gamma", self.gamma, 0.1, 10.0)
    }
}

impl Adjust {
    pub(crate) fn apply(&self, image: DynamicImage) -> DynamicImage {
        adjust(&image, self.brightness, self.contrast, self.saturation, self.gamma)
    }
}

/// Shared with `augment`'s colour jitter.
pub(crate) fn adjust(
    image: &DynamicImage,
    brightness: f32,
    contrast: f32,
    saturation: f32,
    gamma: f32,
) -> DynamicImage {
    let lut: Vec<u8> = (0..=255u8)
        .map(|v| {
            let x = (f32::from(v) / 255.0).powf(1.0 / gamma);
            let x = (x - 0.5) * contrast + 0.5 + brightness;
            (x * 255.0).round().clamp(0.0, 255.0) as u8
        })
        .collect();
    let channels = usize::from(image.color().channel_count());
    let colour_channels = if image.color().has_alpha() { channels - 1 } else { channels };
    let mut pixels = image.as_bytes().to_vec();
    for px in pixels.chunks_exact_mut(channels) {
        for v in &mut px[..colour_channels] {
            *v = lut[usize::from(*v)];
        }
        if colour_channels == 3 && saturation != 1.0 {
            let [r, g, b] = [px[0], px[1], px[2]].map(f32::from);
            let luma = 0.2126 * r + 0.7152 * g + 0.0722 * b;
            for v in &mut px[..3] {
                *v = (luma + saturation * (f32::from(*v) - luma)).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    with_pixels(image, pixels)
}
