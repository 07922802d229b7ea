//! `moderate`: scores the image with the content-moderation model into the annotations,
//! and flags it for review when the explicit and suggestive classes together reach a
//! threshold. A review signal, never an automatic block: the model also flags some
//! clothed party photos (models/SOURCES.md). The image is unchanged.

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::color::on_white;
use super::{check_range, Ctx, FieldError, OpName, Params};
use crate::annotations::{Annotations, Moderation};
use crate::error::Result;

/// The classes counted towards `needs_review`, as the moderation model names them.
pub const FLAGGED: [&str; 3] = ["porn", "hentai", "sexy"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Moderate {
    /// Flag for review when porn + hentai + sexy reach this, 0.05..=0.99.
    #[schemars(range(min = 0.05, max = 0.99))]
    pub threshold: f32,
}

impl Default for Moderate {
    fn default() -> Self {
        Moderate { threshold: 0.5 }
    }
}

impl Params for Moderate {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("threshold", self.threshold, 0.05, 0.99)
    }
}

impl Moderate {
    pub(crate) fn apply(&self, image: &DynamicImage, annotations: &mut Annotations, ctx: &Ctx<'_>) -> Result<()> {
        self.apply_batch(&[image], std::slice::from_mut(annotations), ctx)
    }

    /// Scores `images` with one model call (batched where the runner can).
    pub(crate) fn apply_batch(
        &self,
        images: &[&DynamicImage],
        annotations: &mut [Annotations],
        ctx: &Ctx<'_>,
    ) -> Result<()> {
        let rgbs = on_white(images);
        let refs: Vec<_> = rgbs.iter().collect();
        let found = ctx.models.moderate_batch(&refs).map_err(|err| ctx.model_error(OpName::Moderate, err))?;
        ctx.deadline.check()?;
        for (scores, annotations) in found.into_iter().zip(annotations.iter_mut()) {
            let flagged: f32 = scores.iter().filter(|l| FLAGGED.contains(&l.label.as_str())).map(|l| l.score).sum();
            annotations.moderation = Some(Moderation { scores, needs_review: flagged >= self.threshold });
        }
        Ok(())
    }
}
