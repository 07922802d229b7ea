//! `analyze_faces`: estimates age, gender and expression for each face found earlier in
//! the pipeline (or found now), into each face's `attributes`; the image is unchanged.
//! Race and ethnicity are deliberately not estimated. Operators can switch the attribute
//! models off, and the op then answers `vision_unavailable`.

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::detect_faces::known_or_detected;
use super::{Ctx, FieldError, OpName, Params};
use crate::annotations::Annotations;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyzeFaces {}

impl Params for AnalyzeFaces {
    fn validate(&self) -> Result<(), FieldError> {
        Ok(())
    }
}

impl AnalyzeFaces {
    pub(crate) fn apply(&self, image: &DynamicImage, annotations: &mut Annotations, ctx: &Ctx<'_>) -> Result<()> {
        let op = OpName::AnalyzeFaces;
        let faces = known_or_detected(image, annotations, op, ctx)?;
        if faces.is_empty() {
            return Ok(());
        }
        let attributes = ctx.models.analyze_faces(&image.to_rgb8(), &faces).map_err(|err| ctx.model_error(op, err))?;
        ctx.deadline.check()?;
        if attributes.len() != faces.len() {
            return Err(Error::Internal(format!(
                "step {} ({op}): {} results for {} faces",
                ctx.step,
                attributes.len(),
                faces.len()
            )));
        }
        let analysed =
            faces.into_iter().zip(attributes).map(|(face, a)| crate::FaceAnnotation { attributes: Some(a), ..face });
        annotations.faces = Some(analysed.collect());
        Ok(())
    }
}
