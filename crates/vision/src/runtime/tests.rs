//! Library lookup: an explicit path that is not there is an error naming the fix. (The
//! environment-variable and cache branches read process-wide state, so they are exercised
//! by the model tests rather than by mutating the environment here.)

use super::*;
use crate::error::{ErrorKind, RUNTIME_FIX};

#[test]
fn an_explicit_path_that_does_not_exist_is_unavailable_and_names_the_setup_script() {
    let err = find_library(Some(Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.code(), "vision_unavailable");
    let message = err.to_string();
    assert!(message.contains("/nonexistent/libonnxruntime.so"), "{message}");
    assert!(message.contains(RUNTIME_FIX), "{message}");
    assert!(message.contains("scripts/setup-onnxruntime.sh"), "{message}");
}

#[test]
fn an_explicit_path_that_exists_is_taken_as_is_before_the_environment_variable() {
    let file = tempfile::NamedTempFile::new().unwrap();
    assert_eq!(find_library(Some(file.path())).unwrap(), file.path());
}

#[test]
fn the_cache_folder_is_named_after_the_pinned_version() {
    if let Some(dir) = cache_dir() {
        assert!(dir.ends_with(format!("atelier/onnxruntime-{ORT_VERSION}")), "{}", dir.display());
    }
    assert!(LIBRARY_FILE.ends_with(ORT_VERSION));
}
