//! What a job carries (its pipeline and the stored images it runs on) and what it leaves
//! (one result per item). Both are stored as JSON and read back by other versions of
//! atelier: change them on purpose, with `version`.

use atelier_imaging::Pipeline;
use serde::{Deserialize, Serialize};

use crate::dataset::DatasetPayload;

/// A stored job input of either kind, read once.
#[derive(Debug, Clone)]
pub enum Payload {
    Pipeline(JobPayload),
    Dataset(DatasetPayload),
}

impl Payload {
    /// Reads a job's payload: a dataset job's when it says `"kind": "dataset"`, a pipeline
    /// job's otherwise. The error says what did not read, for the job's failure message.
    pub fn parse(text: &str) -> Result<Payload, String> {
        let invalid = |what: &str, err: serde_json::Error| format!("the {what} payload is not valid: {err}");
        let value: serde_json::Value = serde_json::from_str(text).map_err(|err| invalid("job", err))?;
        if value.get("kind").and_then(serde_json::Value::as_str) == Some("dataset") {
            serde_json::from_value(value).map(Payload::Dataset).map_err(|err| invalid("dataset job", err))
        } else {
            serde_json::from_value(value).map(Payload::Pipeline).map_err(|err| invalid("job", err))
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_reads_as_the_kind_it_says_and_an_unreadable_one_names_what_failed() {
        let pipeline = JobPayload::new(&Pipeline::parse_inline(&["thumbnail:width=8"]).unwrap(), Vec::new());
        let text = serde_json::to_string(&pipeline).unwrap();
        assert!(matches!(Payload::parse(&text), Ok(Payload::Pipeline(p)) if p.pipeline == pipeline.pipeline));

        let text = serde_json::to_string(&DatasetPayload::new("d1", atelier_dataset::JobSpec::default())).unwrap();
        assert!(matches!(Payload::parse(&text), Ok(Payload::Dataset(d)) if d.dataset == "d1"));

        let cases = [
            ("{", "the job payload is not valid"),
            (r#"{"version": 1, "items": []}"#, "the job payload is not valid"),
            (r#"{"version": 1, "kind": "dataset"}"#, "the dataset job payload is not valid"),
        ];
        for (text, want) in cases {
            assert!(Payload::parse(text).unwrap_err().starts_with(want), "{text}");
        }
    }
}
