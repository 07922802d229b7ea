//! Saved pipelines: create one (validated) under a name, add versions, read and list them.
//! Jobs cite them as `name@version` (or `name`, resolved to the latest version at submit).

use atelier_imaging::Pipeline;
use atelier_storage::{now_ms, PipelineRecord, Pipelines};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AppJson, AppPath, AppQuery, Page, PageQuery};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiCode, ApiError, ErrorBody};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreatePipeline {
    /// 1 to 64 characters of a-z, 0-9, '-', '_' and '.'.
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    name: String,
    /// A pipeline document: `{"version": 1, "steps": [{"op": "thumbnail", "width": 256}]}`.
    pipeline: serde_json::Value,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewVersion {
    /// A pipeline document.
    pipeline: serde_json::Value,
}

/// One version of a saved pipeline.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PipelineView {
    name: String,
    version: i64,
    /// `name@version`, as jobs cite it.
    reference: String,
    pipeline: serde_json::Value,
    created_at: i64,
    /// Every version of the name, oldest first (on single-pipeline reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    versions: Option<Vec<i64>>,
}

impl PipelineView {
    fn new(record: PipelineRecord, versions: Option<Vec<i64>>) -> PipelineView {
        let pipeline = serde_json::from_str(&record.document).unwrap_or(serde_json::Value::Null);
        PipelineView {
            reference: format!("{}@{}", record.name, record.version),
            name: record.name,
            version: record.version,
            pipeline,
            created_at: record.created_at,
            versions,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PipelineList {
    items: Vec<PipelineView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// Names are what users type in `name@version`: short, lowercase, no `@`.
/// Whether `name` may name a pipeline or a category: 1 to 64 characters of a-z, 0-9, '-',
/// '_' and '.', starting with a letter or digit.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'))
}

/// Checks a name of `kind` (a pipeline's, a category's): names appear in URLs and in
/// `name@version` citations, so they keep to a small alphabet.
pub(crate) fn check_name(kind: &str, name: &str) -> Result<(), ApiError> {
    if valid_name(name) {
        Ok(())
    } else {
        let message = format!(
            "{kind} name `{}` must be 1 to 64 characters of a-z, 0-9, '-', '_' and '.', starting with a letter or digit",
            name.escape_debug()
        );
        Err(ApiError::new(ApiCode::InvalidRequest, message))
    }
}

/// Validates a document and returns its canonical JSON text.
fn canonical(document: serde_json::Value) -> Result<String, ApiError> {
    let pipeline = Pipeline::from_value(document)
        .map_err(|err| ApiError::new(ApiCode::InvalidPipeline, format!("pipeline.{err}")))?;
    serde_json::to_string(&pipeline).map_err(|err| ApiError::new(ApiCode::Internal, err.to_string()))
}

/// Saves version 1 of a new pipeline, validated.
#[utoipa::path(
    post,
    path = "/v1/pipelines",
    tag = "pipelines",
    request_body = CreatePipeline,
    responses(
        (status = 201, description = "Saved", body = PipelineView),
        (status = 400, description = "Malformed, or a bad name", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "An invalid pipeline; the message names the step and field", body = ErrorBody),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(request): AppJson<CreatePipeline>,
) -> Result<(StatusCode, Json<PipelineView>), ApiError> {
    check_name("pipeline", &request.name)?;
    let document = canonical(request.pipeline)?;
    let record = state.pipelines.create(caller.id(), &request.name, &document, now_ms()).await?.ok_or_else(|| {
        let message = format!(
            "a pipeline named `{}` exists; add a version with POST /v1/pipelines/{}/versions",
            request.name, request.name
        );
        ApiError::new(ApiCode::PipelineExists, message)
    })?;
    Ok((StatusCode::CREATED, Json(PipelineView::new(record, Some(vec![1])))))
}

/// Saves the next version of a pipeline.
#[utoipa::path(
    post,
    path = "/v1/pipelines/{name}/versions",
    tag = "pipelines",
    params(("name" = String, Path, description = "The pipeline's name")),
    request_body = NewVersion,
    responses(
        (status = 201, description = "Saved", body = PipelineView),
        (status = 400, description = "Malformed", body = ErrorBody),
        (status = 404, description = "No such pipeline", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "An invalid pipeline", body = ErrorBody),
    )
)]
pub(crate) async fn add_version(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(name): AppPath<String>,
    AppJson(request): AppJson<NewVersion>,
) -> Result<(StatusCode, Json<PipelineView>), ApiError> {
    let document = canonical(request.pipeline)?;
    let record =
        state.pipelines.add_version(caller.id(), &name, &document, now_ms()).await?.ok_or_else(|| not_found(&name))?;
    let versions = state.pipelines.versions(caller.id(), &name).await?;
    Ok((StatusCode::CREATED, Json(PipelineView::new(record, Some(versions)))))
}

/// A pipeline's latest version, with the list of its versions.
#[utoipa::path(
    get,
    path = "/v1/pipelines/{name}",
    tag = "pipelines",
    params(("name" = String, Path, description = "The pipeline's name")),
    responses(
        (status = 200, description = "Found", body = PipelineView),
        (status = 404, description = "No such pipeline", body = ErrorBody),
    )
)]
pub(crate) async fn latest(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(name): AppPath<String>,
) -> Result<Json<PipelineView>, ApiError> {
    let (_, record) = resolve(&state, &caller, &name).await?;
    let versions = state.pipelines.versions(&record.owner_id, &name).await?;
    Ok(Json(PipelineView::new(record, Some(versions))))
}

