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
    CategoryNotFound,
    /// `POST /v1/categories` with a name the caller already uses.
    CategoryExists,
    /// The caller has as many own categories as allowed.
    TooManyCategories,
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
    /// No credentials, or ones that are malformed, expired, revoked or for a disabled account.
    Unauthorized,
    /// Signed in, but not allowed: an admin route, or an API key without the needed scope.
    Forbidden,
    /// A wrong email or password at login; which one is never said.
    InvalidCredentials,
    /// Registration with an email that has an account.
    EmailTaken,
    /// A password the policy refuses; the message says why.
    WeakPassword,
    /// Registration is closed, or needs an invite and none (or a spent one) was given.
    RegistrationClosed,
    /// The balance does not cover the work; the body carries `needed` and `available`.
    InsufficientCredits,
    /// Stored bytes would pass the account's quota; the body carries `limit` and `used`.
    QuotaExceeded,
    /// The account has as many jobs queued or running as its quota allows.
    TooManyJobs,
    /// Too many requests from this account, key or address; the response carries `Retry-After`.
    RateLimited,
    /// The server's job queue holds `max_queued_jobs` jobs already; the response carries
    /// `Retry-After`, `limit` and `used`. Nothing was charged or queued.
    QueueFull,
    /// An image-level failure, carrying the imaging core's own code.
    Image(atelier_imaging::Code),
    /// An archive, metadata file, filter or dataset job refused, with the dataset crate's code.
    Dataset(atelier_dataset::Code),
    DatasetNotFound,
    /// An import with no image in it, or a dataset job whose filter selects no item.
    DatasetEmpty,
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
        ApiCode::CategoryNotFound,
        ApiCode::CategoryExists,
        ApiCode::TooManyCategories,
        ApiCode::DatasetNotFound,
        ApiCode::DatasetEmpty,
        ApiCode::UploadNotFound,
        ApiCode::UploadOffsetMismatch,
        ApiCode::UploadIncomplete,
        ApiCode::UploadConflict,
        ApiCode::JobConflict,
        ApiCode::InvalidSignature,
        ApiCode::UrlExpired,
        ApiCode::TransformDisabled,
        ApiCode::TooBusy,
        ApiCode::Unauthorized,
        ApiCode::Forbidden,
        ApiCode::InvalidCredentials,
        ApiCode::EmailTaken,
        ApiCode::WeakPassword,
        ApiCode::RegistrationClosed,
        ApiCode::InsufficientCredits,
        ApiCode::QuotaExceeded,
        ApiCode::TooManyJobs,
        ApiCode::RateLimited,
        ApiCode::QueueFull,
        ApiCode::Unavailable,
        ApiCode::Internal,
    ];

    /// Every code the API can answer with, the imaging core's included.
    pub fn all() -> impl Iterator<Item = ApiCode> {
        ApiCode::OWN
            .iter()
            .copied()
            .chain(atelier_imaging::Code::ALL.iter().map(|code| ApiCode::Image(*code)))
            .chain(atelier_dataset::Code::ALL.iter().map(|code| ApiCode::Dataset(*code)))
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
            ApiCode::CategoryNotFound => "category_not_found",
            ApiCode::CategoryExists => "category_exists",
            ApiCode::TooManyCategories => "too_many_categories",
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
            ApiCode::Unauthorized => "unauthorized",
            ApiCode::Forbidden => "forbidden",
            ApiCode::InvalidCredentials => "invalid_credentials",
            ApiCode::EmailTaken => "email_taken",
            ApiCode::WeakPassword => "weak_password",
            ApiCode::RegistrationClosed => "registration_closed",
            ApiCode::InsufficientCredits => "insufficient_credits",
            ApiCode::QuotaExceeded => "quota_exceeded",
            ApiCode::TooManyJobs => "too_many_jobs",
            ApiCode::RateLimited => "rate_limited",
            ApiCode::QueueFull => "queue_full",
            ApiCode::Image(code) => code.as_str(),
            ApiCode::Dataset(code) => code.as_str(),
            ApiCode::DatasetNotFound => "dataset_not_found",
            ApiCode::DatasetEmpty => "dataset_empty",
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
            | ApiCode::CategoryExists
            | ApiCode::TooManyCategories
            | ApiCode::UploadOffsetMismatch
            | ApiCode::UploadIncomplete
            | ApiCode::UploadConflict
            | ApiCode::EmailTaken => StatusCode::CONFLICT,
            ApiCode::RequestTooLarge | ApiCode::QuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
            ApiCode::InvalidPipeline | ApiCode::WeakPassword | ApiCode::DatasetEmpty => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiCode::Dataset(atelier_dataset::Code::ArchiveUnsupported) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiCode::Dataset(code) => match code.kind() {
                atelier_dataset::ErrorKind::BadInput => StatusCode::UNPROCESSABLE_ENTITY,
                atelier_dataset::ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                atelier_dataset::ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiCode::Unauthorized | ApiCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiCode::Forbidden | ApiCode::RegistrationClosed => StatusCode::FORBIDDEN,
            ApiCode::InsufficientCredits => StatusCode::PAYMENT_REQUIRED,
            ApiCode::TooManyJobs | ApiCode::RateLimited | ApiCode::QueueFull => StatusCode::TOO_MANY_REQUESTS,
            ApiCode::NotFound
            | ApiCode::ImageNotFound
            | ApiCode::JobNotFound
            | ApiCode::PipelineNotFound
            | ApiCode::CategoryNotFound
            | ApiCode::DatasetNotFound
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
    /// Figures a client acts on, sent beside `code` and `message`.
    pub detail: Detail,
}

/// The numbers some errors carry, so clients need not parse messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detail {
    pub needed: Option<i64>,
    pub available: Option<i64>,
    pub limit: Option<i64>,
    pub used: Option<i64>,
    /// Seconds; also sent as `Retry-After`.
    pub retry_after: Option<u64>,
    /// The dependency that did not answer: named in the body of a 503, which otherwise says
    /// nothing about the failure.
    pub dependency: Option<Dependency>,
}

