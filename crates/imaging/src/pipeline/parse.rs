//! Reading pipeline documents (JSON, YAML) and the CLI's inline `op:key=value,...` form.
//! Every error names the place: `steps[2].width: must be 1..=65535, got 0`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Pipeline, VERSION};
use crate::ops::{Op, OpName};

/// Most steps a pipeline may have: a guard against documents built to waste CPU.
pub const MAX_STEPS: usize = 64;

/// Where in the document a problem is, and what it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct PipelineError {
    /// `steps[2].width`, `version`, or empty for the document as a whole.
    pub path: String,
    pub message: String,
}

impl PipelineError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        PipelineError { path: path.into(), message: message.into() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    version: u32,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    steps: Vec<Value>,
}

impl Pipeline {
    pub fn parse_json(text: &str) -> Result<Pipeline, PipelineError> {
        let value: Value =
            serde_json::from_str(text).map_err(|err| PipelineError::new("", format!("not valid JSON: {err}")))?;
        Pipeline::from_value(value)
    }

    pub fn parse_yaml(text: &str) -> Result<Pipeline, PipelineError> {
        let value: Value =
            serde_yaml_ng::from_str(text).map_err(|err| PipelineError::new("", format!("not valid YAML: {err}")))?;
        Pipeline::from_value(value)
    }

    /// Parses a document already read as a JSON value (an API request body, say).
    pub fn from_value(value: Value) -> Result<Pipeline, PipelineError> {
        if !value.is_object() {
            return Err(PipelineError::new("", "a pipeline is an object with `version` and `steps`"));
        }
        let document: Document = serde_path_to_error::deserialize(value).map_err(|err| {
            let path = err.path().to_string();
            PipelineError::new(if path == "." { String::new() } else { path }, err.into_inner().to_string())
        })?;
        if document.version != VERSION {
            return Err(PipelineError::new("version", format!("must be {VERSION}, got {}", document.version)));
        }
        if document.steps.len() > MAX_STEPS {
            return Err(PipelineError::new(
                "steps",
                format!("at most {MAX_STEPS} steps, got {}", document.steps.len()),
            ));
        }
        let steps = document
            .steps
            .into_iter()
            .enumerate()
            .map(|(i, step)| parse_step(i, step))
            .collect::<Result<Vec<_>, _>>()?;
        let mut pipeline = Pipeline::from_ops(steps)?;
        pipeline.name = document.name;
        pipeline.description = document.description;
        Ok(pipeline)
    }

    /// Parses the CLI's inline steps, one per string: `resize:width=256,fit=cover`.
    /// Values are read as JSON where they parse (numbers, booleans, arrays), else as text.
    pub fn parse_inline<S: AsRef<str>>(steps: &[S]) -> Result<Pipeline, PipelineError> {
        let steps = steps
            .iter()
            .enumerate()
            .map(|(i, text)| {
                inline_step(text.as_ref()).map_err(|message| PipelineError::new(format!("steps[{i}]"), message))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut document = Map::new();
        document.insert("version".into(), Value::from(VERSION));
        document.insert("steps".into(), Value::Array(steps));
        Pipeline::from_value(Value::Object(document))
    }
}

fn parse_step(index: usize, step: Value) -> Result<Op, PipelineError> {
    let at = |field: &str| {
        if field.is_empty() {
            format!("steps[{index}]")
        } else {
            format!("steps[{index}].{field}")
        }
    };
    let Value::Object(mut params) = step else {
        return Err(PipelineError::new(at(""), "a step must be an object with an `op` key"));
    };
    let name = match params.remove("op") {
        Some(Value::String(name)) => name,
        Some(_) => return Err(PipelineError::new(at("op"), "must be a string")),
        None => return Err(PipelineError::new(at("op"), "missing: every step names its op")),
    };
    let op_name = OpName::parse(&name).ok_or_else(|| {
        let known: Vec<&str> = OpName::ALL.iter().map(|op| op.as_str()).collect();
        PipelineError::new(at("op"), format!("unknown op `{name}`; known ops: {}", known.join(", ")))
    })?;
    Op::parse(op_name, Value::Object(params)).map_err(|err| PipelineError::new(at(&err.field), err.message))
}

fn inline_step(text: &str) -> Result<Value, String> {
    let (name, rest) = text.split_once(':').unwrap_or((text, ""));
    let mut step = Map::new();
    step.insert("op".into(), Value::String(name.trim().to_string()));
    for pair in split_top_level(rest) {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').ok_or_else(|| format!("`{pair}` is not key=value"))?;
        let value =
            serde_json::from_str::<Value>(value.trim()).unwrap_or_else(|_| Value::String(value.trim().to_string()));
        step.insert(key.trim().to_string(), value);
    }
    Ok(Value::Object(step))
}

/// Splits on commas that are not inside brackets, so `crop_scale=[0.5,1]` stays whole.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}
