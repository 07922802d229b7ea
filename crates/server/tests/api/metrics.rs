//! `/metrics` and request ids: what a scrape shows after some traffic and after a job ran,
//! how the worker registry reads, and which request ids are echoed, made up or replaced.

use std::collections::HashSet;
use std::time::Duration;

use atelier_storage::{now_ms, Workers};
use serde_json::json;

use crate::support::{photo, spawn_app, spawn_idle_app, TestApp};

/// The scrape's sample lines that start with `name` (a metric name, labels optional).
fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines().filter(|line| line.starts_with(name)).collect()
}

#[tokio::test]
async fn a_scrape_counts_requests_by_route_template_and_status_and_jobs_by_state() {
    let app = spawn_idle_app().await;
    let (status, image) = app.upload(photo("rocket.jpg")).await;
    assert_eq!(status, 201, "{image}");
    let id = image["id"].as_str().unwrap().to_string();
    let (status, job) = app.post_json("/v1/jobs", json!({"ops": ["thumbnail:width=50"], "images": [id]})).await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(app.get("/v1/images/nope").await.status(), 404);
    assert_eq!(app.get(&format!("/v1/images/{id}")).await.status(), 200);
    assert_eq!(app.get("/nowhere?token=hunter2").await.status(), 404);

    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = res.text().await.unwrap();

    let requests = samples(&text, "http_requests_total{");
    let has = |parts: &[&str]| requests.iter().any(|line| parts.iter().all(|part| line.contains(part)));
    assert!(has(&["method=\"GET\"", "route=\"/v1/images/{id}\"", "status=\"404\""]), "{text}");
    assert!(has(&["method=\"GET\"", "route=\"/v1/images/{id}\"", "status=\"200\""]), "{text}");
    assert!(has(&["method=\"POST\"", "route=\"/v1/images\"", "status=\"201\""]), "{text}");
    assert!(has(&["route=\"unmatched\"", "status=\"404\""]), "{text}");
    let buckets = samples(&text, "http_request_duration_seconds_bucket{");
    assert!(buckets.iter().any(|l| l.contains("route=\"/v1/jobs\"") && l.contains("le=\"+Inf\"")), "{text}");
    assert!(buckets.iter().any(|l| l.contains("le=\"0.001\"")), "{text}");

    // No worker runs, so the job is still queued.
    assert!(text.lines().any(|l| l == "atelier_jobs{state=\"queued\"} 1"), "{text}");
    assert!(text.lines().any(|l| l == "atelier_jobs{state=\"succeeded\"} 0"), "{text}");
    assert!(text.lines().any(|l| l == "atelier_queue_depth 1"), "{text}");
    assert!(text.lines().any(|l| l == "atelier_up{component=\"database\"} 1"), "{text}");
    assert!(text.lines().any(|l| l == "atelier_transform_cache_hits_total 0"), "{text}");
    assert!(text.lines().any(|l| l == "atelier_transform_cache_misses_total 0"), "{text}");
    assert!(text.lines().any(|l| l == "atelier_transform_cache_coalesced_total 0"), "{text}");
    assert!(text.ends_with("# EOF\n"));

    // Raw paths never become labels: no ids, no "nope", no query strings.
    for raw in [id.as_str(), job["id"].as_str().unwrap(), "nope", "nowhere", "hunter2"] {
        assert!(!text.contains(raw), "{raw} appears in the scrape:\n{text}");
    }
}

