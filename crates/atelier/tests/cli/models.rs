//! `atelier models`: every shipped model present and intact, and a damaged or missing one
//! reported with a non-zero exit.

use std::path::Path;

use super::{atelier, tempdir};

fn models_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

#[test]
fn the_shipped_models_all_verify_against_their_pinned_checksums() {
    let dir = tempdir();
    let out = atelier(&["models", "--dir", models_dir().to_str().unwrap()], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    let models: Vec<&str> = text.lines().filter(|line| line.contains(".onnx")).collect();
    assert_eq!(models.len(), 10, "{text}");
    assert!(models.iter().all(|line| line.ends_with(" ok")), "{text}");
    // Under CI the runtime is set up first, so the whole check passes there.
    if std::env::var_os("CI").is_some() {
        assert!(out.status.success(), "{text}");
    }
}

#[test]
fn a_damaged_or_missing_model_is_named_and_fails_the_check() {
    let dir = tempdir();
    let copy = dir.path().join("models");
    std::fs::create_dir(&copy).unwrap();
    let mut mnist = std::fs::read(models_dir().join("mnist_cnn.onnx")).unwrap();
    mnist[1000] ^= 1;
    std::fs::write(copy.join("mnist_cnn.onnx"), mnist).unwrap();
    let out = atelier(&["models", "--dir", copy.to_str().unwrap()], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.lines().any(|l| l.contains("mnist_cnn.onnx") && l.contains("DAMAGED")), "{text}");
    assert!(text.lines().any(|l| l.contains("multistyle26.onnx") && l.contains("MISSING")), "{text}");
}
