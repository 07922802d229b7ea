//! Signed transform URLs over HTTP: rendering and the derived cache, revalidation, format
//! negotiation, key rotation, refusals, single-flight and the bounded render queue.

use std::sync::atomic::Ordering::Relaxed;

use atelier_imaging::{probe, Format, Limits};
use atelier_server::transform::{signed_path, SigningKey, TransformConfig};
use futures::future::join_all;
use serde_json::Value;

use crate::support::{photo, spawn_app, spawn_app_with, TestApp};

fn key(seed: u8) -> SigningKey {
    SigningKey::new(&[seed; 32]).unwrap()
}

/// Transform URLs accepting the keys made from `seeds`.
fn keyed(seeds: &[u8]) -> TransformConfig {
    TransformConfig { keys: seeds.iter().map(|&seed| key(seed)).collect(), ..TransformConfig::default() }
}

async fn upload(app: &TestApp, name: &str) -> String {
    let (status, image) = app.upload(photo(name)).await;
    assert_eq!(status, 201, "{image}");
    image["id"].as_str().unwrap().to_string()
}

async fn fetch(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|value| value.to_str().unwrap().to_string())
}

/// Status and error code of a refused request.
async fn refusal(app: &TestApp, path: &str) -> (u16, String, String) {
    let response = fetch(app, path, &[]).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_string(), body["message"].to_string())
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn a_signed_url_renders_once_then_serves_the_cache_and_answers_revalidation_with_304() {
    let app = spawn_app_with(keyed(&[1])).await;
    let id = upload(&app, "rocket.jpg").await;
    let path = signed_path(&key(1), "rs:cover:300:200/q:70", &id, "webp");

    let first = fetch(&app, &path, &[]).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "content-type").as_deref(), Some("image/webp"));
    assert_eq!(header(&first, "cache-control").as_deref(), Some("public, max-age=31536000, immutable"));
    assert_eq!(header(&first, "vary"), None, "a fixed format does not vary with Accept");
    let etag = header(&first, "etag").unwrap();
    assert!(etag.len() == 66 && etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let bytes = first.bytes().await.unwrap();
    let image = probe(&bytes, &Limits::default()).unwrap();
    assert_eq!((image.format, image.width, image.height), (Format::Webp, 300, 200));
    let stats = app.transform_stats();
    assert_eq!((stats.misses.load(Relaxed), stats.hits.load(Relaxed)), (1, 0));
    assert_eq!(app.blob_files("derived").len(), 1);

    let second = fetch(&app, &path, &[]).await;
    assert_eq!(header(&second, "etag").as_deref(), Some(etag.as_str()));
    assert_eq!(second.bytes().await.unwrap(), bytes);
    assert_eq!((stats.misses.load(Relaxed), stats.hits.load(Relaxed)), (1, 1), "the second request is a hit");

    let revalidated = fetch(&app, &path, &[("if-none-match", &format!("W/\"x\", {etag}"))]).await;
    assert_eq!(revalidated.status(), 304);
    assert_eq!(header(&revalidated, "etag").as_deref(), Some(etag.as_str()));
    assert!(revalidated.bytes().await.unwrap().is_empty());
    assert_eq!(stats.not_modified.load(Relaxed), 1);
    let stale = fetch(&app, &path, &[("if-none-match", "\"something-else\"")]).await;
    assert_eq!(stale.status(), 200);
}

#[tokio::test]
async fn auto_urls_follow_accept_say_they_vary_and_share_the_cache_with_fixed_ones() {
    let app = spawn_app_with(keyed(&[1])).await;
    let (photo_id, logo_id) = (upload(&app, "rocket.jpg").await, upload(&app, "logo.png").await);
    let webp = "image/webp,image/apng,*/*;q=0.8";
    let cases = [
        (&photo_id, webp, Format::Webp),
        (&photo_id, "*/*", Format::Jpeg),
        (&photo_id, "", Format::Jpeg),
        (&logo_id, "image/webp;q=0, */*", Format::Png),
        (&logo_id, webp, Format::Webp),
    ];
    for (id, accept, expected) in cases {
        let path = signed_path(&key(1), "th:64:64", id, "auto");
        let response = fetch(&app, &path, &[("accept", accept)]).await;
        assert_eq!(response.status(), 200, "{accept}");
        assert_eq!(header(&response, "vary").as_deref(), Some("Accept"));
        assert_eq!(header(&response, "content-type").as_deref(), Some(expected.mime_type()), "{accept}");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(probe(&bytes, &Limits::default()).unwrap().format, expected, "{accept}");
    }

    let stats = app.transform_stats();
    let (hits, auto_etag) = {
        let path = signed_path(&key(1), "th:64:64", &photo_id, "auto");
        (stats.hits.load(Relaxed), header(&fetch(&app, &path, &[("accept", webp)]).await, "etag"))
    };
    let fixed = fetch(&app, &signed_path(&key(1), "thumbnail:64:64/q:80", &photo_id, "webp"), &[]).await;
    assert_eq!(header(&fixed, "etag"), auto_etag, ".auto served as WebP and .webp are one entry");
    assert_eq!(stats.hits.load(Relaxed), hits + 2);
}

