//! `atelier categories`: an account's own image categories for `classify`, from the shell:
//! made from example image files (fingerprinted here, with this machine's models), listed,
//! deleted. The same rules as `POST /v1/categories`: names, at most 20 examples, at most
//! 100 categories an account.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use atelier_storage::{now_ms, Categories, CategoryCreated, Users};

use crate::service::{runtime, Service, ServiceArgs};

#[derive(Debug, clap::Args)]
pub struct CategoriesArgs {
    #[command(subcommand)]
    command: CategoriesCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CategoriesCommand {
    /// Make a category for EMAIL from example image files.
    Add {
        email: String,
        name: String,
        #[arg(required = true, value_name = "IMAGE")]
        examples: Vec<PathBuf>,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// List EMAIL's categories.
    List {
        email: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Delete one of EMAIL's categories.
    Delete {
        email: String,
        name: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
}

pub fn run(args: CategoriesArgs) -> Result<()> {
    let service_args = match &args.command {
        CategoriesCommand::Add { service, .. }
        | CategoriesCommand::List { service, .. }
        | CategoriesCommand::Delete { service, .. } => service,
    };
    runtime()?.block_on(async {
        let service = Service::open(service_args).await?;
        service.db.migrate().await.context("migrating")?;
        let categories = Categories::new(service.db.clone());
        let owner = |email: &str| {
            let (db, email) = (service.db.clone(), email.trim().to_lowercase());
            async move {
                match Users::new(db).find_by_email(&email).await? {
                    Some(user) => Ok(user.id),
                    None => bail!("no account `{email}`"),
                }
            }
        };
        match &args.command {
            CategoriesCommand::Add { email, name, examples, .. } => {
                anyhow::ensure!(
                    atelier_server::valid_name(name),
                    "category name `{name}` must be 1 to 64 characters of a-z, 0-9, '-', '_' and '.'"
                );
                let max = atelier_server::MAX_EXAMPLES;
                anyhow::ensure!(examples.len() <= max, "at most {max} example images, got {}", examples.len());
                let owner = owner(email).await?;
                let mut fingerprints = Vec::with_capacity(examples.len());
                for path in examples {
                    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                    let decoded = atelier_imaging::decode(&bytes, &service.settings.limits, None)
                        .with_context(|| format!("decoding {}", path.display()))?;
                    let fingerprint = atelier_imaging::ops::classify::fingerprint(&*service.models, &decoded.image)
                        .with_context(|| format!("fingerprinting {}", path.display()))?;
                    fingerprints.push(fingerprint);
                }
                let centre = atelier_imaging::ops::classify::centre(&fingerprints)
                    .context("the examples' fingerprints do not agree in length")?;
                let count = fingerprints.len() as i64;
                let max = atelier_server::MAX_CATEGORIES;
                match categories.create(&owner, name, &centre, count, max, now_ms()).await? {
                    CategoryCreated::Created(_) => println!("made `{name}` from {count} examples"),
                    CategoryCreated::NameTaken => bail!("`{email}` has a category named `{name}`"),
                    CategoryCreated::TooMany => bail!("`{email}` has {max} categories, the most allowed"),
                }
            }
            CategoriesCommand::List { email, .. } => {
                for category in categories.list(&owner(email).await?).await? {
                    println!("{}\t{} examples", category.name, category.examples);
                }
            }
            CategoriesCommand::Delete { email, name, .. } => {
                if !categories.delete(&owner(email).await?, name).await? {
                    bail!("`{email}` has no category `{name}`");
                }
                println!("deleted `{name}`");
            }
        }
        Ok(())
    })
}
