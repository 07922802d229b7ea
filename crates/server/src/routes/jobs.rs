//! Jobs: submit a pipeline over stored images, read its status and results, cancel it,
//! download its outputs.

pub(crate) mod archive;
pub(crate) mod backpressure;
pub(crate) mod events;

use atelier_imaging::{Format, Pipeline};
use atelier_storage::{now_ms, BlobKey, Enqueue, Job, JobState, Scope};
use atelier_worker::payload::JobItem;
use atelier_worker::{JobPayload, Payload};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::image_response;
use super::images::{self, find};
use super::pipelines;
use super::{AppJson, AppPath, AppQuery, Page};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiCode, ApiError, ErrorBody};

/// Retries for infrastructure failures before a job is `dead`.
pub(crate) const MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitJob {
    /// A saved pipeline as `"name@version"` (or `"name"` for its latest version), or a
    /// pipeline document (`{"version": 1, "steps": [...]}`).
    #[serde(default)]
    pipeline: Option<serde_json::Value>,
    /// Or inline steps, as the CLI's `--op` takes them: `["thumbnail:width=256"]`.
    #[serde(default)]
    #[schema(min_items = 1)]
    ops: Option<Vec<String>>,
    /// Ids of uploaded images: at least one, at most the server's `max_job_items`.
    #[schema(min_items = 1)]
    images: Vec<String>,
    /// An http(s) URL that receives the signed `job.finished` event when the job ends.
    #[serde(default)]
    webhook: Option<String>,
}

/// A job: its state, progress, timings and per-item results.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobView {
    id: String,
    /// queued, running, succeeded, failed, canceled or dead.
    #[schema(value_type = String)]
    state: atelier_storage::JobState,
    kind: JobKind,
    /// The saved pipeline the job runs, as `name@version`; absent for inline pipelines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pipeline: Option<String>,
    /// A pipeline job's steps, as its pipeline document has them (inline pipelines too).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    steps: Option<serde_json::Value>,
    /// A pipeline job's image ids, one per item, in the order of `results`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<Option<String>>,
    /// A dataset job's dataset id.
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset: Option<String>,
    attempts: i64,
    max_attempts: i64,
    progress: Progress,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    cancel_requested: bool,
    error: Option<String>,
    /// Per-item results, in the order the images were given: `{"status": "succeeded",
    /// "outputs": [{key, url, format, width, height, bytes}]}` or `{"status": "failed", code,
    /// message}`; `null` for items not done yet.
    results: serde_json::Value,
}

/// What a job runs: a pipeline over images, or a dataset job.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum JobKind {
    Pipeline,
    Dataset,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
struct Progress {
    done: i64,
    total: i64,
}

impl From<Job> for JobView {
    fn from(job: Job) -> JobView {
        let mut results =
            job.results.as_deref().and_then(|text| serde_json::from_str(text).ok()).unwrap_or(serde_json::Value::Null);
        add_output_urls(&job.id, &mut results);
        let (kind, dataset, pipeline, steps, images) = match Payload::parse(&job.payload) {
            Ok(Payload::Dataset(payload)) => (JobKind::Dataset, Some(payload.dataset), None, None, Vec::new()),
            Ok(Payload::Pipeline(mut payload)) => {
                let steps = payload.pipeline.get_mut("steps").map(serde_json::Value::take);
                let images = payload.items.into_iter().map(|item| item.name).collect();
                (JobKind::Pipeline, None, payload.pipeline_ref, steps, images)
            }
            Err(_) => (JobKind::Pipeline, None, None, None, Vec::new()),
        };
        JobView {
            kind,
            pipeline,
            steps,
            images,
            dataset,
            id: job.id,
            state: job.state,
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            progress: Progress { done: job.progress_done, total: job.progress_total },
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            cancel_requested: job.cancel_requested,
            error: job.error,
            results,
        }
    }
}

