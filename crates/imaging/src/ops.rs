//! The op catalogue: one closed enum of image ops, each in its own file with a
//! JSON-schema'd parameter struct, validation that names the field, and a credit cost.
//! Adding an op means one new file, one new variant, and following the compiler.

pub mod adjust;
pub mod analyze_faces;
pub mod augment;
pub mod blur;
pub mod blur_faces;
pub mod classify;
pub(crate) mod color;
pub mod convert;
pub mod crop;
pub mod detect_faces;
pub mod draw_annotations;
pub mod flip;
pub mod geometry;
pub mod grayscale;
pub mod moderate;
pub mod pixelate_faces;
pub mod recognize_digit;
mod redact;
pub mod resize;
pub mod rotate;
pub mod sharpen;
pub mod smart_crop;
pub mod stylize;
pub mod thumbnail;
pub mod watermark;

use image::DynamicImage;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::annotations::{Annotations, Motion};
use crate::decode::SizeHint;
use crate::error::{Error, Result};
use crate::limits::{Deadline, Limits};
use crate::models::{Capability, ModelError, Models};
use crate::pipeline::Assets;

/// The name of every op, as written in pipelines. A closed set: see [`Op`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpName {
    Resize,
    Thumbnail,
    Crop,
    Rotate,
    Flip,
    Blur,
    Sharpen,
    Grayscale,
    Adjust,
    Watermark,
    Augment,
    Convert,
    DetectFaces,
    BlurFaces,
    PixelateFaces,
    RecognizeDigit,
    Stylize,
    AnalyzeFaces,
    SmartCrop,
    DrawAnnotations,
    Classify,
    Moderate,
}

impl OpName {
    pub const ALL: &'static [OpName] = &[
        OpName::Resize,
        OpName::Thumbnail,
        OpName::Crop,
        OpName::Rotate,
        OpName::Flip,
        OpName::Blur,
        OpName::Sharpen,
        OpName::Grayscale,
        OpName::Adjust,
        OpName::Watermark,
        OpName::Augment,
        OpName::Convert,
        OpName::DetectFaces,
        OpName::BlurFaces,
        OpName::PixelateFaces,
        OpName::RecognizeDigit,
        OpName::Stylize,
        OpName::AnalyzeFaces,
        OpName::SmartCrop,
        OpName::DrawAnnotations,
        OpName::Classify,
        OpName::Moderate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OpName::Resize => "resize",
            OpName::Thumbnail => "thumbnail",
            OpName::Crop => "crop",
            OpName::Rotate => "rotate",
            OpName::Flip => "flip",
            OpName::Blur => "blur",
            OpName::Sharpen => "sharpen",
            OpName::Grayscale => "grayscale",
            OpName::Adjust => "adjust",
            OpName::Watermark => "watermark",
            OpName::Augment => "augment",
            OpName::Convert => "convert",
            OpName::DetectFaces => "detect_faces",
            OpName::BlurFaces => "blur_faces",
            OpName::PixelateFaces => "pixelate_faces",
            OpName::RecognizeDigit => "recognize_digit",
            OpName::Stylize => "stylize",
            OpName::AnalyzeFaces => "analyze_faces",
            OpName::SmartCrop => "smart_crop",
            OpName::DrawAnnotations => "draw_annotations",
            OpName::Classify => "classify",
            OpName::Moderate => "moderate",
        }
    }

    pub fn parse(name: &str) -> Option<OpName> {
        OpName::ALL.iter().copied().find(|op| op.as_str() == name)
    }

    /// One line for the catalogue.
    pub fn summary(self) -> &'static str {
        match self {
            OpName::Resize => {
                "Resize to a width and/or height: fit inside, contain (pad), cover (crop) or fill (stretch)"
            }
            OpName::Thumbnail => "Shrink to fit a box (or crop to it), never enlarging; the fast path for previews",
            OpName::Crop => "Cut out a rectangle, given by position or by gravity",
            OpName::Rotate => "Rotate by any angle; multiples of 90 are exact, others fill the corners with a colour",
            OpName::Flip => "Mirror horizontally, vertically or both",
            OpName::Blur => "Gaussian blur with the given sigma",
            OpName::Sharpen => "Unsharp mask: sigma, amount and threshold",
            OpName::Grayscale => "Convert to grey levels (Rec. 709 luma), keeping alpha",
            OpName::Adjust => "Brightness, contrast, saturation and gamma",
            OpName::Watermark => "Overlay another image with opacity, gravity, margin and scale",
            OpName::Augment => "Seeded random variants: flips, rotation, crop-scale, colour jitter, noise",
            OpName::Convert => "Choose the output format and encoder settings (quality, progressive, subsampling, ICC)",
            OpName::DetectFaces => {
                "Find faces and annotate them (box, score, eyes, nose, mouth, ears); the image is unchanged"
            }
            OpName::BlurFaces => "Blur every face: those an earlier detect_faces step found, else detected now",
            OpName::PixelateFaces => {
                "Pixelate every face in blocks: those an earlier detect_faces step found, else detected now"
            }
            OpName::RecognizeDigit => {
                "Read a handwritten number (dark ink on light paper) digit by digit into the annotations"
            }
            OpName::Stylize => "Paint in one of 26 built-in styles, a blend of them, or the style of any image; strength, keep colour, max side",
            OpName::AnalyzeFaces => "Estimate age, gender and expression of each face (found earlier, else now); no race or ethnicity",
            OpName::SmartCrop => "Crop to a size keeping the faces in view; without faces, the most detailed part of the picture",
            OpName::DrawAnnotations => "Draw what earlier steps found: face boxes, landmarks and attributes, digits, the top class",
            OpName::Classify => "Name what the image shows: top ImageNet classes, product categories, and your own categories",
            OpName::Moderate => "Score nudity and suggestive content and flag the image for review (a signal, not a verdict)",
        }
    }
}

