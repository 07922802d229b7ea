//! `atelier process`: run a pipeline over files, folders and stdin, in parallel, with a
//! progress bar on a terminal and a JSON summary for scripts. One bad file is reported and
//! the rest still complete; the exit code says whether any failed. With `--dataset`, a
//! dataset job over an archive or folder instead (`process/dataset.rs`).

mod dataset;
mod inputs;
mod report;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use atelier_imaging::{Limits, Pipeline, RunEnv};
use atelier_vision::{ModelDir, SessionConfig, Vision};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::assets::FileAssets;
use inputs::{Input, Source};
use report::{FileReport, OutputReport, Summary};

#[derive(Debug, clap::Args)]
pub struct ProcessArgs {
    /// Pipeline document (YAML or JSON, by content).
    #[arg(short, long, value_name = "FILE", conflicts_with_all = ["op", "dataset"])]
    pipeline: Option<PathBuf>,
    /// A dataset job (JSON: filter, pipeline, augment, inference, infer_on, batch_size, as
    /// `POST /v1/datasets/{id}/jobs` takes it) over one archive or folder; writes images/,
    /// augmentation/ and metadata.json under the output folder.
    #[arg(long, value_name = "SPEC", conflicts_with = "op")]
    dataset: Option<PathBuf>,
    /// With --dataset: a CSV (with a header row) or JSON file of the items' metadata, keyed by
    /// file name, stem or id.
    #[arg(long, value_name = "FILE", requires = "dataset")]
    metadata: Option<PathBuf>,
    /// With --metadata: the column that holds each row's key (default: id, filename, file,
    /// name, or the first).
    #[arg(long, value_name = "COLUMN", requires = "metadata")]
    key: Option<String>,
    /// An inline step, `name:key=value,...`; repeat for a chain (e.g. --op thumbnail:width=256).
    #[arg(long = "op", value_name = "STEP")]
    op: Vec<String>,
    /// Files or folders (searched recursively); `-` reads one image from stdin.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Output folder (created if missing); `-` writes the single output to stdout.
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// Print the JSON summary even on a terminal.
    #[arg(long)]
    json: bool,
    /// Worker threads; 0 uses every core.
    #[arg(short, long, default_value_t = 0)]
    jobs: usize,
    /// Refuse sources with more pixels than this (decompression-bomb guard).
    #[arg(long, default_value_t = Limits::default().max_pixels)]
    max_pixels: u64,
    /// Refuse input files larger than this many bytes.
    #[arg(long, default_value_t = Limits::default().max_input_bytes)]
    max_input_bytes: u64,
    /// Give up on an op after this many milliseconds.
    #[arg(long, default_value_t = Limits::default().op_timeout_ms)]
    op_timeout_ms: u64,
    /// Folder of the vision model files (default: the checkout's `models/`).
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
}

pub fn run(args: ProcessArgs) -> Result<ExitCode> {
    let limits = Limits {
        max_pixels: args.max_pixels,
        max_input_bytes: args.max_input_bytes,
        op_timeout_ms: args.op_timeout_ms,
        ..Limits::default()
    };
    let models = args.models.clone().map_or_else(ModelDir::default, ModelDir::new);
    // Leaked on purpose: the sessions live as long as the process anyway, and tearing ONNX
    // Runtime down at exit costs a one-shot run tens of milliseconds for nothing.
    // A dataset job alternates model runs with its own work on every core: ONNX Runtime's
    // threads must not spin through the latter.
    let intra_spinning = args.dataset.is_some().then_some(false);
    let vision: &'static Vision =
        Box::leak(Box::new(Vision::new(SessionConfig { models, intra_spinning, ..SessionConfig::default() })));
    if let Some(spec) = &args.dataset {
        let cwd = std::env::current_dir().context("reading the current folder")?;
        let base = spec.parent().map(|p| cwd.join(p)).unwrap_or(cwd);
        let assets = FileAssets::new(base, limits.clone());
        let env = RunEnv { limits: &limits, assets: &assets, models: vision };
        let threads =
            if args.jobs == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { args.jobs };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
        return pool.install(|| dataset::run(&args, spec, env));
    }
    let (pipeline, asset_base) = load_pipeline(&args)?;
    let assets = FileAssets::new(asset_base, limits.clone());
    // Before any file is read: a missing model fails the run once, not every file.
    pipeline.check_models(vision).map_err(|err| anyhow::anyhow!("{err}"))?;
    let env = RunEnv { limits: &limits, assets: &assets, models: vision };

    if args.inputs.iter().any(|p| p.as_os_str() == "-") {
        if args.inputs.len() != 1 {
            bail!("`-` (stdin) cannot be combined with other inputs");
        }
        return run_stdin(&pipeline, env, &args.output);
    }
    if args.output.as_os_str() == "-" {
        bail!("`-o -` (stdout) needs the input to be `-` (stdin)");
    }
    let inputs = inputs::collect(&args.inputs)?;
    let threads = if args.jobs == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { args.jobs };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let human = std::io::stdout().is_terminal() && !args.json;
    let progress = progress_bar(inputs.len() as u64, std::io::stderr().is_terminal());

    let started = Instant::now();
    let reports: Vec<FileReport> = pool.install(|| {
        inputs
            .par_iter()
            .map(|input| {
                let report = process_one(input, &pipeline, env, &args.output);
                if let Some(error) = &report.error {
                    progress.suspend(|| eprintln!("{}: {} ({})", input.path.display(), error.message, error.code));
                }
                progress.inc(1);
                report
            })
            .collect()
    });
    progress.finish_and_clear();

    let summary = Summary::new(reports, started.elapsed());
    let mut out = std::io::stdout().lock();
    if human {
        summary.print_human(&mut out)?;
    } else {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    }
    Ok(if summary.failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn load_pipeline(args: &ProcessArgs) -> Result<(Pipeline, PathBuf)> {
    let cwd = std::env::current_dir().context("reading the current folder")?;
    match (&args.pipeline, args.op.is_empty()) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            // Content decides, not the extension: JSON is also valid YAML, but JSON's errors are clearer.
            let pipeline = if text.trim_start().starts_with('{') {
                Pipeline::parse_json(&text)
            } else {
                Pipeline::parse_yaml(&text)
            };
            let pipeline = pipeline.with_context(|| format!("invalid pipeline {}", path.display()))?;
            let base = path.parent().map(|p| cwd.join(p)).unwrap_or(cwd);
            Ok((pipeline, base))
        }
        (None, false) => Ok((Pipeline::parse_inline(&args.op).context("invalid --op")?, cwd)),
        (None, true) => {
            bail!("give a pipeline: -p FILE, or one or more --op STEP (see `atelier ops`)")
        }
    }
}

