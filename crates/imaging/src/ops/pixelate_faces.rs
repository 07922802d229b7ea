//! `pixelate_faces`: every face, each box padded, replaced by blocks of its mean colour.
//! Uses the faces an earlier `detect_faces` step found, else detects them.

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::redact::{bytes_mut, each_face, Rect};
use super::{check_range, Ctx, FieldError, OpName, Params};
use crate::annotations::Annotations;
use crate::error::Result;
use crate::limits::Deadline;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PixelateFaces {
    /// Side of each block in pixels, 2..=128. Blocks start at the padded box's top-left
    /// corner; those at its right and bottom edges may be smaller.
    #[schemars(range(min = 2, max = 128))]
    pub block: u32,
    /// How much to grow each face box on every side, as a fraction of its size, 0..=1.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub padding: f32,
}

impl Default for PixelateFaces {
    fn default() -> Self {
        PixelateFaces { block: 12, padding: 0.15 }
    }
}

impl Params for PixelateFaces {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("block", self.block, 2, 128)?;
        check_range("padding", self.padding, 0.0, 1.0)
    }
}

impl PixelateFaces {
    pub(crate) fn apply(
        &self,
        image: DynamicImage,
        annotations: &mut Annotations,
        ctx: &Ctx<'_>,
    ) -> Result<DynamicImage> {
        each_face(image, annotations, OpName::PixelateFaces, self.padding, ctx, |image, rect| {
            pixelate(image, rect, self.block, &ctx.deadline)
        })
    }
}

/// Fills each `block` x `block` cell of `rect` with the cell's mean, channel by channel
/// (alpha included, so a cell's coverage is averaged like its colour).
fn pixelate(image: &mut DynamicImage, rect: Rect, block: u32, deadline: &Deadline) -> Result<()> {
    let width = image.width() as usize;
    let (bytes, channels) = bytes_mut(image)?;
    let (x0, y0, w, h) = (rect.0 as usize, rect.1 as usize, rect.2 as usize, rect.3 as usize);
    let block = block as usize;
    for cell_y in (y0..y0 + h).step_by(block) {
        deadline.check()?;
        let rows = cell_y..(cell_y + block).min(y0 + h);
        for cell_x in (x0..x0 + w).step_by(block) {
            let columns = cell_x..(cell_x + block).min(x0 + w);
            let count = (rows.len() * columns.len()) as u64;
            let mut sums = [0u64; 4];
            for y in rows.clone() {
                let row = &bytes[(y * width + columns.start) * channels..(y * width + columns.end) * channels];
                for px in row.chunks_exact(channels) {
                    for (sum, &v) in sums.iter_mut().zip(px) {
                        *sum += u64::from(v);
                    }
                }
            }
            let mean = sums.map(|sum| ((sum + count / 2) / count) as u8);
            for y in rows.clone() {
                let row = &mut bytes[(y * width + columns.start) * channels..(y * width + columns.end) * channels];
                for px in row.chunks_exact_mut(channels) {
                    px.copy_from_slice(&mean[..channels]);
                }
            }
        }
    }
    Ok(())
}
