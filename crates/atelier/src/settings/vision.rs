//! The `[vision]` section: where the model files and the ONNX Runtime library are, how many
//! threads one model run may use, and whether faces may be analysed for age, gender and
//! expression. One `Vision` is built from it per process and shared by the API and workers.

use std::path::PathBuf;
use std::sync::Arc;

use atelier_vision::{ModelDir, SessionConfig, Vision};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VisionSettings {
    /// Folder of the model files; unset means the checkout's `models/`. Check it with
    /// `atelier models --dir`.
    pub models_dir: Option<PathBuf>,
    /// The ONNX Runtime library; unset means `ORT_DYLIB_PATH`, then the cache that
    /// `scripts/setup-onnxruntime.sh` fills.
    pub library: Option<PathBuf>,
    /// Threads one model run may use; 0 means ONNX Runtime's default (one per core). With
    /// several workers, cores / workers keeps runs from fighting over cores.
    pub threads: usize,
    /// Estimate age, gender and expression (`analyze_faces`). Off, the op answers 503
    /// `vision_unavailable`. Race and ethnicity are never estimated.
    pub face_attributes: bool,
}

impl Default for VisionSettings {
    fn default() -> Self {
        VisionSettings { models_dir: None, library: None, threads: 0, face_attributes: true }
    }
}

impl VisionSettings {
    /// The process's models. Nothing is loaded yet: a machine without the runtime or the
    /// files still starts, and vision requests say what to fix.
    pub fn build(&self) -> Arc<Vision> {
        let config = SessionConfig {
            library: self.library.clone(),
            models: self.models_dir.clone().map_or_else(ModelDir::default, ModelDir::new),
            intra_threads: (self.threads > 0).then_some(self.threads),
            intra_spinning: None,
        };
        Arc::new(Vision::new(config).with_face_attributes(self.face_attributes))
    }
}
