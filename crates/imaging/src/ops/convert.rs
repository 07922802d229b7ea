//! `convert`: choose how the pipeline's outputs are written — format and encoder settings.
//! It changes no pixels; the pipeline applies it when it encodes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{check_range, FieldError, Params};
use crate::encode::EncodeOptions;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Convert(pub EncodeOptions);

impl Params for Convert {
    fn validate(&self) -> Result<(), FieldError> {
        let options = &self.0;
        check_range("quality", options.quality, 1, 100)?;
        check_range("compression", options.compression, 0, 9)?;
        if let Some(format) = options.format {
            if !format.can_encode() {
                let why = if format == crate::Format::Avif {
                    "this build cannot write AVIF (cargo feature `avif`)"
                } else {
                    "cannot be written; use jpeg, png, webp or avif"
                };
                return Err(FieldError::new("format", format!("{}: {why}", format.extension())));
            }
        }
        Ok(())
    }
}
