//! atelier's imaging core: sniff, decode (with limits and shrink-on-load), run a pipeline
//! of ops, encode. It takes bytes and returns bytes: no files, no network, no async, no
//! HTTP or SQL. The CLI, the server and the worker all sit on top of it.
//!
//! Start at [`Pipeline`]: parse a document, then [`Pipeline::run`] it over an input.
//! Vision steps call models through the [`Models`] trait, which the vision crate
//! implements; the core itself runs no model.

pub mod annotations;
pub mod decode;
pub mod encode;
pub mod error;
pub mod format;
pub mod limits;
pub mod models;
pub mod ops;
pub mod pipeline;

pub use annotations::{Annotations, Moderation};
pub use decode::{decode, decode_with, probe, Decoded, Probe, SizeHint};
pub use encode::{encode, EncodeOptions, Subsampling};
pub use error::{Code, Error, ErrorKind, Result};
pub use format::Format;
pub use limits::{Deadline, Limits};
pub use models::{Capability, Classes, FaceAttributes, FaceSearch, Label, StyleRequest, StyleSource, BUILTIN_STYLES};
pub use models::{DigitReading, FaceAnnotation, ModelError, Models, NoModels, NumberReading};
pub use ops::{catalogue, Op, OpInfo, OpName};
pub use pipeline::{parse_url_options, UrlFormat, UrlOptions, UrlOptionsError, ENCODER_VERSION};
pub use pipeline::{Applied, Assets, NoAssets, Output, Pipeline, PipelineError, RunEnv, RunOutput, StepTiming};
