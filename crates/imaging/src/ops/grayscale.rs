//! `grayscale`: grey levels by Rec. 709 luma (the `image` crate's weights), alpha kept.

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FieldError, Params};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Grayscale {}

impl Params for Grayscale {
    fn validate(&self) -> Result<(), FieldError> {
        Ok(())
    }
}

impl Grayscale {
    pub(crate) fn apply(&self, image: DynamicImage) -> DynamicImage {
        match image {
            DynamicImage::ImageLuma8(_) | DynamicImage::ImageLumaA8(_) => image,
            other if other.color().has_alpha() => DynamicImage::ImageLumaA8(other.to_luma_alpha8()),
            other => DynamicImage::ImageLuma8(other.to_luma8()),
        }
    }
}
