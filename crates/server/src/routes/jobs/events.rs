//! A job's progress as Server-Sent Events: a `job` event whenever its state or progress
//! changes, an `item` event as each item finishes, and `end` with the full job when it
//! reaches a final state.
//!
//! The stream watches the job's row rather than listening to workers, so it works the same
//! whether the job runs in this process or in an `atelier worker` elsewhere. A client that
//! connects late, or reconnects, first gets the current state and every item already done:
//! events are idempotent, so a reconnecting client simply replaces what it had.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use atelier_storage::{Job, Scope};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Serialize;
use utoipa::ToSchema;

use super::{load, JobView, Progress};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::routes::AppPath;

/// How often the job's row is read while the stream is open.
const POLL: Duration = Duration::from_millis(400);

/// Comment lines that keep proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The `job` event: everything about a job except its per-item results.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct JobEvent {
    id: String,
    /// queued, running, succeeded, failed, canceled or dead.
    state: String,
    progress: Progress,
    attempts: i64,
    max_attempts: i64,
    cancel_requested: bool,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    error: Option<String>,
}

/// The `item` event: one item's result, as the job's `results.items[index]` holds it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ItemEvent {
    index: usize,
    #[schema(value_type = Object)]
    result: serde_json::Value,
}

/// One event of the stream, documented as its fields: `data` is JSON of the schema `event` names.
pub(crate) struct StreamEvent;

impl utoipa::PartialSchema for StreamEvent {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        crate::openapi::sse_event(&[
            ("job", "JobEvent"),
            ("item", "ItemEvent"),
            ("end", "JobView"),
            ("error", "ErrorBody"),
        ])
    }
}

impl ToSchema for StreamEvent {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)>) {
        for (name, schema) in [
            (JobEvent::name(), <JobEvent as utoipa::PartialSchema>::schema()),
            (ItemEvent::name(), <ItemEvent as utoipa::PartialSchema>::schema()),
            (JobView::name(), <JobView as utoipa::PartialSchema>::schema()),
            (ErrorBody::name(), <ErrorBody as utoipa::PartialSchema>::schema()),
        ] {
            schemas.push((name.into_owned(), schema));
        }
        JobEvent::schemas(schemas);
        JobView::schemas(schemas);
    }
}

/// Live progress of a job as `text/event-stream`.
///
/// Events, each with a JSON `data` line: `job` (a `JobEvent`: state, progress, attempts,
/// timings) on connect and on every change; `item` (an `ItemEvent`) once per finished item,
/// in the order they finish; `end` (the full job, as `GET /v1/jobs/{id}` answers) when the job
/// reaches a final state, after which the server closes the stream; `error` (`{code, message}`)
/// if the job can no longer be read. Comment lines keep a quiet stream open.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/events",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = StreamEvent),
        (status = 404, description = "No such job", body = ErrorBody),
    )
)]
pub(crate) async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // A missing job is an ordinary 404, answered before the stream starts.
    let job = load(&state, caller.scope(), &id).await?;
    let owner = caller.user.id.clone();
    let mut watch =
        Watch { state, owner, id, seen: None, items_sent: Vec::new(), pending: VecDeque::new(), done: false };
    watch.observe(job);
    let events = futures::stream::unfold(watch, |mut watch| async move {
        let event = watch.next().await?;
        Some((Ok(event), watch))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// What the client has been told so far, and what is queued to tell it.
struct Watch {
    state: AppState,
    /// Whose job it is: the stream sees only what its caller may.
    owner: String,
    id: String,
    seen: Option<JobEvent>,
    items_sent: Vec<bool>,
    pending: VecDeque<Event>,
    /// The final event is queued: close once `pending` drains.
    done: bool,
}

impl Watch {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            tokio::time::sleep(POLL).await;
            match load(&self.state, Scope::User(&self.owner), &self.id).await {
                Ok(job) => self.observe(job),
                Err(err) => {
                    // Deleted under us, or the database is gone: say so once and close.
                    self.done = true;
                    self.pending.push_back(json_event("error", &err.into_body().1));
                }
            }
        }
    }

    /// Queues the events that tell the client how `job` differs from what it has seen.
    fn observe(&mut self, job: Job) {
        let summary = JobEvent::from(&job);
        if self.seen.as_ref() != Some(&summary) {
            self.pending.push_back(json_event("job", &summary));
            self.seen = Some(summary);
        }
        let results = JobView::from(job.clone()).results;
        if let Some(items) = results.get("items").and_then(|items| items.as_array()) {
            self.items_sent.resize(items.len(), false);
            for (index, result) in items.iter().enumerate() {
                if !result.is_null() && !self.items_sent[index] {
                    self.items_sent[index] = true;
                    self.pending.push_back(json_event("item", &ItemEvent { index, result: result.clone() }));
                }
            }
        }
        if job.state.is_final() {
            self.done = true;
            self.pending.push_back(json_event("end", &JobView::from(job)));
        }
    }
}

impl From<&Job> for JobEvent {
    fn from(job: &Job) -> JobEvent {
        JobEvent {
            id: job.id.clone(),
            state: job.state.as_str().to_owned(),
            progress: Progress { done: job.progress_done, total: job.progress_total },
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            cancel_requested: job.cancel_requested,
            started_at: job.started_at,
            finished_at: job.finished_at,
            error: job.error.clone(),
        }
    }
}

fn json_event(name: &str, data: &impl Serialize) -> Event {
    // Our own structs always serialise; an empty object is a safe fallback all the same.
    let text = serde_json::to_string(data).unwrap_or_else(|_| "{}".to_owned());
    Event::default().event(name).data(text)
}
