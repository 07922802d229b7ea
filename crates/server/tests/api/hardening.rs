//! What every answer carries whatever route it comes from: the security headers (a CSP that
//! forbids inline scripts and framing, nosniff, no referrer), and CORS for exactly the
//! origins an operator allows, never with credentials.

use crate::support::{spawn_idle_app, spawn_idle_app_with_cors};

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_errors_and_fallbacks_included() {
    let app = spawn_idle_app().await;
    for path in ["/healthz", "/v1/images", "/no/such/route", "/openapi.json"] {
        let res = app.anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(header(&res, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&res, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&res, "referrer-policy"), "no-referrer", "{path}");
        let csp = header(&res, "content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self';"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
    }
    // Swagger UI styles elements inline; its scripts are still files only.
    let docs = app.anonymous.get(app.url("/docs/")).send().await.unwrap();
    let csp = header(&docs, "content-security-policy");
    assert!(csp.contains("style-src 'self' 'unsafe-inline'") && csp.contains("script-src 'self';"), "{csp}");
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins_and_never_credentials() {
    let app = spawn_idle_app_with_cors(&["https://app.example.com"]).await;
    let preflight = |origin: &'static str| {
        app.anonymous
            .request(reqwest::Method::OPTIONS, app.url("/v1/images"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(header(&allowed, "access-control-allow-origin"), "https://app.example.com");
    assert!(header(&allowed, "access-control-allow-headers").to_ascii_lowercase().contains("authorization"));
    assert_eq!(header(&allowed, "access-control-allow-credentials"), "");
    let refused = preflight("https://evil.example.net").await.unwrap();
    assert_eq!(header(&refused, "access-control-allow-origin"), "", "another origin gets no grant");
    // Without a list, no origin is granted anything.
    let plain = spawn_idle_app().await;
    let res =
        plain.anonymous.get(plain.url("/healthz")).header("origin", "https://app.example.com").send().await.unwrap();
    assert_eq!(header(&res, "access-control-allow-origin"), "");
}
