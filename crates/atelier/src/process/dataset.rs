//! `atelier process --dataset SPEC`: a dataset job on this machine, over an archive (zip,
//! tar, tar.gz) or a folder of images with an optional CSV or JSON of metadata, writing the
//! layout the service writes under `jobs/{id}/`: `images/`, `augmentation/` and
//! `metadata.json`. The archive is read twice: once to check every entry and name the
//! items (a refused archive writes nothing), once to run them a batch at a time, so memory
//! holds one batch, not the data set.

use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use atelier_dataset::{
    parse_metadata, ArchiveLimits, ArchiveReader, Content, ItemInput, ItemMetadata, ItemRecord, Metadata,
    MetadataDocument, MetadataLimits, MetadataOptions, Plan,
};
use atelier_imaging::RunEnv;
use serde::Serialize;

use super::{inputs, progress_bar, ProcessArgs};

/// Where the items come from.
enum Source {
    Archive(PathBuf),
    /// Image files found in a folder, with their names relative to it.
    Folder(Vec<(String, PathBuf)>),
}

/// An item the run will look at: its name, output stem and metadata.
struct Planned {
    index: u64,
    name: String,
    stem: String,
    metadata: ItemMetadata,
    selected: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    items: u64,
    filtered_out: u64,
    succeeded: u64,
    failed: u64,
    files: u64,
    /// Archive entries or folder files that are not images.
    skipped: u64,
    seconds: f64,
    items_per_second: f64,
    metadata: PathBuf,
}

