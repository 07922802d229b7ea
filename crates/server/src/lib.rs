//! atelier's HTTP API (axum): uploads, jobs, the op catalogue, health. Handlers are thin:
//! they extract the request, call `storage` or `imaging`, and map the result through the
//! one error-code table in [`error`]. Routes are documented where they are registered, so
//! `/openapi.json` always describes the router as built.

pub mod app;
pub mod auth;
pub mod error;
mod ingest;
mod negotiate;
mod openapi;
mod routes;
pub mod security;
pub mod telemetry;
pub mod transform;

pub use app::{openapi, router, AppState};
pub use auth::{Auth, AuthConfig, Registration};
pub use error::{ApiCode, ApiError};
pub use routes::categories::{MAX_CATEGORIES, MAX_EXAMPLES};
pub use routes::pipelines::valid_name;
