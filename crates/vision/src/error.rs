//! The vision crate's error type: what failed, and through [`ErrorKind`] whether the
//! operator can fix it (a missing library or model) or it is a fault of ours.

use std::path::PathBuf;

use crate::models::Model;

/// The hint every "runtime missing" message carries, so whoever reads it knows the fix.
pub const RUNTIME_FIX: &str = "run scripts/setup-onnxruntime.sh (or set ORT_DYLIB_PATH)";

/// What went wrong in the vision crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No ONNX Runtime library at any of the places searched.
    #[error("the ONNX Runtime library was not found ({searched}): {RUNTIME_FIX}")]
    RuntimeMissing { searched: String },
    /// A library was found but could not be loaded (wrong file, wrong version, wrong
    /// platform).
    #[error("the ONNX Runtime library at {path} could not be loaded ({detail}): {RUNTIME_FIX}")]
    RuntimeUnloadable { path: PathBuf, detail: String },
    #[error("model {model} is missing: expected {path}")]
    ModelMissing { model: Model, path: PathBuf },
    #[error(
        "model {model} at {path} has sha256 {actual}, expected {expected}: restore it from the repository's models/"
    )]
    ModelChecksum { model: Model, path: PathBuf, expected: &'static str, actual: String },
    #[error("model {model} at {path} could not be read: {source}")]
    ModelUnreadable {
        model: Model,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// ONNX Runtime refused a model, a session option or a run.
    #[error("ONNX Runtime failed to {doing} for model {model}: {detail}")]
    Runtime { model: Model, doing: &'static str, detail: String },
    /// A model answered with a shape its contract (models/SOURCES.md) does not allow.
    #[error("model {model} returned an unexpected output: {detail}")]
    Output { model: Model, detail: String },
    /// A fault in our own pre- or post-processing (a resize refused its buffers).
    #[error("internal error: {0}")]
    Internal(String),
}

/// How a caller should treat an error, without knowing every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The runtime library or a model file is missing or damaged; the operator can fix it
    /// and nothing else is affected (the API answers 503 `vision_unavailable`).
    Unavailable,
    /// A bug or an environment fault; details belong in logs, not in responses.
    Internal,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::RuntimeMissing { .. }
            | Error::RuntimeUnloadable { .. }
            | Error::ModelMissing { .. }
            | Error::ModelChecksum { .. }
            | Error::ModelUnreadable { .. } => ErrorKind::Unavailable,
            Error::Runtime { .. } | Error::Output { .. } | Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The stable code, the same strings the imaging core uses for these kinds.
    pub fn code(&self) -> &'static str {
        match self.kind() {
            ErrorKind::Unavailable => "vision_unavailable",
            ErrorKind::Internal => "internal_error",
        }
    }

    pub(crate) fn runtime(model: Model, doing: &'static str, err: impl std::fmt::Display) -> Error {
        Error::Runtime { model, doing, detail: err.to_string() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
