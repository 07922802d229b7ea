//! Request telemetry: a request id and a `tracing` span per request, one log line after it,
//! HTTP counters and latency histograms, and `GET /metrics` in OpenMetrics text, where the
//! job, worker-registry and cache figures are read at scrape time and the in-process
//! workers' histograms are added. [`worker_router`] serves the workers' histograms alone,
//! beside the API's own `/healthz` and `/readyz`, for `atelier worker`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use atelier_storage::{now_ms, BlobStore, Db, JobState, Workers};
use atelier_worker::host::STALE_AFTER;
use atelier_worker::WorkerMetrics;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tracing::Instrument;

use crate::app::AppState;
use crate::error::{ApiCode, ApiError};
use crate::routes::health::{self, Dependencies};

/// The header a request id travels in, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// Upper bounds in seconds: a health check takes about a millisecond, a large upload or a
/// cold transform render tens of seconds; slower requests land in `+Inf`.
const LATENCY_BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Every state, so a state with no jobs reads 0 instead of vanishing from the scrape.
const JOB_STATES: [JobState; 6] =
    [JobState::Queued, JobState::Running, JobState::Succeeded, JobState::Failed, JobState::Canceled, JobState::Dead];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentLabels {
    component: &'static str,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The process's long-lived metrics. Figures owned by other parts (the database, the
/// transform cache) are not copied here; [`metrics`] reads them when scraped.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        // Registered without `_total`: the encoder appends it to counters.
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let durations: HistogramFamily = Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS));
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response headers, by method and route template",
            durations.clone(),
        );
        Metrics { registry, requests, durations }
    }

    fn observe(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        self.requests.get_or_create(&RequestLabels { method, route: route.to_string(), status }).inc();
        self.durations.get_or_create(&RouteLabels { method, route: route.to_string() }).observe(seconds);
    }
}

/// Middleware on the whole router: request id, span, metrics and the access-log line.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_sane_request_id(id))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    let method = method_label(request.method());
    // The template, never the path: paths carry ids (unbounded label values, and private).
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_string();

    let span = tracing::info_span!("request", request_id = %request_id, method, route = %route);
    let mut response = next.run(request).instrument(span).await;

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    metrics.observe(method, &route, status, elapsed.as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    // Method, template and status only: query strings, headers and bodies may hold secrets.
    tracing::info!(
        method,
        route = %route,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %request_id,
        "request"
    );
    response
}

/// A client's id is kept only if it is a short token, so it cannot forge log lines or
/// smuggle markup into whatever displays them.
fn is_sane_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Standard methods by name; anything else is one label, so clients cannot mint series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics`: the HTTP metrics, then figures read now from the database (jobs by
/// state, workers live and stale) and the transform cache, then the in-process workers'
/// histograms. A database that does not answer leaves its figures out and reads
/// `atelier_up{component="database"} 0`, so the scrape itself still succeeds.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut scrape = Registry::default();

    let up = Family::<ComponentLabels, Gauge>::default();
    scrape.register("atelier_up", "Whether a dependency answered this scrape (1) or not (0)", up.clone());
    match state.queue.counts().await {
        Ok(counts) => {
            up.get_or_create(&ComponentLabels { component: "database" }).set(1);
            let jobs = Family::<StateLabels, Gauge>::default();
            for job_state in JOB_STATES {
                let n = counts.iter().find(|(s, _)| *s == job_state).map_or(0, |(_, n)| *n);
                jobs.get_or_create(&StateLabels { state: job_state.as_str() }).set(n);
            }
            let queued = counts.iter().find(|(s, _)| *s == JobState::Queued).map_or(0, |(_, n)| *n);
            let depth = Gauge::<i64>::default();
            depth.set(queued);
            scrape.register("atelier_jobs", "Jobs by state", jobs);
            scrape.register("atelier_queue_depth", "Jobs waiting for a worker", depth);
        }
        Err(err) => {
            tracing::warn!(error = %err, "metrics: counting jobs failed");
            up.get_or_create(&ComponentLabels { component: "database" }).set(0);
        }
    }
    match Workers::new(state.db.clone()).census(now_ms(), STALE_AFTER).await {
        Ok(census) => {
            let workers = Family::<StateLabels, Gauge>::default();
            workers.get_or_create(&StateLabels { state: "live" }).set(census.live);
            workers.get_or_create(&StateLabels { state: "stale" }).set(census.stale);
            scrape.register(
                "atelier_workers",
                "Registered workers not stopped: live (recent heartbeat) or stale (silent, most likely dead)",
                workers,
            );
        }
        Err(err) => tracing::warn!(error = %err, "metrics: counting workers failed"),
    }
    if let Some(worker_metrics) = &state.worker_metrics {
        worker_metrics.register(&mut scrape);
    }

    let stats = &state.transform.stats;
    let cache: [(&str, &str, &AtomicU64); 5] = [
        ("atelier_transform_cache_hits", "Transform renders served from the derived-blob cache", &stats.hits),
        ("atelier_transform_cache_misses", "Transform renders that had to render", &stats.misses),
        ("atelier_transform_cache_coalesced", "Transform requests that joined an identical render", &stats.coalesced),
        ("atelier_transform_not_modified", "Transform requests answered 304 from If-None-Match", &stats.not_modified),
        ("atelier_transform_rejected", "Transform renders refused with 429 (render queue full)", &stats.rejected),
    ];
    for (name, help, value) in cache {
        let counter = Counter::<u64>::default();
        counter.inc_by(value.load(Relaxed));
        scrape.register(name, help, counter);
    }

    openmetrics(&[&state.metrics.registry, &scrape])
}

/// The listener of `atelier worker`, which runs workers and no API: `GET /metrics` with the
/// histograms of the workers sharing `metrics`, and the API's own `/healthz` and `/readyz`
/// (its checks and timeouts) over the worker's database and blob store.
pub fn worker_router(metrics: Arc<WorkerMetrics>, db: Db, blobs: Arc<dyn BlobStore>) -> Router {
    let scrape = move || {
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        std::future::ready(openmetrics(&[&registry]))
    };
    Router::new()
        .route("/metrics", get(scrape))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::dependencies_ready))
        .with_state(Dependencies { db, blobs })
}

/// The registries, in order, as one OpenMetrics text response.
fn openmetrics(registries: &[&Registry]) -> Response {
    let mut body = String::new();
    let encoded = registries
        .iter()
        .try_for_each(|registry| encode_registry(&mut body, registry))
        .and_then(|()| encode_eof(&mut body));
    if encoded.is_err() {
        return ApiError::new(ApiCode::Internal, "encoding metrics failed").into_response();
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::is_sane_request_id;

    #[test]
    fn request_ids_are_kept_only_when_they_are_short_plain_tokens() {
        assert!(is_sane_request_id("abc-123_x.y"));
        assert!(is_sane_request_id(&"a".repeat(64)));
        assert!(!is_sane_request_id(&"a".repeat(65)));
        assert!(!is_sane_request_id(""));
        assert!(!is_sane_request_id("../\n<script>"));
        assert!(!is_sane_request_id("a b"));
    }
}
