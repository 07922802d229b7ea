//! `detect_faces`: finds faces with the run's models and annotates them (box, score, six
//! landmarks); the image is unchanged. Also the one way the other face ops find faces.

use std::borrow::Cow;

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{check_range, Ctx, FieldError, OpName, Params};
use crate::annotations::Annotations;
use crate::error::Result;
use crate::models::{FaceAnnotation, FaceSearch};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DetectFaces {
    /// Minimum score for a face to be kept, 0.05..=0.99. Lower finds more faces and more
    /// things that are not faces.
    #[schemars(range(min = 0.05, max = 0.99))]
    pub threshold: f32,
    /// Also find faces too small for one look at a big photo, by looking at overlapping
    /// parts of it: finds faces down to about 1/35 of the longer side instead of 1/11, and
    /// takes about 15 times as long on a photo of a few megapixels.
    pub small_faces: bool,
}

impl Default for DetectFaces {
    fn default() -> Self {
        let search = FaceSearch::default();
        DetectFaces { threshold: search.threshold, small_faces: search.small_faces }
    }
}

impl Params for DetectFaces {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("threshold", self.threshold, 0.05, 0.99)
    }
}

impl DetectFaces {
    pub(crate) fn apply(&self, image: &DynamicImage, annotations: &mut Annotations, ctx: &Ctx<'_>) -> Result<()> {
        let search = FaceSearch { threshold: self.threshold, small_faces: self.small_faces };
        annotations.faces = Some(detect(image, search, OpName::DetectFaces, ctx)?);
        Ok(())
    }
}

/// The faces in `image`, found for the step running `op`.
pub(crate) fn detect(
    image: &DynamicImage,
    search: FaceSearch,
    op: OpName,
    ctx: &Ctx<'_>,
) -> Result<Vec<FaceAnnotation>> {
    // The detector takes RGB: alpha is dropped, grey is widened.
    let rgb = match image.as_rgb8() {
        Some(rgb) => Cow::Borrowed(rgb),
        None => Cow::Owned(image.to_rgb8()),
    };
    let faces = ctx.models.detect_faces(&rgb, search).map_err(|err| ctx.model_error(op, err))?;
    ctx.deadline.check()?;
    Ok(faces)
}

/// The faces an earlier `detect_faces` step annotated, or, when none did, the faces found
/// now with [`FaceSearch::default`]. Those are annotated too, so the results say which regions
/// were redacted and a later face op does not run the model again.
pub(crate) fn known_or_detected(
    image: &DynamicImage,
    annotations: &mut Annotations,
    op: OpName,
    ctx: &Ctx<'_>,
) -> Result<Vec<FaceAnnotation>> {
    if let Some(faces) = &annotations.faces {
        return Ok(faces.clone());
    }
    let faces = detect(image, FaceSearch::default(), op, ctx)?;
    annotations.faces = Some(faces.clone());
    Ok(faces)
}
