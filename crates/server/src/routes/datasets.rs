//! Datasets: import an archive (with a metadata file) or a list of the caller's images,
//! read a dataset and its items, delete it, and run a dataset job over it.

mod import;

use atelier_dataset::{parse_metadata, ItemMetadata, JobSpec, MetadataLimits, MetadataOptions, Plan};
use atelier_imaging::Pipeline;
use atelier_storage::{now_ms, DatasetRecord, Enqueue, NewDatasetItem, Scope};
use atelier_worker::DatasetPayload;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::images::find;
use super::jobs::{self, JobView};
use super::{AppJson, AppPath, AppQuery, ObjectOnly, Page};
use crate::app::AppState;
use crate::auth::{AdminCaller, Caller};
use crate::error::{ApiCode, ApiError, ErrorBody};
use crate::ingest;

pub(crate) use import::ImportSummary;

/// Longest dataset name, in characters.
const MAX_NAME: usize = 200;

/// A dataset.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DatasetView {
    id: String,
    name: String,
    /// How many items it has.
    items: i64,
    created_at: i64,
    /// What the import found besides items: entries skipped and why, the metadata file's
    /// columns and unreadable rows, items no row describes.
    #[schema(value_type = ImportSummary)]
    summary: serde_json::Value,
}

impl From<DatasetRecord> for DatasetView {
    fn from(record: DatasetRecord) -> DatasetView {
        let summary = serde_json::from_str(&record.summary).unwrap_or_else(|_| serde_json::json!({}));
        DatasetView {
            id: record.id,
            name: record.name,
            items: record.item_count,
            created_at: record.created_at,
            summary,
        }
    }
}

/// The multipart form of an import.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the form; the handler streams it
pub(crate) struct ImportForm {
    /// A zip, tar or tar.gz of images (folders allowed; other files are listed as skipped).
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    archive: String,
    /// A CSV (with a header row) or JSON file describing the items, keyed by file name, stem or id.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    metadata: Option<String>,
    /// The metadata column holding the key (default: `id`, `filename`, `file`, `name` or the first).
    key: Option<String>,
    /// A name for the dataset (default: `dataset`).
    name: Option<String>,
}

