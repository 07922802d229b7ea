//! `stylize`: paints the image in a style: one of the 26 built-in styles, a blend of
//! them (`3:0.5,12:0.5`), or any image as the style; with a strength, an option to keep
//! the photo's colours, and a cap on the side stylized. The model runs behind `Models`.

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::resize::{resample, Filter};
use super::{check_range, Ctx, FieldError, OpName, Params};
use crate::annotations::Motion;
use crate::error::{Error, Result};
use crate::models::{StyleRequest, StyleSource, BUILTIN_STYLES};

/// The smallest side the style networks take.
pub const MIN_SIDE: u32 = 32;

/// A built-in style by index, or a blend written `index:weight` with `,`, `+` or spaces
/// between the parts (`+` and spaces suit URL and inline pipelines, where `,` separates
/// parameters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StyleChoice {
    Index(u32),
    Blend(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Stylize {
    /// A built-in style 0..=25, or a blend such as `"3:0.5,12:0.5"`. Ignored when `image`
    /// is given.
    pub style: StyleChoice,
    /// An image to take the style from instead (an image id in the service, a file next
    /// to the pipeline for the CLI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// How much style, 0..=1.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub strength: f32,
    /// Keep the photo's colours; take only light and texture from the style.
    pub keep_colour: bool,
    /// A bigger image is scaled down to this longest side first, 64..=2048 (the time taken
    /// grows with the pixels).
    #[schemars(range(min = 64, max = 2048))]
    pub max_side: u32,
}

impl Default for Stylize {
    fn default() -> Self {
        Stylize { style: StyleChoice::Index(0), image: None, strength: 1.0, keep_colour: false, max_side: 1024 }
    }
}

impl Params for Stylize {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("strength", self.strength, 0.0, 1.0)?;
        check_range("max_side", self.max_side, 64, 2048)?;
        match &self.image {
            Some(image) if image.trim().is_empty() || image.len() > 1024 => {
                Err(FieldError::new("image", "name the style image (at most 1024 characters)"))
            }
            Some(_) => Ok(()),
            None => self.weights().map(|_| ()),
        }
    }
}

impl Stylize {
    /// The weights over the built-in styles that `style` spells.
    pub fn weights(&self) -> Result<[f32; BUILTIN_STYLES], FieldError> {
        let bad = |message: String| FieldError::new("style", message);
        let mut weights = [0.0f32; BUILTIN_STYLES];
        let mut set = |index: &str, weight: f32| -> Result<(), FieldError> {
            let index: usize = index
                .trim()
                .parse()
                .map_err(|_| bad(format!("`{index}` is not a style number (0..={})", BUILTIN_STYLES - 1)))?;
            let slot = weights.get_mut(index).ok_or_else(|| bad(format!("there is no style {index}: 0..=25")))?;
            if *slot != 0.0 {
                return Err(bad(format!("style {index} is named twice")));
            }
            if !(weight > 0.0 && weight <= 100.0) {
                return Err(bad(format!("the weight of style {index} must be more than 0 and at most 100")));
            }
            *slot = weight;
            Ok(())
        };
        match &self.style {
            StyleChoice::Index(index) => set(&index.to_string(), 1.0)?,
            StyleChoice::Blend(text) => {
                if text.len() > 512 {
                    return Err(bad("a blend is at most 512 characters".into()));
                }
                let parts: Vec<&str> = text.split([',', '+', ' ']).filter(|p| !p.is_empty()).collect();
                if parts.is_empty() {
                    return Err(bad("name a style (0..=25) or a blend like `3:0.5,12:0.5`".into()));
                }
                for part in parts {
                    let (index, weight) = match part.split_once(':') {
                        Some((index, weight)) => {
                            let weight = weight.parse().map_err(|_| bad(format!("`{weight}` is not a weight")))?;
                            (index, weight)
                        }
                        None => (part, 1.0),
                    };
                    set(index, weight)?;
                }
            }
        }
        Ok(weights)
    }

    /// The size the image is stylized at: scaled down to fit `max_side`, never up.
    fn target(&self, (w, h): (u32, u32)) -> (u32, u32) {
        let longest = w.max(h);
        if longest <= self.max_side {
            return (w, h);
        }
        let scale = f64::from(self.max_side) / f64::from(longest);
        let side = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
        (side(w), side(h))
    }

    pub(crate) fn motion(&self, size: (u32, u32)) -> Motion {
        let (tw, th) = self.target(size);
        Motion::scale_shift(f64::from(tw) / f64::from(size.0), 0.0, f64::from(th) / f64::from(size.1), 0.0)
    }

    pub(crate) fn apply(&self, image: DynamicImage, ctx: &Ctx<'_>) -> Result<DynamicImage> {
        let (w, h) = (image.width(), image.height());
        let target = self.target((w, h));
        if target.0 < MIN_SIDE || target.1 < MIN_SIDE {
            return Err(ctx.not_applicable(
                OpName::Stylize,
                format!(
                    "the style network needs at least {MIN_SIDE} pixels a side, and this image would be {}x{}",
                    target.0, target.1
                ),
            ));
        }
        let image = if target == (w, h) {
            image
        } else {
            resample(&image, (0.0, 0.0, f64::from(w), f64::from(h)), target, Filter::Lanczos3)?
        };
        let style_image;
        let style = match &self.image {
            Some(reference) => {
                let asset = ctx
                    .assets
                    .image(reference)
                    .map_err(|message| Error::Asset { reference: reference.clone(), message })?;
                style_image = asset.to_rgb8();
                StyleSource::Image(&style_image)
            }
            None => StyleSource::Builtin(self.weights().map_err(|e| ctx.not_applicable(OpName::Stylize, e.message))?),
        };
        let request =
            StyleRequest { style, strength: self.strength, keep_colour: self.keep_colour, max_side: self.max_side };
        let painted =
            ctx.models.stylize(&image.to_rgb8(), &request).map_err(|err| ctx.model_error(OpName::Stylize, err))?;
        if painted.dimensions() != target {
            return Err(Error::Internal(format!(
                "step {} (stylize): the model answered {}x{} for a {}x{} image",
                ctx.step,
                painted.width(),
                painted.height(),
                target.0,
                target.1
            )));
        }
        Ok(DynamicImage::ImageRgb8(painted))
    }
}
