//! Images: upload (a raw body or one multipart file field), metadata, the original's bytes,
//! listing, and deletion.

use atelier_storage::{now_ms, ImageRecord, Images, Scope};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use futures::TryStreamExt;
use serde::Serialize;
use utoipa::ToSchema;

use super::{image_response, is_form, AppPath, AppQuery, Page, PageQuery};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiCode, ApiError, ErrorBody};
use crate::ingest;

/// An uploaded original.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImageView {
    id: String,
    /// SHA-256 of the bytes, lowercase hex.
    sha256: String,
    /// Sniffed from the bytes: jpeg, png, webp, gif, bmp, tiff.
    format: String,
    width: i64,
    height: i64,
    bytes: i64,
    /// Milliseconds since the Unix epoch.
    created_at: i64,
}

impl From<ImageRecord> for ImageView {
    fn from(record: ImageRecord) -> ImageView {
        let ImageRecord { id, sha256, format, width, height, bytes, created_at, owner_id: _ } = record;
        ImageView { id, sha256, format, width, height, bytes, created_at }
    }
}

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the form; the handler streams it
pub(crate) struct UploadForm {
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

/// Uploads an image: the body is the image itself, or `multipart/form-data` with one
/// `file` field. The bytes are checked (a whole, decodable image within the limits) before
/// anything is stored; the same bytes uploaded twice are stored once.
#[utoipa::path(
    post,
    path = "/v1/images",
    tag = "images",
    request_body(content(
        (String = "application/octet-stream"),
        (UploadForm = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "Stored", body = ImageView),
        (status = 400, description = "Empty or malformed", body = ErrorBody),
        (status = 413, description = "Over a size limit, or past the account's storage quota (`quota_exceeded`)", body = ErrorBody),
        (status = 415, description = "Not an image format atelier reads", body = ErrorBody),
        (status = 422, description = "A corrupt or truncated image", body = ErrorBody),
        (status = 429, description = "Too many uploads from this account; see Retry-After", body = ErrorBody),
    )
)]
pub(crate) async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<(StatusCode, Json<ImageView>), ApiError> {
    state.auth.check_expensive(&caller)?;
    let limit = state.limits.max_input_bytes;
    let spooled = if is_form(request.headers()) {
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|rejection| ApiError::new(ApiCode::InvalidMultipart, rejection.body_text()))?;
        spool_multipart(&state, multipart, limit).await?
    } else {
        ingest::spool(&state, request.into_body().into_data_stream(), limit).await?
    };
    Ok((StatusCode::CREATED, Json(ingest::store(&state, &caller, spooled).await?.into())))
}

/// The one `file` field of a form; other fields are refused rather than ignored, so a
/// client that sends two files learns at once that only one was taken.
async fn spool_multipart(state: &AppState, mut form: Multipart, limit: u64) -> Result<ingest::Spooled, ApiError> {
    let bad = |message: String| ApiError::new(ApiCode::InvalidMultipart, message);
    let mut spooled = None;
    while let Some(field) = form.next_field().await.map_err(|err| bad(err.body_text()))? {
        let name = field.name().unwrap_or_default().to_string();
        if name != "file" {
            return Err(bad(format!("unexpected form field `{name}`: send the image in one field named `file`")));
        }
        if spooled.is_some() {
            return Err(bad("send one image per request: the form has a second `file` field".into()));
        }
        let stream = field.map_err(|err| err.body_text());
        let field = ingest::spool(state, Box::pin(stream), limit).await.map_err(|err| match err.code {
            // A body that breaks off mid-field is a malformed form.
            ApiCode::InvalidRequest => ApiError::new(ApiCode::InvalidMultipart, err.message),
            _ => err,
        })?;
        spooled = Some(field);
    }
    spooled.ok_or_else(|| bad("the form has no `file` field".into()))
}

/// An image's facts.
#[utoipa::path(
    get,
    path = "/v1/images/{id}",
    tag = "images",
    params(("id" = String, Path, description = "The image's id")),
    responses(
        (status = 200, description = "Found", body = ImageView),
        (status = 404, description = "No such image", body = ErrorBody),
    )
)]
pub(crate) async fn metadata(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<Json<ImageView>, ApiError> {
    Ok(Json(find(&state, caller.scope(), &id).await?.into()))
}

/// The original bytes, as uploaded.
#[utoipa::path(
    get,
    path = "/v1/images/{id}/original",
    tag = "images",
    params(("id" = String, Path, description = "The image's id")),
    responses(
        (status = 200, description = "The bytes", content_type = "image/*", body = String),
        (status = 404, description = "No such image", body = ErrorBody),
    )
)]
pub(crate) async fn original(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<Response, ApiError> {
    let record = find(&state, caller.scope(), &id).await?;
    let bytes = state.blobs.get(&record.blob_key()?).await?;
    image_response(bytes, atelier_imaging::Format::from_name(&record.format))
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImageList {
    items: Vec<ImageView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// Images, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/images",
    tag = "images",
    params(PageQuery),
    responses(
        (status = 200, description = "A page", body = ImageList),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(params): AppQuery<PageQuery>,
) -> Result<Json<ImageList>, ApiError> {
    let page = Page::new(params.cursor, params.limit)?;
    if let Some(cursor) = page.cursor.as_deref() {
        if !Images::valid_cursor(cursor) {
            return Err(Page::bad_cursor(cursor));
        }
    }
    let found = state.images.list(caller.scope(), page.cursor.as_deref(), page.limit).await?;
    Ok(Json(ImageList { items: found.images.into_iter().map(ImageView::from).collect(), next_cursor: found.next }))
}

/// Deletes an image. It is gone at once; its bytes stay while a queued or running job
/// reads them, and are removed afterwards.
#[utoipa::path(
    delete,
    path = "/v1/images/{id}",
    tag = "images",
    params(("id" = String, Path, description = "The image's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such image", body = ErrorBody),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<StatusCode, ApiError> {
    if !state.images.delete(caller.scope(), &id, now_ms()).await? {
        return Err(not_found(&id));
    }
    collect_later(&state);
    Ok(StatusCode::NO_CONTENT)
}

/// Collects unused originals off the request path; a failure is retried by the next call.
pub(crate) fn collect_later(state: &AppState) {
    let (images, blobs) = (state.images.clone(), state.blobs.clone());
    tokio::spawn(async move {
        if let Err(err) = images.collect(blobs.as_ref(), 100).await {
            eprintln!("atelier-server: collecting unused originals: {err}");
        }
    });
}

pub(crate) async fn find(state: &AppState, scope: Scope<'_>, id: &str) -> Result<ImageRecord, ApiError> {
    // No id we make holds a control character, and PostgreSQL refuses NUL in text: such an
    // id (from a JSON body; paths are checked by `AppPath`) names nothing.
    if id.chars().any(char::is_control) {
        return Err(not_found(id));
    }
    state.images.get(scope, id).await?.ok_or_else(|| not_found(id))
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(ApiCode::ImageNotFound, format!("image `{id}` not found"))
}
