//! `recognize_digit`: reads a handwritten number (dark ink on light paper) with the run's
//! models, digit by digit, into the annotations; the image is unchanged. Splitting the ink
//! into digits and preparing each for the model happen behind the `Models` trait.

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::color::flatten;
use super::{Ctx, FieldError, OpName, Params};
use crate::annotations::Annotations;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RecognizeDigit {}

impl Params for RecognizeDigit {
    fn validate(&self) -> Result<(), FieldError> {
        Ok(())
    }
}

impl RecognizeDigit {
    pub(crate) fn apply(&self, image: &DynamicImage, annotations: &mut Annotations, ctx: &Ctx<'_>) -> Result<()> {
        // Transparent areas become paper, not ink: a scan cut out on a transparent
        // background would otherwise read as one big black blot.
        let grey = flatten(image, [255, 255, 255]).to_luma8();
        let reading = ctx.models.recognize_number(&grey).map_err(|err| ctx.model_error(OpName::RecognizeDigit, err))?;
        ctx.deadline.check()?;
        annotations.digits = Some(reading.digits);
        annotations.number = Some(reading.number);
        Ok(())
    }
}
