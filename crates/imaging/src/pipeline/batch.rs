//! Inference over many images at once: a pipeline of annotating steps (`classify`,
//! `moderate`, face and digit steps) run over a batch of decoded images, so a model that
//! takes batches is called once per step instead of once per image. A failure is the
//! image's own: when a batched call fails, the step is retried image by image to find
//! which one failed, and the others go on.

use image::DynamicImage;

use super::{apply_step, guarded, Frame, Pipeline, RunEnv};
use crate::annotations::Annotations;
use crate::decode::Decoded;
use crate::error::{Error, Result};
use crate::limits::Deadline;
use crate::ops::augment::Variant;
use crate::ops::Ctx;

/// One image a pipeline made, not encoded yet: what [`Pipeline::apply_image`] returns.
#[derive(Debug, Clone)]
pub struct Applied {
    pub image: DynamicImage,
    /// Set for `augment` variants: the seed and what was drawn.
    pub variant: Option<Variant>,
    pub annotations: Annotations,
}

impl Pipeline {
    /// Runs the steps on an image decoded already and returns the images, not encoded:
    /// one, or one per `augment` variant. For callers that keep working on the pixels (a
    /// dataset job augments and classifies what its steps made) and encode themselves.
    /// `decoded` may have been shrunk on load with [`Pipeline::decode_hint`]'s hint: sizes
    /// are computed from the source's, as [`Pipeline::run`] does.
    pub fn apply_decoded(&self, decoded: Decoded, env: RunEnv<'_>) -> Result<Vec<Applied>> {
        let source = (decoded.source_width, decoded.source_height);
        let shrunk = (decoded.image.width(), decoded.image.height()) != source;
        self.apply(decoded.image, shrunk.then_some(source), env)
    }

    /// [`Pipeline::apply_decoded`] for an image at its own size (a prepared image to augment).
    pub fn apply_image(&self, image: DynamicImage, env: RunEnv<'_>) -> Result<Vec<Applied>> {
        self.apply(image, None, env)
    }

    fn apply(&self, image: DynamicImage, source: Option<(u32, u32)>, env: RunEnv<'_>) -> Result<Vec<Applied>> {
        let mut frames = vec![Frame { image, variant: None, annotations: Annotations::default() }];
        for (step, op) in self.steps.iter().enumerate() {
            let deadline = Deadline::after(env.limits.op_timeout());
            let logical_size = if step == 0 { source } else { None };
            let ctx = Ctx { limits: env.limits, deadline, assets: env.assets, models: env.models, step, logical_size };
            frames = guarded(step, op, || apply_step(op, frames, &ctx))?;
        }
        Ok(frames
            .into_iter()
            .map(|frame| Applied { image: frame.image, variant: frame.variant, annotations: frame.annotations })
            .collect())
    }

    /// The shrink-on-load hint for a `width` x `height` source: what the first step allows.
    pub fn decode_hint(&self, width: u32, height: u32) -> Option<crate::decode::SizeHint> {
        self.steps.first().and_then(|op| op.decode_hint(width, height))
    }

    /// Whether every step only reads pixels and writes annotations ([`crate::Op::annotates_only`]),
    /// which is what [`Pipeline::annotate_batch`] runs.
    pub fn annotates_only(&self) -> bool {
        self.steps.iter().all(|op| op.annotates_only())
    }

    /// Runs this pipeline's steps over `images`, which are not changed, adding to the
    /// annotations at the same positions: one result per image, in order. Each step gets
    /// its own deadline for the whole batch.
    ///
    /// A pipeline with a step that changes pixels fails every image (`op_not_applicable`):
    /// check [`Pipeline::annotates_only`] when the pipeline is accepted.
    pub fn annotate_batch(
        &self,
        images: &[&DynamicImage],
        annotations: &mut [Annotations],
        env: RunEnv<'_>,
    ) -> Vec<Result<()>> {
        assert_eq!(images.len(), annotations.len(), "one annotations per image");
        let mut failed: Vec<Option<Error>> = images.iter().map(|_| None).collect();
        for (step, op) in self.steps.iter().enumerate() {
            let live: Vec<usize> = (0..images.len()).filter(|&i| failed[i].is_none()).collect();
            if live.is_empty() {
                break;
            }
            let ctx = || Ctx {
                limits: env.limits,
                deadline: Deadline::after(env.limits.op_timeout()),
                assets: env.assets,
                models: env.models,
                step,
                logical_size: None,
            };
            let batch: Vec<&DynamicImage> = live.iter().map(|&i| images[i]).collect();
            let mut found: Vec<Annotations> = live.iter().map(|&i| annotations[i].clone()).collect();
            let batched = guarded(step, op, || op.annotate(&batch, &mut found, &ctx()));
            if batched.is_ok() {
                for (&i, found) in live.iter().zip(found) {
                    annotations[i] = found;
                }
                continue;
            }
            if live.len() == 1 {
                failed[live[0]] = batched.err();
                continue;
            }
            // Which image failed the batch? Each on its own, so the rest are kept.
            for &i in &live {
                let one = std::slice::from_mut(&mut annotations[i]);
                if let Err(err) = guarded(step, op, || op.annotate(&[images[i]], one, &ctx())) {
                    failed[i] = Some(err);
                }
            }
        }
        failed.into_iter().map(|failed| failed.map_or(Ok(()), Err)).collect()
    }
}
