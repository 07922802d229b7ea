//! One step of a worker: claim a job, run it item by item, record the outcome. Failures
//! are sorted by whose fault they are: a bad image fails its item (recorded, not retried);
//! a store that is down fails the attempt (retried with backoff, then `dead`); a panic in
//! an op fails its item and never the worker.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atelier_imaging::{Limits, Models, NoModels, Pipeline, RunEnv, RunOutput};
use atelier_storage::{now_ms, Backoff, BlobKey, BlobStore, ErrorKind, Job, JobState, Progress, Queue, Scope, Workers};

use crate::assets::{self, JobAssets};
use crate::metrics::{RunOutcome, WorkerMetrics};
use crate::payload::{ItemResult, JobItem, JobResults, OutputRef, Payload};

/// How a worker behaves. Every field has a production default.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this worker in leases and in the worker registry (host and process, typically):
    /// unique among the workers sharing a database.
    pub worker_id: String,
    /// The machine this worker runs on, as the worker registry shows it.
    pub hostname: String,
    /// How long a claim lasts without a heartbeat; a killed worker's jobs wait this long.
    pub lease: Duration,
    /// How often a worker busy with one item renews its lease.
    pub heartbeat_every: Duration,
    pub backoff: Backoff,
    pub limits: Limits,
    /// Where finished jobs are announced from; `None` turns webhooks off.
    pub webhook: Option<crate::webhook::WebhookConfig>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            worker_id: format!("worker-{}", std::process::id()),
            hostname: "unknown".to_string(),
            lease: Duration::from_secs(60),
            heartbeat_every: Duration::from_secs(15),
            backoff: Backoff { base: Duration::from_secs(5), max: Duration::from_secs(600) },
            limits: Limits::default(),
            webhook: None,
        }
    }
}

/// What one call to [`Worker::try_run_one`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was runnable.
    Empty,
    /// A job was worked on and left in `state` (`queued` again when it will be retried).
    Ran { job_id: String, state: JobState },
    /// The job was taken from this worker (its lease expired and another worker claimed
    /// it): this worker stopped without reporting.
    Lost { job_id: String },
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Storage(#[from] atelier_storage::Error),
}

pub struct Worker {
    pub(crate) queue: Queue,
    pub(crate) images: atelier_storage::Images,
    /// The owners' own categories, for `classify` steps that match against them.
    pub(crate) categories: atelier_storage::Categories,
    /// Dataset items, and dataset jobs' per-item records.
    pub(crate) datasets: atelier_storage::Datasets,
    registry: Workers,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) config: WorkerConfig,
    metrics: Arc<WorkerMetrics>,
    /// The vision models pipelines run with; [`NoModels`] until [`Worker::with_models`].
    pub(crate) models: Arc<dyn Models>,
    /// Attempts this worker ran to an outcome, for the worker registry.
    jobs_done: AtomicU64,
}

impl Worker {
    pub fn new(queue: Queue, blobs: Arc<dyn BlobStore>, config: WorkerConfig) -> Worker {
        let images = atelier_storage::Images::new(queue.db().clone());
        let categories = atelier_storage::Categories::new(queue.db().clone());
        let datasets = atelier_storage::Datasets::new(queue.db().clone());
        let registry = Workers::new(queue.db().clone());
        let metrics = Arc::new(WorkerMetrics::new());
        let models = Arc::new(NoModels);
        let jobs_done = AtomicU64::new(0);
        Worker { queue, images, categories, datasets, registry, blobs, config, metrics, models, jobs_done }
    }

    /// This worker, running vision steps with `models` (shared by every worker of the
    /// process: sessions are loaded once).
    pub fn with_models(mut self, models: Arc<dyn Models>) -> Worker {
        self.models = models;
        self
    }

    /// This worker, recording into `metrics` (shared with the process's other workers and
    /// registered where it is scraped) instead of a private set nobody reads.
    pub fn with_metrics(mut self, metrics: Arc<WorkerMetrics>) -> Worker {
        self.metrics = metrics;
        self
    }

    /// Records in the worker registry that this worker started.
    pub async fn register(&self) -> Result<(), Error> {
        let config = &self.config;
        Ok(self.registry.register(&config.worker_id, &config.hostname, std::process::id(), now_ms()).await?)
    }

    /// Renews this worker's registry heartbeat; registers it again if it was forgotten.
    pub async fn beat(&self) -> Result<(), Error> {
        if !self.registry.heartbeat(&self.config.worker_id, self.jobs_done.load(Relaxed), now_ms()).await? {
            self.register().await?;
        }
        Ok(())
    }

    /// Records in the worker registry that this worker drained and stopped.
    pub async fn sign_off(&self) -> Result<(), Error> {
        self.registry.stop(&self.config.worker_id, self.jobs_done.load(Relaxed), now_ms()).await?;
        Ok(())
    }

    /// Starts the `job.finished` webhook of a job that reached a final state.
    pub async fn announce(
        &self,
        job_id: &str,
    ) -> Option<tokio::task::JoinHandle<Result<crate::webhook::Delivery, crate::webhook::WebhookError>>> {
        crate::announce::announce(&self.queue, self.config.webhook.as_ref(), job_id).await
    }

