//! The API's one error table: every failure a client can see has a stable `code`, an HTTP
//! status, and a human message. 5xx bodies never carry internals; the full error goes to
//! the log instead.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Every code the API answers with. Clients match on these strings: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiCode {
    InvalidJson,
    /// A body of a type the route does not take: JSON without `Content-Type: application/json`,
    /// or a form where raw bytes belong.
    UnsupportedMediaType,
    RequestTooLarge,
    InvalidPipeline,
    InvalidRequest,
    /// A job's webhook URL is malformed, or webhooks are off.
    InvalidWebhook,
    /// A `multipart/form-data` body that is malformed or not shaped as the route expects.
    InvalidMultipart,
    NotFound,
    ImageNotFound,
    JobNotFound,
    PipelineNotFound,
    /// `POST /v1/pipelines` with a name that is taken (new versions have their own route).
    PipelineExists,
    UploadNotFound,
    /// A part that does not start where the upload stands; the message says where.
    UploadOffsetMismatch,
    /// Completing an upload that has not received all its bytes.
    UploadIncomplete,
    /// Completing an upload that another request is completing.
    UploadConflict,
    /// The job is not in a state that allows the request (retrying a job that did not fail).
    JobConflict,
    /// A transform URL whose signature is missing, malformed, or no configured key's.
    InvalidSignature,
    /// A transform URL signed with an `exp` segment that has passed.
    UrlExpired,
    /// A transform URL on a server with no signing key configured.
    TransformDisabled,
    /// The render queue is full; the response carries `Retry-After`.
    TooBusy,
    /// An image-level failure, carrying the imaging core's own code.
    Image(atelier_imaging::Code),
    Unavailable,
    Internal,
}

