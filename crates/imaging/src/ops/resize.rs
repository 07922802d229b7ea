//! `resize`: scale to a width and/or height with four fits, through fast_image_resize's
//! SIMD convolution (Lanczos3 by default). Also home of [`resample`], which every op that
//! scales pixels (thumbnail, watermark, augment) goes through.

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::geometry::{Color, Gravity};
use super::{check_range, color, Ctx, FieldError, Params};
use crate::annotations::Motion;
use crate::decode::SizeHint;
use crate::error::{Error, Result};

pub const MAX_SIDE: u32 = 65_535;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Resize {
    /// Target width in pixels; omit to follow the height and the aspect ratio.
    #[schemars(range(min = 1, max = 65535))]
    pub width: Option<u32>,
    /// Target height in pixels; omit to follow the width and the aspect ratio.
    #[schemars(range(min = 1, max = 65535))]
    pub height: Option<u32>,
    /// How to reconcile the aspect ratio when both sides are given.
    pub fit: Fit,
    /// Resampling filter.
    pub filter: Filter,
    /// Allow the result to be larger than the source (off: small images stay as they are).
    pub upscale: bool,
    /// Which part to keep when `fit` is `cover`.
    pub gravity: Gravity,
    /// Padding colour when `fit` is `contain`.
    pub background: Color,
}

impl Default for Resize {
    fn default() -> Self {
        Resize {
            width: None,
            height: None,
            fit: Fit::Inside,
            filter: Filter::Lanczos3,
            upscale: false,
            gravity: Gravity::Centre,
            background: Color::BLACK,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// Scale to fit inside the box, keeping the aspect ratio; the result may be smaller on one side.
    #[default]
    Inside,
    /// As `inside`, then pad with `background` to exactly the box.
    Contain,
    /// Scale to cover the box, keeping the aspect ratio, then crop the overflow (`gravity`).
    Cover,
    /// Stretch to exactly the box, ignoring the aspect ratio.
    Fill,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    Nearest,
    Bilinear,
    /// Bicubic with sharp edges.
    CatmullRom,
    Mitchell,
    /// The sharpest, and the default.
    #[default]
    Lanczos3,
}

impl Params for Resize {
    fn validate(&self) -> Result<(), FieldError> {
        if self.width.is_none() && self.height.is_none() {
            return Err(FieldError::new("width", "give a width, a height, or both"));
        }
        if let Some(width) = self.width {
            check_range("width", width, 1, MAX_SIDE)?;
        }
        if let Some(height) = self.height {
            check_range("height", height, 1, MAX_SIDE)?;
        }
        Ok(())
    }
}

/// Where the pixels go: the scaled size, the part of the source it comes from, and the
/// canvas it is placed on (bigger than the scaled size only for `contain`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Plan {
    pub scaled: (u32, u32),
    /// Source rectangle (left, top, width, height) in source pixels.
    pub source: (f64, f64, f64, f64),
    pub canvas: (u32, u32),
    pub offset: (u32, u32),
}

impl Resize {
    pub(crate) fn plan(&self, src_w: u32, src_h: u32) -> Plan {
        let (sw, sh) = (f64::from(src_w), f64::from(src_h));
        let full = (0.0, 0.0, sw, sh);
        let (box_w, box_h) = match (self.width, self.height) {
            (Some(w), Some(h)) => (f64::from(w), f64::from(h)),
            (Some(w), None) => (f64::from(w), sh * f64::from(w) / sw),
            (None, Some(h)) => (sw * f64::from(h) / sh, f64::from(h)),
            (None, None) => (sw, sh),
        };
        let limit = |scale: f64| if self.upscale { scale } else { scale.min(1.0) };
        let px = |v: f64| (v.round() as u32).max(1);
        match self.fit {
            Fit::Fill => {
                let (w, h) = if self.upscale { (box_w, box_h) } else { (box_w.min(sw), box_h.min(sh)) };
                let scaled = (px(w), px(h));
                Plan { scaled, source: full, canvas: scaled, offset: (0, 0) }
            }
            Fit::Inside | Fit::Contain => {
                let scale = limit((box_w / sw).min(box_h / sh));
                let scaled = (px(sw * scale), px(sh * scale));
                let canvas =
                    if self.fit == Fit::Contain { (px(box_w).max(scaled.0), px(box_h).max(scaled.1)) } else { scaled };
                let offset = self.gravity.place(canvas, scaled, 0);
                Plan { scaled, source: full, canvas, offset }
            }
            Fit::Cover => {
                let scale = limit((box_w / sw).max(box_h / sh));
                let scaled = (px(box_w.min(sw * scale)), px(box_h.min(sh * scale)));
                // The window of the source that, scaled, fills the output exactly.
                let (win_w, win_h) = ((f64::from(scaled.0) / scale).min(sw), (f64::from(scaled.1) / scale).min(sh));
                let (left, top) = self.gravity.place_f64((sw, sh), (win_w, win_h));
                Plan { scaled, source: (left, top, win_w, win_h), canvas: scaled, offset: (0, 0) }
            }
        }
    }

