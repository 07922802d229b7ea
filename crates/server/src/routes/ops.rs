//! `GET /v1/ops`: the op catalogue with parameter schemas and credit costs.

use axum::Json;

pub(crate) async fn list() -> Json<Vec<atelier_imaging::OpInfo>> {
    Json(atelier_imaging::catalogue())
}
