//! A dataset job's parameters: the document the API and `atelier process --dataset` take
//! ([`JobSpec`]), checked once into a [`Plan`]: which items it selects (the filter), what
//! it makes of each (preparation steps, augmentation) and what it asks the models
//! (annotating steps, batched, on the originals and/or the variants).

use atelier_imaging::{Capability, EncodeOptions, Models, Op, OpName, Pipeline};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::filter::{Fields, Filter};

/// The largest `batch_size`: a batch's decoded images are held together, so this bounds
/// a job's memory (64 items of 2 MP with 2 variants are about 1.2 GB).
pub const MAX_BATCH_SIZE: u32 = 64;
/// Items per batch when the job does not say.
pub const DEFAULT_BATCH_SIZE: u32 = 16;

/// What a dataset job is asked to do, as JSON. Every field is optional except that a job
/// must do something: prepare, augment or infer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// The spec's version; 1.
    #[serde(default = "version_one")]
    pub version: u32,
    /// Which items to run on, over their metadata: `masterCategory = Apparel and year >= 2012`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Steps run on every original first (a pipeline document, or a list of steps). Without
    /// them the originals are kept byte for byte under `images/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Value>,
    /// `augment`'s parameters: the variants written under `augmentation/`, each with the
    /// parameters drawn for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub augment: Option<Value>,
    /// Annotating steps (`classify`, `moderate`, `detect_faces`, `analyze_faces`,
    /// `recognize_digit`), run in batches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inference: Vec<Value>,
    /// What the inference steps look at; `both` when there are variants, else `originals`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infer_on: Option<InferOn>,
    /// Items per batch, 1..=64 (default 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    /// How written images are encoded: `convert`'s parameters (`format`, `quality`, ...).
    /// Default: the preparation steps' `convert`, else the source's format at quality 80.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
}

fn version_one() -> u32 {
    1
}

impl Default for JobSpec {
    /// Version 1, doing nothing yet: [`Plan::new`] refuses it until a part is set.
    fn default() -> Self {
        JobSpec {
            version: 1,
            filter: None,
            pipeline: None,
            augment: None,
            inference: Vec::new(),
            infer_on: None,
            batch_size: None,
            output: None,
        }
    }
}

/// Which images of an item the inference steps see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InferOn {
    Originals,
    Variants,
    Both,
}

impl InferOn {
    pub fn originals(self) -> bool {
        matches!(self, InferOn::Originals | InferOn::Both)
    }

    pub fn variants(self) -> bool {
        matches!(self, InferOn::Variants | InferOn::Both)
    }
}

/// A checked [`JobSpec`]: holding one means every part is valid.
#[derive(Debug, Clone)]
pub struct Plan {
    pub spec: JobSpec,
    pub filter: Option<Filter>,
    /// The preparation steps; `None` keeps originals as they are.
    pub pipeline: Option<Pipeline>,
    /// A one-step pipeline: the `augment` step (never keeping the original: that is `images/`).
    pub augment: Option<Pipeline>,
    pub inference: Option<Pipeline>,
    pub infer_on: InferOn,
    pub batch_size: usize,
    /// The job's own encoder settings (`output`), over the preparation steps'.
    pub output: Option<EncodeOptions>,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::InvalidJob { field: field.into(), message: message.into() }
}

impl Plan {
    /// Checks `spec`; the error names the field at fault.
    pub fn new(spec: JobSpec) -> Result<Plan> {
        if spec.version != 1 {
            return Err(invalid("version", format!("must be 1, got {}", spec.version)));
        }
        let filter = spec.filter.as_deref().map(Filter::parse).transpose()?;
        let pipeline = spec.pipeline.clone().map(prepare_steps).transpose()?;
        let augment = spec.augment.clone().map(augment_step).transpose()?;
        let inference = if spec.inference.is_empty() { None } else { Some(inference_steps(&spec.inference)?) };
        if pipeline.is_none() && augment.is_none() && inference.is_none() {
            return Err(invalid("", "a dataset job needs at least one of `pipeline`, `augment` or `inference`"));
        }
        let infer_on = spec.infer_on.unwrap_or(if augment.is_some() { InferOn::Both } else { InferOn::Originals });
        if inference.is_some() && infer_on == InferOn::Variants && augment.is_none() {
            return Err(invalid("infer_on", "`variants` needs `augment`: there are no variants to look at"));
        }
        let batch_size = spec.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
        if !(1..=MAX_BATCH_SIZE).contains(&batch_size) {
            return Err(invalid("batch_size", format!("must be 1..={MAX_BATCH_SIZE}, got {batch_size}")));
        }
        let output = spec.output.clone().map(output_options).transpose()?;
        Ok(Plan { spec, filter, pipeline, augment, inference, infer_on, batch_size: batch_size as usize, output })
    }

