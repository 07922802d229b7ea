//! Importing a dataset from an archive or a blob-store prefix. An archive upload is spooled
//! to disk under the size limit, then read entry by entry on a blocking thread under the
//! archive limits (entries, sizes, compression ratio, names: the dataset crate's rules); a
//! prefix is listed and read blob by blob. Either way each image is decoded once to prove
//! it whole and hashed, and the async side stores images a chunk at a time (rows first,
//! then bytes, as every upload does). Anything that fails the import after images were
//! stored deletes them again and collects their bytes: a refused import leaves nothing.

use std::io::BufReader;

use atelier_dataset::{ArchiveLimits, ArchiveReader, Content, EntryName, ItemMetadata, Metadata, SkipReason};
use atelier_imaging::{Limits, SizeHint};
use atelier_storage::{now_ms, BlobKey, DatasetRecord, NewDatasetItem, NewImage, Scope, Sha256Hex};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiCode, ApiError};
use crate::ingest::{self, Spooled};

/// Images stored per transaction.
const CHUNK: usize = 100;
/// Skipped entries listed in the summary; past it they are only counted.
const MAX_LISTED: usize = 1000;

/// One entry the import did not take, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct SkippedEntry {
    name: String,
    /// `not_an_image`, `empty`, `unsupported_image`, or the imaging core's code for an
    /// image that does not decode (`truncated_image`, `too_many_pixels`, ...).
    reason: String,
}

/// What an import found besides its items: stored as the dataset's summary.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub(crate) struct ImportSummary {
    /// Entries in the archive (files and folders).
    pub(crate) entries: u64,
    pub(crate) skipped: Vec<SkippedEntry>,
    /// Skipped entries past the first 1000, counted only.
    pub(crate) skipped_omitted: u64,
    /// The metadata file's columns, in order; empty without one.
    pub(crate) columns: Vec<String>,
    /// Metadata rows that could not be read: `line 12: expected 10 fields, found 9`.
    pub(crate) warnings: Vec<String>,
    /// Items no metadata row describes (with a metadata file).
    pub(crate) unmatched_items: u64,
}

/// An image entry, checked and hashed on the reading thread.
struct Checked {
    name: EntryName,
    bytes: Vec<u8>,
    sha256: Sha256Hex,
    format: &'static str,
    width: u32,
    height: u32,
}

enum Read {
    Image(Checked),
    Skipped(SkippedEntry),
    Done { entries: u64 },
    Failed(atelier_dataset::Error),
    Store(atelier_storage::Error),
}

/// Where the images come from.
pub(crate) enum Source {
    /// An uploaded archive, spooled.
    Archive(Spooled),
    /// Every blob under a prefix of the blob store (`imports/...`), named by the rest of its key.
    Prefix(BlobKey),
}