/// Runs a pipeline over one or many images.
#[utoipa::path(
    post,
    path = "/v1/jobs",
    tag = "jobs",
    request_body = SubmitJob,
    responses(
        (status = 202, description = "Queued", body = JobView),
        (status = 400, description = "Malformed", body = ErrorBody),
        (status = 402, description = "The balance does not cover the job; `needed` and `available` say by how much", body = ErrorBody),
        (status = 404, description = "An image or saved pipeline does not exist", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "An invalid pipeline; the message names the step and field", body = ErrorBody),
        (status = 429, description = "Too many jobs queued or running (`too_many_jobs`), too many requests (`rate_limited`), or the server's job queue is full (`queue_full`, with `Retry-After`; nothing is charged)", body = ErrorBody),
        (status = 503, description = "A vision step's models are not set up on this server (`vision_unavailable`; the message names the fix)", body = ErrorBody),
    )
)]
pub(crate) async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(request): AppJson<SubmitJob>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    state.auth.check_expensive(&caller)?;
    state.queue_depth.admit(&state.queue).await?;
    let invalid = |message: String| ApiError::new(ApiCode::InvalidPipeline, message);
    let mut reference = None;
    let pipeline = match (request.pipeline, request.ops) {
        (Some(serde_json::Value::String(cited)), None) => {
            let (pipeline, record) = pipelines::resolve(&state, &caller, &cited).await?;
            reference = Some(format!("{}@{}", record.name, record.version));
            pipeline
        }
        (Some(document), None) => Pipeline::from_value(document).map_err(|err| invalid(format!("pipeline.{err}")))?,
        (None, Some(ops)) => Pipeline::parse_inline(&ops).map_err(|err| invalid(format!("ops: {err}")))?,
        _ => {
            return Err(ApiError::new(ApiCode::InvalidRequest, "give either `pipeline` or `ops`, not both or neither"))
        }
    };
    if request.images.is_empty() || request.images.len() > state.max_job_items {
        let message =
            format!("`images` must list 1 to {} image ids, got {}", state.max_job_items, request.images.len());
        return Err(ApiError::new(ApiCode::InvalidRequest, message));
    }
    if let Some(url) = &request.webhook {
        check_webhook(&state, url)?;
    }
    let mut items = Vec::with_capacity(request.images.len());
    let mut originals = Vec::with_capacity(request.images.len());
    for id in &request.images {
        let record = find(&state, caller.scope(), id).await?;
        items.push(JobItem { source: record.blob_key()?.to_string(), name: Some(record.id.clone()) });
        originals.push(record.hash()?);
    }
    // A step's asset (a watermark, a style image) is one of the caller's images, like the inputs.
    for reference in pipeline.steps.iter().filter_map(|op| op.asset()) {
        find(&state, caller.scope(), reference).await?;
    }
    check_models(&state, &pipeline).await?;
    let mut payload = JobPayload::new(&pipeline, items);
    payload.pipeline_ref = reference;
    payload.webhook = request.webhook;
    let payload = serde_json::to_string(&payload).map_err(|err| ApiError::new(ApiCode::Internal, err.to_string()))?;
    // The job holds its originals from here: deleting their images now keeps the bytes.
    let count = i64::try_from(request.images.len()).unwrap_or(i64::MAX);
    // Charged with the enqueue, in one transaction: a job is queued exactly when it is paid for.
    let cost_per_item = if state.auth.config.credits { i64::from(pipeline.cost()) } else { 0 };
    let job = Enqueue {
        originals: &originals,
        items: count,
        owner: Some(caller.id()),
        cost_per_item,
        max_concurrent: caller.quotas(state.auth.config.default_quotas).jobs,
        ..Enqueue::new(&payload, MAX_ATTEMPTS)
    };
    let id = state.queue.submit(job, now_ms()).await?;
    state.queue_depth.queued_one();
    state.wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(load(&state, caller.scope(), &id).await?.into())))
}

/// Refuses a pipeline whose vision steps cannot run here, before anything is charged or
/// queued: better one 503 naming the fix than every item failing later. Loading a model
/// the first time takes a moment, so it runs off the async threads.
pub(crate) async fn check_models(state: &AppState, pipeline: &Pipeline) -> Result<(), ApiError> {
    if pipeline.steps.iter().all(|op| op.capabilities().is_empty()) {
        return Ok(());
    }
    let (models, pipeline) = (state.models.clone(), pipeline.clone());
    tokio::task::spawn_blocking(move || pipeline.check_models(&*models))
        .await
        .map_err(|err| ApiError::new(ApiCode::Internal, format!("checking the vision models was interrupted: {err}")))?
        .map_err(ApiError::from)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only jobs in this state: queued, running, succeeded, failed, canceled or dead.
    state: Option<String>,
    /// `next_cursor` from the previous page.
    #[param(min_length = 1)]
    cursor: Option<String>,
    /// 1 to 100; 20 by default.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobList {
    items: Vec<JobView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// Jobs, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/jobs",
    tag = "jobs",
    params(ListQuery),
    responses(
        (status = 200, description = "A page", body = JobList),
        (status = 400, description = "A bad state, cursor or limit", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<Json<JobList>, ApiError> {
    page_of(&state, caller.scope(), query).await
}

/// One page of the jobs in `scope`, as `query` asks.
pub(crate) async fn page_of(state: &AppState, scope: Scope<'_>, query: ListQuery) -> Result<Json<JobList>, ApiError> {
    let bad = |message: String| ApiError::new(ApiCode::InvalidRequest, message);
    let filter = match query.state.as_deref() {
        None => None,
        Some(name) => Some(atelier_storage::JobState::from_name(name).ok_or_else(|| {
            bad(format!("`state` must be one of queued, running, succeeded, failed, canceled, dead; got `{name}`"))
        })?),
    };
    let page = Page::new(query.cursor, query.limit)?;
    let before = match page.cursor.as_deref() {
        None => None,
        Some(cursor) => Some(cursor.parse::<i64>().map_err(|_| Page::bad_cursor(cursor))?),
    };
    let found = state.queue.list(scope, filter, before, page.limit).await?;
    let items = found.jobs.into_iter().map(JobView::from).collect();
    Ok(Json(JobList { items, next_cursor: found.next.map(|seq| seq.to_string()) }))
}

/// Puts a `dead` or `failed` job back in the queue.
#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/retry",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "Queued again", body = JobView),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The job did not fail", body = ErrorBody),
        (status = 429, description = "`queue_full`: `max_queued_jobs` jobs are waiting already; `Retry-After` says when to try again", body = ErrorBody),
    )
)]
pub(crate) async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<Json<JobView>, ApiError> {
    let job = load(&state, caller.scope(), &id).await?;
    let conflict = || {
        let message = format!("job `{id}` is {}; only dead or failed jobs can be retried", job.state.as_str());
        ApiError::new(ApiCode::JobConflict, message)
    };
    if !matches!(job.state, JobState::Dead | JobState::Failed) {
        return Err(conflict());
    }
    // A retry queues the job again: it waits its turn behind the same limit as a new one.
    state.queue_depth.admit(&state.queue).await?;
    if !state.queue.retry(caller.scope(), &id, now_ms()).await? {
        return Err(conflict());
    }
    state.queue_depth.queued_one();
    state.wake.notify_one();
    Ok(Json(load(&state, caller.scope(), &id).await?.into()))
}