/// What a process needs to be ready. A one-byte enum, not a string, so that `ApiError`
/// (every handler's `Err`) stays small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    Database,
    BlobStore,
}

impl Dependency {
    /// As the body's `dependency` names it; stable, like codes.
    pub fn as_str(self) -> &'static str {
        match self {
            Dependency::Database => "database",
            Dependency::BlobStore => "blob store",
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable and machine-readable, e.g. `image_not_found`.
    pub code: String,
    /// For people; may change between versions.
    pub message: String,
    /// `insufficient_credits`: what the work costs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needed: Option<i64>,
    /// `insufficient_credits`: the balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
    /// `quota_exceeded`, `too_many_jobs`: the account's limit; `queue_full`: the server's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// `quota_exceeded`, `too_many_jobs`: what the account uses now; `queue_full`: jobs queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used: Option<i64>,
    /// `rate_limited`, `queue_full`: seconds to wait, as in the `Retry-After` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// `service_unavailable` from `/readyz`: the dependency that did not answer, `database`
    /// or `blob store`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependency: Option<String>,
}

impl ErrorBody {
    /// A body with a code and a message and none of the figures.
    pub fn new(code: String, message: String) -> ErrorBody {
        ErrorBody {
            code,
            message,
            needed: None,
            available: None,
            limit: None,
            used: None,
            retry_after: None,
            dependency: None,
        }
    }
}

impl ApiError {
    pub fn new(code: ApiCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), detail: Detail::default() }
    }

    /// This error with `detail`'s figures in its body.
    pub fn with(mut self, detail: Detail) -> ApiError {
        self.detail = detail;
        self
    }

    /// `rate_limited`, to be retried after `seconds`.
    pub fn rate_limited(seconds: u64, message: impl Into<String>) -> ApiError {
        ApiError::new(ApiCode::RateLimited, message).with(Detail { retry_after: Some(seconds), ..Detail::default() })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.detail.retry_after;
        let (status, body) = self.into_body();
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// What a client is told when a vision step cannot run here.
pub const VISION_UNAVAILABLE: &str = "a vision step of this pipeline cannot run on this server: its models are not \
     set up, or its operator switched that analysis off; `atelier models` on the server shows which";

impl ApiError {
    /// The status and the body a client sees: 5xx messages are replaced by a stable line.
    pub fn into_body(self) -> (StatusCode, ErrorBody) {
        let status = self.code.status();
        let detail = self.detail;
        let message = if status.is_server_error() {
            // The detail stays in the server's log; clients get a stable, harmless line.
            eprintln!("atelier-server: {} {}: {}", status.as_u16(), self.code.as_str(), self.message);
            match status {
                // The detail names files on the server; the client gets the fix in general terms.
                _ if self.code == ApiCode::Image(atelier_imaging::Code::VisionUnavailable) => VISION_UNAVAILABLE.into(),
                StatusCode::SERVICE_UNAVAILABLE => match detail.dependency {
                    // Which dependency is the operator's first question, and no secret.
                    Some(dependency) => format!("the {} is unavailable; try again shortly", dependency.as_str()),
                    None => "a dependency is unavailable; try again shortly".to_string(),
                },
                _ => "an internal error occurred".to_string(),
            }
        } else {
            self.message
        };
        let Detail { needed, available, limit, used, retry_after, dependency } = detail;
        let code = self.code.as_str().to_string();
        let dependency = dependency.map(|dependency| dependency.as_str().to_string());
        (status, ErrorBody { code, message, needed, available, limit, used, retry_after, dependency })
    }
}

impl From<atelier_imaging::Error> for ApiError {
    fn from(err: atelier_imaging::Error) -> ApiError {
        ApiError::new(ApiCode::Image(err.code()), err.to_string())
    }
}

impl From<atelier_dataset::Error> for ApiError {
    fn from(err: atelier_dataset::Error) -> ApiError {
        ApiError::new(ApiCode::Dataset(err.code()), err.to_string())
    }
}

impl From<atelier_storage::Error> for ApiError {
    fn from(err: atelier_storage::Error) -> ApiError {
        use atelier_storage::{Error, ErrorKind, Quota};
        let detail = match &err {
            Error::InsufficientCredits { needed, available } => {
                Detail { needed: Some(*needed), available: Some(*available), ..Detail::default() }
            }
            Error::QuotaExceeded { limit, used, .. } => {
                Detail { limit: Some(*limit), used: Some(*used), ..Detail::default() }
            }
            _ => Detail::default(),
        };
        let code = match (&err, err.kind()) {
            (Error::QuotaExceeded { what: Quota::Jobs, .. }, _) => ApiCode::TooManyJobs,
            (_, ErrorKind::QuotaExceeded) => ApiCode::QuotaExceeded,
            (_, ErrorKind::InsufficientCredits) => ApiCode::InsufficientCredits,
            (_, ErrorKind::NotFound) => ApiCode::NotFound,
            (_, ErrorKind::Unavailable) => ApiCode::Unavailable,
            (_, ErrorKind::Internal) => ApiCode::Internal,
            (_, ErrorKind::Conflict) => ApiCode::JobConflict,
        };
        ApiError::new(code, err.to_string()).with(detail)
    }
}
