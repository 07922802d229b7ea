//! Pipelines: a versioned document of steps, parsed into a validated [`Pipeline`], and run
//! over one input image to produce encoded outputs (one, or one per `augment` variant),
//! each with the annotations its vision steps made.

mod batch;
mod parse;
mod url;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::DynamicImage;
use serde::Serialize;

pub use batch::Applied;
pub use parse::PipelineError;
pub use url::{
    parse_url_options, UrlFormat, UrlOptions, UrlOptionsError, ENCODER_VERSION, MAX_OPTIONS_LEN, MAX_SEGMENTS,
};

use crate::annotations::{Annotations, Motion};
use crate::decode::{self, Decoded};
use crate::encode::{self, EncodeOptions};
use crate::error::{panic_message, Error, Result};
use crate::format::Format;
use crate::limits::{Deadline, Limits};
use crate::models::Models;
use crate::ops::augment::Variant;
use crate::ops::{Ctx, Op, OpName};

/// The pipeline document version this build writes and reads.
pub const VERSION: u32 = 1;

/// A validated chain of ops. Built only by [`Pipeline::parse_json`], [`Pipeline::parse_yaml`],
/// [`Pipeline::parse_inline`] or [`Pipeline::from_ops`], so holding one means it is valid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipeline {
    pub version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub steps: Vec<Op>,
}

/// Images a pipeline refers to by name (watermark overlays). The CLI resolves names as
/// files next to the pipeline; the service as image ids. The imaging core opens nothing.
pub trait Assets: Sync {
    /// The decoded image called `reference`, or why it cannot be had.
    fn image(&self, reference: &str) -> std::result::Result<Arc<DynamicImage>, String>;

    /// The run's owner's own categories, for `classify` with `own_categories`. None by
    /// default: only the service keeps categories.
    fn categories(&self) -> std::result::Result<Arc<[crate::ops::classify::OwnCategory]>, String> {
        Ok(Arc::from([]))
    }
}

/// For pipelines that reference no assets.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAssets;

impl Assets for NoAssets {
    fn image(&self, reference: &str) -> std::result::Result<Arc<DynamicImage>, String> {
        Err(format!("no assets are available here, so `{reference}` cannot be used"))
    }
}

/// What a run needs besides the input bytes.
#[derive(Clone, Copy)]
pub struct RunEnv<'a> {
    pub limits: &'a Limits,
    pub assets: &'a dyn Assets,
    /// The vision models ([`crate::NoModels`] where there are none: vision steps then fail
    /// as `vision_unavailable` and every other step works).
    pub models: &'a dyn Models,
}

/// One encoded result of a run.
#[derive(Debug, Clone)]
pub struct Output {
    pub bytes: Vec<u8>,
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// Set for outputs made by `augment`: the variant's seed and the parameters drawn.
    pub variant: Option<Variant>,
    /// What vision steps found, in this output's pixels; empty when there were none.
    pub annotations: Annotations,
}

/// Everything a run produced, and what it read.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub source_format: Format,
    pub source_width: u32,
    pub source_height: u32,
    pub outputs: Vec<Output>,
    /// How long each step took, in pipeline order, for whoever keeps timings (the worker's
    /// metrics). Decoding and encoding are not steps and are not included.
    pub steps: Vec<StepTiming>,
}

/// One step's wall-clock time over every image it was given (one, or each `augment` variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepTiming {
    pub op: OpName,
    pub elapsed: Duration,
}

/// An image on its way through the steps.
struct Frame {
    image: DynamicImage,
    variant: Option<Variant>,
    annotations: Annotations,
}

impl Pipeline {
    /// A pipeline from ops already validated (by [`crate::Op::parse`]).
    pub fn from_ops(steps: Vec<Op>) -> std::result::Result<Pipeline, PipelineError> {
        if steps.is_empty() {
            return Err(PipelineError::new("steps", "a pipeline needs at least one step"));
        }
        Ok(Pipeline { version: VERSION, name: None, description: None, steps })
    }

    /// Credits for running this pipeline on one input image.
    pub fn cost(&self) -> u32 {
        let mut total: u32 = 0;
        let mut fan_out: u32 = 1;
        for op in &self.steps {
            total = total.saturating_add(op.cost().saturating_mul(fan_out));
            if let Op::Augment(augment) = op {
                // Later steps run once per variant: charge them so.
                fan_out = fan_out.saturating_mul(augment.variants + u32::from(augment.keep_original));
            }
        }
        total
    }

    /// The encoder settings of the last `convert` step, if any.
    pub fn encode_options(&self) -> Option<&EncodeOptions> {
        self.steps.iter().rev().find_map(|op| match op {
            Op::Convert(convert) => Some(&convert.0),
            _ => None,
        })
    }

