//! The worker registry: every worker writes its own row. It registers when it starts,
//! renews `heartbeat_at` on a timer while it runs and sets `stopped_at` when it drains; a
//! row that is neither stopped nor renewed lately belongs to a worker that died (killed,
//! crashed, or cut off from the database). [`Workers::census`] counts the live and the
//! stale for `/metrics`, and forgets rows that have been stopped or silent for a day.
//!
//! Like the queue, every method takes `now` (milliseconds since the epoch) from the caller.

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{row_int, Db};
use crate::error::{Error, Result};

/// How long a stopped or silent worker's row is kept before the census deletes it.
pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// A worker as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRecord {
    /// The name the worker holds job leases under.
    pub id: String,
    pub hostname: String,
    pub pid: i64,
    pub started_at: i64,
    pub heartbeat_at: i64,
    /// Set when the worker drained and stopped on purpose.
    pub stopped_at: Option<i64>,
    /// Jobs the worker finished an attempt of, as of its last heartbeat.
    pub jobs_done: i64,
}

/// Workers not stopped, by whether their heartbeat is recent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Census {
    /// Heartbeat within `stale_after`.
    pub live: i64,
    /// Not stopped, and silent for longer than `stale_after`: most likely dead.
    pub stale: i64,
}

/// The registry, over a migrated [`Db`].
#[derive(Debug, Clone)]
pub struct Workers {
    db: Db,
}

const COLUMNS: &str = "id, hostname, pid, started_at, heartbeat_at, stopped_at, jobs_done";

impl Workers {
    pub fn new(db: Db) -> Workers {
        Workers { db }
    }

    /// Records that worker `id` started now. An id seen before (a restarted process that
    /// reuses its name) starts over: the old row described a worker that is gone.
    pub async fn register(&self, id: &str, hostname: &str, pid: u32, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO workers (id, hostname, pid, started_at, heartbeat_at, stopped_at, jobs_done) \
             VALUES ($1, $2, $3, $4, $4, NULL, 0) \
             ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, pid = excluded.pid, \
             started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, stopped_at = NULL, jobs_done = 0",
        )
        .bind(id)
        .bind(hostname)
        .bind(i64::from(pid))
        .bind(now)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("register worker"))?;
        Ok(())
    }

    /// Renews worker `id`'s heartbeat and records its job count. `false` means there is no
    /// running worker of that name (it was stopped, or forgotten after a long silence): the
    /// worker should register again.
    pub async fn heartbeat(&self, id: &str, jobs_done: u64, now: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE workers SET heartbeat_at = $1, jobs_done = $2 WHERE id = $3 AND stopped_at IS NULL")
                .bind(now)
                .bind(i64::try_from(jobs_done).unwrap_or(i64::MAX))
                .bind(id)
                .execute(&self.db.pool)
                .await
                .map_err(Error::db("worker heartbeat"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that worker `id` drained and stopped. `false` when it was not running.
    pub async fn stop(&self, id: &str, jobs_done: u64, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE workers SET stopped_at = $1, heartbeat_at = $1, jobs_done = $2 \
             WHERE id = $3 AND stopped_at IS NULL",
        )
        .bind(now)
        .bind(i64::try_from(jobs_done).unwrap_or(i64::MAX))
        .bind(id)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("stop worker"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Counts the workers not stopped: live when they beat within `stale_after`, stale
    /// otherwise. Rows stopped or silent for longer than [`FORGET_AFTER`] are deleted
    /// first, so the table stays as small as the fleet.
    pub async fn census(&self, now: i64, stale_after: Duration) -> Result<Census> {
        sqlx::query("DELETE FROM workers WHERE COALESCE(stopped_at, heartbeat_at) < $1")
            .bind(now.saturating_sub(millis(FORGET_AFTER)))
            .execute(&self.db.pool)
            .await
            .map_err(Error::db("forget workers"))?;
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN heartbeat_at >= $1 THEN 1 ELSE 0 END), 0) AS live, \
             COALESCE(SUM(CASE WHEN heartbeat_at < $1 THEN 1 ELSE 0 END), 0) AS stale \
             FROM workers WHERE stopped_at IS NULL",
        )
        .bind(now.saturating_sub(millis(stale_after)))
        .fetch_one(&self.db.pool)
        .await
        .map_err(Error::db("count workers"))?;
        Ok(Census { live: row_int(&row, "live")?, stale: row_int(&row, "stale")? })
    }

    /// Workers heard from (a start, a heartbeat or a stop) at or after `since`, the most
    /// recently heard first: the fleet as an admin sees it.
    pub async fn seen_since(&self, since: i64) -> Result<Vec<WorkerRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM workers WHERE heartbeat_at >= $1 ORDER BY heartbeat_at DESC, id"
        ))
        .bind(since)
        .fetch_all(&self.db.pool)
        .await
        .map_err(Error::db("list recent workers"))?;
        rows.iter().map(worker_from_row).collect()
    }

    /// Every registered worker, oldest start first.
    pub async fn list(&self) -> Result<Vec<WorkerRecord>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM workers ORDER BY started_at, id"))
            .fetch_all(&self.db.pool)
            .await
            .map_err(Error::db("list workers"))?;
        rows.iter().map(worker_from_row).collect()
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn worker_from_row(row: &AnyRow) -> Result<WorkerRecord> {
    let read = || Error::db("read worker");
    Ok(WorkerRecord {
        id: row.try_get("id").map_err(read())?,
        hostname: row.try_get("hostname").map_err(read())?,
        pid: row_int(row, "pid")?,
        started_at: row_int(row, "started_at")?,
        heartbeat_at: row_int(row, "heartbeat_at")?,
        stopped_at: row.try_get("stopped_at").map_err(read())?,
        jobs_done: row_int(row, "jobs_done")?,
    })
}
