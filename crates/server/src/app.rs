//! The application: shared state and the one table of routes.

use std::path::PathBuf;
use std::sync::Arc;

use atelier_dataset::ArchiveLimits;
use atelier_imaging::{Limits, Models, NoModels};
use atelier_storage::{
    ApiKeys, BlobStore, Categories, Credits, Datasets, Db, Images, Invites, Pipelines, Queue, Sessions, Uploads, Users,
};
use atelier_worker::WorkerMetrics;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;
use axum::Router;
use tokio::sync::Notify;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{Auth, AuthConfig};
use crate::error::{ApiCode, ApiError};
use crate::openapi::ApiDoc;
use crate::routes::jobs::backpressure::QueueDepth;
use crate::routes::{
    account, admin, categories, datasets, health, images, jobs, keys, me, ops, pipelines, uploads, web,
};
use crate::telemetry::{self, Metrics};
use crate::transform::{self, TransformConfig, TransformState};

/// What every handler may use. Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub queue: Queue,
    pub images: Images,
    pub pipelines: Pipelines,
    pub uploads: Uploads,
    pub users: Users,
    pub sessions: Sessions,
    pub api_keys: ApiKeys,
    pub invites: Invites,
    pub credits: Credits,
    /// The users' own categories for `classify`.
    pub categories: Categories,
    /// Datasets, and dataset jobs' per-item records.
    pub datasets: Datasets,
    /// What an imported archive may hold.
    pub archive_limits: ArchiveLimits,
    /// Token keys, account rules and the sign-in limiters.
    pub auth: Arc<Auth>,
    /// Browser origins allowed to call the API (CORS); empty means only the API's own.
    pub cors_origins: Vec<String>,
    pub blobs: Arc<dyn BlobStore>,
    pub limits: Limits,
    /// Most images one job may name.
    pub max_job_items: usize,
    /// The queued jobs past which submissions answer 429 `queue_full`, and their count,
    /// cached for every request of the process. No limit until [`AppState::with_max_queued_jobs`].
    pub(crate) queue_depth: Arc<QueueDepth>,
    /// Where uploads are spooled while they are hashed and checked.
    pub upload_dir: PathBuf,
    /// Woken when a job is enqueued, so idle in-process workers start at once.
    pub wake: Arc<Notify>,
    /// Signed transform URLs: keys, the render queue, in-flight renders and counters.
    pub transform: Arc<TransformState>,
    /// HTTP counters and histograms; `/metrics` adds the rest when scraped.
    pub metrics: Arc<Metrics>,
    /// Whether jobs may name a webhook: only when workers have a secret to sign with.
    pub webhooks: bool,
    /// The in-process workers' histograms, scraped with the rest; `None` when this process
    /// runs no workers.
    pub worker_metrics: Option<Arc<WorkerMetrics>>,
    /// The vision models: jobs and renders with vision steps are refused up front (503
    /// `vision_unavailable`) when these cannot run them. [`NoModels`] until
    /// [`AppState::with_models`]; the server never loads a model itself.
    pub models: Arc<dyn Models>,
}

impl AppState {
    /// The state over one database and blob store; the stores are views of `db`. Access
    /// tokens are signed with a random key until [`AppState::with_auth`] sets the real one.
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
            users: Users::new(db.clone()),
            sessions: Sessions::new(db.clone()),
            api_keys: ApiKeys::new(db.clone()),
            invites: Invites::new(db.clone()),
            credits: Credits::new(db.clone()),
            categories: Categories::new(db.clone()),
            datasets: Datasets::new(db.clone()),
            archive_limits: ArchiveLimits::default(),
            auth: Arc::new(Auth::new(AuthConfig::default(), &atelier_auth::secret::random_bytes::<32>())),
            cors_origins: Vec::new(),
            db,
            blobs,
            limits,
            max_job_items,
            queue_depth: Arc::new(QueueDepth::new(0)),
            upload_dir,
            wake: Arc::new(Notify::new()),
            transform: Arc::new(TransformState::new(TransformConfig::default())),
            metrics: Arc::new(Metrics::new()),
            webhooks: false,
            worker_metrics: None,
            models: Arc::new(NoModels),
        }
    }

    /// This state refusing archives past `limits` (entries, sizes, ratio).
    pub fn with_archive_limits(mut self, limits: ArchiveLimits) -> AppState {
        self.archive_limits = limits;
        self
    }

    /// This state with `config`'s account rules, signing access tokens with `secret` (at
    /// least 32 bytes, the same on every replica).
    pub fn with_auth(mut self, config: AuthConfig, secret: &[u8]) -> AppState {
        self.auth = Arc::new(Auth::new(config, secret));
        self
    }

    /// This state allowing browsers on `origins` to call the API.
    pub fn with_cors(mut self, origins: Vec<String>) -> AppState {
        self.cors_origins = origins;
        self
    }

    /// This state refusing job submissions (429 `queue_full`) while `limit` jobs or more are
    /// queued; 0 means no limit.
    pub fn with_max_queued_jobs(mut self, limit: u64) -> AppState {
        self.queue_depth = Arc::new(QueueDepth::new(limit));
        self
    }

    /// This state with webhooks accepted on job submission (workers sign and send them).
    pub fn with_webhooks(mut self, enabled: bool) -> AppState {
        self.webhooks = enabled;
        self
    }

    /// This state with transform URLs set up as `config` says; without it they are disabled.
    pub fn with_transform(mut self, config: TransformConfig) -> AppState {
        self.transform = Arc::new(TransformState::new(config));
        self
    }

    /// This state with vision steps run (and checked before a job is queued) by `models`.
    pub fn with_models(mut self, models: Arc<dyn Models>) -> AppState {
        self.models = models;
        self
    }

    /// This state with `/metrics` showing the histograms of the workers sharing `metrics`.
    pub fn with_worker_metrics(mut self, metrics: Arc<WorkerMetrics>) -> AppState {
        self.worker_metrics = Some(metrics);
        self
    }
}

