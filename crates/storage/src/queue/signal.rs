//! New-work signals between processes: PostgreSQL's LISTEN/NOTIFY on the channel that
//! every enqueue notifies.

use crate::db::Backend;
use crate::error::{Error, Result};

use super::Queue;

/// New-work signals from other processes: PostgreSQL's LISTEN on the channel `enqueue`
/// notifies. SQLite has no such thing; its workers share a process with the API, which
/// wakes them directly.
pub struct JobSignal {
    listener: sqlx::postgres::PgListener,
}

impl std::fmt::Debug for JobSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobSignal")
    }
}

impl JobSignal {
    /// Waits for the next enqueue anywhere. An error means the connection dropped; the
    /// listener reconnects on the next call, and callers fall back to polling meanwhile.
    pub async fn next(&mut self) -> Result<()> {
        self.listener.recv().await.map_err(Error::db("listen"))?;
        Ok(())
    }
}

impl Queue {
    /// A subscription to new jobs, on PostgreSQL; `None` on SQLite.
    pub async fn subscribe(&self) -> Result<Option<JobSignal>> {
        if self.db.backend != Backend::Postgres {
            return Ok(None);
        }
        let mut listener = sqlx::postgres::PgListener::connect(&self.db.url).await.map_err(Error::db("listen"))?;
        listener.listen("atelier_jobs").await.map_err(Error::db("listen"))?;
        Ok(Some(JobSignal { listener }))
    }
}
