//! The imaging core's one error type: what failed, a stable machine-readable code, and a
//! coarse kind that callers (the API, the CLI) map to statuses and exit codes.

use std::fmt;

/// Every way an imaging call can fail, as data. The HTTP layer maps [`ErrorKind`] to a
/// status; [`Code`] is the stable string clients match on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the input is empty (0 bytes)")]
    Empty,
    #[error("unrecognised image format: the first bytes match no supported format (JPEG, PNG, WebP, GIF, BMP, TIFF)")]
    UnsupportedFormat,
    #[error("the input is {actual} bytes, over the limit of {limit} bytes")]
    InputTooLarge { actual: u64, limit: u64 },
    #[error("the image declares {width}x{height} = {pixels} pixels, over the limit of {limit} pixels")]
    TooManyPixels { width: u32, height: u32, pixels: u64, limit: u64 },
    #[error("the image has more than {limit} frames")]
    TooManyFrames { limit: u32 },
    #[error("the output would be {width}x{height}, and a side may be at most {limit} pixels")]
    OutputTooLarge { width: u64, height: u64, limit: u32 },
    #[error("the output would be {width}x{height} = {pixels} pixels, over the limit of {limit}")]
    OutputTooManyPixels { width: u64, height: u64, pixels: u64, limit: u64 },
    #[error("the pipeline would make {count} images from one input, over the limit of {limit}")]
    TooManyOutputs { count: u64, limit: u32 },
    #[error("the {format} data ends early (truncated file)")]
    Truncated { format: &'static str },
    #[error("the {format} data is corrupt: {detail}")]
    Corrupt { format: &'static str, detail: String },
    #[error("{0}")]
    InvalidPipeline(#[from] crate::pipeline::PipelineError),
    #[error("step {step} ({op}): {message}")]
    OpNotApplicable { step: usize, op: &'static str, message: String },
    #[error("the operation took longer than its limit of {limit_ms} ms")]
    Timeout { limit_ms: u64 },
    #[error("asset `{reference}` could not be loaded: {message}")]
    Asset { reference: String, message: String },
    #[error("{op} needs a vision model, and none is available: {message}")]
    VisionUnavailable { op: &'static str, message: String },
    #[error("encoding {format} failed: {detail}")]
    Encode { format: &'static str, detail: String },
    #[error("internal error: {0}")]
    Internal(String),
}

/// The stable codes, a closed set. Clients match on [`Code::as_str`]; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    EmptyInput,
    UnsupportedFormat,
    InputTooLarge,
    TooManyPixels,
    TooManyFrames,
    OutputTooLarge,
    TooManyOutputs,
    TruncatedImage,
    CorruptImage,
    InvalidPipeline,
    OpNotApplicable,
    Timeout,
    AssetUnavailable,
    VisionUnavailable,
    EncodeFailed,
    InternalError,
}

/// How a caller should treat an error, without knowing every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input or the request is wrong; retrying the same thing fails the same way.
    BadInput,
    /// The input is over a configured limit.
    TooLarge,
    /// A referenced thing (an asset) does not exist.
    NotFound,
    /// A dependency (a model, a runtime library) is missing; the operator can fix it.
    Unavailable,
    /// The work ran past its deadline.
    Timeout,
    /// A bug or an environment fault; the details belong in logs, not in responses.
    Internal,
}

impl Error {
    pub fn code(&self) -> Code {
        match self {
            Error::Empty => Code::EmptyInput,
            Error::UnsupportedFormat => Code::UnsupportedFormat,
            Error::InputTooLarge { .. } => Code::InputTooLarge,
            Error::TooManyPixels { .. } => Code::TooManyPixels,
            Error::TooManyFrames { .. } => Code::TooManyFrames,
            Error::OutputTooLarge { .. } | Error::OutputTooManyPixels { .. } => Code::OutputTooLarge,
            Error::TooManyOutputs { .. } => Code::TooManyOutputs,
            Error::Truncated { .. } => Code::TruncatedImage,
            Error::Corrupt { .. } => Code::CorruptImage,
            Error::InvalidPipeline(_) => Code::InvalidPipeline,
            Error::OpNotApplicable { .. } => Code::OpNotApplicable,
            Error::Timeout { .. } => Code::Timeout,
            Error::Asset { .. } => Code::AssetUnavailable,
            Error::VisionUnavailable { .. } => Code::VisionUnavailable,
            Error::Encode { .. } => Code::EncodeFailed,
            Error::Internal(_) => Code::InternalError,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Empty
            | Error::UnsupportedFormat
            | Error::Truncated { .. }
            | Error::Corrupt { .. }
            | Error::InvalidPipeline(_)
            | Error::OpNotApplicable { .. } => ErrorKind::BadInput,
            Error::InputTooLarge { .. }
            | Error::TooManyPixels { .. }
            | Error::TooManyFrames { .. }
            | Error::OutputTooLarge { .. }
            | Error::OutputTooManyPixels { .. }
            | Error::TooManyOutputs { .. } => ErrorKind::TooLarge,
            Error::Asset { .. } => ErrorKind::NotFound,
            Error::VisionUnavailable { .. } => ErrorKind::Unavailable,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Encode { .. } | Error::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl Code {
    pub const ALL: &'static [Code] = &[
        Code::EmptyInput,
        Code::UnsupportedFormat,
        Code::InputTooLarge,
        Code::TooManyPixels,
        Code::TooManyFrames,
        Code::OutputTooLarge,
        Code::TooManyOutputs,
        Code::TruncatedImage,
        Code::CorruptImage,
        Code::InvalidPipeline,
        Code::OpNotApplicable,
        Code::Timeout,
        Code::AssetUnavailable,
        Code::VisionUnavailable,
        Code::EncodeFailed,
        Code::InternalError,
    ];

    /// The codes `decode` and `probe` may answer untrusted bytes with: their contract, which
    /// the hostile corpus and the fuzz targets hold them to. Anything else from a decode
    /// (`internal_error` above all) is a bug.
    pub const DECODE: &'static [Code] = &[
        Code::EmptyInput,
        Code::UnsupportedFormat,
        Code::InputTooLarge,
        Code::TooManyPixels,
        Code::TooManyFrames,
        Code::TruncatedImage,
        Code::CorruptImage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::EmptyInput => "empty_input",
            Code::UnsupportedFormat => "unsupported_format",
            Code::InputTooLarge => "input_too_large",
            Code::TooManyPixels => "too_many_pixels",
            Code::TooManyFrames => "too_many_frames",
            Code::OutputTooLarge => "output_too_large",
            Code::TooManyOutputs => "too_many_outputs",
            Code::TruncatedImage => "truncated_image",
            Code::CorruptImage => "corrupt_image",
            Code::InvalidPipeline => "invalid_pipeline",
            Code::OpNotApplicable => "op_not_applicable",
            Code::Timeout => "timeout",
            Code::AssetUnavailable => "asset_unavailable",
            Code::VisionUnavailable => "vision_unavailable",
            Code::EncodeFailed => "encode_failed",
            Code::InternalError => "internal_error",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The text of a caught panic, when it has one (`panic!` gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
}
