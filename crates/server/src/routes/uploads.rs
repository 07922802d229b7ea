//! Resumable uploads for big files: create a session with the total size, PUT parts at
//! increasing offsets (a lost connection resumes from the offset the session reports), then
//! complete it into an image through the same checks as a one-shot upload.

use atelier_storage::{now_ms, BlobKey, ImageRecord, PartOutcome, Scope, UploadSession};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::Json;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::images::ImageView;
use super::{is_form, AppJson, AppPath, AppQuery};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiCode, ApiError, ErrorBody};
use crate::ingest;

/// Largest part one PUT may carry; parts are held in memory once, when completing.
pub const MAX_PART_BYTES: u64 = 16 * 1024 * 1024;
/// How long a session may sit unfinished before it and its parts are deleted.
const SESSION_TTL_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUpload {
    /// The file's total size in bytes.
    #[schema(minimum = 1)]
    size: u64,
}

/// A resumable upload session.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UploadView {
    id: String,
    /// The total size declared at creation.
    size: i64,
    /// Bytes received so far: the offset of the next part.
    received: i64,
    /// Milliseconds since the Unix epoch.
    created_at: i64,
    /// When the unfinished session and its parts are deleted (ms since the epoch).
    expires_at: i64,
    /// The most one part may carry.
    max_part_bytes: u64,
}

impl From<UploadSession> for UploadView {
    fn from(session: UploadSession) -> UploadView {
        let UploadSession { id, size, received, created_at, expires_at, owner_id: _ } = session;
        UploadView { id, size, received, created_at, expires_at, max_part_bytes: MAX_PART_BYTES }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PartQuery {
    /// Where this part starts: the session's `received`.
    offset: u64,
}

/// Starts a resumable upload of `size` bytes.
#[utoipa::path(
    post,
    path = "/v1/uploads",
    tag = "uploads",
    request_body = CreateUpload,
    responses(
        (status = 201, description = "Started", body = UploadView),
        (status = 400, description = "Malformed, or a zero size", body = ErrorBody),
        (status = 413, description = "Over the upload size limit, or past the account's storage quota", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 429, description = "Too many uploads from this account; see Retry-After", body = ErrorBody),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(request): AppJson<CreateUpload>,
) -> Result<(StatusCode, Json<UploadView>), ApiError> {
    let limit = state.limits.max_input_bytes;
    if request.size == 0 {
        return Err(ApiError::new(ApiCode::InvalidRequest, "`size` must be at least 1 byte"));
    }
    if request.size > limit {
        return Err(ingest::too_large(request.size, limit));
    }
    state.auth.check_expensive(&caller)?;
    ingest::check_quota(&state, &caller, request.size).await?;
    sweep_expired(&state);
    let session = state.uploads.create(Some(caller.id()), request.size, now_ms(), SESSION_TTL_MS).await?;
    Ok((StatusCode::CREATED, Json(session.into())))
}

/// Where an upload stands: resume from `received`.
#[utoipa::path(
    get,
    path = "/v1/uploads/{id}",
    tag = "uploads",
    params(("id" = String, Path, description = "The upload's id")),
    responses(
        (status = 200, description = "Found", body = UploadView),
        (status = 404, description = "No such upload, or it expired", body = ErrorBody),
    )
)]
pub(crate) async fn status(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<Json<UploadView>, ApiError> {
    Ok(Json(find(&state, caller.scope(), &id).await?.into()))
}

/// Sends the part that starts at `offset`; the body is its bytes.
#[utoipa::path(
    put,
    path = "/v1/uploads/{id}",
    tag = "uploads",
    params(("id" = String, Path, description = "The upload's id"), PartQuery),
    request_body(content = String, content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "Taken", body = UploadView),
        (status = 400, description = "An empty part or a bad offset", body = ErrorBody),
        (status = 404, description = "No such upload, or it expired", body = ErrorBody),
        (status = 409, description = "The part does not start where the upload stands", body = ErrorBody),
        (status = 413, description = "Over the part limit or past the declared size", body = ErrorBody),
        (status = 415, description = "A form, where the raw bytes belong", body = ErrorBody),
    )
)]
pub(crate) async fn put_part(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
    AppQuery(query): AppQuery<PartQuery>,
    request: Request,
) -> Result<Json<UploadView>, ApiError> {
    if is_form(request.headers()) {
        // The form's envelope would be stored as part of the file, and found out only when
        // completing, which then throws the whole upload away.
        let message = "a part is the file's raw bytes: send it as `application/octet-stream`, not as a form";
        return Err(ApiError::new(ApiCode::UnsupportedMediaType, message));
    }
    let session = find(&state, caller.scope(), &id).await?;
    let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
    if offset != session.received {
        return Err(out_of_step(offset, session.received));
    }
    let room = u64::try_from(session.size - session.received).unwrap_or(0);
    let spooled = ingest::spool(&state, request.into_body().into_data_stream(), room.min(MAX_PART_BYTES))
        .await
        .map_err(|err| match err.code {
            ApiCode::Image(atelier_imaging::Code::InputTooLarge) => ApiError::new(
                ApiCode::RequestTooLarge,
                format!(
                    "a part may carry at most {} bytes, and this session has {room} left to receive",
                    MAX_PART_BYTES
                ),
            ),
            _ => err,
        })?;
    if spooled.size == 0 {
        return Err(ApiError::new(ApiCode::InvalidRequest, "the part is empty"));
    }
    let key = BlobKey::upload_part(&session.id, &uuid::Uuid::new_v4().simple().to_string())?;
    state.blobs.put_file(&key, &spooled.path).await?;
    let length = i64::try_from(spooled.size).unwrap_or(i64::MAX);
    let outcome = state.uploads.add_part(&session.id, offset, length, &key, now_ms()).await;
    if !matches!(outcome, Ok(PartOutcome::Accepted { .. })) {
        // Only a recorded part may keep its blob.
        let _ = state.blobs.delete(&key).await;
    }
    match outcome? {
        PartOutcome::Accepted { .. } => Ok(Json(find(&state, caller.scope(), &id).await?.into())),
        PartOutcome::OutOfStep { received } => Err(out_of_step(offset, received)),
        PartOutcome::Gone => Err(not_found(&id)),
    }
}