fn process_one(input: &Input, pipeline: &Pipeline, env: RunEnv<'_>, out_dir: &Path) -> FileReport {
    match &input.source {
        Source::Skipped(reason) => FileReport::skipped(&input.path, reason),
        Source::File => {
            let bytes = match read_limited(&input.path, env.limits.max_input_bytes) {
                Ok(Ok(bytes)) => bytes,
                Ok(Err(too_large)) => return FileReport::failed(&input.path, &too_large),
                Err(err) => return FileReport::io_failure(&input.path, &err),
            };
            match pipeline.run(&bytes, env) {
                Err(err) => FileReport::failed(&input.path, &err),
                Ok(run) => match write_outputs(&run.outputs, &out_dir.join(&input.output_stem)) {
                    Ok(outputs) => FileReport::succeeded(&input.path, &run, outputs),
                    Err(err) => FileReport::io_failure(&input.path, &err),
                },
            }
        }
    }
}

/// Writes each output at `stem_path` plus the output format's extension; `augment`
/// variants get `-v{index}`. Files appear whole or not at all.
fn write_outputs(outputs: &[atelier_imaging::Output], stem_path: &Path) -> Result<Vec<OutputReport>> {
    let parent = stem_path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let stem = stem_path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into());
    outputs
        .iter()
        .map(|output| {
            let name = match &output.variant {
                Some(variant) => format!("{stem}-v{}.{}", variant.index, output.format.extension()),
                None => format!("{stem}.{}", output.format.extension()),
            };
            let path = parent.join(name);
            let tmp = parent.join(format!(".{}.partial", path.file_name().unwrap_or_default().to_string_lossy()));
            std::fs::write(&tmp, &output.bytes).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, &path).with_context(|| format!("renaming into {}", path.display()))?;
            Ok(OutputReport::new(path, output))
        })
        .collect()
}

fn run_stdin(pipeline: &Pipeline, env: RunEnv<'_>, output: &Path) -> Result<ExitCode> {
    let mut bytes = Vec::new();
    std::io::stdin().lock().take(env.limits.max_input_bytes + 1).read_to_end(&mut bytes).context("reading stdin")?;
    let run = match pipeline.run(&bytes, env) {
        Ok(run) => run,
        Err(err) => {
            eprintln!("error: stdin: {err} ({})", err.code());
            return Ok(ExitCode::from(1));
        }
    };
    if output.as_os_str() == "-" {
        let [single] = run.outputs.as_slice() else {
            bail!(
                "the pipeline made {} outputs; `-o -` takes exactly one (write to a folder instead)",
                run.outputs.len()
            );
        };
        std::io::stdout().lock().write_all(&single.bytes).context("writing stdout")?;
    } else {
        write_outputs(&run.outputs, &output.join("stdin"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a file, refusing it before reading a byte if it is over the limit.
fn read_limited(path: &Path, limit: u64) -> Result<Result<Vec<u8>, atelier_imaging::Error>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > limit {
        return Ok(Err(atelier_imaging::Error::InputTooLarge { actual: len, limit }));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1).read_to_end(&mut bytes).with_context(|| format!("reading {}", path.display()))?;
    Ok(Ok(bytes))
}

fn progress_bar(len: u64, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} images  {per_sec}  eta {eta}") {
        bar.set_style(style);
    }
    bar
}
