//! What vision ops learn about an image (faces, a written number), carried with it through
//! the later steps of a pipeline and out with each output, serialised as JSON. Positions
//! are in the current image's pixels: a step that moves pixels maps them along when the
//! move is a scale, crop, flip or right-angle turn, and drops them with a note otherwise.

use serde::{Deserialize, Serialize};

use crate::models::{DigitReading, FaceAnnotation, FaceAttributes, Label};
use crate::ops::OpName;

/// The annotations of one image. A field is absent until a step fills it: `faces: None`
/// means nobody looked (or what was found did not survive a later step), `Some([])` that
/// a detector looked and found none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Annotations {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faces: Option<Vec<FaceAnnotation>>,
    /// The digits of the number read, left to right, with their boxes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<Vec<DigitReading>>,
    /// The number read, as text. Not a position, so it survives every later step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// What the image shows (ImageNet classes), best first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Label>>,
    /// Product categories, best first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<Label>>,
    /// The nearest of the owner's own categories, when one is near enough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation: Option<Moderation>,
    /// Why something found earlier is missing (a step its positions could not follow).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What `moderate` found: a review signal, never a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Moderation {
    /// Every class's probability, in the model's order.
    pub scores: Vec<Label>,
    /// The explicit and suggestive classes together reached the step's threshold.
    pub needs_review: bool,
}

/// How a step moved pixels, for annotations to follow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Motion {
    /// Every pixel stays where it was (colour ops, blurs, overlays, the vision ops).
    Still,
    /// The point `(x, y)` goes to `(a·x + b·y + c, d·x + e·y + f)`, given as
    /// `[a, b, c, d, e, f]`: scales, crops, flips and right-angle turns, all of which keep
    /// boxes axis-aligned.
    Affine([f64; 6]),
    /// Anything else (an arbitrary rotation, augment's random variants): positions are lost.
    Lost,
}

impl Motion {
    /// Scale then shift, per axis: `x' = sx·x + ox`, `y' = sy·y + oy`.
    pub(crate) fn scale_shift(sx: f64, ox: f64, sy: f64, oy: f64) -> Motion {
        Motion::Affine([sx, 0.0, ox, 0.0, sy, oy])
    }
}

impl Annotations {
    pub fn is_empty(&self) -> bool {
        *self == Annotations::default()
    }

    /// Moves positions along with the pixels of `step` (`op`), whose output is `size`.
    /// Faces left wholly outside the new image are dropped (a crop cut them away); digits
    /// are kept whatever their place, since they spell the number that was read.
    pub(crate) fn follow(&mut self, motion: Motion, size: (u32, u32), step: usize, op: OpName) {
        let map = match motion {
            Motion::Still => return,
            Motion::Lost => {
                let lost: Vec<&str> = [("faces", self.faces.is_some()), ("digits", self.digits.is_some())]
                    .into_iter()
                    .filter_map(|(name, present)| present.then_some(name))
                    .collect();
                if !lost.is_empty() {
                    self.faces = None;
                    self.digits = None;
                    self.notes.push(format!(
                        "{} dropped at step {step} ({op}): boxes cannot follow its change of geometry",
                        lost.join(" and ")
                    ));
                }
                return;
            }
            Motion::Affine(map) => map,
        };
        let point = |[x, y]: [f32; 2]| -> [f32; 2] {
            let (x, y) = (f64::from(x), f64::from(y));
            [(map[0] * x + map[1] * y + map[2]) as f32, (map[3] * x + map[4] * y + map[5]) as f32]
        };
        // The bounding box of the mapped corners: exact, since every affine motion here
        // keeps edges axis-aligned (a turn by 90 degrees swaps them, a flip reverses them).
        let rect = |[x, y, w, h]: [f32; 4]| -> [f32; 4] {
            let corners = [[x, y], [x + w, y], [x, y + h], [x + w, y + h]].map(point);
            let (x0, x1) = corners.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
            let (y0, y1) = corners.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[1]), hi.max(p[1])));
            [x0, y0, x1 - x0, y1 - y0]
        };
        let (width, height) = (size.0 as f32, size.1 as f32);
        if let Some(faces) = &mut self.faces {
            faces.retain_mut(|face| {
                let [x, y, w, h] = rect([face.x, face.y, face.width, face.height]);
                (face.x, face.y, face.width, face.height) = (x, y, w, h);
                face.landmarks = face.landmarks.map(point);
                x < width && y < height && x + w > 0.0 && y + h > 0.0
            });
        }
        if let Some(digits) = &mut self.digits {
            for digit in digits {
                digit.bbox = rect(digit.bbox);
            }
        }
    }
}

