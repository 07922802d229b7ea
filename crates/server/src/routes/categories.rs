//! The caller's own image categories for `classify`: one is made from a few example images
//! (the classification model's fingerprint of each, averaged), then listed or deleted. A
//! job's `classify` step with `own_categories` puts each image in the nearest of them.

use atelier_imaging::ops::classify::centre;
use atelier_imaging::{Models, Pipeline};
use atelier_storage::{now_ms, CategoryCreated, CategoryRecord};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::images::find;
use super::{AppJson, AppPath};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiCode, ApiError, ErrorBody};

/// Most categories one account may keep.
pub const MAX_CATEGORIES: i64 = 100;
/// Most example images one category is made from.
pub const MAX_EXAMPLES: usize = 20;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewCategory {
    /// 1 to 64 characters of a-z, 0-9, '-', '_' and '.'.
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    name: String,
    /// 1 to 20 of the caller's image ids: photos of things of this category.
    #[schema(min_items = 1, max_items = 20)]
    images: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CategoryView {
    name: String,
    /// How many example images made it.
    examples: i64,
    created_at: i64,
}

impl From<CategoryRecord> for CategoryView {
    fn from(record: CategoryRecord) -> Self {
        CategoryView { name: record.name, examples: record.examples, created_at: record.created_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CategoryList {
    /// By name.
    items: Vec<CategoryView>,
}

/// Makes a category from example images.
#[utoipa::path(
    post,
    path = "/v1/categories",
    tag = "categories",
    request_body = NewCategory,
    responses(
        (status = 201, description = "Made", body = CategoryView),
        (status = 400, description = "A bad name or image list", body = ErrorBody),
        (status = 404, description = "An image does not exist", body = ErrorBody),
        (status = 409, description = "The name is taken (`category_exists`), or the account has 100 categories (`too_many_categories`)", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "An example image cannot be decoded", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
        (status = 503, description = "The classification model is not set up here (`vision_unavailable`)", body = ErrorBody),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(request): AppJson<NewCategory>,
) -> Result<(StatusCode, Json<CategoryView>), ApiError> {
    state.auth.check_expensive(&caller)?;
    super::pipelines::check_name("category", &request.name)?;
    let count = request.images.len();
    if count == 0 || count > MAX_EXAMPLES {
        let message = format!("`images` must list 1 to {MAX_EXAMPLES} image ids, got {count}");
        return Err(ApiError::new(ApiCode::InvalidRequest, message));
    }
    let mut sources = Vec::with_capacity(count);
    for id in &request.images {
        let record = find(&state, caller.scope(), id).await?;
        sources.push((id.clone(), record.blob_key()?));
    }
    // Once, before any image is fetched: a server without the model answers 503 at once.
    let classify = Pipeline::parse_inline(&["classify"])
        .map_err(|err| ApiError::new(ApiCode::Internal, format!("the classify step: {err}")))?;
    super::jobs::check_models(&state, &classify).await?;
    let mut fingerprints = Vec::with_capacity(count);
    for (id, key) in sources {
        let bytes = state.blobs.get(&key).await?;
        let (models, limits) = (state.models.clone(), state.limits.clone());
        let fingerprint = tokio::task::spawn_blocking(move || fingerprint(&*models, &bytes, &limits))
            .await
            .map_err(|err| ApiError::new(ApiCode::Internal, format!("fingerprinting was interrupted: {err}")))?
            .map_err(|err| match err.code() {
                atelier_imaging::Code::VisionUnavailable => ApiError::from(err),
                _ => ApiError::new(ApiCode::Image(err.code()), format!("image `{id}`: {err}")),
            })?;
        fingerprints.push(fingerprint);
    }
    let centre = centre(&fingerprints)
        .ok_or_else(|| ApiError::new(ApiCode::Internal, "the examples' fingerprints do not agree in length"))?;
    let examples = count as i64;
    match state.categories.create(caller.id(), &request.name, &centre, examples, MAX_CATEGORIES, now_ms()).await? {
        CategoryCreated::Created(record) => Ok((StatusCode::CREATED, Json(record.into()))),
        CategoryCreated::NameTaken => Err(ApiError::new(
            ApiCode::CategoryExists,
            format!("you have a category named `{}`; delete it first to remake it", request.name),
        )),
        CategoryCreated::TooMany => Err(ApiError::new(
            ApiCode::TooManyCategories,
            format!("you have {MAX_CATEGORIES} categories, the most an account may keep; delete one first"),
        )),
    }
}

/// One stored image's fingerprint, as `classify` computes it.
fn fingerprint(
    models: &dyn Models,
    bytes: &[u8],
    limits: &atelier_imaging::Limits,
) -> Result<Vec<f32>, atelier_imaging::Error> {
    let decoded = atelier_imaging::decode(bytes, limits, None)?;
    atelier_imaging::ops::classify::fingerprint(models, &decoded.image)
}

/// The caller's categories.
#[utoipa::path(
    get,
    path = "/v1/categories",
    tag = "categories",
    responses((status = 200, description = "By name", body = CategoryList))
)]
pub(crate) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<CategoryList>, ApiError> {
    let items = state.categories.list(caller.id()).await?.into_iter().map(CategoryView::from).collect();
    Ok(Json(CategoryList { items }))
}

/// Deletes a category. Jobs already queued that match against it no longer find it.
#[utoipa::path(
    delete,
    path = "/v1/categories/{name}",
    tag = "categories",
    params(("name" = String, Path, description = "The category's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such category", body = ErrorBody),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(name): AppPath<String>,
) -> Result<StatusCode, ApiError> {
    if state.categories.delete(caller.id(), &name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(ApiCode::CategoryNotFound, format!("category `{name}` not found")))
    }
}