impl std::fmt::Display for OpName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated op with its parameters. Only [`Op::parse`] builds one from untrusted input.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    Resize(resize::Resize),
    Thumbnail(thumbnail::Thumbnail),
    Crop(crop::Crop),
    Rotate(rotate::Rotate),
    Flip(flip::Flip),
    Blur(blur::Blur),
    Sharpen(sharpen::Sharpen),
    Grayscale(grayscale::Grayscale),
    Adjust(adjust::Adjust),
    Watermark(watermark::Watermark),
    Augment(augment::Augment),
    Convert(convert::Convert),
    DetectFaces(detect_faces::DetectFaces),
    BlurFaces(blur_faces::BlurFaces),
    PixelateFaces(pixelate_faces::PixelateFaces),
    RecognizeDigit(recognize_digit::RecognizeDigit),
    Stylize(stylize::Stylize),
    AnalyzeFaces(analyze_faces::AnalyzeFaces),
    SmartCrop(smart_crop::SmartCrop),
    DrawAnnotations(draw_annotations::DrawAnnotations),
    Classify(classify::Classify),
    Moderate(moderate::Moderate),
}

/// A parameter that failed to parse or validate: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path inside the step, e.g. `width` or `crop_scale[1]`; empty for the step itself.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// What every op's parameter struct provides.
pub trait Params: DeserializeOwned + Serialize + JsonSchema + Default {
    /// Checks ranges and combinations that the types alone cannot express.
    fn validate(&self) -> Result<(), FieldError>;
}

/// What the running pipeline lends an op.
pub struct Ctx<'a> {
    pub limits: &'a Limits,
    pub deadline: Deadline,
    pub assets: &'a dyn Assets,
    pub models: &'a dyn Models,
    /// Index of the step being run, for error messages.
    pub step: usize,
    /// The image's size before shrink-on-load, when the decoder shrank it for this step:
    /// sizes are computed from it so the output does not depend on the shrink chosen.
    pub logical_size: Option<(u32, u32)>,
}

impl Ctx<'_> {
    /// An error for an op whose parameters are valid but do not suit this image.
    pub(crate) fn not_applicable(&self, op: OpName, message: impl Into<String>) -> Error {
        Error::OpNotApplicable { step: self.step, op: op.as_str(), message: message.into() }
    }

    /// The pipeline error for a failed model call: the operator's to fix (503
    /// `vision_unavailable`) or ours (`internal_error`).
    pub(crate) fn model_error(&self, op: OpName, err: ModelError) -> Error {
        if err.unavailable {
            Error::VisionUnavailable { op: op.as_str(), message: err.message }
        } else {
            Error::Internal(format!("step {} ({op}): {}", self.step, err.message))
        }
    }
}

