//! Route handlers, one module per resource, and the extractors that turn malformed bodies,
//! queries and paths into our error format.

pub(crate) mod account;
pub(crate) mod admin;
pub(crate) mod categories;
pub(crate) mod datasets;
pub(crate) mod health;
pub(crate) mod images;
pub(crate) mod jobs;
pub(crate) mod keys;
pub(crate) mod me;
pub(crate) mod ops;
pub(crate) mod pipelines;
pub(crate) mod uploads;
pub(crate) mod web;

use atelier_imaging::Format;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;

use crate::error::{ApiCode, ApiError};

/// `T` read only from a JSON object. serde's derive also reads a struct from an array of
/// its fields in order, which for a body of optional fields would make `[]` a valid request.
pub(crate) struct ObjectOnly<T>(pub T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Object<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
            type Value = ObjectOnly<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<ObjectOnly<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(ObjectOnly)
            }
        }
        deserializer.deserialize_map(Object(std::marker::PhantomData))
    }
}

/// `Json<T>` whose rejections are `{code, message}` like every other error.
pub(crate) struct AppJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(AppJson(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

/// A JSON body that may be left out (empty or blank): `None` then. A body that is there must
/// be declared JSON and parse, with the same error codes as [`AppJson`].
pub(crate) struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        let body = axum::body::Bytes::from_request(req, state).await.map_err(|rejection| {
            let code = match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiCode::RequestTooLarge,
                _ => ApiCode::InvalidRequest,
            };
            ApiError::new(code, rejection.body_text())
        })?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        if !declared_json {
            return Err(ApiError::new(ApiCode::UnsupportedMediaType, "a body must be sent as `application/json`"));
        }
        let value =
            serde_json::from_slice(&body).map_err(|err| ApiError::new(ApiCode::InvalidJson, err.to_string()))?;
        Ok(OptionalJson(Some(value)))
    }
}

/// `Query<T>` whose rejections are `{code, message}` too.
pub(crate) struct AppQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(AppQuery(value)),
            Err(rejection) => Err(ApiError::new(ApiCode::InvalidRequest, rejection.body_text())),
        }
    }
}

/// `Path<T>` whose rejections are `{code, message}` too. Parameters arrive percent-decoded,
/// so they may hold anything a client can encode: one that is not UTF-8, or that holds a
/// control character (no id, name or output the API makes does; PostgreSQL cannot even
/// compare text with a NUL in it), is refused here rather than looked up.
pub(crate) struct AppPath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for AppPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let bad = |message: String| ApiError::new(ApiCode::InvalidRequest, message);
        let raw =
            RawPathParams::from_request_parts(parts, state).await.map_err(|rejection| bad(rejection.body_text()))?;
        if let Some((name, _)) = raw.iter().find(|(_, value)| value.chars().any(char::is_control)) {
            return Err(bad(format!("the path parameter `{name}` holds a control character")));
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(AppPath(value)),
            Err(rejection) => Err(bad(rejection.body_text())),
        }
    }
}

/// The query of every list route that pages by cursor and nothing else.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// `next_cursor` from the previous page.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
    /// 1 to 100; 20 by default.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// A checked page request: `limit` in 1..=100 (default 20), and the cursor as given.
pub(crate) struct Page {
    pub cursor: Option<String>,
    pub limit: u32,
}

impl Page {
    pub const MAX: u32 = 100;

    pub fn new(cursor: Option<String>, limit: Option<u32>) -> Result<Page, ApiError> {
        let limit = limit.unwrap_or(20);
        if !(1..=Page::MAX).contains(&limit) {
            return Err(ApiError::new(ApiCode::InvalidRequest, format!("`limit` must be 1..=100, got {limit}")));
        }
        Ok(Page { cursor, limit })
    }

    pub fn bad_cursor(cursor: &str) -> ApiError {
        ApiError::new(ApiCode::InvalidRequest, format!("`cursor` `{cursor}` is not one this API gave out"))
    }
}

fn json_error(rejection: JsonRejection) -> ApiError {
    let code = match rejection.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiCode::UnsupportedMediaType,
        StatusCode::PAYLOAD_TOO_LARGE => ApiCode::RequestTooLarge,
        _ => ApiCode::InvalidJson,
    };
    ApiError::new(code, rejection.body_text())
}

/// Whether a request's body is a form (`multipart/...`), by its declared content type.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().to_ascii_lowercase().starts_with("multipart/"))
}

/// Stored image bytes as a response, typed by their format when it is known.
pub(crate) fn image_response(bytes: bytes::Bytes, format: Option<Format>) -> Result<Response, ApiError> {
    let mime = format.map_or("application/octet-stream", Format::mime_type);
    Response::builder()
        .header(header::CONTENT_TYPE, mime)
        .header(header::CONTENT_LENGTH, bytes.len())
        .body(Body::from(bytes))
        .map_err(|err| ApiError::new(ApiCode::Internal, err.to_string()))
}