    /// Parses and checks a spec from JSON text (the CLI's `--dataset` file).
    pub fn parse_json(text: &str) -> Result<Plan> {
        let spec: JobSpec = serde_json::from_str(text).map_err(|err| invalid("", err.to_string()))?;
        Plan::new(spec)
    }

    /// Whether an item with these metadata fields is in the job. Without a filter, every item is.
    pub fn selects(&self, fields: &(impl Fields + ?Sized)) -> bool {
        self.filter.as_ref().is_none_or(|filter| filter.matches(fields))
    }

    /// How many variants each item gets.
    pub fn variants(&self) -> u32 {
        match self.augment.as_ref().and_then(|p| p.steps.first()) {
            Some(Op::Augment(augment)) => augment.variants,
            _ => 0,
        }
    }

    /// Credits one item costs: its steps, its variants, and the inference on each image
    /// the job looks at.
    pub fn cost_per_item(&self) -> u32 {
        let prepare = self.pipeline.as_ref().map_or(0, Pipeline::cost);
        let augment = self.augment.as_ref().map_or(0, Pipeline::cost);
        let looked_at =
            u32::from(self.infer_on.originals()) + if self.infer_on.variants() { self.variants() } else { 0 };
        let inference = self.inference.as_ref().map_or(0, |p| p.cost().saturating_mul(looked_at));
        prepare.saturating_add(augment).saturating_add(inference).max(1)
    }

    /// Every step of the job, in the order they run.
    pub fn steps(&self) -> impl Iterator<Item = &Op> {
        [&self.pipeline, &self.augment, &self.inference].into_iter().flatten().flat_map(|p| p.steps.iter())
    }

    /// Checks `models` can run every vision step (loading them), before any item runs.
    pub fn check_models(&self, models: &dyn Models) -> atelier_imaging::Result<()> {
        [&self.pipeline, &self.inference].into_iter().flatten().try_for_each(|p| p.check_models(models))
    }

    /// What the job's vision steps need.
    pub fn capabilities(&self) -> Vec<Capability> {
        let mut all: Vec<Capability> = self.steps().flat_map(|op| op.capabilities().iter().copied()).collect();
        all.dedup();
        all
    }
}

/// The preparation steps: a pipeline document or a bare list of steps; no `augment` (that
/// is the job's own `augment`, whose variants go to `augmentation/`).
fn prepare_steps(value: Value) -> Result<Pipeline> {
    let document = match value {
        Value::Array(steps) => serde_json::json!({ "version": 1, "steps": steps }),
        other => other,
    };
    let pipeline = Pipeline::from_value(document).map_err(|err| invalid(field("pipeline", &err.path), err.message))?;
    if let Some(i) = pipeline.steps.iter().position(|op| op.name() == OpName::Augment) {
        return Err(invalid(
            format!("pipeline.steps[{i}]"),
            "augmentation is the job's `augment` field, so its variants are recorded under augmentation/",
        ));
    }
    Ok(pipeline)
}

fn augment_step(value: Value) -> Result<Pipeline> {
    let op = Op::parse(OpName::Augment, value).map_err(|err| invalid(field("augment", &err.field), err.message))?;
    let Op::Augment(augment) = op else { unreachable!("Op::parse(Augment) returns an augment") };
    if augment.keep_original {
        return Err(invalid("augment.keep_original", "the original is always kept, under images/"));
    }
    Pipeline::from_ops(vec![Op::Augment(augment)]).map_err(|err| invalid("augment", err.message))
}

fn output_options(value: Value) -> Result<EncodeOptions> {
    match Op::parse(OpName::Convert, value).map_err(|err| invalid(field("output", &err.field), err.message))? {
        Op::Convert(convert) => Ok(convert.0),
        _ => unreachable!("Op::parse(Convert) returns a convert"),
    }
}

fn inference_steps(steps: &[Value]) -> Result<Pipeline> {
    let document = serde_json::json!({ "version": 1, "steps": steps });
    let pipeline = Pipeline::from_value(document).map_err(|err| {
        let path = err.path.strip_prefix("steps").unwrap_or(&err.path);
        invalid(format!("inference{path}"), err.message)
    })?;
    if let Some(i) = pipeline.steps.iter().position(|op| !op.annotates_only()) {
        return Err(invalid(
            format!("inference[{i}]"),
            format!(
                "`{}` changes the image; inference steps only annotate (classify, moderate, detect_faces, \
                 analyze_faces, recognize_digit): put it in `pipeline`",
                pipeline.steps[i].name()
            ),
        ));
    }
    Ok(pipeline)
}

fn field(parent: &str, path: &str) -> String {
    match path {
        "" => parent.to_string(),
        p if p.starts_with('[') => format!("{parent}{p}"),
        p => format!("{parent}.{p}"),
    }
}

#[cfg(test)]
mod tests;