impl Op {
    /// Parses `params` (the step without its `op` key) for the named op.
    pub fn parse(name: OpName, params: serde_json::Value) -> Result<Op, FieldError> {
        Ok(match name {
            OpName::Resize => Op::Resize(parse_params(params)?),
            OpName::Thumbnail => Op::Thumbnail(parse_params(params)?),
            OpName::Crop => Op::Crop(parse_params(params)?),
            OpName::Rotate => Op::Rotate(parse_params(params)?),
            OpName::Flip => Op::Flip(parse_params(params)?),
            OpName::Blur => Op::Blur(parse_params(params)?),
            OpName::Sharpen => Op::Sharpen(parse_params(params)?),
            OpName::Grayscale => Op::Grayscale(parse_params(params)?),
            OpName::Adjust => Op::Adjust(parse_params(params)?),
            OpName::Watermark => Op::Watermark(parse_params(params)?),
            OpName::Augment => Op::Augment(parse_params(params)?),
            OpName::Convert => Op::Convert(parse_params(params)?),
            OpName::DetectFaces => Op::DetectFaces(parse_params(params)?),
            OpName::BlurFaces => Op::BlurFaces(parse_params(params)?),
            OpName::PixelateFaces => Op::PixelateFaces(parse_params(params)?),
            OpName::RecognizeDigit => Op::RecognizeDigit(parse_params(params)?),
            OpName::Stylize => Op::Stylize(parse_params(params)?),
            OpName::AnalyzeFaces => Op::AnalyzeFaces(parse_params(params)?),
            OpName::SmartCrop => Op::SmartCrop(parse_params(params)?),
            OpName::DrawAnnotations => Op::DrawAnnotations(parse_params(params)?),
            OpName::Classify => Op::Classify(parse_params(params)?),
            OpName::Moderate => Op::Moderate(parse_params(params)?),
        })
    }

    pub fn name(&self) -> OpName {
        match self {
            Op::Resize(_) => OpName::Resize,
            Op::Thumbnail(_) => OpName::Thumbnail,
            Op::Crop(_) => OpName::Crop,
            Op::Rotate(_) => OpName::Rotate,
            Op::Flip(_) => OpName::Flip,
            Op::Blur(_) => OpName::Blur,
            Op::Sharpen(_) => OpName::Sharpen,
            Op::Grayscale(_) => OpName::Grayscale,
            Op::Adjust(_) => OpName::Adjust,
            Op::Watermark(_) => OpName::Watermark,
            Op::Augment(_) => OpName::Augment,
            Op::Convert(_) => OpName::Convert,
            Op::DetectFaces(_) => OpName::DetectFaces,
            Op::BlurFaces(_) => OpName::BlurFaces,
            Op::PixelateFaces(_) => OpName::PixelateFaces,
            Op::RecognizeDigit(_) => OpName::RecognizeDigit,
            Op::Stylize(_) => OpName::Stylize,
            Op::AnalyzeFaces(_) => OpName::AnalyzeFaces,
            Op::SmartCrop(_) => OpName::SmartCrop,
            Op::DrawAnnotations(_) => OpName::DrawAnnotations,
            Op::Classify(_) => OpName::Classify,
            Op::Moderate(_) => OpName::Moderate,
        }
    }

    /// Credits charged for this step on one image. Ops that multiply work say so.
    pub fn cost(&self) -> u32 {
        match self {
            Op::Augment(augment) => augment.variants,
            Op::Blur(_) | Op::Sharpen(_) | Op::Watermark(_) | Op::Rotate(_) => 2,
            // A model run takes tens of milliseconds where a pixel op takes a few. The
            // redaction ops pay for a detection whether or not an earlier step did it:
            // the price of a step must not depend on the steps around it.
            Op::DetectFaces(_) => 3,
            Op::BlurFaces(_) | Op::PixelateFaces(_) => 4,
            Op::RecognizeDigit(_) => 2,
            // A style network runs on every pixel: seconds for a big photo, not milliseconds.
            Op::Stylize(_) => 10,
            Op::AnalyzeFaces(_) => 5,
            Op::SmartCrop(_) => 3,
            Op::Classify(_) | Op::Moderate(_) => 3,
            Op::Convert(_) => 0,
            _ => 1,
        }
    }

