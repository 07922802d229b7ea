//! `blur_faces`: a Gaussian blur over every face, each box padded, with the `blur` op's
//! filter. Uses the faces an earlier `detect_faces` step found, else detects them.

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::blur::gaussian;
use super::redact::{each_face, put_back};
use super::{check_range, Ctx, FieldError, OpName, Params};
use crate::annotations::Annotations;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BlurFaces {
    /// Standard deviation of the blur in pixels, 1..=100. It does not grow with the face:
    /// a large face needs a larger sigma to be unrecognisable.
    #[schemars(range(min = 1.0, max = 100.0))]
    pub sigma: f32,
    /// How much to grow each face box on every side, as a fraction of its size, 0..=1.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub padding: f32,
}

impl Default for BlurFaces {
    fn default() -> Self {
        BlurFaces { sigma: 12.0, padding: 0.15 }
    }
}

impl Params for BlurFaces {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("sigma", self.sigma, 1.0, 100.0)?;
        check_range("padding", self.padding, 0.0, 1.0)
    }
}

impl BlurFaces {
    pub(crate) fn apply(
        &self,
        image: DynamicImage,
        annotations: &mut Annotations,
        ctx: &Ctx<'_>,
    ) -> Result<DynamicImage> {
        each_face(image, annotations, OpName::BlurFaces, self.padding, ctx, |image, rect| {
            // Only the region is filtered, its edges extended by clamping: nothing from
            // outside the face is mixed in, and the cost follows the faces, not the photo.
            let patch = image.crop_imm(rect.0, rect.1, rect.2, rect.3);
            let blurred = gaussian(&patch, self.sigma, &ctx.deadline)?;
            put_back(image, &blurred, rect)
        })
    }
}
