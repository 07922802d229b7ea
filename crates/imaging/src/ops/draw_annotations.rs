//! `draw_annotations`: draws what earlier steps found onto the image: face boxes with
//! their landmarks and attributes, digit boxes with the digit read, and a caption with the
//! number, the top class, the own category and the moderation flag. Text is drawn with an
//! 8 x 8 bitmap font scaled to the image, so no font file is needed.

use font8x8::{UnicodeFonts, BASIC_FONTS};
use image::{DynamicImage, Rgb, RgbImage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::color::flatten;
use super::geometry::Color;
use super::{FieldError, Params};
use crate::annotations::Annotations;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DrawAnnotations {
    /// The colour of boxes and text (`#rrggbb`); text sits on a dark band for contrast.
    pub color: Color,
    /// Write labels (attributes, digits, classes); off draws boxes only.
    pub text: bool,
    /// Mark the eyes, nose, mouth and ears of each face.
    pub landmarks: bool,
}

impl Default for DrawAnnotations {
    fn default() -> Self {
        DrawAnnotations { color: Color([0, 230, 118, 255]), text: true, landmarks: true }
    }
}

impl Params for DrawAnnotations {
    fn validate(&self) -> Result<(), FieldError> {
        Ok(())
    }
}

const INK_BAND: Rgb<u8> = Rgb([20, 20, 20]);

impl DrawAnnotations {
    pub(crate) fn apply(&self, image: DynamicImage, annotations: &Annotations) -> DynamicImage {
        let mut canvas = flatten(&image, [255, 255, 255]).to_rgb8();
        let (w, h) = canvas.dimensions();
        let line = (w.min(h) / 300).clamp(1, 8) as i64;
        let scale = (w.min(h) / 400).clamp(1, 6);
        let ink = Rgb(self.color.rgb());
        for face in annotations.faces.iter().flatten() {
            let rect = [face.x, face.y, face.width, face.height].map(f64::from);
            draw_rect(&mut canvas, rect, line, ink);
            if self.landmarks {
                for [x, y] in face.landmarks {
                    fill(
                        &mut canvas,
                        f64::from(x) as i64 - line,
                        f64::from(y) as i64 - line,
                        2 * line + 1,
                        2 * line + 1,
                        ink,
                    );
                }
            }
            if self.text {
                let label = match &face.attributes {
                    Some(a) => format!("{} {:.0} {}", if a.male > 0.5 { "male" } else { "female" }, a.age, a.emotion()),
                    None => format!("face {:.2}", face.score),
                };
                label_above(&mut canvas, &label, rect, scale, ink);
            }
        }
        for digit in annotations.digits.iter().flatten() {
            let rect = digit.bbox.map(f64::from);
            draw_rect(&mut canvas, rect, line, ink);
            if self.text {
                label_above(&mut canvas, &digit.digit.to_string(), rect, scale, ink);
            }
        }
        if self.text {
            let mut y = 0;
            for line_text in caption(annotations) {
                y += text(&mut canvas, &line_text, 0, y, scale, ink);
            }
        }
        DynamicImage::ImageRgb8(canvas)
    }
}

/// The lines written at the top-left: what is about the whole image.
fn caption(annotations: &Annotations) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(number) = annotations.number.as_deref().filter(|n| !n.is_empty()) {
        lines.push(format!("number {number}"));
    }
    if let Some(top) = annotations.labels.as_ref().and_then(|l| l.first()) {
        lines.push(format!("{} {:.2}", top.label, top.score));
    }
    if let Some(category) = &annotations.category {
        lines.push(format!("{} {:.2}", category.label, category.score));
    }
    if annotations.moderation.as_ref().is_some_and(|m| m.needs_review) {
        lines.push("needs review".into());
    }
    lines
}

fn draw_rect(canvas: &mut RgbImage, [x, y, w, h]: [f64; 4], line: i64, ink: Rgb<u8>) {
    let (x0, y0, x1, y1) = (x.round() as i64, y.round() as i64, (x + w).round() as i64, (y + h).round() as i64);
    fill(canvas, x0, y0, x1 - x0, line, ink);
    fill(canvas, x0, y1 - line, x1 - x0, line, ink);
    fill(canvas, x0, y0, line, y1 - y0, ink);
    fill(canvas, x1 - line, y0, line, y1 - y0, ink);
}

/// Fills a rectangle, clipped to the canvas (boxes may reach past an edge).
fn fill(canvas: &mut RgbImage, x: i64, y: i64, w: i64, h: i64, ink: Rgb<u8>) {
    let (cw, ch) = (i64::from(canvas.width()), i64::from(canvas.height()));
    for py in y.max(0)..(y + h).min(ch) {
        for px in x.max(0)..(x + w).min(cw) {
            canvas.put_pixel(px as u32, py as u32, ink);
        }
    }
}

/// Writes `label` just above the box, or inside its top edge when there is no room above.
fn label_above(canvas: &mut RgbImage, label: &str, [x, y, ..]: [f64; 4], scale: u32, ink: Rgb<u8>) {
    let height = i64::from(10 * scale);
    let top = if y as i64 >= height { y as i64 - height } else { y.max(0.0) as i64 };
    text(canvas, label, x.max(0.0) as i64, top, scale, ink);
}

/// Writes one line on a dark band; returns the band's height. Characters the font lacks
/// are drawn as `?`.
fn text(canvas: &mut RgbImage, line: &str, x: i64, y: i64, scale: u32, ink: Rgb<u8>) -> i64 {
    let s = i64::from(scale);
    let glyph_w = 8 * s;
    let chars: Vec<char> = line.chars().take(80).collect();
    fill(canvas, x, y, glyph_w * chars.len() as i64 + 2 * s, 10 * s, INK_BAND);
    for (i, c) in chars.iter().enumerate() {
        let glyph = BASIC_FONTS.get(*c).or_else(|| BASIC_FONTS.get('?')).unwrap_or([0; 8]);
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    let (px, py) = (x + s + i as i64 * glyph_w + col * s, y + s + row as i64 * s);
                    fill(canvas, px, py, s, s, ink);
                }
            }
        }
    }
    10 * s
}
