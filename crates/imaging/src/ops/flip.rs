//! `flip`: mirror an image horizontally, vertically or both. Exact; no resampling.

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FieldError, Params};
use crate::annotations::Motion;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Flip {
    /// Which way to mirror.
    pub direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Left and right swap (a mirror image).
    #[default]
    Horizontal,
    /// Top and bottom swap.
    Vertical,
    /// Both: the same as a 180-degree rotation.
    Both,
}

impl Params for Flip {
    fn validate(&self) -> Result<(), FieldError> {
        Ok(())
    }
}

impl Flip {
    pub(crate) fn apply(&self, image: DynamicImage) -> DynamicImage {
        match self.direction {
            Direction::Horizontal => image.fliph(),
            Direction::Vertical => image.flipv(),
            Direction::Both => image.rotate180(),
        }
    }

    pub(crate) fn motion(&self, (w, h): (u32, u32)) -> Motion {
        let (w, h) = (f64::from(w), f64::from(h));
        match self.direction {
            Direction::Horizontal => Motion::scale_shift(-1.0, w, 1.0, 0.0),
            Direction::Vertical => Motion::scale_shift(1.0, 0.0, -1.0, h),
            Direction::Both => Motion::scale_shift(-1.0, w, -1.0, h),
        }
    }
}
