//! The storage crate's error type, classified by [`ErrorKind`] so callers never match on
//! backend details.

/// What went wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("blob `{key}` not found")]
    NotFound { key: String },
    #[error("invalid blob key `{key}`: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    #[error("storage is misconfigured: {0}")]
    Config(String),
    #[error("blob store {operation} failed for `{key}`")]
    Backend {
        operation: &'static str,
        key: String,
        #[source]
        source: object_store::Error,
    },
    #[error("database {operation} failed")]
    Database {
        operation: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("not enough credits: {needed} needed, {available} available")]
    InsufficientCredits { needed: i64, available: i64 },
    #[error("{what} quota exceeded: {used} in use of {limit}")]
    QuotaExceeded { what: Quota, limit: i64, used: i64 },
    /// The request contradicts what is stored (a missing user to bill, a bad amount).
    #[error("{0}")]
    Conflict(String),
    #[error("reading {path} failed")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// How a caller should treat a storage error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    /// A bug in the caller: keys are derived by code, so an invalid one is never user input.
    Internal,
    /// The store is down or refusing: retry later, report 503.
    Unavailable,
    /// The user's balance does not cover the cost; nothing was charged.
    InsufficientCredits,
    /// The user is at a quota; nothing was written.
    QuotaExceeded,
    Conflict,
}

/// Which of a user's quotas a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// Bytes of live images.
    Bytes,
    /// Jobs queued or running at once.
    Jobs,
}

impl std::fmt::Display for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Quota::Bytes => "storage",
            Quota::Jobs => "concurrent jobs",
        })
    }
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::InvalidKey { .. } | Error::Config(_) | Error::Corrupt(_) => ErrorKind::Internal,
            Error::Backend { .. } | Error::Io { .. } | Error::Database { .. } => ErrorKind::Unavailable,
            Error::InsufficientCredits { .. } => ErrorKind::InsufficientCredits,
            Error::QuotaExceeded { .. } => ErrorKind::QuotaExceeded,
            Error::Conflict(_) => ErrorKind::Conflict,
        }
    }

    /// For `map_err`: wraps a sqlx error with what we were doing.
    pub(crate) fn db(operation: &'static str) -> impl Fn(sqlx::Error) -> Error {
        move |source| Error::Database { operation, source }
    }

    pub(crate) fn backend(operation: &'static str, key: &str, source: object_store::Error) -> Error {
        match source {
            object_store::Error::NotFound { .. } => Error::NotFound { key: key.to_string() },
            source => Error::Backend { operation, key: key.to_string(), source },
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