    /// What this step needs from the vision models, so a service can refuse a job up
    /// front when they are missing. `smart_crop` needs none: without faces it crops by detail.
    pub fn capabilities(&self) -> &'static [Capability] {
        match self {
            Op::DetectFaces(_) | Op::BlurFaces(_) | Op::PixelateFaces(_) => &[Capability::Faces],
            Op::AnalyzeFaces(_) => &[Capability::Faces, Capability::FaceAttributes],
            Op::RecognizeDigit(_) => &[Capability::Digits],
            Op::Stylize(op) if op.image.is_some() => &[Capability::StyleFromImage],
            Op::Stylize(_) => &[Capability::Style],
            Op::Classify(_) => &[Capability::Classify],
            Op::Moderate(_) => &[Capability::Moderate],
            _ => &[],
        }
    }

    /// The image this step names as an asset (a watermark's overlay, a style image), which
    /// the caller resolves through [`crate::Assets`].
    pub fn asset(&self) -> Option<&str> {
        match self {
            Op::Watermark(op) => Some(&op.image),
            Op::Stylize(op) => op.image.as_deref(),
            _ => None,
        }
    }

    /// The smallest decoded size this op needs from a source of `width` x `height`, when
    /// it is the first step: what lets the JPEG decoder shrink in the DCT domain.
    pub fn decode_hint(&self, width: u32, height: u32) -> Option<SizeHint> {
        match self {
            Op::Resize(resize) => resize.decode_hint(width, height),
            Op::Thumbnail(thumbnail) => thumbnail.decode_hint(width, height),
            _ => None,
        }
    }

    /// Applies a one-image-in, one-image-out op, which may read and write the image's
    /// annotations. [`Op::Augment`] and [`Op::Convert`] act on the pipeline's frames
    /// instead and are handled by the pipeline.
    pub(crate) fn apply(
        &self,
        image: DynamicImage,
        annotations: &mut Annotations,
        ctx: &Ctx<'_>,
    ) -> Result<DynamicImage> {
        match self {
            Op::Resize(op) => op.apply(image, ctx),
            Op::Thumbnail(op) => op.apply(image, ctx),
            Op::Crop(op) => op.apply(image, ctx),
            Op::Rotate(op) => op.apply(image, ctx),
            Op::Flip(op) => Ok(op.apply(image)),
            Op::Blur(op) => op.apply(image, ctx),
            Op::Sharpen(op) => op.apply(image, ctx),
            Op::Grayscale(op) => Ok(op.apply(image)),
            Op::Adjust(op) => Ok(op.apply(image)),
            Op::Watermark(op) => op.apply(image, ctx),
            Op::DetectFaces(op) => op.apply(&image, annotations, ctx).map(|()| image),
            Op::BlurFaces(op) => op.apply(image, annotations, ctx),
            Op::PixelateFaces(op) => op.apply(image, annotations, ctx),
            Op::RecognizeDigit(op) => op.apply(&image, annotations, ctx).map(|()| image),
            Op::Stylize(op) => op.apply(image, ctx),
            Op::AnalyzeFaces(op) => op.apply(&image, annotations, ctx).map(|()| image),
            Op::SmartCrop(op) => op.apply(image, annotations, ctx),
            Op::DrawAnnotations(op) => Ok(op.apply(image, annotations)),
            Op::Classify(op) => op.apply(&image, annotations, ctx).map(|()| image),
            Op::Moderate(op) => op.apply(&image, annotations, ctx).map(|()| image),
            Op::Augment(_) | Op::Convert(_) => Ok(image),
        }
    }

    /// Whether this op only reads pixels and writes annotations (the image is unchanged):
    /// what a dataset job's inference steps may be, so they can run over batches.
    pub fn annotates_only(&self) -> bool {
        matches!(
            self,
            Op::DetectFaces(_) | Op::RecognizeDigit(_) | Op::AnalyzeFaces(_) | Op::Classify(_) | Op::Moderate(_)
        )
    }

    /// Runs an [`Op::annotates_only`] op over a batch of images with as few model calls
    /// as the op allows; one image at a time for the others (their models take one).
    pub(crate) fn annotate(
        &self,
        images: &[&DynamicImage],
        annotations: &mut [Annotations],
        ctx: &Ctx<'_>,
    ) -> Result<()> {
        match self {
            Op::Classify(op) => op.apply_batch(images, annotations, ctx),
            Op::Moderate(op) => op.apply_batch(images, annotations, ctx),
            Op::DetectFaces(op) => images.iter().zip(annotations).try_for_each(|(i, a)| op.apply(i, a, ctx)),
            Op::RecognizeDigit(op) => images.iter().zip(annotations).try_for_each(|(i, a)| op.apply(i, a, ctx)),
            Op::AnalyzeFaces(op) => images.iter().zip(annotations).try_for_each(|(i, a)| op.apply(i, a, ctx)),
            _ => Err(ctx.not_applicable(self.name(), "this op changes the image, so it cannot run as inference")),
        }
    }

    /// How this op moves the pixels of a `size` image, for annotations to follow.
    /// [`Op::Augment`] is the pipeline's: its variants lose positions, its original keeps them.
    pub(crate) fn motion(&self, size: (u32, u32)) -> Motion {
        match self {
            Op::Resize(op) => op.motion(size),
            Op::Thumbnail(op) => op.motion(size),
            Op::Crop(op) => op.motion(size),
            Op::Rotate(op) => op.motion(size),
            Op::Flip(op) => op.motion(size),
            Op::Stylize(op) => op.motion(size),
            Op::Augment(_) => Motion::Lost,
            Op::Blur(_)
            | Op::Sharpen(_)
            | Op::Grayscale(_)
            | Op::Adjust(_)
            | Op::Watermark(_)
            | Op::Convert(_)
            | Op::DetectFaces(_)
            | Op::BlurFaces(_)
            | Op::PixelateFaces(_)
            | Op::RecognizeDigit(_)
            | Op::AnalyzeFaces(_)
            | Op::DrawAnnotations(_)
            | Op::Classify(_)
            | Op::Moderate(_) => Motion::Still,
            // It moves the annotations itself: where it crops depends on what it finds.
            Op::SmartCrop(_) => Motion::Still,
        }
    }
}

