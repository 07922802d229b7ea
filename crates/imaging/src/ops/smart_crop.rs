//! `smart_crop`: crops to an aspect ratio and scales to a size, choosing the window that
//! keeps the faces (found earlier in the pipeline, or now); without faces, the window with
//! the most detail (edges and colour, slightly favouring the centre). When the vision
//! models are missing it still crops, by detail, and says so in the annotations.

use image::{DynamicImage, GrayImage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::detect_faces::known_or_detected;
use super::resize::{resample, Filter};
use super::{check_range, Ctx, FieldError, OpName, Params};
use crate::annotations::{Annotations, Motion};
use crate::error::{Code, Result};
use crate::models::FaceAnnotation;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SmartCrop {
    /// Output width in pixels, 1..=16384.
    #[schemars(range(min = 1, max = 16384))]
    pub width: u32,
    /// Output height in pixels, 1..=16384.
    #[schemars(range(min = 1, max = 16384))]
    pub height: u32,
    /// Keep faces in the window (needs the face model); off crops by detail alone.
    pub faces: bool,
    /// Room kept around each face, as a fraction of its size, 0..=2.
    #[schemars(range(min = 0.0, max = 2.0))]
    pub padding: f32,
}

impl Default for SmartCrop {
    fn default() -> Self {
        SmartCrop { width: 512, height: 512, faces: true, padding: 0.3 }
    }
}

impl Params for SmartCrop {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("width", self.width, 1, 16384)?;
        check_range("height", self.height, 1, 16384)?;
        check_range("padding", self.padding, 0.0, 2.0)
    }
}

/// The longest side of the image the detail map is computed on: enough to find where the
/// detail is, cheap on a 50-megapixel photo.
const ANALYSIS_SIDE: u32 = 160;

impl SmartCrop {
    pub(crate) fn apply(
        &self,
        image: DynamicImage,
        annotations: &mut Annotations,
        ctx: &Ctx<'_>,
    ) -> Result<DynamicImage> {
        let op = OpName::SmartCrop;
        ctx.limits.check_output(u64::from(self.width), u64::from(self.height))?;
        let (w, h) = (f64::from(image.width()), f64::from(image.height()));
        let window = window_size((w, h), f64::from(self.width) / f64::from(self.height));
        let faces = if self.faces {
            match known_or_detected(&image, annotations, op, ctx) {
                Ok(faces) => faces,
                Err(err) if err.code() == Code::VisionUnavailable => {
                    annotations.notes.push(format!("step {} ({op}): cropped by detail only: {err}", ctx.step));
                    Vec::new()
                }
                Err(err) => return Err(err),
            }
        } else {
            Vec::new()
        };
        let (x, y) = match face_window(&faces, self.padding, (w, h), window) {
            Some(at) => at,
            None => detail_window(&image, window)?,
        };
        ctx.deadline.check()?;
        let out = resample(&image, (x, y, window.0, window.1), (self.width, self.height), Filter::Lanczos3)?;
        let (sx, sy) = (f64::from(self.width) / window.0, f64::from(self.height) / window.1);
        annotations.follow(Motion::scale_shift(sx, -x * sx, sy, -y * sy), (self.width, self.height), ctx.step, op);
        Ok(out)
    }
}

/// The largest window of `aspect` (width / height) that fits in `size`.
fn window_size((w, h): (f64, f64), aspect: f64) -> (f64, f64) {
    if w / h > aspect {
        (h * aspect, h)
    } else {
        (w, w / aspect)
    }
}

