//! The browser app's files (`atelier-web`): `/` is its page, `/ui/...` its scripts, styles
//! and pictures, with ETags and gzip. Public: the app signs in through the API itself.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiCode, ApiError};
use crate::negotiate::{accepts, not_modified};

/// `GET /`: the app's page.
pub(crate) async fn index(headers: HeaderMap) -> Response {
    serve(atelier_web::index(), &headers)
}

/// `GET /ui/{*path}`: one of the app's files.
pub(crate) async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match atelier_web::get(&path) {
        Some(asset) => serve(asset, &headers),
        None => ApiError::new(ApiCode::NotFound, "the web app has no such file").into_response(),
    }
}

fn serve(asset: &'static atelier_web::Asset, request: &HeaderMap) -> Response {
    let etag = HeaderValue::from_static(asset.etag);
    // Revalidated on every use: a new binary's files are picked up at once, and an
    // unchanged file costs a 304 with no body.
    let common = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
    ];
    if matches_etag(request, asset.etag) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let content_type = [(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))];
    match asset.gzip {
        Some(gzip) if accepts_gzip(request) => {
            let encoding = [(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))];
            (common, content_type, encoding, gzip).into_response()
        }
        _ => (common, content_type, asset.body).into_response(),
    }
}

/// `If-None-Match` lists `etag` (weakly), or is `*`, which any current file matches
/// (RFC 9110, 13.1.2).
fn matches_etag(request: &HeaderMap, etag: &str) -> bool {
    not_modified(request, etag) || not_modified(request, "*")
}

/// `Accept-Encoding` names gzip, or `*`, without `q=0`.
fn accepts_gzip(request: &HeaderMap) -> bool {
    accepts(request, header::ACCEPT_ENCODING, "gzip") || accepts(request, header::ACCEPT_ENCODING, "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.clone(), HeaderValue::from_str(value).unwrap())).collect()
    }

    #[test]
    fn gzip_is_accepted_by_name_or_star_unless_its_quality_is_zero() {
        let cases = [
            ("gzip", true),
            ("br, gzip;q=0.8", true),
            ("GZIP", true),
            ("*", true),
            ("deflate, br", false),
            ("gzip;q=0", false),
            ("gzip; q=0.0", false),
            ("", false),
        ];
        for (value, want) in cases {
            assert_eq!(accepts_gzip(&headers(&[(header::ACCEPT_ENCODING, value)])), want, "{value:?}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn if_none_match_matches_the_etag_in_a_list_weak_or_star() {
        let etag = "\"00ff\"";
        let cases =
            [("\"00ff\"", true), ("\"aa\", \"00ff\"", true), ("W/\"00ff\"", true), ("*", true), ("\"aa\"", false)];
        for (value, want) in cases {
            assert_eq!(matches_etag(&headers(&[(header::IF_NONE_MATCH, value)]), etag), want, "{value:?}");
        }
    }
}
