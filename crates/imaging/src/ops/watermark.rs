//! `watermark`: composite another image (a logo, a copyright notice) over this one with an
//! opacity, a gravity, a margin and a scale relative to the base image's width.

use image::{DynamicImage, Rgba};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::geometry::Gravity;
use super::resize::{resample, Filter};
use super::{check_range, Ctx, FieldError, OpName, Params};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Watermark {
    /// The overlay, as a reference the caller resolves (a file next to the pipeline for the
    /// CLI, an image id for the service).
    pub image: String,
    /// Opacity of the overlay (0..=1).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub opacity: f32,
    /// Where the overlay sits.
    pub gravity: Gravity,
    /// Distance from the edges the overlay touches, in pixels.
    #[schemars(range(max = 10000))]
    pub margin: u32,
    /// Overlay width as a fraction of the base image's width (0.01..=1); omit to keep its size.
    #[schemars(range(min = 0.01, max = 1.0))]
    pub scale: Option<f32>,
}

impl Default for Watermark {
    fn default() -> Self {
        Watermark { image: String::new(), opacity: 0.5, gravity: Gravity::SouthEast, margin: 16, scale: Some(0.25) }
    }
}

impl Params for Watermark {
    fn validate(&self) -> Result<(), FieldError> {
        if self.image.trim().is_empty() {
            return Err(FieldError::new("image", "name the overlay image"));
        }
        if self.image.len() > 1024 {
            return Err(FieldError::new("image", "must be at most 1024 characters"));
        }
        check_range("opacity", self.opacity, 0.0, 1.0)?;
        check_range("margin", self.margin, 0, 10_000)?;
        if let Some(scale) = self.scale {
            check_range("scale", scale, 0.01, 1.0)?;
        }
        Ok(())
    }
}

impl Watermark {
    pub(crate) fn apply(&self, image: DynamicImage, ctx: &Ctx<'_>) -> Result<DynamicImage> {
        let overlay =
            ctx.assets.image(&self.image).map_err(|message| Error::Asset { reference: self.image.clone(), message })?;
        let overlay = match self.scale {
            Some(scale) => {
                let width = ((image.width() as f32 * scale).round() as u32).max(1);
                let height = ((u64::from(overlay.height()) * u64::from(width)).div_ceil(u64::from(overlay.width()))
                    as u32)
                    .max(1);
                ctx.limits.check_output(u64::from(width), u64::from(height))?;
                let whole = (0.0, 0.0, f64::from(overlay.width()), f64::from(overlay.height()));
                resample(&overlay, whole, (width, height), Filter::Lanczos3)?
            }
            None => (*overlay).clone(),
        };
        if overlay.width() > image.width() || overlay.height() > image.height() {
            return Err(ctx.not_applicable(
                OpName::Watermark,
                format!(
                    "the {}x{} overlay is larger than the {}x{} image; set a smaller scale",
                    overlay.width(),
                    overlay.height(),
                    image.width(),
                    image.height()
                ),
            ));
        }
        let (x, y) =
            self.gravity.place((image.width(), image.height()), (overlay.width(), overlay.height()), self.margin);
        Ok(composite(image, &overlay.to_rgba8(), x, y, self.opacity))
    }
}

/// Source-over compositing of `overlay` at (x, y) with an extra `opacity`.
fn composite(base: DynamicImage, overlay: &image::RgbaImage, x: u32, y: u32, opacity: f32) -> DynamicImage {
    let has_alpha = base.color().has_alpha();
    let mut canvas = base.to_rgba8();
    for (ox, oy, px) in overlay.enumerate_pixels() {
        let Some(dst) = canvas.get_pixel_mut_checked(x + ox, y + oy) else {
            continue;
        };
        let Rgba([r, g, b, a]) = *px;
        let src_a = f32::from(a) / 255.0 * opacity;
        if src_a <= 0.0 {
            continue;
        }
        let dst_a = f32::from(dst.0[3]) / 255.0;
        let out_a = src_a + dst_a * (1.0 - src_a);
        for (i, s) in [r, g, b].into_iter().enumerate() {
            let mixed = (f32::from(s) * src_a + f32::from(dst.0[i]) * dst_a * (1.0 - src_a)) / out_a;
            dst.0[i] = mixed.round().clamp(0.0, 255.0) as u8;
        }
        dst.0[3] = (out_a * 255.0).round() as u8;
    }
    let canvas = DynamicImage::ImageRgba8(canvas);
    if has_alpha {
        canvas
    } else {
        DynamicImage::ImageRgb8(canvas.to_rgb8())
    }
}
