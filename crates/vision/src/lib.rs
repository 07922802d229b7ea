//! atelier's vision models on ONNX Runtime: the model catalogue and its checksums
//! ([`models`]), loading the runtime library ([`runtime`]), shared sessions ([`session`]),
//! and the models' pre- and post-processing: face detection ([`faces`]) and digit
//! recognition ([`digits`]). The tensor contracts they follow are in `models/SOURCES.md`.
//!
//! Start at [`Vision`]: build one per process from a [`SessionConfig`]; nothing is loaded
//! until a model is first used, so a machine without ONNX Runtime or without the model
//! files still starts, and the failing call says what to fix ([`ErrorKind::Unavailable`]).
//!
//! `Vision` implements the imaging core's [`atelier_imaging::Models`], which is how the
//! pipeline's vision ops (`detect_faces`, `stylize`, `classify`, ...) run these models:
//! hand a `&Vision` to a run as `RunEnv::models`.

pub mod attributes;
pub mod classify;
pub mod digits;
pub mod error;
pub mod faces;
mod imaging;
pub mod models;
pub mod moderate;
mod resize;
pub mod runtime;
pub mod session;
pub mod style;

pub use attributes::{FaceAttributes, EMOTIONS};
pub use classify::{Classification, ProductCategory};
pub use digits::{DigitInput, RecognizedDigit};
pub use error::{Error, ErrorKind, Result};
pub use faces::{Face, FaceBox, FaceOptions};
pub use models::{verify, Model, ModelDir, ModelSpec, ModelState, ModelStatus};
pub use moderate::NSFW_LABELS;
pub use session::SessionConfig;
pub use style::{InvalidStyleRequest, Style, StyleOptions, BUILTIN_STYLES};

use session::Sessions;

/// The models of one process, each loaded once on first use and shared by all callers
/// (`Vision` is `Send + Sync`; put it in an `Arc`). The per-model methods live in the
/// modules that own the model ([`faces`], [`digits`]).
pub struct Vision {
    sessions: Sessions,
    /// Whether age, gender and expression may be estimated: operators can switch them off
    /// (the training data's terms, local rules), and `analyze_faces` then answers unavailable.
    face_attributes: bool,
}

impl Vision {
    /// Loads nothing yet: see the crate docs.
    pub fn new(config: SessionConfig) -> Self {
        Vision { sessions: Sessions::new(config), face_attributes: true }
    }

    /// This `Vision` with face attribute analysis (age, gender, expression) on or off.
    pub fn with_face_attributes(mut self, on: bool) -> Self {
        self.face_attributes = on;
        self
    }

    pub fn face_attributes(&self) -> bool {
        self.face_attributes
    }

    pub fn config(&self) -> &SessionConfig {
        self.sessions.config()
    }

    /// Loads `model` now (checksum, runtime, session) instead of on its first use, so a
    /// service can warm up, or report at start that vision is unavailable and why.
    pub fn load(&self, model: Model) -> Result<()> {
        self.sessions.get(model).map(|_| ())
    }
}

impl std::fmt::Debug for Vision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vision").field("config", self.config()).finish_non_exhaustive()
    }
}
