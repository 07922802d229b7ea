//! `atelier categories`: an account's own categories made from example files with the real
//! classification model, listed and deleted, against the embedded database; and the
//! refusals (unknown account, bad name, taken name) with a non-zero exit.

use std::path::Path;
use std::process::{Command, Output};

use super::tempdir;

fn photo(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-data/photos").join(name).display().to_string()
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(args)
        .current_dir(dir)
        .env("ATELIER_PASSWORD", "a long test passphrase")
        .output()
        .unwrap()
}

#[test]
fn categories_are_made_from_example_files_listed_and_deleted_for_an_account() {
    let library = atelier_vision::runtime::find_library(None);
    if library.is_err() && std::env::var("CI").is_err() {
        eprintln!("note: skipping: ONNX Runtime is not set up here (scripts/setup-onnxruntime.sh)");
        return;
    }
    let dir = tempdir();
    let out = run(dir.path(), &["user", "add", "maker@example.com"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let add = |name: &str, files: &[&str]| {
        let mut args = vec!["categories", "add", "maker@example.com", name];
        let files: Vec<String> = files.iter().map(|f| photo(f)).collect();
        args.extend(files.iter().map(String::as_str));
        run(dir.path(), &args)
    };
    let out = add("cats", &["chelsea.png", "chelsea.webp"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "made `cats` from 2 examples");

    for (name, files, expected) in [
        ("cats", &["rocket.jpg"][..], "has a category named `cats`"),
        ("Not OK", &["rocket.jpg"][..], "must be 1 to 64 characters"),
        ("broken", &["../README.md"][..], "decoding"),
    ] {
        let out = add(name, files);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(expected), "{name}: {stderr}");
    }
    let out = run(dir.path(), &["categories", "list", "nobody@example.com"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account `nobody@example.com`"));

    let listed = run(dir.path(), &["categories", "list", "maker@example.com"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "cats\t2 examples\n");
    let out = run(dir.path(), &["categories", "delete", "maker@example.com", "cats"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = run(dir.path(), &["categories", "list", "maker@example.com"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "");
    let out = run(dir.path(), &["categories", "delete", "maker@example.com", "cats"]);
    assert!(!out.status.success(), "deleting twice fails");
}
