//! Finding and loading the ONNX Runtime shared library, once per process. The library is
//! not linked at build time (`ort`'s `load-dynamic`), so a missing one is a typed error at
//! run time that names the fix, and everything that needs no model keeps working.
//!
//! Where it is looked for, first hit wins: the path the caller configured, then the
//! `ORT_DYLIB_PATH` environment variable, then the cache folder that
//! `scripts/setup-onnxruntime.sh` fills ([`cache_dir`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;

use crate::error::{Error, Result};

/// The ONNX Runtime version `scripts/setup-onnxruntime.sh` pins; ort 2.0.0-rc.15 (`api-31`)
/// needs 1.31 or newer.
pub const ORT_VERSION: &str = "1.31.1";

/// The library's file name inside the PyPI wheel, kept as is in the cache folder.
pub const LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";

/// The environment variable `ort` itself honours, honoured here in the same way.
pub const ENV_VAR: &str = "ORT_DYLIB_PATH";

/// `${XDG_CACHE_HOME:-$HOME/.cache}/atelier/onnxruntime-<version>`, where the setup script
/// puts the library (and the MNIST test digits). `None` when neither variable is set.
pub fn cache_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME") {
        // The XDG spec says a relative value is invalid and must be ignored.
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?).join(".cache"),
    };
    Some(base.join("atelier").join(format!("onnxruntime-{ORT_VERSION}")))
}

/// Where the library is, without loading it: `explicit` (from configuration), else
/// `ORT_DYLIB_PATH`, else the setup script's cache. A location that is named but holds no
/// file is an error, not a reason to look further: a typo should not silently load a
/// different library.
pub fn find_library(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return existing(path.to_path_buf(), "the configured path");
    }
    if let Some(value) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) {
        return existing(PathBuf::from(value), ENV_VAR);
    }
    match cache_dir() {
        Some(dir) => existing(dir.join(LIBRARY_FILE), "the setup script's cache"),
        None => Err(Error::RuntimeMissing {
            searched: format!("no path configured, {ENV_VAR} unset, and neither XDG_CACHE_HOME nor HOME set"),
        }),
    }
}

fn existing(path: PathBuf, source: &str) -> Result<PathBuf> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::RuntimeMissing { searched: format!("{source}: {} does not exist", path.display()) })
    }
}

struct Loaded {
    environment: Environment,
    path: PathBuf,
}

/// The process's one environment. A failure is not remembered, so running the setup
/// script fixes a long-running process without a restart; a success is, because ONNX
/// Runtime cannot be unloaded or loaded twice.
static LOADED: Mutex<Option<Loaded>> = Mutex::new(None);

/// Loads the library (the first time) and returns the shared ONNX Runtime environment and
/// the path it was loaded from. Once one library is loaded, `explicit` is ignored: a
/// process has one ONNX Runtime.
pub fn environment(explicit: Option<&Path>) -> Result<(Environment, PathBuf)> {
    let mut loaded = LOADED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(loaded) = loaded.as_ref() {
        return Ok((loaded.environment.clone(), loaded.path.clone()));
    }
    let path = find_library(explicit)?;
    let unloadable = |detail: String| Error::RuntimeUnloadable { path: path.clone(), detail };
    // `init_from` must come before any other `ort` call: otherwise ort would load a library
    // of its own choosing (and panic when there is none).
    let environment = ort::init_from(&path)
        .map_err(|err| unloadable(err.to_string()))?
        .with_name("atelier")
        .with_telemetry(false)
        .build()
        .map_err(|err| unloadable(err.to_string()))?;
    *loaded = Some(Loaded { environment: environment.clone(), path: path.clone() });
    Ok((environment, path))
}

#[cfg(test)]
mod tests;
