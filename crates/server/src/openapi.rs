//! The OpenAPI 3.1 document. Routes are registered through `utoipa_axum`, so the router
//! and the document come from one table and a route cannot exist undocumented; the docs
//! page (Swagger UI) is compiled into the binary and works offline.

use utoipa::OpenApi;

use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "atelier",
        description = "Image processing and computer vision: uploads, saved pipelines, a durable job queue \
                       and results. Every error answers `{code, message}`; clients match on `code`.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "ops", description = "The op catalogue"),
        (name = "images", description = "Uploaded originals"),
        (name = "uploads", description = "Resumable uploads in parts, for big files"),
        (name = "pipelines", description = "Saved, versioned pipelines"),
        (name = "jobs", description = "Pipelines run over images by workers"),
    ),
    paths(crate::routes::jobs::output),
    components(schemas(ErrorBody))
)]
pub(crate) struct ApiDoc;
