//! The browser app as a browser gets it: `/` is its page under the strict CSP, its files
//! come gzipped to clients that ask and plain to others, unchanged files cost a 304, and a
//! missing file is the API's own 404.

use crate::support::spawn_idle_app;

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

#[tokio::test]
async fn the_root_serves_the_app_page_under_the_strict_csp() {
    let app = spawn_idle_app().await;
    let res = app.anonymous.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "text/html; charset=utf-8");
    let csp = header(&res, "content-security-policy");
    assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe-inline"), "{csp}");
    let page = res.text().await.unwrap();
    assert!(page.contains("<title>atelier</title>") && page.contains("src=\"/ui/js/app.js\""), "{page}");
}

#[tokio::test]
async fn files_come_gzipped_only_to_clients_that_ask_and_revalidate_with_a_304() {
    let app = spawn_idle_app().await;
    let url = app.url("/ui/js/app.js");
    let plain = app.anonymous.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(header(&plain, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(header(&plain, "content-encoding"), "");
    assert_eq!(header(&plain, "vary"), "accept-encoding");
    let etag = header(&plain, "etag");
    assert!(etag.starts_with('"') && etag.len() > 2, "{etag}");
    let text = plain.text().await.unwrap();
    assert!(text.contains("import"), "the module itself");

    let gzipped = app.anonymous.get(&url).header("accept-encoding", "gzip, br").send().await.unwrap();
    assert_eq!(header(&gzipped, "content-encoding"), "gzip");
    let body = gzipped.bytes().await.unwrap();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "a gzip stream");
    assert!(body.len() < text.len());

    let again = app.anonymous.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), etag);
    assert!(again.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_or_hostile_file_path_is_the_apis_404() {
    let app = spawn_idle_app().await;
    for path in ["/ui/nope.js", "/ui/../Cargo.toml", "/ui/%2e%2e/Cargo.toml", "/ui/js/", "/ui/js/%00.js"] {
        let res = app.anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "not_found", "{path}: {body}");
    }
}
