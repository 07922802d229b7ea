//! What the model tests share: one `Vision` for the whole test binary (sessions are
//! loaded once, as in production), and the skip-or-fail rule for a missing runtime.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use atelier_vision::{runtime, SessionConfig, Vision};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Something a model test needs is missing: a failure in CI, where the setup script runs
/// first, and a skip with a note on a developer's machine.
fn missing(what: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "{what} (CI=true: model tests may not be skipped)");
    // Straight to the stderr handle, which the test harness does not capture, so the
    // note shows in a normal `cargo test` run rather than only with --nocapture.
    let _ = writeln!(std::io::stderr(), "note: skipping a model test: {what}");
}

/// The shared `Vision`, or `None` (after [`missing`]) when ONNX Runtime cannot be loaded.
pub fn vision() -> Option<&'static Vision> {
    static VISION: OnceLock<Vision> = OnceLock::new();
    if let Err(err) = runtime::environment(None) {
        missing(&err.to_string());
        return None;
    }
    Some(VISION.get_or_init(|| Vision::new(SessionConfig::default())))
}

/// A file the setup script puts in its cache next to the library (the MNIST digits).
pub fn cached(name: &str) -> Option<PathBuf> {
    let path = runtime::cache_dir().map(|dir| dir.join(name));
    match path {
        Some(path) if path.is_file() => Some(path),
        _ => {
            missing(&format!("{name} is not in the setup cache: run scripts/setup-onnxruntime.sh"));
            None
        }
    }
}
