//! `thumbnail`: the fast path for previews. Fits a box (or covers it with `crop`), never
//! enlarges, and as a pipeline's first step lets the JPEG decoder shrink on load.

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::geometry::Gravity;
use super::resize::{Filter, Fit, Resize, MAX_SIDE};
use super::{check_range, Ctx, FieldError, Params};
use crate::annotations::Motion;
use crate::decode::SizeHint;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Thumbnail {
    /// Box width in pixels.
    #[schemars(range(min = 1, max = 65535))]
    pub width: u32,
    /// Box height in pixels; omit for a width-only box (height follows the aspect ratio).
    #[schemars(range(min = 1, max = 65535))]
    pub height: Option<u32>,
    /// Fill the whole box and crop the overflow, instead of fitting inside it.
    pub crop: bool,
    /// Which part to keep when cropping.
    pub gravity: Gravity,
}

impl Default for Thumbnail {
    fn default() -> Self {
        Thumbnail { width: 256, height: None, crop: false, gravity: Gravity::Centre }
    }
}

impl Params for Thumbnail {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("width", self.width, 1, MAX_SIDE)?;
        if let Some(height) = self.height {
            check_range("height", height, 1, MAX_SIDE)?;
        }
        if self.crop && self.height.is_none() {
            return Err(FieldError::new("crop", "cropping needs a box: give a height too"));
        }
        Ok(())
    }
}

impl Thumbnail {
    fn as_resize(&self) -> Resize {
        Resize {
            width: Some(self.width),
            height: self.height,
            fit: if self.crop { Fit::Cover } else { Fit::Inside },
            filter: Filter::Lanczos3,
            upscale: false,
            gravity: self.gravity,
            ..Resize::default()
        }
    }

    pub(crate) fn decode_hint(&self, width: u32, height: u32) -> Option<SizeHint> {
        self.as_resize().decode_hint(width, height)
    }

    pub(crate) fn apply(&self, image: DynamicImage, ctx: &Ctx<'_>) -> Result<DynamicImage> {
        self.as_resize().apply(image, ctx)
    }

    pub(crate) fn motion(&self, size: (u32, u32)) -> Motion {
        self.as_resize().motion(size)
    }
}
