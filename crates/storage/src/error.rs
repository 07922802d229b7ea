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
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::InvalidKey { .. } | Error::Config(_) | Error::Corrupt(_) => ErrorKind::Internal,
            Error::Backend { .. } | Error::Io { .. } | Error::Database { .. } => ErrorKind::Unavailable,
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
