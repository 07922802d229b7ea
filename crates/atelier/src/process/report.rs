//! What `atelier process` tells its caller: one record per input, and totals.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use atelier_imaging::ops::augment::Variant;
use atelier_imaging::{Output, RunOutput};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Summary {
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
    pub elapsed_ms: u128,
    pub images_per_second: f64,
    pub files: Vec<FileReport>,
}

#[derive(Debug, Serialize)]
pub struct FileReport {
    pub input: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<OutputReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SourceReport {
    pub format: atelier_imaging::Format,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Serialize)]
pub struct OutputReport {
    pub path: PathBuf,
    pub format: atelier_imaging::Format,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<Variant>,
    /// What vision steps found: faces, digits, labels...
    #[serde(skip_serializing_if = "atelier_imaging::Annotations::is_empty")]
    pub annotations: atelier_imaging::Annotations,
}

#[derive(Debug, Serialize)]
pub struct ErrorReport {
    /// A stable code from the imaging core's table, or `io_error` for the file system.
    pub code: String,
    pub message: String,
}

impl OutputReport {
    pub fn new(path: PathBuf, output: &Output) -> Self {
        OutputReport {
            path,
            format: output.format,
            width: output.width,
            height: output.height,
            bytes: output.bytes.len(),
            variant: output.variant.clone(),
            annotations: output.annotations.clone(),
        }
    }
}

impl FileReport {
    fn empty(input: &Path) -> Self {
        FileReport { input: input.to_path_buf(), source: None, outputs: Vec::new(), error: None, skipped: None }
    }

    pub fn succeeded(input: &Path, run: &RunOutput, outputs: Vec<OutputReport>) -> Self {
        let source = SourceReport { format: run.source_format, width: run.source_width, height: run.source_height };
        FileReport { source: Some(source), outputs, ..FileReport::empty(input) }
    }

    pub fn failed(input: &Path, err: &atelier_imaging::Error) -> Self {
        let error = ErrorReport { code: err.code().as_str().into(), message: err.to_string() };
        FileReport { error: Some(error), ..FileReport::empty(input) }
    }

    pub fn io_failure(input: &Path, err: &anyhow::Error) -> Self {
        let error = ErrorReport { code: "io_error".into(), message: format!("{err:#}") };
        FileReport { error: Some(error), ..FileReport::empty(input) }
    }

    pub fn skipped(input: &Path, reason: &str) -> Self {
        FileReport { skipped: Some(reason.into()), ..FileReport::empty(input) }
    }
}

impl Summary {
    pub fn new(files: Vec<FileReport>, elapsed: Duration) -> Self {
        let failed = files.iter().filter(|f| f.error.is_some()).count();
        let skipped = files.iter().filter(|f| f.skipped.is_some()).count();
        let succeeded = files.len() - failed - skipped;
        let seconds = elapsed.as_secs_f64().max(1e-9);
        Summary {
            succeeded,
            failed,
            skipped,
            elapsed_ms: elapsed.as_millis(),
            images_per_second: (succeeded + failed) as f64 / seconds,
            files,
        }
    }

    pub fn print_human(&self, out: &mut impl Write) -> std::io::Result<()> {
        for file in &self.files {
            if let Some(reason) = &file.skipped {
                writeln!(out, "skipped {}: {reason}", file.input.display())?;
            }
        }
        writeln!(
            out,
            "{} succeeded, {} failed, {} skipped in {:.2} s ({:.1} images/s)",
            self.succeeded,
            self.failed,
            self.skipped,
            self.elapsed_ms as f64 / 1000.0,
            self.images_per_second
        )
    }
}