/// One version of a pipeline.
#[utoipa::path(
    get,
    path = "/v1/pipelines/{name}/versions/{version}",
    tag = "pipelines",
    params(
        ("name" = String, Path, description = "The pipeline's name"),
        ("version" = i64, Path, description = "The version, from 1", minimum = 1),
    ),
    responses(
        (status = 200, description = "Found", body = PipelineView),
        (status = 400, description = "Not a version number", body = ErrorBody),
        (status = 404, description = "No such pipeline or version", body = ErrorBody),
    )
)]
pub(crate) async fn version(
    State(state): State<AppState>,
    caller: Caller,
    AppPath((name, version)): AppPath<(String, String)>,
) -> Result<Json<PipelineView>, ApiError> {
    let reference = format!("{name}@{version}");
    Ok(Json(PipelineView::new(resolve(&state, &caller, &reference).await?.1, None)))
}

/// Saved pipelines by name, each at its latest version.
#[utoipa::path(
    get,
    path = "/v1/pipelines",
    tag = "pipelines",
    params(PageQuery),
    responses(
        (status = 200, description = "A page", body = PipelineList),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<PipelineList>, ApiError> {
    let page = Page::new(query.cursor, query.limit)?;
    // The cursor is the last name of the previous page; anything else was not given out.
    if let Some(cursor) = page.cursor.as_deref().filter(|cursor| !valid_name(cursor)) {
        return Err(Page::bad_cursor(cursor));
    }
    let found = state.pipelines.list(caller.id(), page.cursor.as_deref(), page.limit).await?;
    let items = found.pipelines.into_iter().map(|record| PipelineView::new(record, None)).collect();
    Ok(Json(PipelineList { items, next_cursor: found.next }))
}

/// Resolves `name@version` (or `name`, meaning the latest) among the pipelines `caller` may
/// use to a validated pipeline and the stored record it came from.
pub(crate) async fn resolve(
    state: &AppState,
    caller: &Caller,
    reference: &str,
) -> Result<(Pipeline, PipelineRecord), ApiError> {
    let (name, version) = match reference.split_once('@') {
        None => (reference, None),
        Some((name, version)) => {
            let version = version.parse::<i64>().ok().filter(|v| *v >= 1).ok_or_else(|| {
                let message = format!("`{reference}`: the version after `@` must be a whole number from 1");
                ApiError::new(ApiCode::InvalidRequest, message)
            })?;
            (name, Some(version))
        }
    };
    let missing = || ApiError::new(ApiCode::PipelineNotFound, format!("pipeline `{reference}` not found"));
    // Names are checked on creation; one with a control character (PostgreSQL refuses NUL
    // in text) names nothing.
    if name.chars().any(char::is_control) {
        return Err(missing());
    }
    // The caller's own first, then those every account shares (saved before accounts existed).
    let record = match state.pipelines.get(caller.id(), name, version).await? {
        Some(record) => record,
        None => state.pipelines.get(Pipelines::UNOWNED, name, version).await?.ok_or_else(missing)?,
    };
    let pipeline = Pipeline::parse_json(&record.document).map_err(|err| {
        // Stored documents were validated on the way in; one that fails now was written by
        // an incompatible version of atelier.
        ApiError::new(ApiCode::Internal, format!("stored pipeline `{reference}` no longer parses: {err}"))
    })?;
    Ok((pipeline, record))
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(ApiCode::PipelineNotFound, format!("pipeline `{name}` not found"))
}