/// Where a `window` keeps the faces: around all of them when they fit, else around the
/// best one on each axis where they do not. `None` without faces.
pub(crate) fn face_window(
    faces: &[FaceAnnotation],
    padding: f32,
    (w, h): (f64, f64),
    (cw, ch): (f64, f64),
) -> Option<(f64, f64)> {
    let padded: Vec<[f64; 4]> = faces
        .iter()
        .map(|f| {
            let (px, py) = (f64::from(f.width * padding), f64::from(f.height * padding));
            let (x0, y0) = ((f64::from(f.x) - px).max(0.0), (f64::from(f.y) - py).max(0.0));
            let (x1, y1) = ((f64::from(f.x + f.width) + px).min(w), (f64::from(f.y + f.height) + py).min(h));
            [x0, y0, x1.max(x0), y1.max(y0)]
        })
        .collect();
    let best = faces.iter().zip(&padded).max_by(|a, b| {
        let key = |f: &FaceAnnotation| f.score * f.width * f.height;
        key(a.0).total_cmp(&key(b.0))
    })?;
    let union = padded.iter().fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |u, b| {
        [u[0].min(b[0]), u[1].min(b[1]), u[2].max(b[2]), u[3].max(b[3])]
    });
    // On each axis: contain the union, centred on it, when it fits; else centre on the best face.
    let place = |lo: f64, hi: f64, best_lo: f64, best_hi: f64, window: f64, total: f64| -> f64 {
        let at = if hi - lo <= window {
            ((lo + hi - window) / 2.0).clamp(hi - window, lo)
        } else {
            (best_lo + best_hi - window) / 2.0
        };
        at.clamp(0.0, (total - window).max(0.0))
    };
    let b = best.1;
    Some((place(union[0], union[2], b[0], b[2], cw, w), place(union[1], union[3], b[1], b[3], ch, h)))
}

/// The window with the most detail: on a small copy, the sum of edge strength and colour
/// saturation, weighted slightly towards the centre, maximised over every position.
fn detail_window(image: &DynamicImage, (cw, ch): (f64, f64)) -> Result<(f64, f64)> {
    let (w, h) = (f64::from(image.width()), f64::from(image.height()));
    let scale = (f64::from(ANALYSIS_SIDE) / w.max(h)).min(1.0);
    let (aw, ah) = (((w * scale).round() as u32).max(1), ((h * scale).round() as u32).max(1));
    let small = resample(image, (0.0, 0.0, w, h), (aw, ah), Filter::Bilinear)?.to_rgb8();
    let luma: GrayImage = DynamicImage::ImageRgb8(small.clone()).to_luma8();
    let energy = |x: u32, y: u32| -> f64 {
        let at = |x: u32, y: u32| f64::from(luma.get_pixel(x.min(aw - 1), y.min(ah - 1)).0[0]);
        let gradient =
            (at(x + 1, y) - at(x.saturating_sub(1), y)).abs() + (at(x, y + 1) - at(x, y.saturating_sub(1))).abs();
        let p = small.get_pixel(x, y).0;
        let saturation = f64::from(p.iter().max().unwrap_or(&0) - p.iter().min().unwrap_or(&0));
        let (dx, dy) = (f64::from(x) / f64::from(aw) - 0.5, f64::from(y) / f64::from(ah) - 0.5);
        (gradient + 0.5 * saturation) * (1.0 - 0.6 * (dx * dx + dy * dy))
    };
    // A summed-area table: each window's total in four lookups.
    let (aw_us, ah_us) = (aw as usize, ah as usize);
    let mut table = vec![0.0f64; (aw_us + 1) * (ah_us + 1)];
    for y in 0..ah_us {
        let mut row = 0.0;
        for x in 0..aw_us {
            row += energy(x as u32, y as u32);
            table[(y + 1) * (aw_us + 1) + x + 1] = table[y * (aw_us + 1) + x + 1] + row;
        }
    }
    let (ww, wh) = (((cw * scale).round() as usize).clamp(1, aw_us), ((ch * scale).round() as usize).clamp(1, ah_us));
    let sum = |x: usize, y: usize| {
        let at = |x: usize, y: usize| table[y * (aw_us + 1) + x];
        at(x + ww, y + wh) - at(x, y + wh) - at(x + ww, y) + at(x, y)
    };
    let mut best = ((aw_us - ww) / 2, (ah_us - wh) / 2);
    let mut best_sum = sum(best.0, best.1);
    for y in 0..=ah_us - wh {
        for x in 0..=aw_us - ww {
            let s = sum(x, y);
            if s > best_sum * (1.0 + 1e-9) {
                (best, best_sum) = ((x, y), s);
            }
        }
    }
    let to_source = |v: usize, window: f64, total: f64| (v as f64 / scale).clamp(0.0, (total - window).max(0.0));
    Ok((to_source(best.0, cw, w), to_source(best.1, ch, h)))
}
