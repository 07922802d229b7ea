//! `crop`: cut out a rectangle, either at an exact position or placed by gravity.

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::geometry::Gravity;
use super::resize::MAX_SIDE;
use super::{check_range, Ctx, FieldError, OpName, Params};
use crate::annotations::Motion;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Crop {
    /// Left edge in pixels. Give `x` and `y` for an exact rectangle, neither for gravity.
    pub x: Option<u32>,
    /// Top edge in pixels.
    pub y: Option<u32>,
    /// Width of the rectangle. With gravity, clipped to the image.
    #[schemars(range(min = 1, max = 65535))]
    pub width: u32,
    /// Height of the rectangle. With gravity, clipped to the image.
    #[schemars(range(min = 1, max = 65535))]
    pub height: u32,
    /// Where the rectangle sits when `x` and `y` are not given.
    pub gravity: Gravity,
}

impl Default for Crop {
    fn default() -> Self {
        Crop { x: None, y: None, width: 256, height: 256, gravity: Gravity::Centre }
    }
}

impl Params for Crop {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("width", self.width, 1, MAX_SIDE)?;
        check_range("height", self.height, 1, MAX_SIDE)?;
        match (self.x, self.y) {
            (Some(_), None) => Err(FieldError::new("y", "give both x and y, or neither (to use gravity)")),
            (None, Some(_)) => Err(FieldError::new("x", "give both x and y, or neither (to use gravity)")),
            _ => Ok(()),
        }
    }
}

impl Crop {
    /// The rectangle (x, y, width, height) this crop takes from an image of the given size.
    pub(crate) fn rectangle(&self, img_w: u32, img_h: u32) -> std::result::Result<(u32, u32, u32, u32), String> {
        match (self.x, self.y) {
            (Some(x), Some(y)) => {
                let fits_x = u64::from(x) + u64::from(self.width) <= u64::from(img_w);
                let fits_y = u64::from(y) + u64::from(self.height) <= u64::from(img_h);
                if fits_x && fits_y {
                    Ok((x, y, self.width, self.height))
                } else {
                    Err(format!(
                        "the rectangle {}x{} at ({x}, {y}) does not fit in the {img_w}x{img_h} image",
                        self.width, self.height
                    ))
                }
            }
            _ => {
                let (w, h) = (self.width.min(img_w), self.height.min(img_h));
                let (x, y) = self.gravity.place((img_w, img_h), (w, h), 0);
                Ok((x, y, w, h))
            }
        }
    }

    pub(crate) fn apply(&self, image: DynamicImage, ctx: &Ctx<'_>) -> Result<DynamicImage> {
        let (x, y, w, h) = self
            .rectangle(image.width(), image.height())
            .map_err(|message| ctx.not_applicable(OpName::Crop, message))?;
        Ok(image.crop_imm(x, y, w, h))
    }

    pub(crate) fn motion(&self, (w, h): (u32, u32)) -> Motion {
        match self.rectangle(w, h) {
            Ok((x, y, _, _)) => Motion::scale_shift(1.0, -f64::from(x), 1.0, -f64::from(y)),
            // The step fails, so nothing follows it.
            Err(_) => Motion::Still,
        }
    }
}
