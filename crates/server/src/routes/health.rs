//! `/healthz` (the process answers) and `/readyz` (its database and blob store do too).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::ApiError;

pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.db.check().await?;
    state.blobs.check().await?;
    Ok(Json(json!({ "status": "ready" })))
}