    pub(crate) fn decode_hint(&self, width: u32, height: u32) -> Option<SizeHint> {
        let plan = self.plan(width, height);
        // Scale the hint up from the window to the whole source: the decoder shrinks the
        // whole image, and the window must still have enough pixels after that.
        let (_, _, win_w, win_h) = plan.source;
        let need_w = f64::from(plan.scaled.0) * f64::from(width) / win_w;
        let need_h = f64::from(plan.scaled.1) * f64::from(height) / win_h;
        Some(SizeHint { width: need_w.ceil() as u32, height: need_h.ceil() as u32 })
    }

    pub(crate) fn apply(&self, image: DynamicImage, ctx: &Ctx<'_>) -> Result<DynamicImage> {
        let actual = (image.width(), image.height());
        let logical = ctx.logical_size.unwrap_or(actual);
        let mut plan = self.plan(logical.0, logical.1);
        if logical != actual {
            // Planned on the full-size image; read the window from the shrunk one.
            let (fx, fy) = (f64::from(actual.0) / f64::from(logical.0), f64::from(actual.1) / f64::from(logical.1));
            let (left, top, width, height) = plan.source;
            plan.source =
                (left * fx, top * fy, (width * fx).min(f64::from(actual.0)), (height * fy).min(f64::from(actual.1)));
        }
        ctx.limits.check_output(u64::from(plan.canvas.0), u64::from(plan.canvas.1))?;
        let scaled = resample(&image, plan.source, plan.scaled, self.filter)?;
        if plan.canvas == plan.scaled {
            return Ok(scaled);
        }
        let mut canvas = color::canvas_like(&scaled, plan.canvas.0, plan.canvas.1, self.background.0);
        color::paste(&mut canvas, &scaled, plan.offset.0, plan.offset.1);
        Ok(canvas)
    }

    /// The source window is scaled to the scaled size and placed at the offset. Planned on
    /// the image as it is: only a first step sees a shrunk-on-load image, and a first step
    /// has no annotations to move.
    pub(crate) fn motion(&self, (w, h): (u32, u32)) -> Motion {
        let plan = self.plan(w, h);
        let (left, top, win_w, win_h) = plan.source;
        let (sx, sy) = (f64::from(plan.scaled.0) / win_w, f64::from(plan.scaled.1) / win_h);
        Motion::scale_shift(sx, f64::from(plan.offset.0) - left * sx, sy, f64::from(plan.offset.1) - top * sy)
    }
}

/// Scales the `source` window (left, top, width, height) of `image` to `size`, with alpha
/// premultiplied during filtering so transparent pixels do not bleed dark fringes.
pub(crate) fn resample(
    image: &DynamicImage,
    source: (f64, f64, f64, f64),
    size: (u32, u32),
    filter: Filter,
) -> Result<DynamicImage> {
    let (left, top, width, height) = source;
    let whole = left == 0.0 && top == 0.0 && width == f64::from(image.width()) && height == f64::from(image.height());
    if whole && size == (image.width(), image.height()) {
        return Ok(image.clone());
    }
    let mut dst = DynamicImage::new(size.0, size.1, image.color());
    let algorithm = match filter {
        Filter::Nearest => ResizeAlg::Nearest,
        Filter::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
        Filter::CatmullRom => ResizeAlg::Convolution(FilterType::CatmullRom),
        Filter::Mitchell => ResizeAlg::Convolution(FilterType::Mitchell),
        Filter::Lanczos3 => ResizeAlg::Convolution(FilterType::Lanczos3),
    };
    let options = ResizeOptions::new().resize_alg(algorithm).crop(left, top, width, height);
    Resizer::new()
        .resize(image, &mut dst, &options)
        .map_err(|err| Error::Internal(format!("resampling failed: {err}")))?;
    Ok(dst)
}

#[cfg(test)]
mod tests;