    /// Deletes originals that only deleted images named and that the jobs just finished
    /// were the last to read.
    pub async fn collect_originals(&self) -> Result<u64, Error> {
        Ok(self.images.collect(self.blobs.as_ref(), 100).await?)
    }

    /// New-job notifications from other processes, where the database has them.
    pub async fn subscribe(&self) -> Result<Option<atelier_storage::JobSignal>, Error> {
        Ok(self.queue.subscribe().await?)
    }

    /// Claims one job and runs it to an outcome. `Err` only when the queue itself cannot be
    /// reached; everything that goes wrong inside a job is recorded on the job.
    pub async fn try_run_one(&self) -> Result<Outcome, Error> {
        let claimed_at = now_ms();
        let Some(job) = self.queue.claim(&self.config.worker_id, self.config.lease, claimed_at).await? else {
            return Ok(Outcome::Empty);
        };
        self.metrics.observe_wait(job.run_after, claimed_at);
        let started = Instant::now();
        let job_id = job.id.clone();
        let outcome = self.with_heartbeat(&job_id, self.attempt(job)).await;
        let label = match &outcome {
            Ok(Outcome::Ran { state, .. }) => RunOutcome::Ended(*state),
            Ok(Outcome::Lost { .. } | Outcome::Empty) => RunOutcome::Lost, // Empty cannot follow a claim
            Err(_) => RunOutcome::Error,
        };
        self.metrics.observe_run(label, started.elapsed());
        self.jobs_done.fetch_add(1, Relaxed);
        outcome
    }

    async fn attempt(&self, job: Job) -> Result<Outcome, Error> {
        let me = &self.config.worker_id;
        let job_id = job.id.clone();
        match self.run(&job).await {
            Ok(outcome) => Ok(outcome),
            Err(Error::Storage(err)) => {
                // The store, not the job, failed: try again later, and refund nothing yet.
                let message = format!("storage unavailable: {err}");
                let state = self.queue.fail(&job_id, me, &message, true, self.config.backoff, now_ms()).await?;
                Ok(state.map_or(Outcome::Lost { job_id: job_id.clone() }, |state| Outcome::Ran { job_id, state }))
            }
        }
    }

    async fn run(&self, job: &Job) -> Result<Outcome, Error> {
        let parsed = match Payload::parse(&job.payload) {
            Ok(Payload::Dataset(payload)) => return self.run_dataset(job, payload).await,
            Ok(Payload::Pipeline(payload)) => Pipeline::from_value(payload.pipeline.clone())
                .map(|pipeline| (payload, pipeline))
                .map_err(|err| format!("invalid pipeline: {err}")),
            Err(message) => Err(message),
        };
        let me = &self.config.worker_id;
        let (payload, pipeline) = match parsed {
            Ok(parsed) => parsed,
            Err(message) => return self.finish_failed(job, &message).await,
        };
        let mut results: JobResults =
            job.results.as_deref().and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default();
        results.items.resize(payload.items.len(), None);
        let total = payload.items.len() as i64;
        let assets = if results.items.iter().all(Option::is_some) {
            Arc::default()
        } else {
            let owner = job.owner_id.as_deref();
            let limits = &self.config.limits;
            Arc::new(assets::fetch(&self.images, &self.categories, &*self.blobs, owner, &pipeline, limits).await?)
        };
        for (index, item) in payload.items.iter().enumerate() {
            if results.items[index].is_some() {
                continue; // Done by an earlier attempt: outputs are already stored.
            }
            let result = self.run_item(&job.id, index, item, &pipeline, &assets).await?;
            results.items[index] = Some(result);
            let done = results.items.iter().filter(|r| r.is_some()).count() as i64;
            // What the job's owner pays for; the rest is refunded when the job ends.
            let succeeded =
                results.items.iter().filter(|r| matches!(r, Some(ItemResult::Succeeded { .. }))).count() as i64;
            let text = serde_json::to_string(&results).unwrap_or_default();
            let progress = Progress { done, total, succeeded, results: &text };
            if !self.queue.progress(&job.id, me, progress, self.config.lease, now_ms()).await? {
                return self.stop(&job.id).await;
            }
        }
        let all_failed =
            !results.items.is_empty() && results.items.iter().all(|r| matches!(r, Some(ItemResult::Failed { .. })));
        if all_failed {
            return self.finish_failed(job, "every item failed; see the per-item errors").await;
        }
        let state = if self.queue.complete(&job.id, me, now_ms()).await? {
            JobState::Succeeded
        } else {
            return self.stop(&job.id).await;
        };
        Ok(Outcome::Ran { job_id: job.id.clone(), state })
    }

