//! `atelier user add` and `atelier credits grant`: account administration from the shell,
//! for the first admin (there is no default password) and for scripts.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context, Result};
use atelier_storage::{now_ms, Credits, Role, Users};

use crate::service::{runtime, Service, ServiceArgs};

#[derive(Debug, clap::Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
enum UserCommand {
    /// Create an account. The password comes from ATELIER_PASSWORD, else one line of stdin.
    Add {
        email: String,
        /// Make the account an admin.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        service: ServiceArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct CreditsArgs {
    #[command(subcommand)]
    command: CreditsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CreditsCommand {
    /// Add credits to an account's balance.
    Grant {
        email: String,
        amount: i64,
        /// Why, for the ledger.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        service: ServiceArgs,
    },
}

pub fn user(args: UserArgs) -> Result<()> {
    let UserCommand::Add { email, admin, service } = args.command;
    let password = read_password()?;
    runtime()?.block_on(async {
        let service = Service::open(&service).await?;
        service.db.migrate().await.context("migrating")?;
        let email = email.trim().to_lowercase();
        anyhow::ensure!(email.contains('@'), "`{email}` is not an email address");
        atelier_auth::Policy::default().check(&password, &email).context("the password")?;
        let hash = atelier_auth::password::hash(&password);
        let role = if admin { Role::Admin } else { Role::User };
        let now = now_ms();
        let Some(user) = Users::new(service.db.clone()).create(&email, &hash, role, now).await? else {
            bail!("`{email}` already has an account");
        };
        let grant = service.settings.credits.signup_grant;
        if service.settings.credits.enabled && grant > 0 {
            Credits::new(service.db.clone()).grant(&user.id, grant, None, Some("sign-up grant"), now).await?;
        }
        println!("created {} `{}` ({})", role.as_str(), user.email, user.id);
        Ok(())
    })
}

pub fn credits(args: CreditsArgs) -> Result<()> {
    let CreditsCommand::Grant { email, amount, note, service } = args.command;
    anyhow::ensure!(amount > 0, "the amount must be a positive number of credits");
    runtime()?.block_on(async {
        let service = Service::open(&service).await?;
        service.db.migrate().await.context("migrating")?;
        let email = email.trim().to_lowercase();
        let Some(user) = Users::new(service.db.clone()).find_by_email(&email).await? else {
            bail!("no account `{email}`");
        };
        let note = note.as_deref().unwrap_or("granted from the command line");
        let balance = Credits::new(service.db.clone()).grant(&user.id, amount, None, Some(note), now_ms()).await?;
        println!("`{email}` now holds {} credits", balance.unwrap_or_default());
        Ok(())
    })
}

/// The password from `ATELIER_PASSWORD`, else a line of stdin (never an argument: those
/// show in `ps` and shell history).
fn read_password() -> Result<String> {
    if let Ok(password) = std::env::var("ATELIER_PASSWORD") {
        return Ok(password);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("reading the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(!password.is_empty(), "no password: set ATELIER_PASSWORD or pipe one line to stdin");
    Ok(password)
}