impl ApiCode {
    /// Every code but those of the imaging core, which [`ApiCode::Image`] carries. A variant
    /// belongs here too; the API tests refuse an answer whose code is not listed.
    const OWN: &'static [ApiCode] = &[
        ApiCode::InvalidJson,
        ApiCode::UnsupportedMediaType,
        ApiCode::RequestTooLarge,
        ApiCode::InvalidPipeline,
        ApiCode::InvalidRequest,
        ApiCode::InvalidWebhook,
        ApiCode::InvalidMultipart,
        ApiCode::NotFound,
        ApiCode::ImageNotFound,
        ApiCode::JobNotFound,
        ApiCode::PipelineNotFound,
        ApiCode::PipelineExists,
        ApiCode::UploadNotFound,
        ApiCode::UploadOffsetMismatch,
        ApiCode::UploadIncomplete,
        ApiCode::UploadConflict,
        ApiCode::JobConflict,
        ApiCode::InvalidSignature,
        ApiCode::UrlExpired,
        ApiCode::TransformDisabled,
        ApiCode::TooBusy,
        ApiCode::Unavailable,
        ApiCode::Internal,
    ];

    /// Every code the API can answer with, the imaging core's included.
    pub fn all() -> impl Iterator<Item = ApiCode> {
        ApiCode::OWN.iter().copied().chain(atelier_imaging::Code::ALL.iter().map(|code| ApiCode::Image(*code)))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ApiCode::InvalidJson => "invalid_json",
            ApiCode::UnsupportedMediaType => "unsupported_media_type",
            ApiCode::RequestTooLarge => "request_too_large",
            ApiCode::InvalidPipeline => "invalid_pipeline",
            ApiCode::InvalidRequest => "invalid_request",
            ApiCode::InvalidMultipart => "invalid_multipart",
            ApiCode::InvalidWebhook => "invalid_webhook",
            ApiCode::NotFound => "not_found",
            ApiCode::PipelineNotFound => "pipeline_not_found",
            ApiCode::PipelineExists => "pipeline_exists",
            ApiCode::UploadNotFound => "upload_not_found",
            ApiCode::UploadOffsetMismatch => "upload_offset_mismatch",
            ApiCode::UploadIncomplete => "upload_incomplete",
            ApiCode::UploadConflict => "upload_conflict",
            ApiCode::ImageNotFound => "image_not_found",
            ApiCode::JobNotFound => "job_not_found",
            ApiCode::JobConflict => "job_state_conflict",
            ApiCode::InvalidSignature => "invalid_signature",
            ApiCode::UrlExpired => "url_expired",
            ApiCode::TransformDisabled => "transform_disabled",
            ApiCode::TooBusy => "too_busy",
            ApiCode::Image(code) => code.as_str(),
            ApiCode::Unavailable => "service_unavailable",
            ApiCode::Internal => "internal_error",
        }
    }

    pub fn status(self) -> StatusCode {
        use atelier_imaging::Code as C;
        match self {
            ApiCode::InvalidJson | ApiCode::InvalidRequest | ApiCode::InvalidMultipart | ApiCode::InvalidWebhook => {
                StatusCode::BAD_REQUEST
            }
            ApiCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiCode::JobConflict
            | ApiCode::PipelineExists
            | ApiCode::UploadOffsetMismatch
            | ApiCode::UploadIncomplete
            | ApiCode::UploadConflict => StatusCode::CONFLICT,
            ApiCode::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiCode::InvalidPipeline => StatusCode::UNPROCESSABLE_ENTITY,
            ApiCode::NotFound
            | ApiCode::ImageNotFound
            | ApiCode::JobNotFound
            | ApiCode::PipelineNotFound
            | ApiCode::UploadNotFound
            | ApiCode::TransformDisabled => StatusCode::NOT_FOUND,
            ApiCode::InvalidSignature => StatusCode::FORBIDDEN,
            ApiCode::UrlExpired => StatusCode::GONE,
            ApiCode::TooBusy => StatusCode::TOO_MANY_REQUESTS,
            ApiCode::Image(C::EmptyInput) => StatusCode::BAD_REQUEST,
            ApiCode::Image(C::UnsupportedFormat) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiCode::Image(
                C::InputTooLarge | C::TooManyPixels | C::TooManyFrames | C::OutputTooLarge | C::TooManyOutputs,
            ) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiCode::Image(C::VisionUnavailable) | ApiCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiCode::Image(C::EncodeFailed | C::InternalError) | ApiCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiCode::Image(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// An error on its way to the client as `{"code": "...", "message": "..."}`. `Clone` so that
/// requests sharing one render share its failure too.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ApiCode,
    pub message: String,
}

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable and machine-readable, e.g. `image_not_found`.
    pub code: String,
    /// For people; may change between versions.
    pub message: String,
}

impl ApiError {
    pub fn new(code: ApiCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.into_body();
        (status, Json(body)).into_response()
    }
}

impl ApiError {
    /// The status and the body a client sees: 5xx messages are replaced by a stable line.
    pub fn into_body(self) -> (StatusCode, ErrorBody) {
        let status = self.code.status();
        let message = if status.is_server_error() {
            // The detail stays in the server's log; clients get a stable, harmless line.
            eprintln!("atelier-server: {} {}: {}", status.as_u16(), self.code.as_str(), self.message);
            match status {
                StatusCode::SERVICE_UNAVAILABLE => "a dependency is unavailable; try again shortly".to_string(),
                _ => "an internal error occurred".to_string(),
            }
        } else {
            self.message
        };
        (status, ErrorBody { code: self.code.as_str().to_string(), message })
    }
}

impl From<atelier_imaging::Error> for ApiError {
    fn from(err: atelier_imaging::Error) -> ApiError {
        ApiError::new(ApiCode::Image(err.code()), err.to_string())
    }
}

impl From<atelier_storage::Error> for ApiError {
    fn from(err: atelier_storage::Error) -> ApiError {
        use atelier_storage::ErrorKind;
        let code = match err.kind() {
            ErrorKind::NotFound => ApiCode::NotFound,
            ErrorKind::Unavailable => ApiCode::Unavailable,
            ErrorKind::Internal => ApiCode::Internal,
        };
        ApiError::new(code, err.to_string())
    }
}
