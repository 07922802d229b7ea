//! The application: shared state and the one table of routes.

use std::path::PathBuf;
use std::sync::Arc;

use atelier_imaging::Limits;
use atelier_storage::{BlobStore, Db, Images, Pipelines, Queue, Uploads};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use tokio::sync::Notify;

use crate::error::{ApiCode, ApiError};
use crate::routes::{health, images, jobs, ops, pipelines, uploads};

/// What every handler may use. Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub queue: Queue,
    pub images: Images,
    pub pipelines: Pipelines,
    pub uploads: Uploads,
    pub blobs: Arc<dyn BlobStore>,
    pub limits: Limits,
    /// Most images one job may name.
    pub max_job_items: usize,
    /// Where uploads are spooled while they are hashed and checked.
    pub upload_dir: PathBuf,
    /// Woken when a job is enqueued, so idle in-process workers start at once.
    pub wake: Arc<Notify>,
}

impl AppState {
    /// The state over one database and blob store; the stores are views of `db`.
    pub fn new(
        db: Db,
        blobs: Arc<dyn BlobStore>,
        limits: Limits,
        max_job_items: usize,
        upload_dir: PathBuf,
    ) -> AppState {
        AppState {
            queue: Queue::new(db.clone()),
            images: Images::new(db.clone()),
            pipelines: Pipelines::new(db.clone()),
            uploads: Uploads::new(db.clone()),
            db,
            blobs,
            limits,
            max_job_items,
            upload_dir,
            wake: Arc::new(Notify::new()),
        }
    }
}

/// Every route, in one place.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(health::home))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/v1/ops", get(ops::list))
        // Uploads enforce `limits.max_input_bytes` themselves, while streaming.
        .route("/v1/images", post(images::upload).layer(DefaultBodyLimit::disable()).get(images::list))
        .route("/v1/images/{id}", get(images::metadata).delete(images::delete))
        .route("/v1/images/{id}/original", get(images::original))
        .route("/v1/uploads", post(uploads::create))
        // Parts enforce their own limit while streaming.
        .route(
            "/v1/uploads/{id}",
            put(uploads::put_part).layer(DefaultBodyLimit::disable()).get(uploads::status).delete(uploads::abort),
        )
        .route("/v1/uploads/{id}/complete", post(uploads::complete))
        .route("/v1/pipelines", post(pipelines::create).get(pipelines::list))
        .route("/v1/pipelines/{name}", get(pipelines::latest))
        .route("/v1/pipelines/{name}/versions", post(pipelines::add_version))
        .route("/v1/pipelines/{name}/versions/{version}", get(pipelines::version))
        .route("/v1/jobs", post(jobs::submit).get(jobs::list))
        .route("/v1/jobs/{id}", get(jobs::status))
        .route("/v1/jobs/{id}/cancel", post(jobs::cancel))
        .route("/v1/jobs/{id}/retry", post(jobs::retry))
        .route("/v1/jobs/{id}/outputs/{*name}", get(jobs::output))
        .fallback(|| async { ApiError::new(ApiCode::NotFound, "no such route") })
        .with_state(state)
}
