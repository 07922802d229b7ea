//! End-to-end tests of the `atelier` binary: real files in a temporary folder, real
//! processes, exit codes and the JSON summary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod categories;
mod dataset;
mod healthcheck;
mod models;
mod sign;
mod topology;

#[path = "../common/session.rs"]
mod session;

fn photo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-data/photos").join(name)
}

fn atelier(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_atelier")).args(args).current_dir(dir).output().expect("atelier runs")
}

fn summary(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!("{err}: stdout {:?} stderr {}", output.stdout, String::from_utf8_lossy(&output.stderr))
    })
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn a_folder_is_processed_recursively_into_the_same_layout() {
    let dir = tempdir();
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("cats/small")).unwrap();
    std::fs::copy(photo("rocket.jpg"), input.join("rocket.jpg")).unwrap();
    std::fs::copy(photo("chelsea.png"), input.join("cats/chelsea.png")).unwrap();
    std::fs::copy(photo("chelsea.bmp"), input.join("cats/small/tiny.bmp")).unwrap();
    std::fs::write(input.join("notes.txt"), "not an image").unwrap();
    std::fs::write(input.join(".hidden.jpg"), "ignored").unwrap();

    let out = atelier(
        &["process", "--op", "thumbnail:width=64", "--op", "convert:format=webp", "in", "-o", "out"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = summary(&out);
    assert_eq!(
        (summary["succeeded"].as_u64(), summary["failed"].as_u64(), summary["skipped"].as_u64()),
        (Some(3), Some(0), Some(1))
    );
    for path in ["out/rocket.webp", "out/cats/chelsea.webp", "out/cats/small/tiny.webp"] {
        let bytes = std::fs::read(dir.path().join(path)).unwrap_or_else(|_| panic!("{path} missing"));
        let image = image::load_from_memory(&bytes).unwrap();
        assert!(image.width() <= 64, "{path}");
    }
    assert!(!dir.path().join("out/notes.webp").exists());
}

#[test]
fn one_bad_file_is_reported_while_the_others_complete_and_the_exit_code_says_so() {
    let dir = tempdir();
    let good = std::fs::read(photo("rocket.jpg")).unwrap();
    std::fs::write(dir.path().join("good.jpg"), &good).unwrap();
    std::fs::write(dir.path().join("cut.jpg"), &good[..good.len() / 2]).unwrap();
    std::fs::write(dir.path().join("text.jpg"), b"hello, not a jpeg").unwrap();

    let out =
        atelier(&["process", "--op", "thumbnail:width=32", "good.jpg", "cut.jpg", "text.jpg", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let summary = summary(&out);
    let codes: Vec<(String, Option<String>)> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["input"].as_str().unwrap().to_string(), f["error"]["code"].as_str().map(String::from)))
        .collect();
    assert_eq!(
        codes,
        [
            ("good.jpg".to_string(), None),
            ("cut.jpg".to_string(), Some("truncated_image".to_string())),
            ("text.jpg".to_string(), Some("unsupported_format".to_string()))
        ]
    );
    assert!(dir.path().join("out/good.jpg").exists());
    assert!(!dir.path().join("out/cut.jpg").exists(), "no partial output for a failed file");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cut.jpg") && stderr.contains("truncated_image"), "{stderr}");
}

#[test]
fn content_decides_the_format_not_the_file_name() {
    let dir = tempdir();
    std::fs::copy(photo("chelsea.png"), dir.path().join("looks-like.jpg")).unwrap();
    let out = atelier(&["process", "--op", "flip", "looks-like.jpg", "-o", "out"], dir.path());
    assert!(out.status.success());
    assert_eq!(summary(&out)["files"][0]["source"]["format"], "png");
    let written = std::fs::read(dir.path().join("out/looks-like.png")).unwrap();
    assert_eq!(&written[..4], b"\x89PNG");
}

#[test]
fn stdin_to_stdout_streams_one_image() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["process", "--op", "resize:width=50", "--op", "convert:format=png", "-", "-o", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &std::fs::read(photo("rocket.jpg")).unwrap()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let image = image::load_from_memory(&out.stdout).unwrap();
    assert_eq!((image.width(), image.height()), (50, 33));
}

#[test]
fn an_invalid_pipeline_fails_before_any_work_with_the_field_named() {
    let dir = tempdir();
    std::fs::write(dir.path().join("p.yaml"), "version: 1\nsteps:\n  - op: flip\n  - op: resize\n    width: 0\n")
        .unwrap();
    std::fs::copy(photo("rocket.jpg"), dir.path().join("a.jpg")).unwrap();
    let out = atelier(&["process", "-p", "p.yaml", "a.jpg", "-o", "out"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("steps[1].width: must be 1..=65535, got 0"), "{stderr}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_pipeline_file_finds_its_watermark_next_to_it_and_augment_names_its_variants() {
    let dir = tempdir();
    std::fs::create_dir_all(dir.path().join("conf")).unwrap();
    std::fs::copy(photo("logo.png"), dir.path().join("conf/logo.png")).unwrap();
    std::fs::copy(photo("chelsea.png"), dir.path().join("cat.png")).unwrap();
    let pipeline = r#"{"version": 1, "steps": [
        {"op": "watermark", "image": "logo.png", "scale": 0.2},
        {"op": "augment", "variants": 3, "seed": 5},
        {"op": "convert", "format": "jpeg", "quality": 85}
    ]}"#;
    std::fs::write(dir.path().join("conf/p.json"), pipeline).unwrap();
    let out = atelier(&["process", "-p", "conf/p.json", "cat.png", "-o", "out", "--json"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = summary(&out);
    let outputs = summary["files"][0]["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 3);
    for (i, output) in outputs.iter().enumerate() {
        assert_eq!(output["variant"]["index"], i);
        assert!(output["variant"]["seed"].is_u64());
        assert!(dir.path().join(format!("out/cat-v{i}.jpg")).exists());
    }
}

#[test]
fn two_inputs_with_one_output_name_keep_their_extensions() {
    let dir = tempdir();
    std::fs::copy(photo("chelsea.gif"), dir.path().join("cat.gif")).unwrap();
    std::fs::copy(photo("chelsea.bmp"), dir.path().join("cat.bmp")).unwrap();
    let out = atelier(&["process", "--op", "flip", "cat.gif", "cat.bmp", "-o", "out"], dir.path());
    assert!(out.status.success());
    assert!(dir.path().join("out/cat.gif.png").exists() && dir.path().join("out/cat.bmp.png").exists());
}

#[test]
fn the_pixel_limit_is_a_flag_and_its_error_has_a_code() {
    let dir = tempdir();
    let out = atelier(
        &["process", "--max-pixels", "1000", "--op", "flip", photo("rocket.jpg").to_str().unwrap(), "-o", "out"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(summary(&out)["files"][0]["error"]["code"], "too_many_pixels");
}

#[test]
fn the_ops_command_lists_the_catalogue_for_people_and_machines() {
    let dir = tempdir();
    let json = atelier(&["ops", "--json"], dir.path());
    let catalogue: Value = serde_json::from_slice(&json.stdout).unwrap();
    let names: Vec<&str> = catalogue.as_array().unwrap().iter().map(|op| op["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "resize",
            "thumbnail",
            "crop",
            "rotate",
            "flip",
            "blur",
            "sharpen",
            "grayscale",
            "adjust",
            "watermark",
            "augment",
            "convert",
            "detect_faces",
            "blur_faces",
            "pixelate_faces",
            "recognize_digit",
            "stylize",
            "analyze_faces",
            "smart_crop",
            "draw_annotations",
            "classify",
            "moderate",
        ]
    );
    let text = String::from_utf8(atelier(&["ops"], dir.path()).stdout).unwrap();
    assert!(text.contains("thumbnail (1 credit)") && text.contains("sigma"), "{text}");
}

#[test]
fn usage_errors_exit_with_2() {
    let dir = tempdir();
    let cases: &[&[&str]] = &[
        &["process", "x.jpg", "-o", "out"],
        &["process", "--op", "nope", "x.jpg", "-o", "out"],
        &["process", "--op", "flip", "missing.jpg", "-o", "out"],
        &["process", "--op", "flip", "-", "x.jpg", "-o", "out"],
    ];
    for args in cases {
        assert_eq!(atelier(args, dir.path()).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn configuration_layers_file_then_environment_then_flags_and_refuses_unknown_keys() {
    let dir = tempdir();
    std::fs::write(dir.path().join("atelier.toml"), "data_dir = \"from-file\"\n[limits]\nmax_pixels = 1000\n").unwrap();
    let migrate = |envs: &[(&str, &str)], args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_atelier"));
        command.arg("migrate").args(args).current_dir(dir.path()).env_remove("ATELIER_DATABASE_URL");
        for (key, value) in envs {
            command.env(key, value);
        }
        command.output().unwrap()
    };
    assert!(migrate(&[], &[]).status.success());
    assert!(dir.path().join("from-file/atelier.db").exists(), "the file's data_dir is used");
    assert!(migrate(&[("ATELIER_DATA_DIR", "from-env")], &[]).status.success());
    assert!(dir.path().join("from-env/atelier.db").exists(), "the environment beats the file");
    assert!(migrate(&[("ATELIER_DATA_DIR", "from-env")], &["--data-dir", "from-flag"]).status.success());
    assert!(dir.path().join("from-flag/atelier.db").exists(), "a flag beats the environment");

    std::fs::write(dir.path().join("bad.toml"), "[limits]\nmax_pixelz = 5\n").unwrap();
    let out = migrate(&[], &["--config", "bad.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("max_pixelz"), "{stderr}");
    let out = migrate(&[("ATELIER_LIMITS__MAX_PIXELS", "lots")], &[]);
    assert_eq!(out.status.code(), Some(2), "a malformed variable is refused");
}
