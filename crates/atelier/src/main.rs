//! The `atelier` binary: command-line parsing and wiring. Each command lives in its own
//! module; the work itself is done by the library crates.

mod accounts_cmd;
mod assets;
mod categories_cmd;
mod healthcheck_cmd;
mod models_cmd;
mod ops_cmd;
mod process;
mod service;
mod settings;
mod sign_cmd;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};

use crate::settings::{LogFormat, Settings};

/// Image processing and computer vision: one binary for the CLI, the API and the workers.
#[derive(Debug, Parser)]
#[command(name = "atelier", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a pipeline over image files and folders, locally, on all cores.
    Process(process::ProcessArgs),
    /// List the op catalogue: names, parameters, defaults and credit costs.
    Ops(ops_cmd::OpsArgs),
    /// Run the API with in-process workers (embedded defaults: ./data, SQLite, a blob folder);
    /// `--no-workers` runs the API only.
    Serve(service::ServeArgs),
    /// Run workers only, against the same database and blob store as `serve`.
    Worker(service::ServiceArgs),
    /// Create or update the database schema, then exit.
    Migrate(service::ServiceArgs),
    /// List the vision models with their licences, check their sha256, and find ONNX Runtime.
    Models(models_cmd::ModelsArgs),
    /// Manage accounts: `atelier user add EMAIL [--admin]`.
    User(accounts_cmd::UserArgs),
    /// Manage credits: `atelier credits grant EMAIL AMOUNT`.
    Credits(accounts_cmd::CreditsArgs),
    /// An account's own categories for `classify`: add (from example images), list, delete.
    Categories(categories_cmd::CategoriesArgs),
    /// Print a signed transform URL for an image, signed with the first `[transform] keys` entry.
    Sign(sign_cmd::SignArgs),
    /// Exit 0 when URL (default http://127.0.0.1:8080/healthz) answers 200 within 3 s, else 1:
    /// a container health check that needs no curl.
    Healthcheck(healthcheck_cmd::HealthcheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_format = match &cli.command {
        // A configuration that does not load is reported by the command itself.
        Command::Serve(service::ServeArgs { service: args, .. }) | Command::Worker(args) | Command::Migrate(args) => {
            Settings::load(args.config.as_deref()).map_or(LogFormat::Text, |settings| settings.log.format)
        }
        Command::Process(_)
        | Command::Healthcheck(_)
        | Command::Ops(_)
        | Command::Sign(_)
        | Command::User(_)
        | Command::Credits(_)
        | Command::Categories(_)
        | Command::Models(_) => LogFormat::Text,
    };
    init_logging(log_format);
    let result = match cli.command {
        Command::Process(args) => process::run(args),
        Command::Ops(args) => ops_cmd::run(args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => service::serve(args).map(|()| ExitCode::SUCCESS),
        Command::Worker(args) => service::worker(args).map(|()| ExitCode::SUCCESS),
        Command::Migrate(args) => service::migrate(args).map(|()| ExitCode::SUCCESS),
        Command::Sign(args) => sign_cmd::run(args).map(|()| ExitCode::SUCCESS),
        Command::Models(args) => models_cmd::run(args),
        Command::User(args) => accounts_cmd::user(args).map(|()| ExitCode::SUCCESS),
        Command::Credits(args) => accounts_cmd::credits(args).map(|()| ExitCode::SUCCESS),
        Command::Categories(args) => categories_cmd::run(args).map(|()| ExitCode::SUCCESS),
        Command::Healthcheck(args) => healthcheck_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// `tracing` output for the whole process, at the level `RUST_LOG` says (`info` when unset;
/// invalid directives are skipped rather than fatal). On stderr, so stdout stays the
/// commands' own output.
fn init_logging(format: LogFormat) {
    let filter = EnvFilter::builder().with_default_directive(LevelFilter::INFO.into()).from_env_lossy();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // Only fails if a subscriber is already set, and then that one keeps logging.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
