//! Face attributes: age and gender with `faceres_age_gender.onnx`, facial expression with
//! `emotion_mini_xception.onnx`, following their contracts in `models/SOURCES.md`. Both see
//! the same crop: the face box made square (side 1.2 x its longer side, same centre), with
//! whatever falls outside the photo filled black. No race or ethnicity output, by design.
//!
//! The steps are pure ([`square_around`], [`crop_square`], [`age_gender_tensor`],
//! [`emotion_tensor`], [`decode_age`]) and tested without the models;
//! [`Vision::analyze_faces`] runs every face of a call through each model in batches.

use image::{GenericImageView, Rgb, RgbImage};

use crate::error::{Error, Result};
use crate::faces::FaceBox;
use crate::models::Model;
use crate::resize::resize;
use crate::session::Input;
use crate::Vision;

/// The emotion model's classes, in its output order.
pub const EMOTIONS: [&str; 7] = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];

/// The age/gender model's input side.
pub const AGE_GENDER_SIDE: u32 = 224;
/// The emotion model's input side.
pub const EMOTION_SIDE: u32 = 64;
/// How much wider than the face box the crop is (SOURCES.md: 1.2 x the longer side).
pub const MARGIN: f32 = 1.2;
/// Faces per model run: one run for a typical photo, bounded memory for a crowd.
const BATCH: usize = 32;
/// Ages the age head spreads its softmax over: 0..99.
const AGES: usize = 100;
/// Upstream's per-channel mean, in the model's B, G, R order.
const BGR_MEAN: [f32; 3] = [103.939, 116.779, 123.68];

const AGE_GENDER_INPUT: &str = "input_1:0";
const GENDER_OUTPUT: &str = "gender_pred/Sigmoid:0";
const AGE_OUTPUT: &str = "age_pred/Softmax:0";
const EMOTION_INPUT: &str = "input_1:0";
const EMOTION_OUTPUT: &str = "Identity:0";

/// What the models read from one face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceAttributes {
    /// Estimated age in years (rough: see SOURCES.md).
    pub age: f32,
    /// p(male) from the model, 0..1; > 0.5 reads as male.
    pub male: f32,
    /// Softmax over EMOTIONS, in that order.
    pub emotions: [f32; 7],
}

/// The square region cropped around a face, in source pixels; it may reach past the photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Square {
    pub x: f32,
    pub y: f32,
    pub side: f32,
}

/// The square crop for `face`: side [`MARGIN`] x its longer side, around the box's centre.
/// `None` for a box with a non-finite coordinate or a size that is not positive.
pub fn square_around(face: &FaceBox) -> Option<Square> {
    let FaceBox { x, y, width, height } = *face;
    if ![x, y, width, height].iter().all(|v| v.is_finite()) || width <= 0.0 || height <= 0.0 {
        return None;
    }
    let side = MARGIN * width.max(height);
    let (cx, cy) = (x + width / 2.0, y + height / 2.0);
    let square = Square { x: cx - side / 2.0, y: cy - side / 2.0, side };
    // A finite box can still overflow once widened (near f32::MAX).
    [square.x, square.y, square.side].iter().all(|v| v.is_finite()).then_some(square)
}

/// `square` of `image` scaled to `size` x `size`, with the parts outside the photo black.
/// Only the part inside the photo is resized (straight to its place in the output), so a
/// huge box never allocates a huge crop. Errors when the square does not touch the photo.
pub fn crop_square(image: &RgbImage, square: Square, size: u32) -> Result<RgbImage> {
    let (w, h) = image.dimensions();
    // The square snapped to whole pixels, at least one wide; f64 so that far-off boxes
    // do not lose the arithmetic.
    let left = f64::from(square.x).round();
    let top = f64::from(square.y).round();
    let side = f64::from(square.side).round().max(1.0);
    let (x0, x1) = (left.clamp(0.0, f64::from(w)), (left + side).clamp(0.0, f64::from(w)));
    let (y0, y1) = (top.clamp(0.0, f64::from(h)), (top + side).clamp(0.0, f64::from(h)));
    if x1 <= x0 || y1 <= y0 {
        return Err(Error::Internal(format!(
            "face box around {square:?} lies wholly outside the {w}x{h} image: nothing to analyse"
        )));
    }
    let scale = f64::from(size) / side;
    let place = |v: f64, origin: f64| (((v - origin) * scale).round().clamp(0.0, f64::from(size))) as u32;
    let (tx0, tx1, ty0, ty1) = (place(x0, left), place(x1, left), place(y0, top), place(y1, top));
    let mut out = RgbImage::from_pixel(size, size, Rgb([0, 0, 0]));
    // A sliver of the photo can shrink to nothing at this scale: then the crop is black.
    if tx1 > tx0 && ty1 > ty0 {
        let inside = image.view(x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32).to_image();
        let scaled = resize(&inside, tx1 - tx0, ty1 - ty0)?;
        image::imageops::replace(&mut out, &scaled, i64::from(tx0), i64::from(ty0));
    }
    Ok(out)
}

/// Upstream's age/gender input: B, G, R order, 0..255 minus [`BGR_MEAN`], NHWC.
pub fn age_gender_tensor(crop: &RgbImage) -> Vec<f32> {
    crop.pixels()
        .flat_map(|Rgb([r, g, b])| {
            [f32::from(*b) - BGR_MEAN[0], f32::from(*g) - BGR_MEAN[1], f32::from(*r) - BGR_MEAN[2]]
        })
        .collect()
}