/// A job's state, progress, timings and results.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "Found", body = JobView),
        (status = 404, description = "No such job", body = ErrorBody),
    )
)]
pub(crate) async fn status(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(load(&state, caller.scope(), &id).await?.into()))
}

/// Cancels a job: at once if queued, after the item in hand if running.
#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/cancel",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "Canceled, or cancellation requested", body = JobView),
        (status = 404, description = "No such job", body = ErrorBody),
    )
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<Json<JobView>, ApiError> {
    state.queue.cancel(caller.scope(), &id, now_ms()).await?.ok_or_else(|| not_found(&id))?;
    // A queued job cancels at once, releasing its originals.
    images::collect_later(&state);
    Ok(Json(load(&state, caller.scope(), &id).await?.into()))
}

/// One output file of a job, e.g. `images/0.webp`.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/outputs/{name}",
    tag = "jobs",
    params(
        ("id" = String, Path, description = "The job's id"),
        ("name" = String, Path, description = "The output's name under the job, e.g. images/0.webp"),
    ),
    responses(
        (status = 200, description = "The bytes: an image, or `metadata.json`", content_type = "image/*", body = String),
        (status = 404, description = "No such job or output", body = ErrorBody),
    )
)]
pub(crate) async fn output(
    State(state): State<AppState>,
    caller: Caller,
    AppPath((id, name)): AppPath<(String, String)>,
) -> Result<Response, ApiError> {
    load(&state, caller.scope(), &id).await?;
    let missing = || ApiError::new(ApiCode::NotFound, format!("job `{id}` has no output `{name}`"));
    let key = BlobKey::job_file(&id, &name).map_err(|_| missing())?;
    let bytes = state.blobs.get(&key).await.map_err(|err| match err.kind() {
        atelier_storage::ErrorKind::NotFound => missing(),
        _ => err.into(),
    })?;
    if name.ends_with(".json") {
        // A dataset job's `metadata.json`: served as what it is, so a browser can read it.
        let mut response = image_response(bytes, None)?;
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Ok(response);
    }
    image_response(bytes, name.rsplit_once('.').and_then(|(_, ext)| Format::from_name(ext)))
}

/// Gives each output in `results` the `url` it downloads from, beside its storage `key`.
fn add_output_urls(job_id: &str, results: &mut serde_json::Value) {
    let prefix = format!("jobs/{job_id}/");
    let items = results.get_mut("items").and_then(serde_json::Value::as_array_mut);
    for item in items.into_iter().flatten() {
        let outputs = item.get_mut("outputs").and_then(serde_json::Value::as_array_mut);
        for output in outputs.into_iter().flatten() {
            let name = output.get("key").and_then(serde_json::Value::as_str).and_then(|key| key.strip_prefix(&prefix));
            if let Some(url) = name.map(|name| format!("/v1/jobs/{job_id}/outputs/{name}")) {
                output["url"] = serde_json::Value::String(url);
            }
        }
    }
}

/// The URL's form is checked now; where it points is checked by the worker at delivery,
/// after DNS resolution, so an address that changes meanwhile is still caught.
pub(crate) fn check_webhook(state: &AppState, url: &str) -> Result<(), ApiError> {
    if !state.webhooks {
        let message = "webhooks are off on this server: the operator sets `webhooks.secret` to turn them on";
        return Err(ApiError::new(ApiCode::InvalidWebhook, message));
    }
    atelier_worker::webhook::validate_url(url)
        .map(|_| ())
        .map_err(|err| ApiError::new(ApiCode::InvalidWebhook, format!("webhook: {err}")))
}

pub(crate) async fn load(state: &AppState, scope: Scope<'_>, id: &str) -> Result<Job, ApiError> {
    state.queue.get(scope, id).await?.ok_or_else(|| not_found(id))
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(ApiCode::JobNotFound, format!("job `{id}` not found"))
}
