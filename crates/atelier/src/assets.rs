//! Resolving the images a pipeline names (watermark overlays) to files, for the CLI.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use atelier_imaging::{Assets, Limits};
use image::DynamicImage;

/// Looks names up as paths relative to `base` (the pipeline file's folder, or the current
/// one for inline pipelines), decoding each file once and sharing it between threads.
pub struct FileAssets {
    base: PathBuf,
    limits: Limits,
    cache: Mutex<HashMap<String, Arc<DynamicImage>>>,
}

impl FileAssets {
    pub fn new(base: PathBuf, limits: Limits) -> Self {
        FileAssets { base, limits, cache: Mutex::new(HashMap::new()) }
    }
}

impl Assets for FileAssets {
    fn image(&self, reference: &str) -> Result<Arc<DynamicImage>, String> {
        if let Some(image) = self.cache.lock().map_err(|_| "asset cache poisoned")?.get(reference) {
            return Ok(Arc::clone(image));
        }
        let path = self.base.join(reference);
        let bytes = std::fs::read(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let decoded = atelier_imaging::decode(&bytes, &self.limits, None).map_err(|err| err.to_string())?;
        let image = Arc::new(decoded.image);
        self.cache.lock().map_err(|_| "asset cache poisoned")?.insert(reference.to_string(), Arc::clone(&image));
        Ok(image)
    }
}
