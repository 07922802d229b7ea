//! The vision models a pipeline may call, as a trait the imaging core defines and the
//! vision crate implements: the core stays free of ONNX Runtime and of IO, and its tests
//! use a fake. The types crossing the trait are plain data in the caller's pixels.

use serde::{Deserialize, Serialize};

use image::RgbImage;

use crate::annotations::{AttributesJson, FaceJson};

/// What the vision ops need from a model runner. Object-safe: a run borrows one as
/// `&dyn Models` ([`crate::RunEnv::models`]), shared by every thread that runs pipelines.
pub trait Models: Send + Sync {
    /// The faces in `image` that `search` asks for, best first, in `image`'s pixels. Boxes
    /// are not clipped: a face cut by the frame may reach past an edge.
    fn detect_faces(&self, image: &image::RgbImage, search: FaceSearch) -> Result<Vec<FaceAnnotation>, ModelError>;

    /// Reads a written number on `image` (dark ink on light paper): its digits left to
    /// right. Splitting the ink into digits and preparing each for the model is the
    /// implementation's business, so the core does not need to know the model's input.
    fn recognize_number(&self, image: &image::GrayImage) -> Result<NumberReading, ModelError>;

    /// `image` painted in a style. The result is `image` scaled down (never up) to fit
    /// `request.max_side`; strength and colour keeping are applied as the request says.
    fn stylize(&self, image: &RgbImage, request: &StyleRequest<'_>) -> Result<RgbImage, ModelError>;

    /// Age, gender and expression of each face, in order: one entry per face.
    fn analyze_faces(&self, image: &RgbImage, faces: &[FaceAnnotation]) -> Result<Vec<FaceAttributes>, ModelError>;

    /// What `image` shows: the `top_k` most probable classes and product categories, best
    /// first, and the image's fingerprint for matching user-defined categories.
    fn classify(&self, image: &RgbImage, top_k: usize) -> Result<Classes, ModelError>;

    /// The moderation model's class scores, in the model's order (they sum to 1).
    fn moderate(&self, image: &RgbImage) -> Result<Vec<Label>, ModelError>;

    /// [`Models::classify`] for many images, in order. Runners whose model takes batches
    /// override it (one run for many images is cheaper than many runs); the default asks
    /// one image at a time.
    fn classify_batch(&self, images: &[&RgbImage], top_k: usize) -> Result<Vec<Classes>, ModelError> {
        images.iter().map(|image| self.classify(image, top_k)).collect()
    }

    /// [`Models::moderate`] for many images, in order; batched where the runner can.
    fn moderate_batch(&self, images: &[&RgbImage]) -> Result<Vec<Vec<Label>>, ModelError> {
        images.iter().map(|image| self.moderate(image)).collect()
    }

    /// Whether `capability` can run here, loading what it needs: how a service refuses a
    /// job up front (503 `vision_unavailable`) instead of failing every item later.
    fn check(&self, capability: Capability) -> Result<(), ModelError>;
}

/// How hard [`Models::detect_faces`] looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceSearch {
    /// Minimum score kept, 0..1.
    pub threshold: f32,
    /// Also look for faces too small for one pass over a big photo (tiles: slower, about
    /// 15 times on a few megapixels).
    pub small_faces: bool,
}

impl Default for FaceSearch {
    /// What the redaction ops look with: every face that can be found, none that is not.
    fn default() -> Self {
        FaceSearch { threshold: 0.6, small_faces: true }
    }
}

/// What a vision op needs from [`Models`], for [`Models::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    Faces,
    /// Age, gender and expression: operators may switch these off.
    FaceAttributes,
    Digits,
    /// The 26 built-in styles.
    Style,
    /// Any image as the style.
    StyleFromImage,
    Classify,
    Moderate,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Faces => "face detection",
            Capability::FaceAttributes => "face attribute analysis",
            Capability::Digits => "digit recognition",
            Capability::Style => "style transfer",
            Capability::StyleFromImage => "style transfer from an image",
            Capability::Classify => "classification",
            Capability::Moderate => "content moderation",
        }
    }
}