/// Every route, in one place: the documented API through `utoipa_axum` (so the router and
/// the OpenAPI document cannot drift apart), the docs page, and the few plain routes.
pub fn router(state: AppState) -> Result<Router, crate::security::BadOrigin> {
    let metrics = state.metrics.clone();
    let cors = crate::security::cors(&state.cors_origins)?;
    let (api, mut document) = api_routes().split_for_parts();
    crate::openapi::finish(&mut document);
    let router = api
        .route("/", get(web::index))
        .route("/ui/{*path}", get(web::asset))
        .route("/t/{*path}", get(transform::serve))
        .route("/metrics", get(telemetry::metrics))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", document))
        .fallback(|| async { ApiError::new(ApiCode::NotFound, "no such route") })
        .with_state(state)
        .layer(middleware::from_fn(crate::security::headers));
    // Inside the telemetry layer, so refused preflights are counted too.
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    // Outermost, so every route and the fallback is timed, counted and logged.
    Ok(router.layer(middleware::from_fn_with_state(metrics, telemetry::track)))
}

/// The OpenAPI document alone, as `/openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = api_routes().into_openapi();
    crate::openapi::finish(&mut document);
    document
}

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(account::register))
        .routes(routes!(account::login))
        .routes(routes!(account::refresh))
        .routes(routes!(account::logout))
        .routes(routes!(me::me))
        .routes(routes!(me::change_password))
        .routes(routes!(me::credits))
        .routes(routes!(keys::create, keys::list))
        .routes(routes!(keys::revoke))
        .routes(routes!(admin::users))
        .routes(routes!(admin::change_user))
        .routes(routes!(admin::credits))
        .routes(routes!(admin::invite))
        .routes(routes!(admin::jobs))
        .routes(routes!(admin::queue))
        .routes(routes!(ops::list))
        // Uploads enforce `limits.max_input_bytes` themselves, while streaming.
        .routes(unlimited(routes!(images::upload, images::list)))
        .routes(routes!(images::metadata, images::delete))
        .routes(routes!(images::original))
        .routes(routes!(uploads::create))
        // Parts enforce their own limit while streaming.
        .routes(unlimited(routes!(uploads::put_part, uploads::status, uploads::abort)))
        .routes(routes!(uploads::complete))
        .routes(routes!(pipelines::create, pipelines::list))
        .routes(routes!(pipelines::latest))
        .routes(routes!(pipelines::add_version))
        .routes(routes!(pipelines::version))
        .routes(routes!(categories::create, categories::list))
        .routes(routes!(categories::delete))
        .routes(unlimited(routes!(datasets::import, datasets::list)))
        .routes(routes!(datasets::from_images))
        .routes(routes!(datasets::from_prefix))
        .routes(routes!(datasets::get, datasets::delete))
        .routes(routes!(datasets::items))
        .routes(routes!(datasets::submit_job))
        .routes(routes!(jobs::submit, jobs::list))
        .routes(routes!(jobs::status))
        .routes(routes!(jobs::cancel))
        .routes(routes!(jobs::retry))
        .routes(routes!(jobs::events::stream))
        .routes(routes!(jobs::archive::download))
        // Output names contain `/`, which only a wildcard matches; ApiDoc documents the
        // route under its OpenAPI spelling.
        .route("/v1/jobs/{id}/outputs/{*name}", get(jobs::output))
}

/// Lifts axum's default body limit for handlers that stream and limit bodies themselves.
fn unlimited(routes: UtoipaMethodRouter<AppState>) -> UtoipaMethodRouter<AppState> {
    let (schemas, paths, method_router) = routes;
    (schemas, paths, method_router.layer(DefaultBodyLimit::disable()))
}
