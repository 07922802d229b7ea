//! Uploads and reads of original images. An upload is streamed to a spool file while it is
//! hashed and measured (memory stays bounded; the size limit is enforced as bytes arrive),
//! then decoded once to prove it is a whole, acceptable image, then stored by content hash.
//! A refused upload leaves nothing behind: the spool file is removed when it drops.

use atelier_imaging::{Format, SizeHint};
use atelier_storage::{now_ms, BlobKey, ImageRecord, NewImage, Sha256Hex};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::image_response;
use crate::app::AppState;
use crate::error::{ApiCode, ApiError};

pub(crate) async fn upload(
    State(state): State<AppState>,
    request: Request,
) -> Result<(StatusCode, Json<ImageRecord>), ApiError> {
    let internal = |err: std::io::Error| ApiError::new(ApiCode::Internal, format!("spooling the upload: {err}"));
    let limit = state.limits.max_input_bytes;
    let spool = tempfile::NamedTempFile::new_in(&state.upload_dir).map_err(internal)?;
    let (file, path) = spool.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut body = request.into_body().into_data_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk
            .map_err(|err| ApiError::new(ApiCode::InvalidRequest, format!("the upload was interrupted: {err}")))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(atelier_imaging::Error::InputTooLarge { actual: size, limit }.into());
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(internal)?;
    }
    file.flush().await.map_err(internal)?;
    drop(file);

    // Decode once, cheaply (JPEGs at 1/8 scale), so a truncated or hostile file is refused
    // now with its code, not later inside a job.
    let bytes = tokio::fs::read(&path).await.map_err(internal)?;
    let limits = state.limits.clone();
    let decoded = tokio::task::spawn_blocking(move || {
        atelier_imaging::decode(&bytes, &limits, Some(SizeHint { width: 1, height: 1 }))
            .map(|d| (d.format, d.source_width, d.source_height))
    })
    .await
    .map_err(|_| ApiError::new(ApiCode::Internal, "the upload check was interrupted"))??;
    let (format, width, height) = decoded;

    let digest: [u8; 32] = hasher.finalize().into();
    let hash = Sha256Hex::from_digest(&digest);
    let key = BlobKey::original(&hash);
    // Content-addressed: the same bytes uploaded twice are stored once.
    if state.blobs.head(&key).await?.is_none() {
        state.blobs.put_file(&key, &path).await?;
    }
    let image = NewImage { sha256: &hash, format: format.as_str(), width, height, bytes: size };
    let record = state.images.insert(image, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

pub(crate) async fn metadata(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ImageRecord>, ApiError> {
    Ok(Json(find(&state, &id).await?))
}

pub(crate) async fn original(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let record = find(&state, &id).await?;
    let bytes = state.blobs.get(&record.blob_key()?).await?;
    image_response(bytes, Format::from_name(&record.format))
}

pub(crate) async fn find(state: &AppState, id: &str) -> Result<ImageRecord, ApiError> {
    state.images.get(id).await?.ok_or_else(|| ApiError::new(ApiCode::ImageNotFound, format!("image `{id}` not found")))
}
