//! atelier's storage layer: the blob store (uploaded originals, derived images, job
//! outputs) on a local folder or any S3-compatible service, with keys derived by code and
//! never taken from user input; and the metadata database with the durable job queue, on
//! SQLite (embedded default) or PostgreSQL.
//!
//! This is the only crate that talks to `object_store` and `sqlx`.

pub mod blob;
pub mod db;
pub mod error;
pub mod images;
pub mod key;
pub mod pipelines;
pub mod queue;
pub mod uploads;
pub mod workers;

pub use blob::{BlobConfig, BlobMeta, BlobStore, ObjectBlobStore, S3Config};
pub use db::{Backend, Db};
pub use error::{Error, ErrorKind, Result};
pub use images::{ImagePage, ImageRecord, Images, NewImage};
pub use key::{BlobKey, Sha256Hex};
pub use pipelines::{PipelinePage, PipelineRecord, Pipelines};
pub use queue::{now_ms, Backoff, Job, JobPage, JobSignal, JobState, Progress, Queue};
pub use uploads::{PartOutcome, UploadPart, UploadSession, Uploads};
pub use workers::{Census, WorkerRecord, Workers};
