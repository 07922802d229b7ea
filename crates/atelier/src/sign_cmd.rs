//! `atelier sign`: a transform URL for one image, signed with the first key of
//! `[transform] keys` by the server's own signing function, so the two cannot disagree.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use atelier_imaging::parse_url_options;
use atelier_server::transform::signed_path;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The image's id, as `POST /v1/images` answered it.
    image_id: String,
    /// The options, e.g. `rs:cover:300:200/bl:2/q:80` (docs/transform-urls.md lists them).
    options: String,
    /// Output format: jpg, jpeg, png, webp, avif, or auto (chosen per request from `Accept`).
    #[arg(long)]
    ext: String,
    /// Seconds the URL stays valid: appends a signed `exp` segment.
    #[arg(long, value_name = "SECONDS")]
    expires_in: Option<u64>,
    /// Where clients reach the server (default: http:// and the `listen` address).
    #[arg(long, value_name = "URL")]
    base: Option<String>,
    /// Configuration file (default: ./atelier.toml when present). See atelier.example.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn run(args: SignArgs) -> Result<()> {
    let settings = Settings::load(args.config.as_deref())?;
    let key = settings.transform.signing_key()?;
    // The id is the URL's last segment: anything else would change where the URL splits.
    anyhow::ensure!(
        !args.image_id.is_empty() && args.image_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "`{}` is not an image id: ids are letters, digits, `-` and `_`",
        args.image_id
    );
    let now = SystemTime::now().duration_since(UNIX_EPOCH).context("reading the clock")?.as_secs();
    let given = parse_url_options(&args.options, &args.ext).context("the options do not parse")?;
    let options = match args.expires_in {
        Some(_) if given.expires().is_some() => {
            anyhow::bail!("the options already end in an `exp` segment: drop it or --expires-in")
        }
        Some(seconds) => format!("{}/exp:{}", args.options, now.saturating_add(seconds)),
        None => args.options.clone(),
    };
    let parsed = parse_url_options(&options, &args.ext).context("the options do not parse")?;
    anyhow::ensure!(!parsed.is_expired_at(now), "the URL would be expired already: its `exp` is in the past");
    let base = args.base.unwrap_or_else(|| format!("http://{}", settings.listen));
    println!("{}{}", base.trim_end_matches('/'), signed_path(&key, &options, &args.image_id, &args.ext));
    Ok(())
}
