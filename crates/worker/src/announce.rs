//! Telling the outside world a job has finished: the `job.finished` event, sent to the
//! webhook URL the job was submitted with, signed and retried by [`crate::webhook`].
//! Delivery runs beside the worker, so a slow receiver never holds up the queue.

use atelier_storage::{Job, Queue};
use serde::Serialize;

use crate::payload::Payload;
use crate::webhook::{self, WebhookConfig};

/// The event's name, sent in the `Atelier-Event` header and the body.
pub const JOB_FINISHED: &str = "job.finished";

#[derive(Debug, Serialize)]
pub struct JobEvent<'a> {
    pub event: &'a str,
    pub job: JobSummary,
}

/// What a receiver needs to act without calling back: the same facts `GET /v1/jobs/{id}`
/// gives.
#[derive(Debug, Serialize)]
pub struct JobSummary {
    pub id: String,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    pub attempts: i64,
    pub progress: Progress,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
    pub results: serde_json::Value,
}

#[derive(Debug, Serialize)]
pub struct Progress {
    pub done: i64,
    pub total: i64,
}

impl JobSummary {
    pub fn new(job: &Job, pipeline: Option<String>) -> JobSummary {
        let results =
            job.results.as_deref().and_then(|text| serde_json::from_str(text).ok()).unwrap_or(serde_json::Value::Null);
        JobSummary {
            id: job.id.clone(),
            state: job.state.as_str(),
            pipeline,
            attempts: job.attempts,
            progress: Progress { done: job.progress_done, total: job.progress_total },
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            error: job.error.clone(),
            results,
        }
    }
}

/// Starts delivering the finished-job event of `job_id` if the job asked for one and
/// webhooks are configured. Returns the delivery task, for tests and graceful shutdown.
pub async fn announce(
    queue: &Queue,
    config: Option<&WebhookConfig>,
    job_id: &str,
) -> Option<tokio::task::JoinHandle<Result<webhook::Delivery, webhook::WebhookError>>> {
    let config = config?.clone();
    let job = match queue.get(atelier_storage::Scope::All, job_id).await {
        Ok(Some(job)) => job,
        Ok(None) => return None,
        Err(err) => {
            eprintln!("atelier-worker: job {job_id} finished but could not be read for its webhook: {err}");
            return None;
        }
    };
    let (url, pipeline_ref) = match Payload::parse(&job.payload).ok()? {
        Payload::Dataset(dataset) => (dataset.webhook?, None),
        Payload::Pipeline(payload) => (payload.webhook?, payload.pipeline_ref),
    };
    let event = JobEvent { event: JOB_FINISHED, job: JobSummary::new(&job, pipeline_ref) };
    let body = serde_json::to_vec(&event).ok()?;
    let id = job.id.clone();
    Some(tokio::spawn(async move {
        let delivered = webhook::deliver(&config, &url, JOB_FINISHED, &body).await;
        if let Err(err) = &delivered {
            // The URL stays out of the log: it may carry a token.
            eprintln!("atelier-worker: webhook for job {id}: {err}");
        }
        delivered
    }))
}
