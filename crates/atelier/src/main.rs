//! The `atelier` binary: command-line parsing and wiring. Each command lives in its own
//! module; the work itself is done by the library crates.

mod assets;
mod ops_cmd;
mod process;
mod service;
mod settings;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Run the API with in-process workers (embedded defaults: ./data, SQLite, a blob folder).
    Serve(service::ServiceArgs),
    /// Run workers only, against the same database and blob store as `serve`.
    Worker(service::ServiceArgs),
    /// Create or update the database schema, then exit.
    Migrate(service::ServiceArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Process(args) => process::run(args),
        Command::Ops(args) => ops_cmd::run(args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => service::serve(args).map(|()| ExitCode::SUCCESS),
        Command::Worker(args) => service::worker(args).map(|()| ExitCode::SUCCESS),
        Command::Migrate(args) => service::migrate(args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
