//! atelier's storage layer: the blob store (uploaded originals, derived images, job
//! outputs) on a local folder or any S3-compatible service, with keys derived by code and
//! never taken from user input; and the metadata database with the durable job queue, on
//! SQLite (embedded default) or PostgreSQL; and the accounts that own and pay for it all
//! (users, sessions, API keys, invites, credits).
//!
//! This is the only crate that talks to `object_store` and `sqlx`.

pub mod api_keys;
pub mod blob;
pub mod categories;
pub mod credits;
pub mod datasets;
pub mod db;
pub mod error;
pub mod images;
pub mod invites;
pub mod key;
pub mod pipelines;
pub mod queue;
pub mod scope;
pub mod secrets;
pub mod sessions;
pub mod uploads;
pub mod users;
pub mod workers;

pub use api_keys::{ApiKeyRecord, ApiKeys, NewApiKey};
pub use blob::{BlobConfig, BlobMeta, BlobStore, ObjectBlobStore, S3Config};
pub use categories::{Categories, CategoryRecord, Created as CategoryCreated};
pub use credits::{Credits, LedgerEntry, LedgerKind, LedgerPage};
pub use datasets::{
    DatasetRecord, Datasets, ItemRow as DatasetItem, NewItem as NewDatasetItem, ResultRow as DatasetResult,
};
pub use db::{Backend, Db};
pub use error::{Error, ErrorKind, Quota, Result};
pub use images::{ImagePage, ImageRecord, Images, NewImage};
pub use invites::{Invite, Invites, Redeemed};
pub use key::{BlobKey, Sha256Hex};
pub use pipelines::{PipelinePage, PipelineRecord, Pipelines};
pub use queue::{now_ms, Backoff, Enqueue, Job, JobPage, JobSignal, JobState, Progress, Queue};
pub use scope::Scope;
pub use secrets::Secrets;
pub use sessions::{RefreshRecord, Rotation, Sessions};
pub use uploads::{PartOutcome, UploadPart, UploadSession, Uploads};
pub use users::{Quotas, Role, User, UserPage, Users};
pub use workers::{Census, WorkerRecord, Workers};