    /// Checks that `models` can run every vision step here, loading what they need: the
    /// error is the one a run would fail with (`vision_unavailable`), named after the step.
    pub fn check_models(&self, models: &dyn Models) -> Result<()> {
        for op in &self.steps {
            for &capability in op.capabilities() {
                models.check(capability).map_err(|err| err.into_error(op.name().as_str()))?;
            }
        }
        Ok(())
    }

    /// The format outputs will have for an input of `input` format.
    pub fn output_format(&self, input: Format) -> Format {
        self.encode_options().and_then(|options| options.format).unwrap_or_else(|| encode::default_output_format(input))
    }

    /// Decodes `input` (shrinking on load when the first step allows it) and runs the steps.
    pub fn run(&self, input: &[u8], env: RunEnv<'_>) -> Result<RunOutput> {
        let hint = |w: u32, h: u32| self.steps.first().and_then(|op| op.decode_hint(w, h));
        let decoded = decode::decode_with(input, env.limits, hint)?;
        self.run_decoded(decoded, env)
    }

    /// Runs the steps on an image decoded already.
    pub fn run_decoded(&self, decoded: Decoded, env: RunEnv<'_>) -> Result<RunOutput> {
        let shrunk = (decoded.image.width(), decoded.image.height()) != (decoded.source_width, decoded.source_height);
        let mut frames = vec![Frame { image: decoded.image, variant: None, annotations: Annotations::default() }];
        let mut steps = Vec::with_capacity(self.steps.len());
        for (step, op) in self.steps.iter().enumerate() {
            let logical_size = (step == 0 && shrunk).then_some((decoded.source_width, decoded.source_height));
            let deadline = Deadline::after(env.limits.op_timeout());
            let ctx = Ctx { limits: env.limits, deadline, assets: env.assets, models: env.models, step, logical_size };
            let started = Instant::now();
            frames = guarded(step, op, || apply_step(op, frames, &ctx))?;
            steps.push(StepTiming { op: op.name(), elapsed: started.elapsed() });
        }
        let format = self.output_format(decoded.format);
        let default_options = EncodeOptions::default();
        let options = self.encode_options().unwrap_or(&default_options);
        let outputs = frames
            .into_iter()
            .map(|frame| {
                let bytes = encode::encode(&frame.image, format, options, decoded.icc_profile.as_deref())?;
                Ok(Output {
                    bytes,
                    format,
                    width: frame.image.width(),
                    height: frame.image.height(),
                    variant: frame.variant,
                    annotations: frame.annotations,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RunOutput {
            source_format: decoded.format,
            source_width: decoded.source_width,
            source_height: decoded.source_height,
            outputs,
            steps,
        })
    }
}

fn apply_step(op: &Op, frames: Vec<Frame>, ctx: &Ctx<'_>) -> Result<Vec<Frame>> {
    if let Op::Augment(augment) = op {
        // Refuse before making any variant: the count is known from the parameters.
        let per_frame = u64::from(augment.variants) + u64::from(augment.keep_original);
        let count = (frames.len() as u64).saturating_mul(per_frame);
        if count > u64::from(ctx.limits.max_outputs) {
            return Err(Error::TooManyOutputs { count, limit: ctx.limits.max_outputs });
        }
    }
    let mut out = Vec::with_capacity(frames.len());
    for frame in frames {
        match op {
            Op::Augment(augment) => {
                let variants = augment.variants(&frame.image, ctx)?;
                // Each variant is randomly cropped, turned and flipped: positions are lost.
                let mut moved = frame.annotations.clone();
                moved.follow(Motion::Lost, (0, 0), ctx.step, op.name());
                if augment.keep_original {
                    out.push(Frame { image: frame.image, variant: frame.variant, annotations: frame.annotations });
                }
                out.extend(variants.into_iter().map(|(image, variant)| Frame {
                    image,
                    variant: Some(variant),
                    annotations: moved.clone(),
                }));
            }
            _ => {
                let motion = op.motion((frame.image.width(), frame.image.height()));
                let mut annotations = frame.annotations;
                let image = op.apply(frame.image, &mut annotations, ctx)?;
                ctx.deadline.check()?;
                annotations.follow(motion, (image.width(), image.height()), ctx.step, op.name());
                out.push(Frame { image, variant: frame.variant, annotations });
            }
        }
    }
    Ok(out)
}

/// Runs one step behind a panic boundary: a bug in an op fails this image, not the process.
fn guarded<T>(step: usize, op: &Op, work: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        let detail = panic_message(payload.as_ref()).unwrap_or_default();
        Err(Error::Internal(format!("step {step} ({}) panicked: {detail}", op.name())))
    })
}

#[cfg(test)]
mod tests;
