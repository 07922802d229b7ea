//! The dataset crate's one error type: what failed, a stable machine-readable [`Code`], and a
//! coarse [`ErrorKind`] that callers (the API, the CLI) map to statuses. Per-row problems in a
//! metadata file are not errors: they are [`crate::metadata::RowWarning`]s.

use std::fmt;
use std::io;

use crate::filter::FilterError;
use crate::name::UnsafeReason;

/// Every way an import can fail, as data. Names of entries are kept printable (control
/// characters escaped) and short, so a message can be shown as it is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the upload is not a supported archive: {detail}")]
    Unsupported { detail: String },
    #[error("entry `{name}` is refused: {reason}")]
    UnsafeEntry { name: String, reason: UnsafeReason },
    #[error("the archive has more than {limit} entries")]
    TooManyEntries { limit: u64 },
    #[error("entry `{name}` is larger than the limit of {limit} bytes")]
    EntryTooLarge { name: String, limit: u64 },
    #[error("the archive expands to more than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{} expands to more than {limit} times its compressed size: a decompression bomb", bomb_subject(.name))]
    Bomb { name: Option<String>, limit: u64 },
    #[error("the archive ends early (truncated upload): {detail}")]
    Truncated { detail: String },
    #[error("the archive is corrupt: {detail}")]
    Corrupt { detail: String },
    /// The stream handed in failed (a spool file could not be read): not the upload's fault.
    #[error("reading the upload failed: {0}")]
    Io(#[source] io::Error),
    #[error("the metadata file is larger than the limit of {limit} {unit}")]
    MetadataTooLarge { limit: u64, unit: &'static str },
    #[error("the metadata file cannot be read: {detail}")]
    MetadataInvalid { detail: String },
    #[error("invalid filter: {0}")]
    Filter(#[from] FilterError),
    /// A dataset job's parameters are wrong; `field` is where (`augment.variants`,
    /// `inference[0]`, `batch_size`).
    #[error("{}{message}", field_prefix(.field))]
    InvalidJob { field: String, message: String },
}

fn field_prefix(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("{field}: ")
    }
}

fn bomb_subject(name: &Option<String>) -> String {
    match name {
        Some(name) => format!("entry `{name}`"),
        None => "the archive".to_string(),
    }
}

/// The stable codes, a closed set. Clients match on [`Code::as_str`]; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    ArchiveUnsupported,
    ArchiveEntryUnsafe,
    ArchiveTooManyEntries,
    ArchiveTooLarge,
    ArchiveBomb,
    ArchiveTruncated,
    ArchiveCorrupt,
    ArchiveReadFailed,
    MetadataTooLarge,
    MetadataInvalid,
    FilterInvalid,
    JobInvalid,
}

/// How a caller should treat an error, without knowing every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The upload or the request is wrong; sending the same thing again fails the same way.
    BadInput,
    /// The upload is over a configured limit.
    TooLarge,
    /// The stream handed in failed; the details belong in logs, not in responses.
    Internal,
}

impl Error {
    pub fn code(&self) -> Code {
        match self {
            Error::Unsupported { .. } => Code::ArchiveUnsupported,
            Error::UnsafeEntry { .. } => Code::ArchiveEntryUnsafe,
            Error::TooManyEntries { .. } => Code::ArchiveTooManyEntries,
            Error::EntryTooLarge { .. } | Error::TooLarge { .. } => Code::ArchiveTooLarge,
            Error::Bomb { .. } => Code::ArchiveBomb,
            Error::Truncated { .. } => Code::ArchiveTruncated,
            Error::Corrupt { .. } => Code::ArchiveCorrupt,
            Error::Io(_) => Code::ArchiveReadFailed,
            Error::MetadataTooLarge { .. } => Code::MetadataTooLarge,
            Error::MetadataInvalid { .. } => Code::MetadataInvalid,
            Error::Filter(_) => Code::FilterInvalid,
            Error::InvalidJob { .. } => Code::JobInvalid,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.code().kind()
    }
}

impl Code {
    /// How a caller treats errors with this code.
    pub fn kind(self) -> ErrorKind {
        match self {
            Code::ArchiveUnsupported
            | Code::ArchiveEntryUnsafe
            | Code::ArchiveTruncated
            | Code::ArchiveCorrupt
            | Code::MetadataInvalid
            | Code::FilterInvalid
            | Code::JobInvalid => ErrorKind::BadInput,
            Code::ArchiveTooManyEntries | Code::ArchiveTooLarge | Code::ArchiveBomb | Code::MetadataTooLarge => {
                ErrorKind::TooLarge
            }
            Code::ArchiveReadFailed => ErrorKind::Internal,
        }
    }

    pub const ALL: &'static [Code] = &[
        Code::ArchiveUnsupported,
        Code::ArchiveEntryUnsafe,
        Code::ArchiveTooManyEntries,
        Code::ArchiveTooLarge,
        Code::ArchiveBomb,
        Code::ArchiveTruncated,
        Code::ArchiveCorrupt,
        Code::ArchiveReadFailed,
        Code::MetadataTooLarge,
        Code::MetadataInvalid,
        Code::FilterInvalid,
        Code::JobInvalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::ArchiveUnsupported => "archive_unsupported",
            Code::ArchiveEntryUnsafe => "archive_entry_unsafe",
            Code::ArchiveTooManyEntries => "archive_too_many_entries",
            Code::ArchiveTooLarge => "archive_too_large",
            Code::ArchiveBomb => "archive_bomb",
            Code::ArchiveTruncated => "archive_truncated",
            Code::ArchiveCorrupt => "archive_corrupt",
            Code::ArchiveReadFailed => "archive_read_failed",
            Code::MetadataTooLarge => "metadata_too_large",
            Code::MetadataInvalid => "metadata_invalid",
            Code::FilterInvalid => "filter_invalid",
            Code::JobInvalid => "invalid_dataset_job",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An entry name as it may appear in a message: control characters escaped, at most 200
/// characters. Hostile names are refused, and the refusal must not carry them to a terminal.
pub(crate) fn printable(raw: &str) -> String {
    const MAX_CHARS: usize = 200;
    let mut out = String::new();
    for (count, c) in raw.chars().enumerate() {
        if count == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() || crate::name::is_odd_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`printable`] for names that may not be UTF-8 (tar headers are bytes).
pub(crate) fn printable_bytes(raw: &[u8]) -> String {
    printable(&String::from_utf8_lossy(raw))
}