/// Turns the received parts into an image, checked like a one-shot upload.
#[utoipa::path(
    post,
    path = "/v1/uploads/{id}/complete",
    tag = "uploads",
    params(("id" = String, Path, description = "The upload's id")),
    responses(
        (status = 201, description = "Stored", body = ImageView),
        (status = 404, description = "No such upload, or it expired", body = ErrorBody),
        (status = 409, description = "Bytes are missing, or another completion is under way", body = ErrorBody),
        (status = 413, description = "Over an image limit", body = ErrorBody),
        (status = 415, description = "Not an image format atelier reads", body = ErrorBody),
        (status = 422, description = "A corrupt or truncated image", body = ErrorBody),
    )
)]
pub(crate) async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<(StatusCode, Json<ImageView>), ApiError> {
    let session = find(&state, caller.scope(), &id).await?;
    if session.received != session.size {
        let message = format!(
            "upload `{id}` has {} of its {} bytes; PUT the rest from offset {} first",
            session.received, session.size, session.received
        );
        return Err(ApiError::new(ApiCode::UploadIncomplete, message));
    }
    if !state.uploads.begin_completion(&id, now_ms()).await? {
        return Err(ApiError::new(ApiCode::UploadConflict, format!("upload `{id}` is already being completed")));
    }
    match assemble(&state, &caller, &session).await {
        Ok(image) => {
            state.uploads.remove(&id, state.blobs.as_ref()).await?;
            Ok((StatusCode::CREATED, Json(image.into())))
        }
        Err(err) if err.code.status().is_server_error() => {
            // A passing failure: the parts stay, and completing may be tried again.
            let _ = state.uploads.abandon_completion(&id).await;
            Err(err)
        }
        Err(err) => {
            // The bytes are not an acceptable image and never will be.
            let _ = state.uploads.remove(&id, state.blobs.as_ref()).await;
            Err(err)
        }
    }
}

async fn assemble(state: &AppState, caller: &Caller, session: &UploadSession) -> Result<ImageRecord, ApiError> {
    let parts = state.uploads.parts(&session.id).await?;
    let blobs = state.blobs.clone();
    let stream = futures::stream::iter(parts).then(move |part| {
        let blobs = blobs.clone();
        async move { blobs.get(&part.key).await }
    });
    let limit = u64::try_from(session.size).unwrap_or(0);
    let spooled = ingest::spool(state, Box::pin(stream), limit).await?;
    ingest::store(state, caller, spooled).await
}

/// Abandons an upload and deletes its parts.
#[utoipa::path(
    delete,
    path = "/v1/uploads/{id}",
    tag = "uploads",
    params(("id" = String, Path, description = "The upload's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such upload, or it expired", body = ErrorBody),
    )
)]
pub(crate) async fn abort(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<StatusCode, ApiError> {
    find(&state, caller.scope(), &id).await?;
    state.uploads.remove(&id, state.blobs.as_ref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn sweep_expired(state: &AppState) {
    let (uploads, blobs) = (state.uploads.clone(), state.blobs.clone());
    tokio::spawn(async move {
        let expired = match uploads.expired(now_ms(), 20).await {
            Ok(ids) => ids,
            Err(err) => return eprintln!("atelier-server: finding expired uploads: {err}"),
        };
        for id in expired {
            if let Err(err) = uploads.remove(&id, blobs.as_ref()).await {
                eprintln!("atelier-server: removing expired upload {id}: {err}");
            }
        }
    });
}

async fn find(state: &AppState, scope: Scope<'_>, id: &str) -> Result<UploadSession, ApiError> {
    state.uploads.get(scope, id, now_ms()).await?.ok_or_else(|| not_found(id))
}

fn out_of_step(offset: i64, received: i64) -> ApiError {
    let message =
        format!("this part starts at byte {offset}, but the upload has {received} bytes: resume from {received}");
    ApiError::new(ApiCode::UploadOffsetMismatch, message)
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(ApiCode::UploadNotFound, format!("upload `{id}` not found (or it expired)"))
}
