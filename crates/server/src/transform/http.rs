//! The HTTP side of a transform response: the caching headers every answer carries
//! (`crate::negotiate` reads `Accept` and `If-None-Match`).

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiCode, ApiError};

/// Outputs never change under a key (the key covers the source, the ops and the encoder),
/// so browsers and CDNs may keep them for a year without asking again.
pub(super) const YEAR_SECS: u64 = 31_536_000;

/// The headers of a 200 or 304 for one output.
pub(super) struct Caching<'a> {
    pub etag: &'a str,
    /// Set for `.auto` URLs, whose bytes depend on `Accept`.
    pub vary_accept: bool,
    /// [`YEAR_SECS`], or less for a URL that expires sooner: a cache must not keep serving
    /// what the server would refuse.
    pub max_age: u64,
}

impl Caching<'_> {
    pub fn not_modified(&self) -> Result<Response, ApiError> {
        self.builder(StatusCode::NOT_MODIFIED).body(Body::empty()).map_err(internal)
    }

    pub fn ok(&self, bytes: bytes::Bytes, mime: &str) -> Result<Response, ApiError> {
        self.builder(StatusCode::OK)
            .header(header::CONTENT_TYPE, mime)
            .header(header::CONTENT_LENGTH, bytes.len())
            .body(Body::from(bytes))
            .map_err(internal)
    }

    fn builder(&self, status: StatusCode) -> axum::http::response::Builder {
        let builder = Response::builder()
            .status(status)
            .header(header::ETAG, self.etag)
            .header(header::CACHE_CONTROL, format!("public, max-age={}, immutable", self.max_age));
        if self.vary_accept {
            builder.header(header::VARY, "Accept")
        } else {
            builder
        }
    }
}

/// An error as a response; a 429 says when to come back.
pub(super) fn error_response(err: ApiError) -> Response {
    let busy = err.code == ApiCode::TooBusy;
    let mut response = err.into_response();
    if busy {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

fn internal(err: axum::http::Error) -> ApiError {
    ApiError::new(ApiCode::Internal, err.to_string())
}