/// The emotion input (as `@vladmandic/human` feeds it): grey from RGB 0..1 with weights
/// 0.2989 / 0.5870 / 0.1140, then mapped to [-1, 1]; one channel, NHWC.
pub fn emotion_tensor(crop: &RgbImage) -> Vec<f32> {
    crop.pixels()
        .map(|Rgb([r, g, b])| {
            let grey = (0.2989 * f32::from(*r) + 0.5870 * f32::from(*g) + 0.1140 * f32::from(*b)) / 255.0;
            (grey - 0.5) * 2.0
        })
        .collect()
}

/// Upstream's age decoding: the two most probable ages i1, i2 (index = years), their
/// probabilities renormalised, `age = 1 + (i1 p1 + i2 p2) / (p1 + p2)`. A distribution
/// with no mass on its top two (which a softmax never gives) falls back to `1 + i1`.
pub fn decode_age(probs: &[f32]) -> f32 {
    let mut first: Option<usize> = None;
    let mut second: Option<usize> = None;
    for (i, &p) in probs.iter().enumerate() {
        if first.is_none_or(|f| p > probs[f]) {
            second = first;
            first = Some(i);
        } else if second.is_none_or(|s| p > probs[s]) {
            second = Some(i);
        }
    }
    let Some(i1) = first else { return 1.0 };
    let Some(i2) = second else { return 1.0 + i1 as f32 };
    let (p1, p2) = (probs[i1], probs[i2]);
    let mass = p1 + p2;
    if mass.is_finite() && mass > 0.0 {
        1.0 + (i1 as f32 * p1 + i2 as f32 * p2) / mass
    } else {
        1.0 + i1 as f32
    }
}

impl Vision {
    /// One result per box, in order. An empty slice runs no model.
    ///
    /// Every box is checked before any model runs: a box with a non-finite coordinate, a
    /// width or height that is not positive, or lying wholly outside `image` fails the
    /// whole call with an error naming it (a result per box, in order, leaves no room to
    /// skip one). A box partly outside the photo is analysed with the outside filled black.
    pub fn analyze_faces(&self, image: &RgbImage, faces: &[FaceBox]) -> Result<Vec<FaceAttributes>> {
        let squares = faces
            .iter()
            .enumerate()
            .map(|(i, face)| {
                square_around(face).ok_or_else(|| {
                    Error::Internal(format!("face box {i} ({face:?}) needs a finite position and a positive size"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // A box wholly outside the photo is found by cropping; do the cheap 64 x 64 crops
        // first so such a box fails before either model runs.
        let emotion_crops = squares
            .iter()
            .enumerate()
            .map(|(i, &square)| {
                crop_square(image, square, EMOTION_SIDE).map_err(|err| match err {
                    Error::Internal(detail) => Error::Internal(format!("face box {i}: {detail}")),
                    other => other,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(faces.len());
        for (squares, emotion_crops) in squares.chunks(BATCH).zip(emotion_crops.chunks(BATCH)) {
            let ages_and_genders = self.age_gender_batch(image, squares)?;
            let emotions = self.emotion_batch(emotion_crops)?;
            out.extend(ages_and_genders.into_iter().zip(emotions).map(|((age, male), emotions)| FaceAttributes {
                age,
                male,
                emotions,
            }));
        }
        Ok(out)
    }

    /// (age, p(male)) per square, in one run.
    fn age_gender_batch(&self, image: &RgbImage, squares: &[Square]) -> Result<Vec<(f32, f32)>> {
        let model = Model::AgeGender;
        let side = AGE_GENDER_SIDE as usize;
        let mut data = Vec::with_capacity(squares.len() * side * side * 3);
        for &square in squares {
            data.extend(age_gender_tensor(&crop_square(image, square, AGE_GENDER_SIDE)?));
        }
        let input = Input { name: AGE_GENDER_INPUT, shape: vec![squares.len(), side, side, 3], data };
        let outputs = self.sessions.run(model, vec![input], &[GENDER_OUTPUT, AGE_OUTPUT])?;
        let male = outputs[0].expect_len(model, GENDER_OUTPUT, squares.len())?;
        let ages = outputs[1].expect_len(model, AGE_OUTPUT, squares.len() * AGES)?;
        Ok(ages.chunks_exact(AGES).map(decode_age).zip(male.iter().copied()).collect())
    }

    /// Emotion probabilities per crop (already [`EMOTION_SIDE`] square), in one run.
    fn emotion_batch(&self, crops: &[RgbImage]) -> Result<Vec<[f32; 7]>> {
        let model = Model::Emotion;
        let side = EMOTION_SIDE as usize;
        let data: Vec<f32> = crops.iter().flat_map(emotion_tensor).collect();
        let input = Input { name: EMOTION_INPUT, shape: vec![crops.len(), side, side, 1], data };
        let outputs = self.sessions.run(model, vec![input], &[EMOTION_OUTPUT])?;
        let probs = outputs[0].expect_len(model, EMOTION_OUTPUT, crops.len() * EMOTIONS.len())?;
        Ok(probs.chunks_exact(EMOTIONS.len()).map(|row| std::array::from_fn(|i| row[i])).collect())
    }
}

#[cfg(test)]
mod tests;
