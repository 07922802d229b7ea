//! Repository hygiene, enforced as a test: module docs, file sizes, and the README, CI
//! script and ARCHITECTURE.md agreeing with each other and with the tree.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_module_doc_and_stays_under_600_lines() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    assert!(files.len() > 20);
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        if !text.starts_with("//!") {
            problems.push(format!("{}: does not start with a `//!` module doc", file.display()));
        }
        let lines = text.lines().count();
        if lines > 600 {
            problems.push(format!("{}: {lines} lines; split it by concept", file.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn ci_runs_exactly_the_test_command_the_readme_gives() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let test_line = readme.lines().find(|l| l.trim_end().ends_with("# test")).expect("README has a `# test` command");
    let command = test_line.split('#').next().unwrap().trim();
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(ci.lines().any(|l| l.trim() == command), ".ci/run must run `{command}`");
    assert!(ci.contains("cargo fmt --all --check") && ci.contains("-D warnings"));
}

#[test]
fn architecture_md_names_every_crate_and_top_level_module() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(map.contains(&format!("crates/{name}")), "ARCHITECTURE.md does not mention crates/{name}");
    }
    for entry in std::fs::read_dir(root().join("crates/imaging/src")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name != "lib.rs" {
                assert!(map.contains(&name), "ARCHITECTURE.md does not mention imaging's {name}");
            }
        }
    }
}
