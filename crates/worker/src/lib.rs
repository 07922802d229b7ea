//! atelier's worker: claims a job from the queue, runs its pipeline over each stored image
//! on a blocking thread behind a panic boundary, writes outputs under deterministic keys,
//! records progress (so a re-claimed job skips finished items), heartbeats while it works,
//! and stops at the next item boundary when the job is canceled.
//!
//! Start at [`step::Worker::try_run_one`]: one claim, one job, one [`step::Outcome`]. The
//! loop that calls it (and sleeps or waits for a wake-up when the queue is empty) belongs to
//! whoever hosts the worker: `atelier serve`, `atelier worker`, or a test.

pub mod announce;
mod assets;
pub mod dataset;
pub mod host;
pub mod metrics;
pub mod payload;
pub mod step;
pub mod webhook;

pub use dataset::DatasetPayload;
pub use metrics::WorkerMetrics;
pub use payload::{ItemResult, JobPayload, JobResults, OutputRef, Payload};
pub use step::{Outcome, Worker, WorkerConfig};
