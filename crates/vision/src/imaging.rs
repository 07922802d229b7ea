//! [`Vision`] as the imaging core's [`Models`]: the trait's plain types filled from this
//! crate's faces, digits, styles, attributes, classes and moderation scores, and its errors
//! sorted into "not set up here" (unavailable) and faults. This is how the vision ops in
//! pipelines reach ONNX Runtime.

use atelier_imaging::{Capability, Classes, DigitReading, FaceAnnotation, Label, ModelError, Models, NumberReading};
use atelier_imaging::{FaceSearch, StyleRequest, StyleSource};
use image::{GrayImage, RgbImage};

use crate::classify::{category_scores, imagenet_labels, top_k};
use crate::error::{Error, ErrorKind};
use crate::faces::{FaceBox, FaceOptions};
use crate::models::Model;
use crate::moderate::NSFW_LABELS;
use crate::style::{Style, StyleOptions};
use crate::Vision;

/// Why `analyze_faces` is refused where the operator switched it off.
pub const ATTRIBUTES_OFF: &str =
    "face attribute analysis (age, gender, expression) is switched off on this server ([vision] face_attributes)";

impl Models for Vision {
    fn detect_faces(&self, image: &RgbImage, search: FaceSearch) -> Result<Vec<FaceAnnotation>, ModelError> {
        let options = FaceOptions { threshold: search.threshold, tiles: search.small_faces, ..FaceOptions::default() };
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
                attributes: None,
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

    fn stylize(&self, image: &RgbImage, request: &StyleRequest<'_>) -> Result<RgbImage, ModelError> {
        let style = match request.style {
            StyleSource::Builtin(weights) => Style::Builtin(weights),
            StyleSource::Image(picture) => Style::Image(picture),
        };
        let options =
            StyleOptions { strength: request.strength, keep_colour: request.keep_colour, max_side: request.max_side };
        Vision::stylize(self, image, &style, options).map_err(model_error)
    }

    fn analyze_faces(
        &self,
        image: &RgbImage,
        faces: &[FaceAnnotation],
    ) -> Result<Vec<atelier_imaging::FaceAttributes>, ModelError> {
        if !self.face_attributes() {
            return Err(ModelError::unavailable(ATTRIBUTES_OFF));
        }
        let boxes: Vec<FaceBox> =
            faces.iter().map(|f| FaceBox { x: f.x, y: f.y, width: f.width, height: f.height }).collect();
        let found = Vision::analyze_faces(self, image, &boxes).map_err(model_error)?;
        Ok(found
            .into_iter()
            .map(|a| atelier_imaging::FaceAttributes { age: a.age, male: a.male, emotions: a.emotions })
            .collect())
    }

    fn classify(&self, image: &RgbImage, k: usize) -> Result<Classes, ModelError> {
        let mut found = atelier_imaging::Models::classify_batch(self, &[image], k)?;
        found.pop().ok_or_else(|| ModelError::internal("the classifier returned nothing"))
    }

    fn classify_batch(&self, images: &[&RgbImage], k: usize) -> Result<Vec<Classes>, ModelError> {
        let found = Vision::classify(self, images).map_err(model_error)?;
        if found.len() != images.len() {
            return Err(ModelError::internal("the classifier did not return one result per image"));
        }
        let names = imagenet_labels();
        Ok(found
            .into_iter()
            .map(|classification| {
                let labels = top_k(&classification.probabilities, k)
                    .into_iter()
                    .filter_map(|(index, score)| Some(Label { label: names.get(index)?.to_string(), score }))
                    .collect();
                let categories = category_scores(&classification.probabilities)
                    .into_iter()
                    .take(k)
                    .map(|(name, score)| Label { label: name.to_string(), score })
                    .collect();
                Classes { labels, categories, fingerprint: classification.fingerprint }
            })
            .collect())
    }

    fn moderate(&self, image: &RgbImage) -> Result<Vec<Label>, ModelError> {
        let mut found = atelier_imaging::Models::moderate_batch(self, &[image])?;
        found.pop().ok_or_else(|| ModelError::internal("the moderation model returned nothing"))
    }

    fn moderate_batch(&self, images: &[&RgbImage]) -> Result<Vec<Vec<Label>>, ModelError> {
        let found = Vision::moderate(self, images).map_err(model_error)?;
        if found.len() != images.len() {
            return Err(ModelError::internal("the moderation model did not return one result per image"));
        }
        Ok(found
            .into_iter()
            .map(|scores| {
                NSFW_LABELS.iter().zip(scores).map(|(l, score)| Label { label: l.to_string(), score }).collect()
            })
            .collect())
    }

    fn check(&self, capability: Capability) -> Result<(), ModelError> {
        let models: &[Model] = match capability {
            Capability::Faces => &[Model::BlazeFaceBack256],
            Capability::FaceAttributes if !self.face_attributes() => {
                return Err(ModelError::unavailable(ATTRIBUTES_OFF))
            }
            Capability::FaceAttributes => &[Model::AgeGender, Model::Emotion],
            Capability::Digits => &[Model::Mnist],
            Capability::Style => &[Model::MultiStyle26],
            Capability::StyleFromImage => &[Model::ArbitraryStylePredict, Model::ArbitraryStyleTransform],
            Capability::Classify => &[Model::EfficientNetLite0],
            Capability::Moderate => &[Model::Nsfw],
        };
        models.iter().try_for_each(|&model| self.load(model).map_err(model_error))
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
    use atelier_imaging::{Capability, Models};

    use crate::{ModelDir, SessionConfig, Vision};

    fn nowhere() -> Vision {
        let dir = std::env::temp_dir().join("atelier-vision-no-models-here");
        Vision::new(SessionConfig { models: ModelDir::new(&dir), ..SessionConfig::default() })
    }

    #[test]
    fn a_missing_model_answers_unavailable_through_the_trait() {
        let vision = nowhere();
        let err = Models::detect_faces(&vision, &image::RgbImage::new(8, 8), Default::default()).unwrap_err();
        assert!(err.unavailable, "{err:?}");
        assert!(err.message.contains("blazeface_back_256.onnx"), "{err}");
        // Ink on paper: a blank page needs no model run, so it would not fail.
        let page =
            image::GrayImage::from_fn(30, 30, |x, _| image::Luma([if (12..18).contains(&x) { 20 } else { 230 }]));
        let err = Models::recognize_number(&vision, &page).unwrap_err();
        assert!(err.unavailable && err.message.contains("mnist_cnn"), "{err}");
        let err = vision.check(Capability::Classify).unwrap_err();
        assert!(err.unavailable && err.message.contains("efficientnet_lite0.onnx"), "{err}");
    }

    #[test]
    fn switched_off_face_attributes_are_unavailable_and_say_which_setting_did_it() {
        let vision = nowhere().with_face_attributes(false);
        let err = vision.check(Capability::FaceAttributes).unwrap_err();
        assert_eq!((err.unavailable, err.message.as_str()), (true, super::ATTRIBUTES_OFF));
        let face = atelier_imaging::FaceAnnotation {
            x: 1.0,
            y: 1.0,
            width: 4.0,
            height: 4.0,
            score: 0.9,
            landmarks: [[0.0; 2]; 6],
            attributes: None,
        };
        let err = Models::analyze_faces(&vision, &image::RgbImage::new(8, 8), &[face]).unwrap_err();
        assert!(err.message.contains("switched off"), "{err}");
    }
}