/// How many built-in styles [`StyleSource::Builtin`] weighs.
pub const BUILTIN_STYLES: usize = 26;

/// What to paint like.
#[derive(Debug, Clone, Copy)]
pub enum StyleSource<'a> {
    /// Weights over the built-in styles: non-negative, not all zero, normalised by the
    /// model runner. One non-zero weight picks a style; several blend them.
    Builtin([f32; BUILTIN_STYLES]),
    /// Any picture as the style.
    Image(&'a RgbImage),
}

/// One [`Models::stylize`] call.
#[derive(Debug, Clone, Copy)]
pub struct StyleRequest<'a> {
    pub style: StyleSource<'a>,
    /// 0..=1; 1 is the full style.
    pub strength: f32,
    /// Keep the photo's own colours, taking only light and texture from the style.
    pub keep_colour: bool,
    /// The longest side stylized; a bigger image is scaled down first.
    pub max_side: u32,
}

/// What a face's attribute models estimate. Deliberately no race or ethnicity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(into = "AttributesJson", from = "AttributesJson")]
pub struct FaceAttributes {
    /// Years; a rough estimate (see models/SOURCES.md).
    pub age: f32,
    /// The model's probability that the face is a man's, 0..1.
    pub male: f32,
    /// Probabilities over [`FaceAttributes::EMOTIONS`], in that order.
    pub emotions: [f32; 7],
}

impl FaceAttributes {
    pub const EMOTIONS: [&'static str; 7] = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];

    /// The most probable expression.
    pub fn emotion(&self) -> &'static str {
        let best = (0..7).max_by(|&a, &b| self.emotions[a].total_cmp(&self.emotions[b])).unwrap_or(6);
        FaceAttributes::EMOTIONS[best]
    }
}

/// A class or category with its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub label: String,
    pub score: f32,
}

/// What [`Models::classify`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Classes {
    /// ImageNet classes, best first.
    pub labels: Vec<Label>,
    /// Product categories (each the sum of its classes), best first.
    pub categories: Vec<Label>,
    /// The image's fingerprint, L2-normalised: close fingerprints, similar images.
    pub fingerprint: Vec<f32>,
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
    /// Filled by `analyze_faces`.
    pub attributes: Option<FaceAttributes>,
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

    /// The imaging error for this failure in `op`: the operator's to fix (503
    /// `vision_unavailable`) or ours (`internal_error`).
    pub fn into_error(self, op: &'static str) -> crate::Error {
        if self.unavailable {
            crate::Error::VisionUnavailable { op, message: self.message }
        } else {
            crate::Error::Internal(format!("{op}: {}", self.message))
        }
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
    fn detect_faces(&self, _image: &image::RgbImage, _search: FaceSearch) -> Result<Vec<FaceAnnotation>, ModelError> {
        Err(ModelError::unavailable(NoModels::MESSAGE))
    }

    fn recognize_number(&self, _image: &image::GrayImage) -> Result<NumberReading, ModelError> {
        Err(ModelError::unavailable(NoModels::MESSAGE))
    }

    fn stylize(&self, _image: &RgbImage, _request: &StyleRequest<'_>) -> Result<RgbImage, ModelError> {
        Err(ModelError::unavailable(NoModels::MESSAGE))
    }

    fn analyze_faces(&self, _image: &RgbImage, _faces: &[FaceAnnotation]) -> Result<Vec<FaceAttributes>, ModelError> {
        Err(ModelError::unavailable(NoModels::MESSAGE))
    }

    fn classify(&self, _image: &RgbImage, _top_k: usize) -> Result<Classes, ModelError> {
        Err(ModelError::unavailable(NoModels::MESSAGE))
    }

    fn moderate(&self, _image: &RgbImage) -> Result<Vec<Label>, ModelError> {
        Err(ModelError::unavailable(NoModels::MESSAGE))
    }

    fn check(&self, _capability: Capability) -> Result<(), ModelError> {
        Err(ModelError::unavailable(NoModels::MESSAGE))
    }
}
