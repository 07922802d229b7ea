//! `GET /v1/ops`: the op catalogue with parameter schemas and credit costs.

use axum::Json;

/// Every op, with its parameters' JSON schema and its credit cost.
#[utoipa::path(get, path = "/v1/ops", tag = "ops", security(()), responses((status = 200, description = "The catalogue", body = [Object])))]
pub(crate) async fn list() -> Json<Vec<atelier_imaging::OpInfo>> {
    Json(atelier_imaging::catalogue())
}