/// A face as JSON: `{box: {x, y, width, height}, score, landmarks: {right_eye: [x, y], ..}}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaceJson {
    #[serde(rename = "box")]
    bbox: BoxJson,
    score: f32,
    landmarks: LandmarksJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attributes: Option<FaceAttributes>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BoxJson {
    x: f32,
    y: f32,
    width: f32,
    height: f32,
}

/// Named, so clients need not know BlazeFace's order ([`FaceAnnotation::LANDMARKS`]).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LandmarksJson {
    right_eye: [f32; 2],
    left_eye: [f32; 2],
    nose: [f32; 2],
    mouth: [f32; 2],
    right_ear: [f32; 2],
    left_ear: [f32; 2],
}

impl From<FaceAnnotation> for FaceJson {
    fn from(face: FaceAnnotation) -> Self {
        let [right_eye, left_eye, nose, mouth, right_ear, left_ear] = face.landmarks;
        FaceJson {
            bbox: BoxJson { x: face.x, y: face.y, width: face.width, height: face.height },
            score: face.score,
            landmarks: LandmarksJson { right_eye, left_eye, nose, mouth, right_ear, left_ear },
            attributes: face.attributes,
        }
    }
}

impl From<FaceJson> for FaceAnnotation {
    fn from(json: FaceJson) -> Self {
        let LandmarksJson { right_eye, left_eye, nose, mouth, right_ear, left_ear } = json.landmarks;
        FaceAnnotation {
            x: json.bbox.x,
            y: json.bbox.y,
            width: json.bbox.width,
            height: json.bbox.height,
            score: json.score,
            landmarks: [right_eye, left_eye, nose, mouth, right_ear, left_ear],
            attributes: json.attributes,
        }
    }
}

/// Face attributes as JSON, spelled for people: `{age, gender, gender_confidence, emotion,
/// emotions: {angry, ..}}`. `emotion` is derived, so it is ignored when read back.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttributesJson {
    age: f32,
    gender: Gender,
    /// The probability of `gender`, 0.5..=1.
    gender_confidence: f32,
    emotion: String,
    emotions: EmotionsJson,
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Gender {
    Female,
    Male,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmotionsJson {
    angry: f32,
    disgust: f32,
    fear: f32,
    happy: f32,
    sad: f32,
    surprise: f32,
    neutral: f32,
}

impl From<FaceAttributes> for AttributesJson {
    fn from(a: FaceAttributes) -> Self {
        let (gender, gender_confidence) =
            if a.male > 0.5 { (Gender::Male, a.male) } else { (Gender::Female, 1.0 - a.male) };
        let [angry, disgust, fear, happy, sad, surprise, neutral] = a.emotions;
        AttributesJson {
            age: a.age,
            gender,
            gender_confidence,
            emotion: a.emotion().to_string(),
            emotions: EmotionsJson { angry, disgust, fear, happy, sad, surprise, neutral },
        }
    }
}

impl From<AttributesJson> for FaceAttributes {
    fn from(json: AttributesJson) -> Self {
        let male = if json.gender == Gender::Male { json.gender_confidence } else { 1.0 - json.gender_confidence };
        let EmotionsJson { angry, disgust, fear, happy, sad, surprise, neutral } = json.emotions;
        FaceAttributes { age: json.age, male, emotions: [angry, disgust, fear, happy, sad, surprise, neutral] }
    }
}

#[cfg(test)]
mod tests;