/// Imports `source` as a dataset of the caller's, its items described by `metadata` where a
/// row matches.
pub(crate) async fn import(
    state: &AppState,
    caller: &Caller,
    name: &str,
    source: Source,
    metadata: Option<Metadata>,
) -> Result<DatasetRecord, ApiError> {
    let (tx, mut rx) = mpsc::channel::<Read>(16);
    let limits = state.limits.clone();
    let archive_limits = state.archive_limits.clone();
    // The spool file must outlive the reading thread.
    let (_spooled, reader) = match source {
        Source::Archive(archive) => {
            ingest::check_quota(state, caller, archive.size).await?;
            let path = archive.path.to_path_buf();
            let reader = tokio::task::spawn_blocking(move || read_archive(&path, &archive_limits, &limits, &tx));
            (Some(archive), reader)
        }
        Source::Prefix(prefix) => {
            let blobs = state.blobs.clone();
            (None, tokio::spawn(read_prefix(blobs, prefix, archive_limits, limits, tx)))
        }
    };

    let mut stored: Vec<(EntryName, atelier_storage::ImageRecord)> = Vec::new();
    let mut pending: Vec<Checked> = Vec::new();
    let mut summary = ImportSummary::default();
    let outcome: Result<(), ApiError> = async {
        while let Some(read) = rx.recv().await {
            match read {
                Read::Image(checked) => {
                    pending.push(checked);
                    if pending.len() == CHUNK {
                        store_chunk(state, caller, std::mem::take(&mut pending), &mut stored).await?;
                    }
                }
                Read::Skipped(entry) if summary.skipped.len() < MAX_LISTED => summary.skipped.push(entry),
                Read::Skipped(_) => summary.skipped_omitted += 1,
                Read::Done { entries } => summary.entries = entries,
                Read::Failed(err) => return Err(err.into()),
                Read::Store(err) => return Err(err.into()),
            }
        }
        store_chunk(state, caller, std::mem::take(&mut pending), &mut stored).await?;
        if stored.is_empty() {
            return Err(ApiError::new(
                ApiCode::DatasetEmpty,
                "found no image atelier can read: every entry was skipped (see the list in a successful import)",
            ));
        }
        Ok(())
    }
    .await;
    drop(rx);
    let _ = reader.await;
    if let Err(err) = outcome {
        undo(state, &stored).await;
        return Err(err);
    }

    let stems = atelier_dataset::unique_stems(stored.iter().map(|(name, _)| name.as_str()));
    if let Some(metadata) = &metadata {
        summary.columns = metadata.columns().map(str::to_string).collect();
        summary.warnings = metadata.warnings().iter().map(ToString::to_string).collect();
    }
    let items: Vec<NewDatasetItem> = stored
        .iter()
        .zip(stems)
        .map(|((name, record), stem)| {
            let row = metadata.as_ref().and_then(|m| m.lookup(name.as_str()));
            if metadata.is_some() && row.is_none() {
                summary.unmatched_items += 1;
            }
            let fields = row.map(ItemMetadata::from).unwrap_or_default();
            NewDatasetItem {
                name: name.as_str().to_string(),
                stem,
                image_id: record.id.clone(),
                sha256: record.sha256.clone(),
                metadata: serde_json::to_string(&fields).unwrap_or_else(|_| "{}".into()),
            }
        })
        .collect();
    let text = serde_json::to_string(&summary).unwrap_or_else(|_| "{}".into());
    match state.datasets.create(caller.id(), name, &text, true, &items, now_ms()).await {
        Ok(record) => Ok(record),
        Err(err) => {
            undo(state, &stored).await;
            Err(err.into())
        }
    }
}

/// The reading thread: every entry of the archive, checked, in order.
fn read_archive(path: &std::path::Path, archive_limits: &ArchiveLimits, limits: &Limits, tx: &mpsc::Sender<Read>) {
    let send = |read: Read| tx.blocking_send(read).is_ok();
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) => {
            send(Read::Failed(atelier_dataset::Error::Io(err)));
            return;
        }
    };
    let mut reader = match ArchiveReader::open(BufReader::new(file), archive_limits.clone()) {
        Ok(reader) => reader,
        Err(err) => {
            send(Read::Failed(err));
            return;
        }
    };
    loop {
        let entry = match reader.next_entry() {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(err) => {
                send(Read::Failed(err));
                return;
            }
        };
        let read = match entry.content {
            Content::Skipped(reason) => {
                Read::Skipped(SkippedEntry { name: entry.name.to_string(), reason: skip_reason(reason) })
            }
            Content::Image(_) => check(entry.name, entry.bytes, limits),
        };
        if !send(read) {
            return; // the import gave up
        }
    }
    send(Read::Done { entries: reader.totals().entries });
}

