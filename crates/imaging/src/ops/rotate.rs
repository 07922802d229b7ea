//! `rotate`: multiples of 90 degrees are exact pixel moves; any other angle resamples
//! bilinearly onto a canvas grown to hold the whole rotated image, corners in `background`.

use image::{DynamicImage, RgbImage, Rgba, RgbaImage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::geometry::Color;
use super::{check_range, color, Ctx, FieldError, Params};
use crate::annotations::Motion;
use crate::error::Result;
use crate::limits::Deadline;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Rotate {
    /// Clockwise angle in degrees (-360..=360).
    #[schemars(range(min = -360.0, max = 360.0))]
    pub angle: f32,
    /// Colour of the corners uncovered by a non-right-angle rotation.
    pub background: Color,
    /// Grow the canvas to hold the whole rotated image (otherwise keep the size and clip).
    pub expand: bool,
}

impl Default for Rotate {
    fn default() -> Self {
        Rotate { angle: 90.0, background: Color::BLACK, expand: true }
    }
}

impl Params for Rotate {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("angle", self.angle, -360.0, 360.0)
    }
}

impl Rotate {
    pub(crate) fn apply(&self, image: DynamicImage, ctx: &Ctx<'_>) -> Result<DynamicImage> {
        rotate(image, self.angle, self.background, self.expand, ctx)
    }

    /// Quarter turns move every pixel exactly; any other angle tilts boxes, which an
    /// axis-aligned box cannot follow.
    pub(crate) fn motion(&self, (w, h): (u32, u32)) -> Motion {
        let (w, h) = (f64::from(w), f64::from(h));
        match quarter_turns(self.angle) {
            Some(0) => Motion::Still,
            // Clockwise on screen (y down): (x, y) goes to (h - y, x).
            Some(1) => Motion::Affine([0.0, -1.0, h, 1.0, 0.0, 0.0]),
            Some(2) => Motion::Affine([-1.0, 0.0, w, 0.0, -1.0, h]),
            Some(_) => Motion::Affine([0.0, 1.0, 0.0, -1.0, 0.0, w]),
            None => Motion::Lost,
        }
    }
}

/// The number of clockwise quarter turns (0..=3) when `angle` is a multiple of 90 degrees.
fn quarter_turns(angle: f32) -> Option<u32> {
    let right_angles = angle.rem_euclid(360.0) / 90.0;
    ((right_angles - right_angles.round()).abs() < 1e-4).then(|| right_angles.round() as u32 % 4)
}

pub(crate) fn rotate(
    image: DynamicImage,
    angle: f32,
    background: Color,
    expand: bool,
    ctx: &Ctx<'_>,
) -> Result<DynamicImage> {
    if let Some(turns) = quarter_turns(angle) {
        return Ok(match turns {
            1 => image.rotate90(),
            2 => image.rotate180(),
            3 => image.rotate270(),
            _ => image,
        });
    }
    let angle = angle.rem_euclid(360.0);
    let (w, h) = (f64::from(image.width()), f64::from(image.height()));
    let radians = f64::from(angle).to_radians();
    let (sin, cos) = radians.sin_cos();
    let (out_w, out_h) =
        if expand { ((w * cos.abs() + h * sin.abs()).ceil(), (w * sin.abs() + h * cos.abs()).ceil()) } else { (w, h) };
    ctx.limits.check_output(out_w as u64, out_h as u64)?;
    if let (DynamicImage::ImageRgb8(rgb), true) = (&image, background.is_opaque()) {
        // The common case (a photo, opaque corners): no alpha to carry, so no RGBA copy.
        let [r, g, b, _] = background.0;
        let size = (out_w as u32, out_h as u32);
        return Ok(DynamicImage::ImageRgb8(sample_rotated_rgb(rgb, size, sin, cos, [r, g, b], &ctx.deadline)?));
    }
    let rotated = sample_rotated(
        &color::into_rgba(image.clone()),
        (out_w as u32, out_h as u32),
        sin,
        cos,
        background,
        &ctx.deadline,
    )?;
    let keep_alpha = image.color().has_alpha() || !background.is_opaque();
    let grey = matches!(image, DynamicImage::ImageLuma8(_) | DynamicImage::ImageLumaA8(_))
        && background.0[0] == background.0[1]
        && background.0[1] == background.0[2];
    let rotated = DynamicImage::ImageRgba8(rotated);
    Ok(match (keep_alpha, grey) {
        (true, true) => DynamicImage::ImageLumaA8(rotated.to_luma_alpha8()),
        (true, false) => rotated,
        (false, true) => DynamicImage::ImageLuma8(rotated.to_luma8()),
        (false, false) => DynamicImage::ImageRgb8(rotated.to_rgb8()),
    })
}