    async fn run_item(
        &self,
        job_id: &str,
        index: usize,
        item: &JobItem,
        pipeline: &Pipeline,
        assets: &Arc<JobAssets>,
    ) -> Result<ItemResult, Error> {
        let failed = |code: &str, message: String| ItemResult::Failed { code: code.to_string(), message };
        let Ok(source) = BlobKey::parse(&item.source) else {
            return Ok(failed("invalid_source", format!("`{}` is not a stored image", item.source)));
        };
        let bytes = match self.blobs.get(&source).await {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == ErrorKind::NotFound => {
                return Ok(failed("source_missing", "the source image is no longer stored".into()))
            }
            Err(err) => return Err(err.into()),
        };
        let run = match self.run_pipeline(pipeline.clone(), bytes, assets.clone()).await {
            Ok(run) => run,
            Err(failure) => return Ok(failure),
        };
        let mut outputs = Vec::with_capacity(run.outputs.len());
        for output in run.outputs {
            let suffix = output.variant.as_ref().map(|v| format!("-v{}", v.index)).unwrap_or_default();
            let name = format!("images/{index}{suffix}.{}", output.format.extension());
            // Deterministic keys: a re-run after a crash overwrites instead of duplicating.
            let key = BlobKey::job_file(job_id, &name)?;
            let size = output.bytes.len() as u64;
            self.blobs.put(&key, output.bytes.into()).await?;
            outputs.push(OutputRef {
                key: key.to_string(),
                format: output.format,
                width: output.width,
                height: output.height,
                bytes: size,
                variant: output.variant,
                annotations: output.annotations,
            });
        }
        Ok(ItemResult::Succeeded { outputs })
    }

    /// Runs the pipeline on a blocking thread (it is CPU work). `Err` is the item's failure,
    /// already in its final form.
    async fn run_pipeline(
        &self,
        pipeline: Pipeline,
        bytes: bytes::Bytes,
        assets: Arc<JobAssets>,
    ) -> Result<RunOutput, ItemResult> {
        let limits = self.config.limits.clone();
        let models = self.models.clone();
        let joined = tokio::task::spawn_blocking(move || {
            catch_unwind(AssertUnwindSafe(|| {
                pipeline.run(&bytes, RunEnv { limits: &limits, assets: &*assets, models: &*models })
            }))
        })
        .await
        .map_err(|_| ());
        let failed = |code: &str, message: String| Err(ItemResult::Failed { code: code.to_string(), message });
        match joined {
            Ok(Ok(Ok(run))) => {
                self.metrics.observe_steps(&run.steps);
                Ok(run)
            }
            Ok(Ok(Err(err))) => failed(err.code().as_str(), err.to_string()),
            Ok(Err(_panic)) => failed("internal_error", "processing this image failed unexpectedly".into()),
            // The blocking task was cancelled: only at runtime shutdown.
            Err(_join) => failed("internal_error", "processing this image was interrupted".into()),
        }
    }

    /// Drives one attempt, renewing the job's lease every `heartbeat_every` for as long as
    /// it runs: through CPU work and through IO alike. A worker waiting on a blob store
    /// that hangs is alive, and must keep its job rather than let its lease run out and a
    /// second worker start it over (and then a third, until the attempts are spent).
    async fn with_heartbeat<T>(&self, job_id: &str, attempt: impl std::future::Future<Output = T>) -> T {
        let mut attempt = std::pin::pin!(attempt);
        let mut beats = tokio::time::interval(self.config.heartbeat_every);
        beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        beats.tick().await; // The first tick is immediate, and the claim just set the lease.
        loop {
            tokio::select! {
                outcome = &mut attempt => return outcome,
                _ = beats.tick() => {
                    // A lost lease is noticed at the next progress write; a database that is
                    // down fails that write too. Either way, keep the work going until then.
                    let beat = self.queue.heartbeat(job_id, &self.config.worker_id, self.config.lease, now_ms());
                    if let Err(err) = beat.await {
                        eprintln!("atelier-worker: renewing the lease of job {job_id}: {err}");
                    }
                }
            }
        }
    }

    pub(crate) async fn finish_failed(&self, job: &Job, message: &str) -> Result<Outcome, Error> {
        let state =
            self.queue.fail(&job.id, &self.config.worker_id, message, false, self.config.backoff, now_ms()).await?;
        Ok(state
            .map_or(Outcome::Lost { job_id: job.id.clone() }, |state| Outcome::Ran { job_id: job.id.clone(), state }))
    }

    /// The queue refused our progress: either the job was canceled (acknowledge it) or
    /// another worker holds it now (step back without a word).
    pub(crate) async fn stop(&self, job_id: &str) -> Result<Outcome, Error> {
        let me = &self.config.worker_id;
        let job = self.queue.get(Scope::All, job_id).await?;
        let ours = job.as_ref().is_some_and(|job| job.lease_owner.as_deref() == Some(me));
        if ours
            && job.as_ref().is_some_and(|job| job.cancel_requested)
            && self.queue.finish_canceled(job_id, me, now_ms()).await?
        {
            return Ok(Outcome::Ran { job_id: job_id.to_string(), state: JobState::Canceled });
        }
        Ok(Outcome::Lost { job_id: job_id.to_string() })
    }
}
