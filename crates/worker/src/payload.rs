//! What a job carries (its pipeline and the stored images it runs on) and what it leaves
//! (one result per item). Both are stored as JSON and read back by other versions of
//! atelier: change them on purpose, with `version`.

use atelier_imaging::Pipeline;
use serde::{Deserialize, Serialize};

/// A job's input: stored in the queue row, validated again when the worker reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobPayload {
    pub version: u32,
    /// The pipeline document (as `Pipeline::from_value` reads it).
    pub pipeline: serde_json::Value,
    /// The saved pipeline it came from (`name@version`), for reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_ref: Option<String>,
    pub items: Vec<JobItem>,
    /// Called with the `job.finished` event when the job ends (see `announce`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobItem {
    /// The original's blob key (`originals/{sha256}`).
    pub source: String,
    /// A name for reports (the upload's file name); never used to build a key.
    #[serde(default)]
    pub name: Option<String>,
}

impl JobPayload {
    pub const VERSION: u32 = 1;

    pub fn new(pipeline: &Pipeline, items: Vec<JobItem>) -> JobPayload {
        let pipeline = serde_json::to_value(pipeline).unwrap_or_default();
        JobPayload { version: JobPayload::VERSION, pipeline, pipeline_ref: None, items, webhook: None }
    }
}

/// Per-item results, in item order; `None` for items not done yet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobResults {
    pub items: Vec<Option<ItemResult>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ItemResult {
    Succeeded {
        outputs: Vec<OutputRef>,
    },
    /// The item's input or parameters were at fault: retrying would fail the same way.
    Failed {
        code: String,
        message: String,
    },
}

/// One output image of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputRef {
    pub key: String,
    pub format: atelier_imaging::Format,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<atelier_imaging::ops::augment::Variant>,
    /// What the pipeline's vision steps found in this output (faces, digits, labels...).
    #[serde(default, skip_serializing_if = "atelier_imaging::Annotations::is_empty")]
    pub annotations: atelier_imaging::Annotations,
}
