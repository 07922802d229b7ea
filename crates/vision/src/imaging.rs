//! [`Vision`] as the imaging core's [`Models`]: the trait's plain types filled from this
//! crate's faces and digits, and its errors sorted into "not set up here" (unavailable)
//! and faults. This is how the vision ops in pipelines reach ONNX Runtime.

use atelier_imaging::{DigitReading, FaceAnnotation, ModelError, Models, NumberReading};
use image::{GrayImage, RgbImage};

use crate::error::{Error, ErrorKind};
use crate::faces::FaceOptions;
use crate::Vision;

impl Models for Vision {
    fn detect_faces(&self, image: &RgbImage, threshold: f32) -> Result<Vec<FaceAnnotation>, ModelError> {
        let options = FaceOptions { threshold, ..FaceOptions::default() };
        let faces = Vision::detect_faces(self, image, options).map_err(model_error)?;
        Ok(faces
            .iter()
            .map(|face| FaceAnnotation {
                x: face.bbox.x,
                y: face.bbox.y,
                width: face.bbox.width,
                height: face.bbox.height,
                score: face.score,
                // The same order on both sides: MediaPipe's, right eye first.
                landmarks: face.landmarks,
            })
            .collect())
    }

    fn recognize_number(&self, image: &GrayImage) -> Result<NumberReading, ModelError> {
        let digits = Vision::recognize_number(self, image).map_err(model_error)?;
        let number = digits.iter().map(|d| char::from(b'0' + d.digit)).collect();
        let digits = digits
            .into_iter()
            .map(|d| DigitReading {
                digit: d.digit,
                probabilities: d.probs,
                bbox: [d.bbox.x, d.bbox.y, d.bbox.width, d.bbox.height].map(|v| v as f32),
            })
            .collect();
        Ok(NumberReading { digits, number })
    }
}

/// Unavailable stays unavailable (the message names the fix); anything else is a fault.
fn model_error(err: Error) -> ModelError {
    match err.kind() {
        ErrorKind::Unavailable => ModelError::unavailable(err.to_string()),
        ErrorKind::Internal => ModelError::internal(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use atelier_imaging::Models;

    use crate::{ModelDir, SessionConfig, Vision};

    #[test]
    fn a_missing_model_answers_unavailable_through_the_trait() {
        let dir = std::env::temp_dir().join("atelier-vision-no-models-here");
        let vision = Vision::new(SessionConfig { models: ModelDir::new(&dir), ..SessionConfig::default() });
        let err = Models::detect_faces(&vision, &image::RgbImage::new(8, 8), 0.6).unwrap_err();
        assert!(err.unavailable, "{err:?}");
        assert!(err.message.contains("blazeface_back_256.onnx"), "{err}");
        // Ink on paper: a blank page needs no model run, so it would not fail.
        let page =
            image::GrayImage::from_fn(30, 30, |x, _| image::Luma([if (12..18).contains(&x) { 20 } else { 230 }]));
        let err = Models::recognize_number(&vision, &page).unwrap_err();
        assert!(err.unavailable && err.message.contains("mnist_cnn"), "{err}");
    }
}