/// One catalogue entry: what `atelier ops` prints and `GET /v1/ops` serves.
#[derive(Debug, Clone, Serialize)]
pub struct OpInfo {
    pub name: OpName,
    pub summary: &'static str,
    /// Credits for one image with default parameters.
    pub cost: u32,
    /// JSON Schema (draft 2020-12 subset) of the parameters.
    pub parameters: serde_json::Value,
    /// The parameters' defaults, as a pipeline step would spell them.
    pub defaults: serde_json::Value,
}

/// Every op with its schema, in catalogue order.
pub fn catalogue() -> Vec<OpInfo> {
    OpName::ALL.iter().map(|&name| info(name)).collect()
}

fn info(name: OpName) -> OpInfo {
    fn entry<P: Params>(name: OpName, wrap: fn(P) -> Op) -> OpInfo {
        let settings = schemars::gen::SchemaSettings::draft2019_09().with(|s| s.inline_subschemas = true);
        let schema = settings.into_generator().into_root_schema_for::<P>();
        let defaults = serde_json::to_value(P::default()).unwrap_or_default();
        OpInfo {
            name,
            summary: name.summary(),
            cost: wrap(P::default()).cost(),
            parameters: serde_json::to_value(schema).unwrap_or_default(),
            defaults,
        }
    }
    match name {
        OpName::Resize => entry(name, Op::Resize),
        OpName::Thumbnail => entry(name, Op::Thumbnail),
        OpName::Crop => entry(name, Op::Crop),
        OpName::Rotate => entry(name, Op::Rotate),
        OpName::Flip => entry(name, Op::Flip),
        OpName::Blur => entry(name, Op::Blur),
        OpName::Sharpen => entry(name, Op::Sharpen),
        OpName::Grayscale => entry(name, Op::Grayscale),
        OpName::Adjust => entry(name, Op::Adjust),
        OpName::Watermark => entry(name, Op::Watermark),
        OpName::Augment => entry(name, Op::Augment),
        OpName::Convert => entry(name, Op::Convert),
        OpName::DetectFaces => entry(name, Op::DetectFaces),
        OpName::BlurFaces => entry(name, Op::BlurFaces),
        OpName::PixelateFaces => entry(name, Op::PixelateFaces),
        OpName::RecognizeDigit => entry(name, Op::RecognizeDigit),
        OpName::Stylize => entry(name, Op::Stylize),
        OpName::AnalyzeFaces => entry(name, Op::AnalyzeFaces),
        OpName::SmartCrop => entry(name, Op::SmartCrop),
        OpName::DrawAnnotations => entry(name, Op::DrawAnnotations),
        OpName::Classify => entry(name, Op::Classify),
        OpName::Moderate => entry(name, Op::Moderate),
    }
}

fn parse_params<P: Params>(value: serde_json::Value) -> Result<P, FieldError> {
    let params: P = serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let field = if path == "." { String::new() } else { path };
        FieldError::new(field, err.into_inner().to_string())
    })?;
    params.validate()?;
    Ok(params)
}

/// `field: must be min..=max, got value` — the one wording for every range check.
pub(crate) fn check_range<T: PartialOrd + std::fmt::Display>(
    field: &str,
    value: T,
    min: T,
    max: T,
) -> Result<(), FieldError> {
    if value >= min && value <= max {
        Ok(())
    } else {
        Err(FieldError::new(field, format!("must be {min}..={max}, got {value}")))
    }
}

#[cfg(test)]
mod tests;