/// The value of the sample whose name and labels are exactly `series`, if scraped.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Scrapes until `series` reads at least `min` (workers record an attempt just after they
/// report its outcome, so a finished job can be seen a moment before its histograms are).
async fn scrape_until(app: &TestApp, series: &str, min: f64) -> String {
    for _ in 0..100 {
        let text = app.get("/metrics").await.text().await.unwrap();
        if sample(&text, series).is_some_and(|value| value >= min) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("`{series}` never reached {min}:\n{}", app.get("/metrics").await.text().await.unwrap());
}

#[tokio::test]
async fn after_a_job_ran_the_scrape_shows_its_queue_wait_run_time_and_op_durations_and_one_live_worker() {
    let app = spawn_app().await;
    let (_, image) = app.upload(photo("rocket.jpg")).await;
    let (status, job) =
        app.post_json("/v1/jobs", json!({"ops": ["thumbnail:width=50"], "images": [image["id"]]})).await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(app.wait_for_job(job["id"].as_str().unwrap()).await["state"], "succeeded");

    let text = scrape_until(&app, "atelier_job_run_seconds_count{outcome=\"succeeded\"}", 1.0).await;
    let at_least_one = |series: &str| assert!(sample(&text, series).is_some_and(|n| n >= 1.0), "{series}:\n{text}");
    at_least_one("atelier_job_queue_wait_seconds_count");
    at_least_one("atelier_job_queue_wait_seconds_bucket{le=\"+Inf\"}");
    at_least_one("atelier_job_run_seconds_bucket{le=\"+Inf\",outcome=\"succeeded\"}");
    at_least_one("atelier_op_duration_seconds_count{op=\"thumbnail\"}");
    assert!(sample(&text, "atelier_op_duration_seconds_sum{op=\"thumbnail\"}").is_some_and(|s| s > 0.0), "{text}");
    assert_eq!(sample(&text, "atelier_workers{state=\"live\"}"), Some(1.0), "{text}");
    assert_eq!(sample(&text, "atelier_workers{state=\"stale\"}"), Some(0.0), "{text}");
    assert!(text.contains("# TYPE atelier_job_queue_wait_seconds histogram"), "{text}");
}

#[tokio::test]
async fn a_worker_whose_heartbeat_stopped_reads_as_stale_and_one_that_signed_off_is_not_counted() {
    let app = spawn_idle_app().await;
    let registry = Workers::new(app.db().clone());
    let long_ago = now_ms() - 5 * 60 * 1000;
    registry.register("killed-7-0", "host-a", 7, long_ago).await.unwrap();
    registry.register("drained-8-0", "host-b", 8, long_ago).await.unwrap();
    assert!(registry.stop("drained-8-0", 4, long_ago + 1_000).await.unwrap());
    let text = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(sample(&text, "atelier_workers{state=\"live\"}"), Some(0.0), "{text}");
    assert_eq!(sample(&text, "atelier_workers{state=\"stale\"}"), Some(1.0), "{text}");
    assert!(!text.contains("killed-7-0") && !text.contains("host-a"), "workers are counted, never named: {text}");

    app.start_worker();
    let text = scrape_until(&app, "atelier_workers{state=\"live\"}", 1.0).await;
    assert_eq!(sample(&text, "atelier_workers{state=\"stale\"}"), Some(1.0), "{text}");
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_a_missing_one_is_made_up_fresh() {
    let app = spawn_idle_app().await;
    let sent = app.client.get(app.url("/healthz")).header("x-request-id", "trace-42.a_b").send().await.unwrap();
    assert_eq!(sent.headers()["x-request-id"], "trace-42.a_b");

    let mut made = HashSet::new();
    for path in ["/healthz", "/healthz", "/nowhere"] {
        let res = app.get(path).await;
        let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
        assert!(uuid_shaped(&id), "{id}");
        made.insert(id);
    }
    assert_eq!(made.len(), 3, "ids repeat: {made:?}");
}

#[tokio::test]
async fn a_hostile_or_overlong_request_id_is_replaced() {
    let app = spawn_idle_app().await;
    let hostile = "../\t<script>alert(1)</script>";
    let overlong = "a".repeat(200);
    for sent in [hostile, overlong.as_str(), ""] {
        let res = app.client.get(app.url("/healthz")).header("x-request-id", sent).send().await.unwrap();
        let got = res.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(got, sent);
        assert!(uuid_shaped(got), "{got}");
    }
}

fn uuid_shaped(id: &str) -> bool {
    id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}
