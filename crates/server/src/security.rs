//! Response hardening: the security headers every answer carries, and CORS for exactly the
//! origins an operator lists (none by default: the UI is served from the API's own origin).

use axum::extract::Request;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The page and the UI load scripts, styles and images from this origin only, in no frame.
/// Inline scripts are refused, so an injected `<script>` does not run.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Swagger UI styles some elements inline; its scripts are files like everyone else's.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Adds the security headers to every response, errors and fallbacks included.
pub async fn headers(request: Request, next: Next) -> Response {
    let docs = request.uri().path().starts_with("/docs");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(if docs { DOCS_CSP } else { CSP }));
    response
}

/// Why an origin in the allow-list was refused at start-up.
#[derive(Debug, thiserror::Error)]
#[error("CORS origin `{origin}` is not `scheme://host[:port]`")]
pub struct BadOrigin {
    pub origin: String,
}

/// The CORS layer for `origins` (`https://app.example.com`, no path, no wildcard), or `None`
/// when the list is empty: then browsers on other origins cannot call the API at all.
/// Credentials are never allowed cross-origin: API clients send `Authorization` themselves,
/// and the refresh cookie is `SameSite=Strict`.
pub fn cors(origins: &[String]) -> Result<Option<CorsLayer>, BadOrigin> {
    if origins.is_empty() {
        return Ok(None);
    }
    let mut allowed = Vec::with_capacity(origins.len());
    for origin in origins {
        let bad = || BadOrigin { origin: origin.clone() };
        let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")).ok_or_else(bad)?;
        let host_ok = !rest.is_empty()
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !host_ok {
            return Err(bad());
        }
        allowed.push(HeaderValue::from_str(origin).map_err(|_| bad())?);
    }
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_NONE_MATCH,
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                header::ETAG,
                header::RETRY_AFTER,
                header::LOCATION,
                HeaderName::from_static("x-request-id"),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    ))
}

#[cfg(test)]
mod tests {
    use super::cors;

    #[test]
    fn an_empty_allow_list_means_no_cors_layer() {
        assert!(cors(&[]).unwrap().is_none());
    }

    #[test]
    fn origins_with_paths_wildcards_or_no_scheme_are_refused() {
        for bad in ["*", "example.com", "https://", "https://a.example/path", "ftp://a.example", "https://a b"] {
            assert!(cors(&[bad.to_string()]).is_err(), "{bad} was accepted");
        }
        assert!(cors(&["https://app.example.com".into(), "http://127.0.0.1:5173".into()]).unwrap().is_some());
    }
}