pub(super) fn run(args: &ProcessArgs, spec_path: &Path, env: RunEnv<'_>) -> Result<ExitCode> {
    let text = std::fs::read_to_string(spec_path).with_context(|| format!("reading {}", spec_path.display()))?;
    let plan = Plan::parse_json(&text).with_context(|| format!("invalid dataset job {}", spec_path.display()))?;
    plan.check_models(env.models).map_err(|err| anyhow::anyhow!("{err}"))?;
    let [input] = args.inputs.as_slice() else {
        bail!("--dataset takes one input: an archive (zip, tar, tar.gz) or a folder of images");
    };
    let metadata = match &args.metadata {
        None => None,
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let options = MetadataOptions { format: None, key: args.key.clone(), limits: MetadataLimits::default() };
            let metadata = parse_metadata(&bytes, &options).with_context(|| format!("reading {}", path.display()))?;
            for warning in metadata.warnings() {
                eprintln!("{}: {warning}", path.display());
            }
            Some(metadata)
        }
    };
    let source = if std::fs::metadata(input).with_context(|| format!("reading {}", input.display()))?.is_dir() {
        Source::Folder(folder_images(input)?)
    } else {
        Source::Archive(input.clone())
    };
    let started = Instant::now();
    let (names, skipped) = names(&source)?;
    let planned = plan_items(&plan, names, metadata.as_ref());
    let selected = planned.iter().filter(|p| p.selected).count() as u64;
    let out = &args.output;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;

    let progress = progress_bar(selected, std::io::stderr().is_terminal());
    let mut records: Vec<ItemRecord> = Vec::with_capacity(selected as usize);
    let mut batch: Vec<ItemInput<Vec<u8>>> = Vec::with_capacity(plan.batch_size);
    let mut flush = |batch: &mut Vec<ItemInput<Vec<u8>>>| -> Result<()> {
        for done in plan.run_batch(batch, env) {
            for file in &done.files {
                write_file(out, &file.path, &file.bytes)?;
            }
            if let Some(error) = &done.record.error {
                progress.suspend(|| eprintln!("{}: {} ({})", done.record.name, error.message, error.code));
            }
            progress.inc(1);
            records.push(done.record);
        }
        batch.clear();
        Ok(())
    };
    let mut next = planned.iter().filter(|p| p.selected).peekable();
    each_image(&source, &mut |name, bytes| {
        let Some(item) = next.next_if(|p| p.name == name) else { return Ok(()) };
        let (index, name, stem, metadata) = (item.index, item.name.clone(), item.stem.clone(), item.metadata.clone());
        batch.push(ItemInput { index, name, stem, metadata, bytes });
        if batch.len() == plan.batch_size {
            flush(&mut batch)?;
        }
        Ok(())
    })?;
    flush(&mut batch)?;
    progress.finish_and_clear();

    let mut document = MetadataDocument::new(plan.spec.clone(), planned.len() as u64, records);
    if let Some(metadata) = &metadata {
        document.notes.extend(metadata.warnings().iter().map(|w| format!("metadata {w}")));
        let unmatched = planned.iter().filter(|p| p.metadata.0.is_empty()).count();
        if unmatched > 0 {
            document.notes.push(format!("{unmatched} items have no metadata row"));
        }
    }
    document.notes.extend(skipped.iter().map(|(name, why)| format!("skipped {name}: {why}")));
    let metadata_path = write_file(out, "metadata.json", &document.to_json())?;
    let seconds = started.elapsed().as_secs_f64();
    let summary = &document.summary;
    let report = Report {
        items: summary.items,
        filtered_out: summary.filtered_out,
        succeeded: summary.succeeded,
        failed: summary.failed,
        files: summary.files,
        skipped: skipped.len() as u64,
        seconds,
        items_per_second: if seconds > 0.0 { (summary.succeeded + summary.failed) as f64 / seconds } else { 0.0 },
        metadata: metadata_path,
    };
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, &report)?;
    writeln!(stdout)?;
    Ok(if report.failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Entries that are not images: (name, why).
type Skipped = Vec<(String, String)>;

/// Every image's name in order, and what was skipped. Reading an archive through checks
/// all of it: a refused archive stops the run before anything is written.
fn names(source: &Source) -> Result<(Vec<String>, Skipped)> {
    let mut names = Vec::new();
    let mut skipped = Vec::new();
    match source {
        Source::Folder(files) => names.extend(files.iter().map(|(name, _)| name.clone())),
        Source::Archive(path) => {
            let mut reader = open_archive(path)?;
            while let Some(entry) = reader.next_entry().with_context(|| format!("reading {}", path.display()))? {
                match entry.content {
                    Content::Image(_) => names.push(entry.name.to_string()),
                    Content::Skipped(reason) => skipped.push((entry.name.to_string(), format!("{reason:?}"))),
                }
            }
        }
    }
    if names.is_empty() {
        bail!("no images to run on");
    }
    Ok((names, skipped))
}

fn plan_items(plan: &Plan, names: Vec<String>, metadata: Option<&Metadata>) -> Vec<Planned> {
    let stems = atelier_dataset::unique_stems(names.iter().map(String::as_str));
    names
        .into_iter()
        .zip(stems)
        .enumerate()
        .map(|(index, (name, stem))| {
            let metadata = metadata.and_then(|m| m.lookup(&name)).map(ItemMetadata::from).unwrap_or_default();
            let selected = plan.selects(&metadata);
            Planned { index: index as u64, name, stem, metadata, selected }
        })
        .collect()
}

/// Calls `each` with every image's name and bytes, in the order [`names`] gave them.
fn each_image(source: &Source, each: &mut dyn FnMut(&str, Vec<u8>) -> Result<()>) -> Result<()> {
    match source {
        Source::Folder(files) => {
            for (name, path) in files {
                let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                each(name, bytes)?;
            }
        }
        Source::Archive(path) => {
            let mut reader = open_archive(path)?;
            while let Some(entry) = reader.next_entry().with_context(|| format!("reading {}", path.display()))? {
                if let Content::Image(_) = entry.content {
                    each(entry.name.as_str(), entry.bytes)?;
                }
            }
        }
    }
    Ok(())
}

fn open_archive(path: &Path) -> Result<ArchiveReader<BufReader<std::fs::File>>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    ArchiveReader::open(BufReader::new(file), ArchiveLimits::default())
        .with_context(|| format!("reading {}", path.display()))
}

fn folder_images(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let inputs = inputs::collect(&[root.to_path_buf()])?;
    Ok(inputs
        .into_iter()
        .filter(|input| matches!(input.source, inputs::Source::File))
        .map(|input| {
            let relative = input.path.strip_prefix(root).unwrap_or(&input.path);
            (relative.to_string_lossy().replace('\\', "/"), input.path)
        })
        .collect())
}

/// Writes `relative` under `out`, whole or not at all.
fn write_file(out: &Path, relative: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = out.join(relative);
    let parent = path.parent().unwrap_or(out);
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = parent.join(format!(".{}.partial", path.file_name().unwrap_or_default().to_string_lossy()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(path)
}
