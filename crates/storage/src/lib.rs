//! atelier's storage layer. Today: the blob store (uploaded originals, derived images,
//! job outputs) on a local folder or any S3-compatible service, behind one small trait,
//! with keys that are derived by code and never taken from user input. The metadata store
//! and the job queue (SQLite and PostgreSQL) arrive with the service.
//!
//! This is the only crate that talks to `object_store` (and, later, `sqlx`).

pub mod blob;
pub mod error;
pub mod key;

pub use blob::{BlobConfig, BlobMeta, BlobStore, ObjectBlobStore, S3Config};
pub use error::{Error, ErrorKind, Result};
pub use key::{BlobKey, Sha256Hex};
