//! atelier's dataset import: reading an uploaded archive of images (zip, tar, tar.gz) under
//! limits, reading a metadata file (CSV or JSON) that describes its items, and a filter
//! language over that metadata that chooses which items a dataset job runs on; and the
//! dataset job itself: its parameters ([`Plan`]) and how a batch of items is prepared,
//! augmented and sent through batched inference ([`Plan::run_batch`]), with the record of
//! each item that `metadata.json` lists.
//!
//! It owns the rules that make an upload safe to import: which entries are refused (and
//! refuse the whole archive), which are skipped, what a decompression bomb is, which names
//! may become part of a blob key. The service streams [`ArchiveReader`]'s entries into the
//! blob store under the job's prefix; names are already checked relative paths.
//!
//! It reads only the `Read` streams it is given: no files, no network, no async, no HTTP,
//! SQL or blob store, and nothing of atelier but the imaging core's format sniffing.
//!
//! Start at [`ArchiveReader::open`], [`read_metadata`], [`Filter::parse`] and [`Plan::new`].

pub mod archive;
pub mod error;
pub mod filter;
pub mod item;
pub mod job;
pub mod metadata;
pub mod name;
pub mod report;
pub mod run;

pub use archive::{classify, ArchiveKind, ArchiveLimits, ArchiveReader, Content, Entry, SkipReason, Totals};
pub use error::{Code, Error, ErrorKind, Result};
pub use filter::{Fields, Filter, FilterError, MAX_FILTER_DEPTH, MAX_FILTER_LEN};
pub use item::{unique_stems, FileRecord, ItemError, ItemMetadata, ItemRecord, ItemStatus, VariantRecord};
pub use job::{InferOn, JobSpec, Plan, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE};
pub use metadata::{parse_metadata, read_metadata, Metadata, MetadataFormat, MetadataLimits, MetadataOptions};
pub use metadata::{RowProblem, RowRef, RowWarning};
pub use name::{EntryName, UnsafeReason};
pub use report::{MetadataDocument, Summary, METADATA_VERSION};
pub use run::{ItemDone, ItemInput, OutFile};