/// Imports an archive of images as a dataset, with an optional metadata file. Hostile
/// archives (bombs, traversal, links, too many entries, truncation) are refused whole and
/// leave nothing stored; non-images and undecodable images are listed as skipped.
#[utoipa::path(
    post,
    path = "/v1/datasets",
    tag = "datasets",
    request_body(content((ImportForm = "multipart/form-data"))),
    responses(
        (status = 201, description = "Imported", body = DatasetView),
        (status = 400, description = "A malformed form", body = ErrorBody),
        (status = 413, description = "Over an archive limit (`archive_bomb`, `archive_too_large`, `archive_too_many_entries`), the metadata limit, or the storage quota", body = ErrorBody),
        (status = 415, description = "Not a form, or the archive is not zip, tar or tar.gz (`archive_unsupported`)", body = ErrorBody),
        (status = 422, description = "A refused entry (`archive_entry_unsafe`), a truncated or corrupt archive, an unreadable metadata file, or no image at all (`dataset_empty`)", body = ErrorBody),
        (status = 429, description = "Too many requests; see Retry-After", body = ErrorBody),
    )
)]
pub(crate) async fn import(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<(StatusCode, Json<DatasetView>), ApiError> {
    state.auth.check_expensive(&caller)?;
    if !super::is_form(request.headers()) {
        let message = "send the archive as multipart/form-data, in a field named `archive`";
        return Err(ApiError::new(ApiCode::UnsupportedMediaType, message));
    }
    let form = Multipart::from_request(request, &state)
        .await
        .map_err(|rejection| ApiError::new(ApiCode::InvalidMultipart, rejection.body_text()))?;
    let form = read_form(&state, form).await?;
    if form.archive.size == 0 {
        return Err(atelier_imaging::Error::Empty.into());
    }
    let name = checked_name(form.name)?;
    let metadata = match form.metadata {
        None => None,
        Some(bytes) => {
            let options = MetadataOptions { format: None, key: form.key, limits: MetadataLimits::default() };
            let parsed =
                tokio::task::spawn_blocking(move || parse_metadata(&bytes, &options)).await.map_err(|err| {
                    ApiError::new(ApiCode::Internal, format!("reading the metadata was interrupted: {err}"))
                })?;
            Some(parsed?)
        }
    };
    let record = import::import(&state, &caller, &name, import::Source::Archive(form.archive), metadata).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

struct Form {
    archive: ingest::Spooled,
    metadata: Option<Vec<u8>>,
    key: Option<String>,
    name: Option<String>,
}

async fn read_form(state: &AppState, mut form: Multipart) -> Result<Form, ApiError> {
    let bad = |message: String| ApiError::new(ApiCode::InvalidMultipart, message);
    let (mut archive, mut metadata, mut key, mut name) = (None, None, None, None);
    while let Some(field) = form.next_field().await.map_err(|err| bad(err.body_text()))? {
        let field_name = field.name().unwrap_or_default().to_string();
        let twice = || bad(format!("the form has a second `{field_name}` field"));
        match field_name.as_str() {
            "archive" if archive.is_some() => return Err(twice()),
            "archive" => {
                let stream = Box::pin(futures::TryStreamExt::map_err(field, |err| err.body_text()));
                let limit = state.archive_limits.max_total_bytes;
                archive = Some(ingest::spool(state, stream, limit).await.map_err(|err| match err.code {
                    ApiCode::InvalidRequest => ApiError::new(ApiCode::InvalidMultipart, err.message),
                    _ => err,
                })?);
            }
            "metadata" if metadata.is_some() => return Err(twice()),
            "metadata" => metadata = Some(small_field(field, MetadataLimits::default().max_bytes).await?),
            "key" | "name" => {
                let text = String::from_utf8(small_field(field, 1024).await?)
                    .map_err(|_| bad(format!("`{field_name}` is not UTF-8 text")))?;
                let slot = if field_name == "key" { &mut key } else { &mut name };
                if slot.replace(text).is_some() {
                    return Err(twice());
                }
            }
            _ => return Err(bad(format!("unexpected form field `{field_name}`: use archive, metadata, key and name"))),
        }
    }
    let archive = archive.ok_or_else(|| bad("the form has no `archive` field".into()))?;
    Ok(Form { archive, metadata, key, name })
}

/// A field read into memory, refused past `limit` bytes.
async fn small_field(mut field: axum::extract::multipart::Field<'_>, limit: u64) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(chunk) =
        field.chunk().await.map_err(|err| ApiError::new(ApiCode::InvalidMultipart, err.body_text()))?
    {
        if (out.len() + chunk.len()) as u64 > limit {
            let name = field.name().unwrap_or_default().to_string();
            return Err(ApiError::new(ApiCode::RequestTooLarge, format!("`{name}` is larger than {limit} bytes")));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn checked_name(name: Option<String>) -> Result<String, ApiError> {
    let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).unwrap_or_else(|| "dataset".into());
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        let message = format!("`name` must be 1 to {MAX_NAME} characters, without control characters");
        return Err(ApiError::new(ApiCode::InvalidRequest, message));
    }
    Ok(name)
}

/// A dataset made of what an operator put in the blob store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FromPrefix {
    /// A folder under `imports/` in the blob store, e.g. `imports/catalogue-2026`.
    prefix: String,
    /// A name for the dataset (default: `dataset`).
    #[serde(default)]
    name: Option<String>,
}

/// Imports every image under a blob-store prefix (`imports/...`) as a dataset of the
/// caller's: for operators who copied a data set into the bucket. Admins only; the same
/// limits and refusals as an archive.
#[utoipa::path(
    post,
    path = "/v1/datasets/from-prefix",
    tag = "datasets",
    request_body = FromPrefix,
    responses(
        (status = 201, description = "Imported", body = DatasetView),
        (status = 400, description = "Malformed, or a prefix outside `imports/`", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 413, description = "More entries, or a bigger one, than an archive may hold", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A refused name, or no image under the prefix (`dataset_empty`)", body = ErrorBody),
    )
)]
pub(crate) async fn from_prefix(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    AppJson(request): AppJson<FromPrefix>,
) -> Result<(StatusCode, Json<DatasetView>), ApiError> {
    let name = checked_name(request.name)?;
    let prefix = request.prefix.trim_end_matches('/');
    let outside = || {
        ApiError::new(ApiCode::InvalidRequest, "`prefix` must be a folder under `imports/`, like `imports/catalogue`")
    };
    if !prefix.starts_with("imports/") {
        return Err(outside());
    }
    let prefix = atelier_storage::BlobKey::parse(prefix).map_err(|_| outside())?;
    let record = import::import(&state, &caller, &name, import::Source::Prefix(prefix), None).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// A dataset made of images already uploaded.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FromImages {
    /// A name for the dataset (default: `dataset`).
    #[serde(default)]
    name: Option<String>,
    /// Ids of the caller's images, in item order: 1 to 100,000, no repeats.
    #[schema(min_items = 1)]
    images: Vec<String>,
    /// Per-image metadata, keyed by image id: objects of text or number values.
    #[serde(default)]
    #[schema(value_type = Object)]
    metadata: std::collections::HashMap<String, ItemMetadata>,
}

/// The most items a dataset made from image ids may have.
const MAX_FROM_IMAGES: usize = 100_000;

/// Makes a dataset of the caller's images, each item named by its image id.
#[utoipa::path(
    post,
    path = "/v1/datasets/from-images",
    tag = "datasets",
    request_body = FromImages,
    responses(
        (status = 201, description = "Created", body = DatasetView),
        (status = 400, description = "Malformed, empty, too long, or an image twice", body = ErrorBody),
        (status = 404, description = "An image does not exist", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
    )
)]
pub(crate) async fn from_images(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(request): AppJson<FromImages>,
) -> Result<(StatusCode, Json<DatasetView>), ApiError> {
    let name = checked_name(request.name)?;
    let count = request.images.len();
    if count == 0 || count > MAX_FROM_IMAGES {
        let message = format!("`images` must list 1 to {MAX_FROM_IMAGES} image ids, got {count}");
        return Err(ApiError::new(ApiCode::InvalidRequest, message));
    }
    let mut seen = std::collections::HashSet::with_capacity(count);
    if let Some(twice) = request.images.iter().find(|id| !seen.insert(id.as_str())) {
        return Err(ApiError::new(ApiCode::InvalidRequest, format!("image `{twice}` is listed twice")));
    }
    if let Some(unknown) = request.metadata.keys().find(|id| !seen.contains(id.as_str())) {
        let message = format!("`metadata` describes `{unknown}`, which is not in `images`");
        return Err(ApiError::new(ApiCode::InvalidRequest, message));
    }
    let mut items = Vec::with_capacity(count);
    for id in &request.images {
        let record = find(&state, caller.scope(), id).await?;
        let metadata = request.metadata.get(id).cloned().unwrap_or_default();
        items.push(NewDatasetItem {
            name: record.id.clone(),
            stem: record.id.clone(),
            image_id: record.id.clone(),
            sha256: record.sha256.clone(),
            metadata: serde_json::to_string(&metadata).unwrap_or_else(|_| "{}".into()),
        });
    }
    let summary = serde_json::to_string(&ImportSummary::default()).unwrap_or_else(|_| "{}".into());
    let record = state.datasets.create(caller.id(), &name, &summary, false, &items, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DatasetList {
    items: Vec<DatasetView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// The caller's datasets, newest first.
#[utoipa::path(
    get,
    path = "/v1/datasets",
    tag = "datasets",
    params(super::PageQuery),
    responses(
        (status = 200, description = "A page", body = DatasetList),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(query): AppQuery<super::PageQuery>,
) -> Result<Json<DatasetList>, ApiError> {
    let page = Page::new(query.cursor, query.limit)?;
    let before = match page.cursor.as_deref() {
        None => None,
        Some(cursor) => Some(cursor.parse::<i64>().map_err(|_| Page::bad_cursor(cursor))?),
    };
    let found = state.datasets.list(caller.scope(), before, page.limit).await?;
    let next_cursor =
        (found.len() == page.limit as usize).then(|| found.last().map(|d| d.created_at.to_string())).flatten();
    Ok(Json(DatasetList { items: found.into_iter().map(DatasetView::from).collect(), next_cursor }))
}

/// One dataset.
#[utoipa::path(
    get,
    path = "/v1/datasets/{id}",
    tag = "datasets",
    params(("id" = String, Path, description = "The dataset's id")),
    responses(
        (status = 200, description = "Found", body = DatasetView),
        (status = 404, description = "No such dataset", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<Json<DatasetView>, ApiError> {
    Ok(Json(load(&state, caller.scope(), &id).await?.into()))
}

/// Deletes a dataset and its images (a running job on it finishes with its own copy).
#[utoipa::path(
    delete,
    path = "/v1/datasets/{id}",
    tag = "datasets",
    params(("id" = String, Path, description = "The dataset's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such dataset", body = ErrorBody),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<StatusCode, ApiError> {
    if !state.datasets.delete(caller.scope(), &id, now_ms()).await? {
        return Err(not_found(&id));
    }
    let _ = state.images.collect(state.blobs.as_ref(), 1000).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ItemsQuery {
    /// `next_cursor` from the previous page.
    #[param(min_length = 1)]
    cursor: Option<String>,
    /// 1 to 100; 20 by default.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// One item of a dataset.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ItemView {
    index: i64,
    /// Its name in the archive.
    name: String,
    /// The image's id.
    image: String,
    /// Its metadata row, in the file's column order.
    #[schema(value_type = Object)]
    metadata: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ItemList {
    items: Vec<ItemView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// A dataset's items, in order, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/datasets/{id}/items",
    tag = "datasets",
    params(("id" = String, Path, description = "The dataset's id"), ItemsQuery),
    responses(
        (status = 200, description = "A page", body = ItemList),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 404, description = "No such dataset", body = ErrorBody),
    )
)]
pub(crate) async fn items(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
    AppQuery(query): AppQuery<ItemsQuery>,
) -> Result<Json<ItemList>, ApiError> {
    let dataset = load(&state, caller.scope(), &id).await?;
    let page = Page::new(query.cursor, query.limit)?;
    let after = match page.cursor.as_deref() {
        None => None,
        Some(cursor) => Some(cursor.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| Page::bad_cursor(cursor))?),
    };
    let rows = state.datasets.items(&dataset.id, after, page.limit).await?;
    let next_cursor = (rows.len() == page.limit as usize).then(|| rows.last().map(|r| r.idx.to_string())).flatten();
    let items = rows
        .into_iter()
        .map(|row| ItemView {
            index: row.idx,
            name: row.name,
            image: row.image_id,
            metadata: serde_json::from_str(&row.metadata).unwrap_or_else(|_| serde_json::json!({})),
        })
        .collect();
    Ok(Json(ItemList { items, next_cursor }))
}

/// A dataset job: what to select, make and infer. See `atelier process --dataset` for the
/// same document on the command line.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DatasetJob {
    /// Over the items' metadata: `masterCategory = Apparel and year >= 2012`.
    #[serde(default)]
    filter: Option<String>,
    /// Steps run on every original first: a pipeline document or a list of steps. Without
    /// them the originals are copied byte for byte to `images/`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pipeline: Option<serde_json::Value>,
    /// `augment`'s parameters (`variants`, `seed`, ...): variants go to `augmentation/`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    augment: Option<serde_json::Value>,
    /// Annotating steps run in batches: classify, moderate, detect_faces, analyze_faces, recognize_digit.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    inference: Vec<serde_json::Value>,
    /// originals, variants or both (default: both with `augment`, else originals).
    #[serde(default)]
    infer_on: Option<String>,
    /// Items per batch, 1 to 64 (default 16).
    #[serde(default)]
    batch_size: Option<u32>,
    /// How written images are encoded: `convert`'s parameters (`format`, `quality`, ...).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    output: Option<serde_json::Value>,
    /// An http(s) URL that receives the signed `job.finished` event when the job ends.
    #[serde(default)]
    webhook: Option<String>,
}

/// Runs a dataset job over a dataset: outputs go to `jobs/{id}/images/`, `augmentation/`
/// and `metadata.json`; the job's archive holds them all.
#[utoipa::path(
    post,
    path = "/v1/datasets/{id}/jobs",
    tag = "datasets",
    params(("id" = String, Path, description = "The dataset's id")),
    request_body = DatasetJob,
    responses(
        (status = 202, description = "Queued", body = JobView),
        (status = 400, description = "Malformed", body = ErrorBody),
        (status = 402, description = "The balance does not cover the job", body = ErrorBody),
        (status = 404, description = "No such dataset, or an asset image", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "An invalid job (`invalid_dataset_job`, `filter_invalid`), or a filter that selects nothing (`dataset_empty`)", body = ErrorBody),
        (status = 429, description = "Too many jobs or requests, or the server's job queue is full (`queue_full`, with `Retry-After`; nothing is charged)", body = ErrorBody),
        (status = 503, description = "A vision step's models are not set up here", body = ErrorBody),
    )
)]
pub(crate) async fn submit_job(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
    AppJson(ObjectOnly(request)): AppJson<ObjectOnly<DatasetJob>>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    state.auth.check_expensive(&caller)?;
    state.queue_depth.admit(&state.queue).await?;
    let dataset = load(&state, caller.scope(), &id).await?;
    let infer_on = match request.infer_on.as_deref() {
        None => None,
        Some(text) => Some(serde_json::from_value(serde_json::Value::String(text.into())).map_err(|_| {
            let message = format!("infer_on: must be originals, variants or both, got `{text}`");
            ApiError::new(ApiCode::Dataset(atelier_dataset::Code::JobInvalid), message)
        })?),
    };
    let spec = JobSpec {
        version: 1,
        filter: request.filter,
        pipeline: request.pipeline,
        augment: request.augment,
        inference: request.inference,
        infer_on,
        batch_size: request.batch_size,
        output: request.output,
    };
    let plan = Plan::new(spec.clone())?;
    if let Some(url) = &request.webhook {
        jobs::check_webhook(&state, url)?;
    }
    for reference in plan.steps().filter_map(|op| op.asset()) {
        find(&state, caller.scope(), reference).await?;
    }
    if let Ok(steps) = Pipeline::from_ops(plan.steps().cloned().collect()) {
        jobs::check_models(&state, &steps).await?;
    }
    let selected = atelier_worker::dataset::selected_items(&state.datasets, &dataset.id, &plan)
        .await
        .map_err(|atelier_worker::step::Error::Storage(err)| ApiError::from(err))?;
    if selected.is_empty() {
        let message = format!("the filter selects none of the dataset's {} items", dataset.item_count);
        return Err(ApiError::new(ApiCode::DatasetEmpty, message));
    }
    let mut originals: Vec<_> =
        selected.iter().filter_map(|item| atelier_storage::Sha256Hex::parse(&item.sha256)).collect();
    originals.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    originals.dedup_by(|a, b| a.as_str() == b.as_str());
    let mut payload = DatasetPayload::new(&dataset.id, spec);
    payload.webhook = request.webhook;
    let payload = serde_json::to_string(&payload).map_err(|err| ApiError::new(ApiCode::Internal, err.to_string()))?;
    let cost_per_item = if state.auth.config.credits { i64::from(plan.cost_per_item()) } else { 0 };
    let job = Enqueue {
        originals: &originals,
        items: selected.len() as i64,
        owner: Some(caller.id()),
        cost_per_item,
        max_concurrent: caller.quotas(state.auth.config.default_quotas).jobs,
        ..Enqueue::new(&payload, jobs::MAX_ATTEMPTS)
    };
    let job_id = state.queue.submit(job, now_ms()).await?;
    state.queue_depth.queued_one();
    state.wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(jobs::load(&state, caller.scope(), &job_id).await?.into())))
}

async fn load(state: &AppState, scope: Scope<'_>, id: &str) -> Result<DatasetRecord, ApiError> {
    state.datasets.get(scope, id).await?.ok_or_else(|| not_found(id))
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(ApiCode::DatasetNotFound, format!("dataset `{id}` not found"))
}
