//! atelier's HTTP API (axum): uploads, jobs, the op catalogue, health. Handlers are thin:
//! they extract the request, call `storage` or `imaging`, and map the result through the
//! one error-code table in [`error`]. The service's first slice: authentication, OpenAPI,
//! signed URLs, metrics and SSE arrive with their issues.

pub mod app;
pub mod error;
mod ingest;
mod routes;

pub use app::{router, AppState};
pub use error::{ApiCode, ApiError};
