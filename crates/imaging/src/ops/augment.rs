//! `augment`: seeded random variants of an image for training data — flips, a rotation, a
//! crop at a random scale (resized back), colour jitter and Gaussian noise. Every variant
//! records its seed and the parameters drawn, so any one can be reproduced alone.

use image::DynamicImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::adjust::adjust;
use super::color::with_pixels;
use super::geometry::Color;
use super::resize::{resample, Filter};
use super::rotate::rotate;
use super::{check_range, Ctx, FieldError, Params};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Augment {
    /// How many variants to make from each image (1..=64).
    #[schemars(range(min = 1, max = 64))]
    pub variants: u32,
    /// Base seed; the same seed and image give the same variants, on any machine.
    pub seed: u64,
    /// Probability of a horizontal flip (0..=1).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub flip_horizontal: f32,
    /// Probability of a vertical flip (0..=1).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub flip_vertical: f32,
    /// Largest rotation either way, in degrees (0..=180). Corners are filled black, and
    /// the size is kept.
    #[schemars(range(min = 0.0, max = 180.0))]
    pub max_rotation: f32,
    /// Range of the crop's area as a fraction of the image, [min, max] within (0, 1]; the
    /// crop keeps the aspect ratio and is resized back to the original size.
    pub crop_scale: [f32; 2],
    /// Brightness, contrast and saturation factors are drawn from [1 - j, 1 + j] (0..=1).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub color_jitter: f32,
    /// Standard deviation of added Gaussian noise, in 0..=255 levels (0..=64).
    #[schemars(range(min = 0.0, max = 64.0))]
    pub noise: f32,
    /// Also pass the unchanged image on, before the variants.
    pub keep_original: bool,
}

impl Default for Augment {
    fn default() -> Self {
        Augment {
            variants: 4,
            seed: 0,
            flip_horizontal: 0.5,
            flip_vertical: 0.0,
            max_rotation: 10.0,
            crop_scale: [0.8, 1.0],
            color_jitter: 0.2,
            noise: 0.0,
            keep_original: false,
        }
    }
}

/// What was drawn for one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Variant {
    /// 0-based variant number.
    pub index: u32,
    /// The seed this variant's draws came from (derived from the base seed and the index).
    pub seed: u64,
    pub flip_horizontal: bool,
    pub flip_vertical: bool,
    /// Clockwise degrees.
    pub rotation: f32,
    /// The crop rectangle [x, y, width, height] in the (flipped, rotated) image.
    pub crop: [u32; 4],
    pub brightness: f32,
    pub contrast: f32,
    pub saturation: f32,
    pub noise: f32,
}

impl Params for Augment {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("variants", self.variants, 1, 64)?;
        check_range("flip_horizontal", self.flip_horizontal, 0.0, 1.0)?;
        check_range("flip_vertical", self.flip_vertical, 0.0, 1.0)?;
        check_range("max_rotation", self.max_rotation, 0.0, 180.0)?;
        check_range("crop_scale[0]", self.crop_scale[0], 0.01, 1.0)?;
        check_range("crop_scale[1]", self.crop_scale[1], self.crop_scale[0], 1.0)?;
        check_range("color_jitter", self.color_jitter, 0.0, 1.0)?;
        check_range("noise", self.noise, 0.0, 64.0)
    }
}

impl Augment {
    /// Makes the variants of one image, with what was drawn for each.
    pub(crate) fn variants(&self, image: &DynamicImage, ctx: &Ctx<'_>) -> Result<Vec<(DynamicImage, Variant)>> {
        (0..self.variants)
            .map(|index| {
                ctx.deadline.check()?;
                let variant = self.draw(index, image.width(), image.height());
                Ok((self.render(image, &variant, ctx)?, variant))
            })
            .collect()
    }

    fn draw(&self, index: u32, width: u32, height: u32) -> Variant {
        let seed = variant_seed(self.seed, index);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let flip_horizontal = rng.gen::<f32>() < self.flip_horizontal;
        let flip_vertical = rng.gen::<f32>() < self.flip_vertical;
        let rotation =
            if self.max_rotation > 0.0 { rng.gen_range(-self.max_rotation..=self.max_rotation) } else { 0.0 };
        let area = rng.gen_range(self.crop_scale[0]..=self.crop_scale[1]);
        let (cw, ch) = (
            ((width as f32 * area.sqrt()).round() as u32).clamp(1, width),
            ((height as f32 * area.sqrt()).round() as u32).clamp(1, height),
        );
        let x = rng.gen_range(0..=width - cw);
        let y = rng.gen_range(0..=height - ch);
        let j = self.color_jitter;
        let mut factor = || {
            if j > 0.0 {
                rng.gen_range(1.0 - j..=1.0 + j)
            } else {
                1.0
            }
        };
        let (brightness, contrast, saturation) = (factor(), factor(), factor());
        Variant {
            index,
            seed,
            flip_horizontal,
            flip_vertical,
            rotation,
            crop: [x, y, cw, ch],
            brightness,
            contrast,
            saturation,
            noise: self.noise,
        }
    }

