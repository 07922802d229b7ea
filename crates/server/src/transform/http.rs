//! The HTTP side of a transform response: reading `Accept` and `If-None-Match`, and the
//! caching headers every answer carries.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiCode, ApiError};

/// Outputs never change under a key (the key covers the source, the ops and the encoder),
/// so browsers and CDNs may keep them for a year without asking again.
pub(super) const YEAR_SECS: u64 = 31_536_000;

/// Whether the client names `mime` in `Accept` with a non-zero quality. Wildcards do not
/// count: nearly every client sends `*/*`, including ones that cannot decode WebP or AVIF.
pub(super) fn accepts(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let named = parts.next().is_some_and(|media| media.trim().eq_ignore_ascii_case(mime));
            let refused = parts.filter_map(|param| param.split_once('=')).any(|(name, value)| {
                name.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
            });
            named && !refused
        })
}

/// Whether `If-None-Match` lists `etag` (weak comparison, as RFC 9110 asks for GET).
pub(super) fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim().trim_start_matches("W/") == etag)
}

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

#[cfg(test)]
mod tests {
    use axum::http::{header, HeaderMap, HeaderValue};

    use super::{accepts, not_modified};

    fn headers(name: header::HeaderName, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn accept_counts_a_type_only_when_named_with_a_non_zero_quality() {
        let cases: &[(&[&str], bool)] = &[
            (&["image/avif,image/webp,image/apng,image/*,*/*;q=0.8"], true),
            (&["text/html", "IMAGE/WEBP"], true),
            (&["image/webp;q=0.5"], true),
            (&["image/webp; q=0"], false),
            (&["image/webp;q=0.0, image/png"], false),
            (&["image/*,*/*"], false),
            (&["image/webpx"], false),
            (&[], false),
        ];
        for (values, expected) in cases {
            assert_eq!(accepts(&headers(header::ACCEPT, values), "image/webp"), *expected, "{values:?}");
        }
    }

    #[test]
    fn if_none_match_matches_any_listed_tag_weak_or_strong() {
        let etag = "\"abc\"";
        let cases: &[(&[&str], bool)] = &[
            (&["\"abc\""], true),
            (&["W/\"abc\""], true),
            (&["\"x\", \"abc\""], true),
            (&["\"x\"", "\"abc\""], true),
            (&["\"abcd\""], false),
            (&["abc"], false),
            (&["*"], false),
            (&[], false),
        ];
        for (values, expected) in cases {
            assert_eq!(not_modified(&headers(header::IF_NONE_MATCH, values), etag), *expected, "{values:?}");
        }
    }
}
