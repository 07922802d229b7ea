//! `atelier models`: the vision models atelier ships, each checked against its pinned
//! sha256, and whether the ONNX Runtime library they need can be found. Exits non-zero
//! when anything is missing or damaged, so deployments can run it as a check.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use atelier_vision::{ModelDir, ModelState};

#[derive(Debug, clap::Args)]
pub struct ModelsArgs {
    /// Folder holding the model files (default: the checkout's `models/`).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn run(args: ModelsArgs) -> Result<ExitCode> {
    let dir = args.dir.map_or_else(ModelDir::default, ModelDir::new);
    let mut out = std::io::stdout().lock();
    let mut healthy = true;
    for status in atelier_vision::verify(&dir) {
        let spec = status.model.spec();
        let state = match &status.state {
            ModelState::Ok => "ok".to_string(),
            ModelState::Missing => format!("MISSING ({})", status.path.display()),
            ModelState::Mismatch { actual } => format!("DAMAGED (sha256 {actual}, expected {})", spec.sha256),
            ModelState::Unreadable(err) => format!("UNREADABLE ({err})"),
        };
        healthy &= status.is_ok();
        writeln!(out, "{:<26} {:<28} {:<12} {}", spec.name, spec.file, spec.licence, state)?;
        writeln!(out, "{:<26} {}", "", spec.task)?;
    }
    match atelier_vision::runtime::find_library(None) {
        Ok(path) => writeln!(out, "onnxruntime                {}", path.display())?,
        Err(err) => {
            healthy = false;
            writeln!(out, "onnxruntime                MISSING: {err}")?;
        }
    }
    if !healthy {
        writeln!(
            out,
            "\nsome of the above is missing or damaged: vision ops answer 503 vision_unavailable until it is fixed"
        )?;
    }
    Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
