//! Content moderation with nsfwjs's MobileNetV2 (`nsfw_mobilenet_v2.onnx`), as
//! `models/SOURCES.md` gives its contract: the whole image squashed to 224 x 224 (no crop,
//! aspect ratio not kept, as nsfwjs does), RGB 0..1 NHWC, five softmax probabilities out.
//! The model flags revealing-but-clothed photos too: its scores are for review, not for
//! blocking on their own (SOURCES.md).
//!
//! [`to_tensor`] is the pure step, tested without the model; [`Vision::moderate`] batches.

use image::RgbImage;

use crate::error::{Error, Result};
use crate::models::Model;
use crate::resize::resize;
use crate::session::Input;
use crate::Vision;

/// The model's classes, in its output order (`models/nsfw_labels.txt`).
pub const NSFW_LABELS: [&str; 5] = ["drawing", "hentai", "neutral", "porn", "sexy"];

/// The model's input side.
pub const SIDE: u32 = 224;
/// Images per model run: about 10 MB of input, and a run amortised over several images.
const BATCH: usize = 16;

const INPUT: &str = "input";
const OUTPUT: &str = "probs";

/// `image` resized to [`SIDE`] x [`SIDE`] regardless of its aspect ratio, as RGB
/// `pixel / 255` in NHWC order. An image with no pixels is an error.
pub fn to_tensor(image: &RgbImage) -> Result<Vec<f32>> {
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 {
        return Err(Error::Internal(format!("cannot moderate an empty {w}x{h} image")));
    }
    let scaled = resize(image, SIDE, SIDE)?;
    Ok(scaled.as_raw().iter().map(|&v| f32::from(v) / 255.0).collect())
}

impl Vision {
    /// Class probabilities per image, in NSFW_LABELS order; batched (chunks of at most 16).
    /// An empty slice runs no model; an empty image fails the call before any run.
    pub fn moderate(&self, images: &[&RgbImage]) -> Result<Vec<[f32; 5]>> {
        // Check every image first, so a bad one fails the call before a batch runs, without
        // holding all the tensors at once.
        if let Some(i) = images.iter().position(|image| image.width() == 0 || image.height() == 0) {
            let (w, h) = images[i].dimensions();
            return Err(Error::Internal(format!("cannot moderate image {i}: it is empty ({w}x{h})")));
        }
        let model = Model::Nsfw;
        let side = SIDE as usize;
        let mut out = Vec::with_capacity(images.len());
        for batch in images.chunks(BATCH) {
            let mut data = Vec::with_capacity(batch.len() * side * side * 3);
            for image in batch {
                data.extend(to_tensor(image)?);
            }
            let input = Input { name: INPUT, shape: vec![batch.len(), side, side, 3], data };
            let outputs = self.sessions.run(model, vec![input], &[OUTPUT])?;
            let probs = outputs[0].expect_len(model, OUTPUT, batch.len() * NSFW_LABELS.len())?;
            out.extend(probs.chunks_exact(NSFW_LABELS.len()).map(|row| std::array::from_fn(|i| row[i])));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;

    #[test]
    fn any_image_becomes_224_square_rgb_in_zero_to_one_channel_last() {
        let mut image = RgbImage::from_pixel(2, 1, Rgb([255, 0, 51]));
        image.put_pixel(1, 0, Rgb([255, 0, 51]));
        let t = to_tensor(&image).unwrap();
        assert_eq!(t.len(), 224 * 224 * 3);
        assert!(t.chunks_exact(3).all(|p| (p[0] - 1.0).abs() < 1e-6 && p[1] == 0.0 && (p[2] - 0.2).abs() < 1e-6));
    }

    #[test]
    fn the_whole_image_is_squashed_not_cropped() {
        // A 400 x 100 image, left half red and right half blue: squashing keeps the halves
        // side by side; a centre crop would have cut most of each away.
        let image = RgbImage::from_fn(400, 100, |x, _| if x < 200 { Rgb([255, 0, 0]) } else { Rgb([0, 0, 255]) });
        let t = to_tensor(&image).unwrap();
        let is = |x: usize, y: usize, rgb: [f32; 3]| {
            let i = (y * 224 + x) * 3;
            t[i..i + 3].iter().zip(rgb).all(|(v, want)| (v - want).abs() < 0.01)
        };
        assert!(is(0, 0, [1.0, 0.0, 0.0]) && is(100, 223, [1.0, 0.0, 0.0]));
        assert!(is(123, 100, [0.0, 0.0, 1.0]) && is(223, 223, [0.0, 0.0, 1.0]));
    }

    #[test]
    fn tiny_and_extreme_aspect_images_work_and_empty_ones_are_errors() {
        for (w, h) in [(1, 1), (5000, 1), (1, 3000)] {
            assert_eq!(to_tensor(&RgbImage::new(w, h)).unwrap().len(), 224 * 224 * 3, "{w}x{h}");
        }
        assert!(to_tensor(&RgbImage::new(0, 10)).is_err());
        assert!(to_tensor(&RgbImage::new(10, 0)).is_err());
    }

    #[test]
    fn an_empty_image_fails_the_call_before_any_model_and_no_images_run_nothing() {
        let config = crate::SessionConfig { models: crate::ModelDir::new("/nonexistent"), ..Default::default() };
        let vision = Vision::new(config);
        assert_eq!(vision.moderate(&[]).unwrap(), Vec::<[f32; 5]>::new());
        let (good, empty) = (RgbImage::new(4, 4), RgbImage::new(0, 4));
        let err = vision.moderate(&[&good, &empty]).unwrap_err();
        assert!(matches!(err, Error::Internal(_)) && err.to_string().contains("image 1"), "{err}");
        let err = vision.moderate(&[&good]).unwrap_err();
        assert!(matches!(err, Error::ModelMissing { .. }), "{err}");
    }
}