#[tokio::test]
async fn an_old_key_keeps_working_while_configured_and_stops_when_removed() {
    let (old, new) = (1, 2);
    let rotating = spawn_app_with(keyed(&[new, old])).await;
    let id = upload(&rotating, "chelsea.png").await;
    for seed in [old, new] {
        let response = fetch(&rotating, &signed_path(&key(seed), "q:70", &id, "jpg"), &[]).await;
        assert_eq!(response.status(), 200, "key {seed}");
    }

    let rotated = spawn_app_with(keyed(&[new])).await;
    let id = upload(&rotated, "chelsea.png").await;
    let (status, code, _) = refusal(&rotated, &signed_path(&key(old), "q:70", &id, "jpg")).await;
    assert_eq!((status, code.as_str()), (403, "invalid_signature"));
    assert_eq!(fetch(&rotated, &signed_path(&key(new), "q:70", &id, "jpg"), &[]).await.status(), 200);
}

#[tokio::test]
async fn a_url_changed_anywhere_after_signing_is_refused_with_invalid_signature() {
    let app = spawn_app_with(keyed(&[1])).await;
    let (id, other_id) = (upload(&app, "rocket.jpg").await, upload(&app, "chelsea.png").await);
    let good = signed_path(&key(1), "rs:cover:300:200/q:70", &id, "webp");
    assert_eq!(fetch(&app, &good, &[]).await.status(), 200);
    let signature = good.split('/').nth(2).unwrap().to_string();
    let mut flipped = signature.clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();

    let cases = [
        ("other options", good.replace("q:70", "q:71")),
        ("other image", good.replace(&id, &other_id)),
        ("other extension", good.replace(".webp", ".png")),
        ("one character of the signature", good.replace(&signature, &flipped)),
        ("a shortened signature", good.replace(&signature, &signature[..42])),
        ("no signature", good.replace(&format!("{signature}/"), "")),
        ("an empty signature", good.replace(&signature, "")),
        ("another key's signature", signed_path(&key(2), "rs:cover:300:200/q:70", &id, "webp")),
        ("percent-escapes", good.replace("rs:cover", "rs%3Acover")),
        ("an extra segment", good.replace("q:70", "q:70/bl:2")),
        ("a signature alone", format!("/t/{signature}")),
    ];
    for (name, path) in cases {
        let (status, code, message) = refusal(&app, &path).await;
        assert_eq!((status, code.as_str()), (403, "invalid_signature"), "{name}: {path} {message}");
    }
    assert_eq!(app.transform_stats().misses.load(Relaxed), 1, "refused URLs render nothing");
}

#[tokio::test]
async fn signed_urls_are_refused_when_expired_invalid_or_naming_no_image() {
    let app = spawn_app_with(keyed(&[1])).await;
    let id = upload(&app, "chelsea.png").await;
    let deleted = upload(&app, "rocket.jpg").await;
    assert_eq!(app.client.delete(app.url(&format!("/v1/images/{deleted}"))).send().await.unwrap().status(), 204);
    let (past, future) = (now() - 1, now() + 3600);
    let cases = [
        (format!("q:70/exp:{past}"), id.as_str(), "jpg", 410, "url_expired", ""),
        ("q:70/exp:1".to_string(), id.as_str(), "jpg", 410, "url_expired", ""),
        ("rs:cover:300:200/bl:abc".to_string(), id.as_str(), "jpg", 422, "invalid_pipeline", "segment 2"),
        (format!("exp:{future}/q:70"), id.as_str(), "jpg", 422, "invalid_pipeline", "segment 1"),
        ("q:70".to_string(), id.as_str(), "gif", 422, "invalid_pipeline", "extension"),
        ("q:70".to_string(), id.as_str(), "", 422, "invalid_pipeline", "extension"),
        ("c:0:0:5000:5000".to_string(), id.as_str(), "png", 422, "op_not_applicable", ""),
        ("q:70".to_string(), "9b2f0b7e-0000-4000-8000-000000000000", "jpg", 404, "image_not_found", ""),
        ("q:70".to_string(), deleted.as_str(), "jpg", 404, "image_not_found", ""),
    ];
    for (options, image, ext, status, code, place) in cases {
        let path = signed_path(&key(1), &options, image, ext);
        let (got, got_code, message) = refusal(&app, &path).await;
        assert_eq!((got, got_code.as_str()), (status, code), "{path}: {message}");
        assert!(message.contains(place), "{path}: {message}");
    }
    let live = fetch(&app, &signed_path(&key(1), &format!("q:70/exp:{future}"), &id, "jpg"), &[]).await;
    assert_eq!(live.status(), 200, "an expiry in the future is served");
    let cache_control = header(&live, "cache-control").unwrap();
    let max_age: u64 = cache_control.split("max-age=").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
    assert!((3590..=3600).contains(&max_age), "caches keep it no longer than it is valid: {cache_control}");
}

