//! The application: shared state and the one table of routes.

use std::path::PathBuf;
use std::sync::Arc;

use atelier_imaging::Limits;
use atelier_storage::{BlobStore, Db, Images, Queue};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Notify;

use crate::error::{ApiCode, ApiError};
use crate::routes::{health, images, jobs, ops};

/// What every handler may use. Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub queue: Queue,
    pub images: Images,
    pub blobs: Arc<dyn BlobStore>,
    pub limits: Limits,
    /// Most images one job may name.
    pub max_job_items: usize,
    /// Where uploads are spooled while they are hashed and checked.
    pub upload_dir: PathBuf,
    /// Woken when a job is enqueued, so idle in-process workers start at once.
    pub wake: Arc<Notify>,
}

/// Every route, in one place.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(health::home))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/v1/ops", get(ops::list))
        // Uploads enforce `limits.max_input_bytes` themselves, while streaming.
        .route("/v1/images", post(images::upload).layer(DefaultBodyLimit::disable()))
        .route("/v1/images/{id}", get(images::metadata))
        .route("/v1/images/{id}/original", get(images::original))
        .route("/v1/jobs", post(jobs::submit).get(jobs::list))
        .route("/v1/jobs/{id}", get(jobs::status))
        .route("/v1/jobs/{id}/cancel", post(jobs::cancel))
        .route("/v1/jobs/{id}/retry", post(jobs::retry))
        .route("/v1/jobs/{id}/outputs/{*name}", get(jobs::output))
        .fallback(|| async { ApiError::new(ApiCode::NotFound, "no such route") })
        .with_state(state)
}