    fn render(&self, image: &DynamicImage, variant: &Variant, ctx: &Ctx<'_>) -> Result<DynamicImage> {
        let (width, height) = (image.width(), image.height());
        let mut out = image.clone();
        if variant.flip_horizontal {
            out = out.fliph();
        }
        if variant.flip_vertical {
            out = out.flipv();
        }
        if variant.rotation != 0.0 {
            out = rotate(out, variant.rotation, Color::BLACK, false, ctx)?;
        }
        let [x, y, cw, ch] = variant.crop;
        out = resample(
            &out,
            (f64::from(x), f64::from(y), f64::from(cw), f64::from(ch)),
            (width, height),
            Filter::Lanczos3,
        )?;
        out = jitter(out, variant);
        if variant.noise > 0.0 {
            out = add_noise(&out, variant.noise, variant.seed);
        }
        Ok(out)
    }
}

/// A well-mixed seed per variant (SplitMix64 of base and index), so variant 3 of seed 7 does
/// not share draws with variant 4 of seed 6.
fn variant_seed(base: u64, index: u32) -> u64 {
    let mut z = base ^ (u64::from(index).wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Contrast, saturation, then brightness as a factor (torchvision's convention: scale, not
/// offset), in one pass over the pixels. Contrast is a table; saturation mixes each channel
/// with the pixel's luma; the brightness factor scales the result.
fn jitter(image: DynamicImage, variant: &Variant) -> DynamicImage {
    let (contrast, saturation, brightness) = (variant.contrast, variant.saturation, variant.brightness);
    if contrast == 1.0 && saturation == 1.0 && brightness == 1.0 {
        return image;
    }
    let DynamicImage::ImageRgb8(mut rgb) = image else {
        // Grey, alpha or 16-bit images: the general adjustments.
        let adjusted = adjust(&image, 0.0, contrast, saturation, 1.0);
        return scale_levels(&adjusted, brightness);
    };
    let table: Vec<f32> = (0..=255u8)
        .map(|v| ((f32::from(v) / 255.0 - 0.5) * contrast + 0.5) * 255.0)
        .map(|x| x.round().clamp(0.0, 255.0))
        .collect();
    for px in rgb.pixels_mut() {
        let [r, g, b] = px.0.map(|v| table[usize::from(v)]);
        let luma = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        // `as u8` saturates, so adding a half rounds and clamps in one step.
        px.0 = [r, g, b].map(|v| ((luma + saturation * (v - luma)) * brightness + 0.5) as u8);
    }
    DynamicImage::ImageRgb8(rgb)
}

fn scale_levels(image: &DynamicImage, factor: f32) -> DynamicImage {
    if factor == 1.0 {
        return image.clone();
    }
    let channels = usize::from(image.color().channel_count());
    let colour = if image.color().has_alpha() { channels - 1 } else { channels };
    let mut pixels = image.as_bytes().to_vec();
    for px in pixels.chunks_exact_mut(channels) {
        for v in &mut px[..colour] {
            *v = (f32::from(*v) * factor).round().clamp(0.0, 255.0) as u8;
        }
    }
    with_pixels(image, pixels)
}

/// Adds zero-mean Gaussian noise (Box–Muller) to the colour channels.
fn add_noise(image: &DynamicImage, sigma: f32, seed: u64) -> DynamicImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x006E_6F69_7365);
    let channels = usize::from(image.color().channel_count());
    let colour = if image.color().has_alpha() { channels - 1 } else { channels };
    let mut pixels = image.as_bytes().to_vec();
    for px in pixels.chunks_exact_mut(channels) {
        for v in &mut px[..colour] {
            let u1: f32 = rng.gen_range(f32::EPSILON..1.0);
            let u2: f32 = rng.gen();
            let normal = (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos();
            *v = (f32::from(*v) + sigma * normal).round().clamp(0.0, 255.0) as u8;
        }
    }
    with_pixels(image, pixels)
}