#[tokio::test]
async fn without_a_key_the_route_is_disabled() {
    let app = spawn_app().await;
    let id = upload(&app, "chelsea.png").await;
    let (status, code, _) = refusal(&app, &signed_path(&key(1), "q:70", &id, "jpg")).await;
    assert_eq!((status, code.as_str()), (404, "transform_disabled"));
}

#[tokio::test]
async fn twenty_identical_concurrent_cold_requests_render_once() {
    let app = spawn_app_with(keyed(&[1])).await;
    let id = upload(&app, "rocket.jpg").await;
    let path = signed_path(&key(1), "rs:inside:400:0/bl:3", &id, "webp");
    let responses = join_all((0..20).map(|_| fetch(&app, &path, &[]))).await;
    let mut etags = Vec::new();
    for response in responses {
        assert_eq!(response.status(), 200);
        etags.push(header(&response, "etag").unwrap());
    }
    etags.dedup();
    assert_eq!(etags.len(), 1);
    let stats = app.transform_stats();
    assert_eq!(stats.misses.load(Relaxed), 1, "one render");
    assert_eq!(stats.hits.load(Relaxed) + stats.coalesced.load(Relaxed), 19);
    assert!(stats.coalesced.load(Relaxed) > 0, "concurrent requests joined the render in flight");
}

#[tokio::test]
async fn a_full_render_queue_answers_429_with_retry_after_and_never_5xx() {
    let config = TransformConfig { max_concurrent: 1, max_waiting: 0, ..keyed(&[1]) };
    let app = spawn_app_with(config).await;
    let id = upload(&app, "rocket.jpg").await;
    // Distinct URLs, so that single-flight cannot merge them: each needs a render of its own.
    let paths: Vec<String> = (0..8).map(|n| signed_path(&key(1), &format!("bl:8/q:{}", 50 + n), &id, "png")).collect();
    let responses = join_all(paths.iter().map(|path| fetch(&app, path, &[]))).await;
    let mut statuses = Vec::new();
    for response in responses {
        let status = response.status().as_u16();
        if status == 429 {
            assert_eq!(header(&response, "retry-after").as_deref(), Some("1"));
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], "too_busy");
        }
        statuses.push(status);
    }
    assert!(statuses.iter().all(|&status| status == 200 || status == 429), "{statuses:?}");
    assert!(statuses.contains(&200) && statuses.contains(&429), "{statuses:?}");
    let stats = app.transform_stats();
    assert_eq!(stats.rejected.load(Relaxed), statuses.iter().filter(|&&status| status == 429).count() as u64);
}

#[tokio::test]
async fn a_render_charges_the_images_owner_on_a_cache_miss_only_and_anyone_may_fetch_it() {
    let app = spawn_app_with(keyed(&[1])).await;
    let id = upload(&app, "rocket.jpg").await;
    let balance = || async {
        let (_, credits) = app.send(app.client.get(app.url("/v1/me/credits"))).await;
        credits["balance"].as_i64().unwrap()
    };
    let before = balance().await;
    let path = signed_path(&key(1), "rs:cover:300:200/q:70", &id, "jpeg");
    // The URL is the credential: no token needed.
    let first = app.anonymous.get(app.url(&path)).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = header(&first, "etag").unwrap();
    let charged = before - balance().await;
    assert!(charged > 0, "the miss is paid for by the owner");
    assert_eq!(fetch(&app, &path, &[]).await.status(), 200);
    assert_eq!(fetch(&app, &path, &[("if-none-match", &etag)]).await.status(), 304);
    assert_eq!(before - balance().await, charged, "hits and revalidations are free");
    let (_, history) = app.send(app.client.get(app.url("/v1/me/credits"))).await;
    let entry = &history["items"][0];
    assert_eq!((entry["kind"].as_str(), entry["amount"].as_i64()), (Some("charge"), Some(-charged)), "{history}");
}
