//! Signed transform URLs, `GET /t/{signature}/{options}/{image_id}.{ext}`: verify, parse,
//! negotiate the format, then serve from the derived-blob cache or render once. The syntax
//! and the signing scheme are documented in `docs/transform-urls.md`.

mod flight;
mod http;
mod signing;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use atelier_imaging::{parse_url_options, Format, UrlFormat, UrlOptions};
use atelier_storage::{BlobKey, ImageRecord, Scope, Sha256Hex};
use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use axum::response::Response;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use self::flight::{Bill, Flights, Job};
use self::http::{error_response, Caching, YEAR_SECS};
pub use self::signing::{sign, signed_path, verify, KeyError, SigningKey, MIN_KEY_LEN, SIGNATURE_LEN};
use crate::app::AppState;
use crate::error::{ApiCode, ApiError};
use crate::negotiate::{accepts, not_modified};
use crate::routes::images;

/// How the transform route is set up. With no keys the route answers `transform_disabled`:
/// there is no default key, so nothing is served until an operator chooses one.
#[derive(Debug, Clone)]
pub struct TransformConfig {
    /// Every key a URL may be signed with; `atelier sign` uses the first. Several at once let
    /// a new key be added before the old one is retired.
    pub keys: Vec<SigningKey>,
    /// Renders running at once (at least 1).
    pub max_concurrent: usize,
    /// Renders waiting for a turn; one more is refused with 429 `too_busy`.
    pub max_waiting: usize,
}

impl Default for TransformConfig {
    fn default() -> Self {
        TransformConfig {
            keys: Vec::new(),
            max_concurrent: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_waiting: 64,
        }
    }
}

/// Counters for the transform route, for metrics. A request that joins another's flight
/// counts once in `coalesced`; each flight counts once in `hits`, `misses` or `rejected`.
#[derive(Debug, Default)]
pub struct TransformStats {
    /// Flights served from the derived-blob cache.
    pub hits: AtomicU64,
    /// Flights that rendered (the cache did not have the output).
    pub misses: AtomicU64,
    /// Requests that waited for an identical request's flight instead of starting their own.
    pub coalesced: AtomicU64,
    /// Requests answered 304 from `If-None-Match`, before any lookup.
    pub not_modified: AtomicU64,
    /// Flights refused with 429 because the render queue was full.
    pub rejected: AtomicU64,
}

/// The transform route's shared state: keys, the render queue, flights and counters.
#[derive(Debug)]
pub struct TransformState {
    keys: Vec<SigningKey>,
    /// Renders running or waiting: `max_concurrent + max_waiting` places.
    queue: Arc<Semaphore>,
    /// Renders running: `max_concurrent` permits.
    renders: Semaphore,
    flights: Flights,
    pub stats: TransformStats,
}

impl TransformState {
    pub fn new(config: TransformConfig) -> TransformState {
        let running = config.max_concurrent.max(1);
        TransformState {
            keys: config.keys,
            queue: Arc::new(Semaphore::new(running.saturating_add(config.max_waiting))),
            renders: Semaphore::new(running),
            flights: Mutex::new(HashMap::new()),
            stats: TransformStats::default(),
        }
    }

    /// Whether any key is configured, i.e. whether the route serves anything.
    pub fn enabled(&self) -> bool {
        !self.keys.is_empty()
    }
}

/// `GET /t/{*path}`. Reads the raw path, not the decoded one, so the signature covers the
/// bytes the client sent and no percent-decoding happens before it is checked.
pub(crate) async fn serve(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    respond(&state, uri.path(), &headers).await.unwrap_or_else(error_response)
}

async fn respond(state: &AppState, path: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    let transform = &state.transform;
    if !transform.enabled() {
        return Err(ApiError::new(ApiCode::TransformDisabled, "transform URLs are not enabled on this server"));
    }
    // Nothing but splitting happens before the signature is checked: unsigned requests cost
    // one HMAC per key at most.
    let (signature, signed) = path.strip_prefix("/t/").and_then(|rest| rest.split_once('/')).unwrap_or(("", ""));
    if !signing::verify(&transform.keys, signature, signed) {
        return Err(ApiError::new(ApiCode::InvalidSignature, "the URL's signature does not match its path"));
    }
    let (options, file) = signed.rsplit_once('/').unwrap_or(("", signed));
    let (image_id, ext) = file.rsplit_once('.').unwrap_or((file, ""));
    let options =
        parse_url_options(options, ext).map_err(|err| ApiError::new(ApiCode::InvalidPipeline, err.to_string()))?;
    let now = now_secs();
    if options.is_expired_at(now) {
        return Err(ApiError::new(ApiCode::UrlExpired, "this URL has expired; ask for a new one"));
    }
    // Signed URLs are public: whoever holds one may fetch it, and the image's owner pays.
    let record = images::find(state, Scope::All, image_id).await?;
    let format = options.output().negotiate(
        accepts(headers, header::ACCEPT, Format::Avif.mime_type()),
        accepts(headers, header::ACCEPT, Format::Webp.mime_type()),
        may_have_alpha(&record),
    );
    let (key, hash) = cache_key(&record, &options, format)?;
    let etag = format!("\"{}\"", hash.as_str());
    let max_age = options.expires().map_or(YEAR_SECS, |expires| expires.saturating_sub(now).min(YEAR_SECS));
    let caching = Caching { etag: &etag, vary_accept: options.output() == UrlFormat::Auto, max_age };
    // The key is known before any lookup, so a revalidation costs no read and no render.
    if not_modified(headers, &etag) {
        transform.stats.not_modified.fetch_add(1, Relaxed);
        return caching.not_modified();
    }
    let pipeline = options.pipeline_for(format);
    let bill = bill(state, &record, pipeline.cost());
    let job = Job {
        key,
        source: record.blob_key()?,
        pipeline,
        blobs: state.blobs.clone(),
        limits: state.limits.clone(),
        bill,
    };
    let bytes = transform.fetch(job).await?;
    caching.ok(bytes, format.mime_type())
}

/// The charge for a render of `record` costing `cost`, when credits are on and someone owns it.
fn bill(state: &AppState, record: &ImageRecord, cost: u32) -> Option<Bill> {
    let owner = record.owner_id.clone().filter(|_| state.auth.config.credits)?;
    Some(Bill { credits: state.credits.clone(), owner, amount: i64::from(cost) })
}

/// Whether `auto` must keep transparency (PNG rather than JPEG) for clients that take neither
/// AVIF nor WebP. Judged by the source's format, not its pixels: deciding from pixels would
/// mean reading and decoding the original before the cache could even be consulted. Only
/// JPEG can carry no alpha at all, so only JPEG sources fall back to JPEG.
fn may_have_alpha(record: &ImageRecord) -> bool {
    Format::from_name(&record.format) != Some(Format::Jpeg)
}

/// `sha256(source sha256 + "\n" + canonical options for the format)`, and its blob key.
fn cache_key(record: &ImageRecord, options: &UrlOptions, format: Format) -> Result<(BlobKey, Sha256Hex), ApiError> {
    let source = record.hash()?;
    let mut hasher = Sha256::new();
    hasher.update(source.as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(options.canonical_for(format).as_bytes());
    let hash = Sha256Hex::from_digest(&hasher.finalize().into());
    Ok((BlobKey::derived(&hash, format.extension())?, hash))
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}