/// Inverse-maps each output pixel into the source and blends its four neighbours, in
/// premultiplied alpha; neighbours outside the source count as `background`.
fn sample_rotated(
    src: &RgbaImage,
    size: (u32, u32),
    sin: f64,
    cos: f64,
    background: Color,
    deadline: &Deadline,
) -> Result<RgbaImage> {
    let (sw, sh) = (src.width() as i64, src.height() as i64);
    let (scx, scy) = (sw as f64 / 2.0, sh as f64 / 2.0);
    let (dcx, dcy) = (f64::from(size.0) / 2.0, f64::from(size.1) / 2.0);
    let bg = premultiplied(background.0);
    let fetch = |x: i64, y: i64| -> [f32; 4] {
        if x < 0 || y < 0 || x >= sw || y >= sh {
            bg
        } else {
            premultiplied(src.get_pixel(x as u32, y as u32).0)
        }
    };
    let mut out = RgbaImage::new(size.0, size.1);
    for (y, row) in out.rows_mut().enumerate() {
        if y % 64 == 0 {
            deadline.check()?;
        }
        let dy = y as f64 + 0.5 - dcy;
        for (x, px) in row.enumerate() {
            let dx = x as f64 + 0.5 - dcx;
            // Clockwise rotation on screen (y down): invert by rotating the other way.
            let sx = cos * dx + sin * dy + scx - 0.5;
            let sy = -sin * dx + cos * dy + scy - 0.5;
            let (x0, y0) = (sx.floor() as i64, sy.floor() as i64);
            let (fx, fy) = ((sx - x0 as f64) as f32, (sy - y0 as f64) as f32);
            let (a, b, c, d) = (fetch(x0, y0), fetch(x0 + 1, y0), fetch(x0, y0 + 1), fetch(x0 + 1, y0 + 1));
            let mut mixed = [0f32; 4];
            for i in 0..4 {
                let top = a[i] + (b[i] - a[i]) * fx;
                let bottom = c[i] + (d[i] - c[i]) * fx;
                mixed[i] = top + (bottom - top) * fy;
            }
            *px = Rgba(unpremultiplied(mixed));
        }
    }
    Ok(out)
}

/// [`sample_rotated`] for an opaque RGB image and background, where premultiplying is a
/// no-op: the same inverse mapping and blend, read straight from the pixel rows, with the
/// bounds check only where a neighbour may fall outside.
fn sample_rotated_rgb(
    src: &RgbImage,
    size: (u32, u32),
    sin: f64,
    cos: f64,
    background: [u8; 3],
    deadline: &Deadline,
) -> Result<RgbImage> {
    let (sw, sh) = (src.width() as i64, src.height() as i64);
    let stride = src.width() as usize * 3;
    let pixels = src.as_raw();
    let (scx, scy) = (sw as f64 / 2.0, sh as f64 / 2.0);
    let (dcx, dcy) = (f64::from(size.0) / 2.0, f64::from(size.1) / 2.0);
    let bg = background.map(f32::from);
    // The pixel starting at byte `i`, and the pixel at (x, y) or the background outside.
    let at = |i: usize| [f32::from(pixels[i]), f32::from(pixels[i + 1]), f32::from(pixels[i + 2])];
    let fetch = |x: i64, y: i64| -> [f32; 3] {
        if x < 0 || y < 0 || x >= sw || y >= sh {
            bg
        } else {
            at(y as usize * stride + x as usize * 3)
        }
    };
    // `floor` is a library call on baseline x86-64; truncation and a comparison are not.
    let floor = |v: f64| {
        let t = v as i64;
        t - i64::from(v < t as f64)
    };
    let mut out = RgbImage::new(size.0, size.1);
    for (y, row) in out.rows_mut().enumerate() {
        if y % 64 == 0 {
            deadline.check()?;
        }
        let dy = y as f64 + 0.5 - dcy;
        for (x, px) in row.enumerate() {
            let dx = x as f64 + 0.5 - dcx;
            let sx = cos * dx + sin * dy + scx - 0.5;
            let sy = -sin * dx + cos * dy + scy - 0.5;
            let (x0, y0) = (floor(sx), floor(sy));
            let (fx, fy) = ((sx - x0 as f64) as f32, (sy - y0 as f64) as f32);
            let (a, b, c, d) = if x0 >= 0 && y0 >= 0 && x0 + 1 < sw && y0 + 1 < sh {
                let i = y0 as usize * stride + x0 as usize * 3;
                (at(i), at(i + 3), at(i + stride), at(i + stride + 3))
            } else {
                (fetch(x0, y0), fetch(x0 + 1, y0), fetch(x0, y0 + 1), fetch(x0 + 1, y0 + 1))
            };
            for i in 0..3 {
                let top = a[i] + (b[i] - a[i]) * fx;
                let bottom = c[i] + (d[i] - c[i]) * fx;
                // A blend of bytes stays within 0..=255: adding a half and truncating rounds.
                px.0[i] = (top + (bottom - top) * fy + 0.5) as u8;
            }
        }
    }
    Ok(out)
}

fn premultiplied([r, g, b, a]: [u8; 4]) -> [f32; 4] {
    let alpha = f32::from(a) / 255.0;
    [f32::from(r) * alpha, f32::from(g) * alpha, f32::from(b) * alpha, f32::from(a)]
}

fn unpremultiplied([r, g, b, a]: [f32; 4]) -> [u8; 4] {
    if a <= 0.0 {
        return [0, 0, 0, 0];
    }
    let alpha = a / 255.0;
    let channel = |v: f32| (v / alpha).round().clamp(0.0, 255.0) as u8;
    [channel(r), channel(g), channel(b), a.round().clamp(0.0, 255.0) as u8]
}
