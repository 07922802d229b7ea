//! Turning the command line's files and folders into a list of inputs, each with the
//! relative path its outputs take under the output folder.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use atelier_imaging::Format;

#[derive(Debug)]
pub struct Input {
    pub path: PathBuf,
    /// Where outputs go, relative to the output folder, without an extension: the
    /// input's stem, or its whole name when another input shares the stem.
    pub output_stem: PathBuf,
    pub source: Source,
}

#[derive(Debug)]
pub enum Source {
    File,
    /// Found in a folder walk but not an image (by its magic bytes): reported, not failed.
    Skipped(String),
}

/// Files given by name are always attempted (a non-image fails with a typed error); files
/// found by walking a folder are skipped when their first bytes are not an image we read.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read input {}", path.display()))?;
        if meta.is_dir() {
            walk(path, &mut inputs)?;
        } else {
            let name = path.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("image"));
            inputs.push(Input { path: path.clone(), output_stem: name, source: Source::File });
        }
    }
    name_outputs(&mut inputs);
    check_collisions(&inputs)?;
    Ok(inputs)
}

fn walk(root: &Path, inputs: &mut Vec<Input>) -> Result<()> {
    let mut found: Vec<PathBuf> = Vec::new();
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        let entry = entry.with_context(|| format!("walking {}", root.display()))?;
        if entry.file_type().is_file() && !is_hidden(entry.path(), root) {
            found.push(entry.into_path());
        }
    }
    found.sort();
    for path in found {
        let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let source = match sniff_file(&path) {
            Ok(Some(_)) => Source::File,
            Ok(None) => Source::Skipped("not an image (unrecognised first bytes)".into()),
            Err(err) => Source::Skipped(format!("unreadable: {err}")),
        };
        inputs.push(Input { path, output_stem: relative, source });
    }
    Ok(())
}

fn is_hidden(path: &Path, root: &Path) -> bool {
    path.strip_prefix(root)
        .map(|rel| rel.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.')))
        .unwrap_or(false)
}

fn sniff_file(path: &Path) -> std::io::Result<Option<Format>> {
    let mut head = [0u8; 32];
    let mut file = std::fs::File::open(path)?;
    let mut len = 0;
    while len < head.len() {
        let n = file.read(&mut head[len..])?;
        if n == 0 {
            break;
        }
        len += n;
    }
    Ok(Format::sniff(&head[..len]))
}

/// Drops the extension from each output name, except where two inputs would then share a
/// name (`photo.gif` and `photo.bmp`): those keep theirs (`photo.gif.webp`).
fn name_outputs(inputs: &mut [Input]) {
    let mut counts: HashMap<PathBuf, usize> = HashMap::new();
    for input in inputs.iter() {
        *counts.entry(input.output_stem.with_extension("")).or_default() += 1;
    }
    for input in inputs.iter_mut() {
        let stem = input.output_stem.with_extension("");
        if counts[&stem] == 1 {
            input.output_stem = stem;
        }
    }
}

/// Two inputs whose outputs would still land on the same path is a usage error, found
/// before any work starts rather than by one output silently replacing another.
fn check_collisions(inputs: &[Input]) -> Result<()> {
    let mut seen: HashMap<&Path, &Path> = HashMap::new();
    for input in inputs.iter().filter(|i| matches!(i.source, Source::File)) {
        if let Some(other) = seen.insert(&input.output_stem, &input.path) {
            bail!(
                "{} and {} would write the same output name; process them into separate folders",
                other.display(),
                input.path.display()
            );
        }
    }
    Ok(())
}
