//! `/healthz` (the process answers) and `/readyz` (its database and blob store do too, each
//! within [`CHECK_TIMEOUT`]), for the API and, through [`Dependencies`], for `atelier worker`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use atelier_storage::{BlobStore, Db};
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::{ApiCode, ApiError, Dependency, Detail, ErrorBody};

/// How long each dependency has to answer a readiness probe. A store that accepts
/// connections and never answers (a stopped S3 server) would otherwise hold the probe for
/// its client's own timeouts, a minute or more, longer than any orchestrator waits.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What a process is ready with: the database and the blob store it works on.
#[derive(Clone)]
pub(crate) struct Dependencies {
    pub db: Db,
    pub blobs: Arc<dyn BlobStore>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()), responses((status = 200, description = "Alive", body = Object)))]
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database and the blob store answer, each within 2 seconds.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "Ready", body = Object),
        (status = 503, description = "A dependency failed or did not answer in time (`service_unavailable`); `dependency` names it: `database` or `blob store`", body = ErrorBody),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    ready(&state.db, &*state.blobs).await
}

/// `/readyz` for a process with no API state: `atelier worker`.
pub(crate) async fn dependencies_ready(State(dependencies): State<Dependencies>) -> Result<Json<Value>, ApiError> {
    ready(&dependencies.db, &*dependencies.blobs).await
}

/// Both checks at once, so a probe takes at most one [`CHECK_TIMEOUT`]; the database is
/// reported first when both fail.
async fn ready(db: &Db, blobs: &dyn BlobStore) -> Result<Json<Value>, ApiError> {
    let (database, blob_store) =
        tokio::join!(within(Dependency::Database, db.check()), within(Dependency::BlobStore, blobs.check()));
    database?;
    blob_store?;
    Ok(Json(json!({ "status": "ready" })))
}

/// `check`'s answer, or a 503 naming `dependency` when it fails or takes longer than
/// [`CHECK_TIMEOUT`]. The cause goes to the log only.
async fn within(
    dependency: Dependency,
    check: impl Future<Output = atelier_storage::Result<()>>,
) -> Result<(), ApiError> {
    let cause = match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(err)) => err.to_string(),
        Err(_) => format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
    };
    let detail = Detail { dependency: Some(dependency), ..Detail::default() };
    let message = format!("readiness: the {}: {cause}", dependency.as_str());
    Err(ApiError::new(ApiCode::Unavailable, message).with(detail))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn a_check_that_never_finishes_is_a_503_naming_its_dependency_once_its_time_is_up() {
        let started = Instant::now();
        let never = std::future::pending::<atelier_storage::Result<()>>();
        let (status, body) = super::within(super::Dependency::Database, never).await.unwrap_err().into_body();
        assert!(started.elapsed() < super::CHECK_TIMEOUT + Duration::from_secs(1));
        assert_eq!((status.as_u16(), body.code.as_str()), (503, "service_unavailable"));
        assert_eq!(body.dependency.as_deref(), Some("database"));
        assert_eq!(body.message, "the database is unavailable; try again shortly");
    }
}