/// Every blob under `prefix`, in key order, as the archive reader would give its entries.
async fn read_prefix(
    blobs: std::sync::Arc<dyn atelier_storage::BlobStore>,
    prefix: BlobKey,
    archive_limits: ArchiveLimits,
    limits: Limits,
    tx: mpsc::Sender<Read>,
) {
    let mut listed = match blobs.list(&prefix).await {
        Ok(listed) => listed,
        Err(err) => {
            let _ = tx.send(Read::Store(err)).await;
            return;
        }
    };
    if listed.len() as u64 > archive_limits.max_entries {
        let _ =
            tx.send(Read::Failed(atelier_dataset::Error::TooManyEntries { limit: archive_limits.max_entries })).await;
        return;
    }
    listed.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    let entries = listed.len() as u64;
    let base = format!("{}/", prefix.as_str().trim_end_matches('/'));
    for blob in listed {
        let relative = blob.key.as_str().strip_prefix(&base).unwrap_or(blob.key.as_str()).to_string();
        let read = match EntryName::parse(&relative) {
            Err(reason) => Read::Failed(atelier_dataset::Error::UnsafeEntry { name: relative, reason }),
            Ok(name) if blob.size > archive_limits.max_entry_bytes => {
                Read::Failed(atelier_dataset::Error::EntryTooLarge {
                    name: name.to_string(),
                    limit: archive_limits.max_entry_bytes,
                })
            }
            Ok(name) => match blobs.get(&blob.key).await {
                Err(err) => Read::Store(err),
                Ok(bytes) => {
                    let limits = limits.clone();
                    let bytes = bytes.to_vec();
                    let checked = tokio::task::spawn_blocking(move || match atelier_dataset::classify(&bytes) {
                        Content::Skipped(reason) => {
                            Read::Skipped(SkippedEntry { name: name.to_string(), reason: skip_reason(reason) })
                        }
                        Content::Image(_) => check(name, bytes, &limits),
                    });
                    match checked.await {
                        Ok(read) => read,
                        Err(_) => return,
                    }
                }
            },
        };
        let stop = matches!(read, Read::Failed(_) | Read::Store(_));
        if tx.send(read).await.is_err() || stop {
            return;
        }
    }
    let _ = tx.send(Read::Done { entries }).await;
}

/// An image entry decoded once (cheaply) to prove it whole, and hashed; else why it is skipped.
fn check(name: EntryName, bytes: Vec<u8>, limits: &Limits) -> Read {
    match atelier_imaging::decode(&bytes, limits, Some(SizeHint { width: 1, height: 1 })) {
        Err(err) => Read::Skipped(SkippedEntry { name: name.to_string(), reason: err.code().as_str().to_string() }),
        Ok(decoded) => {
            let digest: [u8; 32] = Sha256::digest(&bytes).into();
            Read::Image(Checked {
                sha256: Sha256Hex::from_digest(&digest),
                format: decoded.format.as_str(),
                width: decoded.source_width,
                height: decoded.source_height,
                name,
                bytes,
            })
        }
    }
}

fn skip_reason(reason: SkipReason) -> String {
    match reason {
        SkipReason::Empty => "empty".into(),
        SkipReason::NotAnImage => "not_an_image".into(),
        SkipReason::UnsupportedImage(_) => "unsupported_image".into(),
    }
}

/// Stores a chunk of images as the caller's: the rows in one transaction, then the bytes.
async fn store_chunk(
    state: &AppState,
    caller: &Caller,
    chunk: Vec<Checked>,
    stored: &mut Vec<(EntryName, atelier_storage::ImageRecord)>,
) -> Result<(), ApiError> {
    if chunk.is_empty() {
        return Ok(());
    }
    let new: Vec<NewImage<'_>> = chunk
        .iter()
        .map(|c| NewImage {
            sha256: &c.sha256,
            format: c.format,
            width: c.width,
            height: c.height,
            bytes: c.bytes.len() as u64,
        })
        .collect();
    let records = state.images.insert_many(Some(caller.id()), &new, now_ms()).await?;
    drop(new);
    for (checked, record) in chunk.into_iter().zip(records) {
        let key = BlobKey::original(&checked.sha256);
        stored.push((checked.name, record));
        // Content-addressed: bytes stored already (another upload, or twice in one archive) stay.
        if state.blobs.head(&key).await?.is_none() {
            state.blobs.put(&key, checked.bytes.into()).await?;
        }
    }
    Ok(())
}

/// Deletes what a failed import stored, and the bytes nothing else uses.
async fn undo(state: &AppState, stored: &[(EntryName, atelier_storage::ImageRecord)]) {
    if stored.is_empty() {
        return;
    }
    let now = now_ms();
    for (_, record) in stored {
        let _ = state.images.delete(Scope::All, &record.id, now).await;
    }
    let _ = state.images.collect(state.blobs.as_ref(), u32::try_from(stored.len()).unwrap_or(u32::MAX)).await;
}
