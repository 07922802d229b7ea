//! The vision models a pipeline may call, as a trait the imaging core defines and the
//! vision crate implements: the core stays free of ONNX Runtime and of IO, and its tests
//! use a fake. The types crossing the trait are plain data in the caller's pixels.

use serde::{Deserialize, Serialize};

use crate::annotations::FaceJson;

/// What the vision ops need from a model runner. Object-safe: a run borrows one as
/// `&dyn Models` ([`crate::RunEnv::models`]), shared by every thread that runs pipelines.
pub trait Models: Send + Sync {
    /// The faces in `image` scoring at least `threshold` (0..1), best first, in `image`'s
    /// pixels. Boxes are not clipped: a face cut by the frame may reach past an edge.
    fn detect_faces(&self, image: &image::RgbImage, threshold: f32) -> Result<Vec<FaceAnnotation>, ModelError>;

    /// Reads a written number on `image` (dark ink on light paper): its digits left to
    /// right. Splitting the ink into digits and preparing each for the model is the
    /// implementation's business, so the core does not need to know the model's input.
    fn recognize_number(&self, image: &image::GrayImage) -> Result<NumberReading, ModelError>;
}

/// One face, in pixels of the image it was found in. In JSON it is spelled for people:
/// `{box: {x, y, width, height}, score, landmarks: {right_eye: [x, y], ..}}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(into = "FaceJson", from = "FaceJson")]
pub struct FaceAnnotation {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    /// Probability that this is a face, 0..1.
    pub score: f32,
    /// `[x, y]` per keypoint, in [`FaceAnnotation::LANDMARKS`] order.
    pub landmarks: [[f32; 2]; 6],
}

impl FaceAnnotation {
    /// The keypoints' names, in order: BlazeFace's, and the person's own right and left
    /// (the right eye is on the image's left in an unmirrored photo).
    pub const LANDMARKS: [&'static str; 6] = ["right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear"];
}

/// A written number, read digit by digit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NumberReading {
    /// Left to right.
    pub digits: Vec<DigitReading>,
    /// The digits as text, `""` when there was no ink.
    pub number: String,
}

/// One digit of a [`NumberReading`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigitReading {
    /// The most probable digit, 0..=9.
    pub digit: u8,
    /// Softmax probabilities for 0..9.
    pub probabilities: [f32; 10],
    /// Where the digit's ink is: `[x, y, width, height]` in the image's pixels.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
}

/// A model call that failed: either the models are not set up (the operator can fix it;
/// the pipeline answers `vision_unavailable`) or something broke (`internal_error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    pub unavailable: bool,
    pub message: String,
}

impl ModelError {
    pub fn unavailable(message: impl Into<String>) -> Self {
        ModelError { unavailable: true, message: message.into() }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ModelError { unavailable: false, message: message.into() }
    }
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ModelError {}

/// For runs with no models: every vision op fails as unavailable, naming the fix, and
/// every other op works.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoModels;

impl NoModels {
    pub const MESSAGE: &'static str =
        "vision models are not set up here: run scripts/setup-onnxruntime.sh and check `atelier models`";
}

impl Models for NoModels {
    fn detect_faces(&self, _image: &image::RgbImage, _threshold: f32) -> Result<Vec<FaceAnnotation>, ModelError> {
        Err(ModelError::unavailable(NoModels::MESSAGE))
    }

    fn recognize_number(&self, _image: &image::GrayImage) -> Result<NumberReading, ModelError> {
        Err(ModelError::unavailable(NoModels::MESSAGE))
    }
}
