//! Getting an image in: a byte stream spooled to a temporary file while it is hashed and
//! measured (memory stays bounded; the size limit is enforced as bytes arrive), decoded once
//! to prove it is a whole, acceptable image, then stored by content hash. Raw, multipart and
//! resumable uploads all end here. A refused upload leaves nothing behind: the spool file
//! is removed when it drops, and no row or blob is written before the check passes.

use atelier_imaging::SizeHint;
use atelier_storage::{now_ms, BlobKey, Error, ImageRecord, NewImage, Quota, Scope, Sha256Hex};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiCode, ApiError};

/// Bytes on disk, with what was learnt on the way.
pub(crate) struct Spooled {
    pub path: TempPath,
    pub size: u64,
    pub sha256: Sha256Hex,
}

fn internal(err: std::io::Error) -> ApiError {
    ApiError::new(ApiCode::Internal, format!("spooling the upload: {err}"))
}

/// Writes `stream` to a spool file, refusing it as soon as it passes `limit` bytes.
pub(crate) async fn spool<S, E>(state: &AppState, mut stream: S, limit: u64) -> Result<Spooled, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let spool = tempfile::NamedTempFile::new_in(&state.upload_dir).map_err(internal)?;
    let (file, path) = spool.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|err| ApiError::new(ApiCode::InvalidRequest, format!("the upload was interrupted: {err}")))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(too_large(size, limit));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(internal)?;
    }
    file.flush().await.map_err(internal)?;
    let digest: [u8; 32] = hasher.finalize().into();
    Ok(Spooled { path, size, sha256: Sha256Hex::from_digest(&digest) })
}

pub(crate) fn too_large(actual: u64, limit: u64) -> ApiError {
    atelier_imaging::Error::InputTooLarge { actual, limit }.into()
}

/// Refuses `incoming` more bytes when they would take the caller past their storage quota.
/// Checked before the bytes are kept; two uploads racing may pass it together, overshooting
/// by at most one upload each, which a quota (unlike a balance) can bear.
pub(crate) async fn check_quota(state: &AppState, caller: &Caller, incoming: u64) -> Result<(), ApiError> {
    let Some(limit) = caller.quotas(state.auth.config.default_quotas).bytes else { return Ok(()) };
    let used = state.images.bytes_stored(caller.id()).await?;
    if used.saturating_add(i64::try_from(incoming).unwrap_or(i64::MAX)) > limit {
        return Err(Error::QuotaExceeded { what: Quota::Bytes, limit, used }.into());
    }
    Ok(())
}

/// Checks a spooled file is an acceptable image and stores it as the caller's.
pub(crate) async fn store(state: &AppState, caller: &Caller, spooled: Spooled) -> Result<ImageRecord, ApiError> {
    if spooled.size == 0 {
        return Err(atelier_imaging::Error::Empty.into());
    }
    check_quota(state, caller, spooled.size).await?;
    // Decode once, cheaply (JPEGs at 1/8 scale), so a truncated or hostile file is refused
    // now with its code, not later inside a job.
    let bytes = tokio::fs::read(&spooled.path).await.map_err(internal)?;
    let limits = state.limits.clone();
    let (format, width, height) = tokio::task::spawn_blocking(move || {
        atelier_imaging::decode(&bytes, &limits, Some(SizeHint { width: 1, height: 1 }))
            .map(|d| (d.format, d.source_width, d.source_height))
    })
    .await
    .map_err(|_| ApiError::new(ApiCode::Internal, "the upload check was interrupted"))??;

    let image = NewImage { sha256: &spooled.sha256, format: format.as_str(), width, height, bytes: spooled.size };
    // The row first: it keeps the bytes from being collected while they are written.
    let record = state.images.insert(Some(caller.id()), image, now_ms()).await?;
    let key = BlobKey::original(&spooled.sha256);
    // Content-addressed: the same bytes uploaded twice are stored once.
    let stored = match state.blobs.head(&key).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => state.blobs.put_file(&key, &spooled.path).await,
        Err(err) => Err(err),
    };
    if let Err(err) = stored {
        // Nothing half-done stays visible: the row goes, and its bytes with it if unused.
        let _ = state.images.delete(Scope::All, &record.id, now_ms()).await;
        return Err(err.into());
    }
    Ok(record)
}
