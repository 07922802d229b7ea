//! The durable job queue: at-least-once delivery with leases. A job is claimed by one
//! worker at a time; the worker extends its lease by heartbeat; a job whose lease ran out
//! (its worker died) is claimed again; failures retry with exponential backoff until
//! `max_attempts`, then the job is `dead`. On PostgreSQL claims use `FOR UPDATE SKIP
//! LOCKED`, so many workers claim concurrently without blocking one another; SQLite has
//! one writer, so its single-statement claim is atomic by construction.
//!
//! Every method takes `now` (milliseconds since the epoch) from the caller: the queue has
//! no clock of its own, which makes leases and backoff testable without sleeping.

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{Backend, Db};
use crate::error::{Error, Result};
use crate::key::Sha256Hex;

/// A job's lifecycle. `queued → running → succeeded | failed | canceled`, and `dead` once
/// the last retry has failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Canceled,
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Canceled => "canceled",
            JobState::Dead => "dead",
        }
    }

    /// The state named `text`, as written in URLs and stored rows.
    pub fn from_name(text: &str) -> Option<JobState> {
        JobState::parse(text).ok()
    }

    fn parse(text: &str) -> Result<JobState> {
        Ok(match text {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            "canceled" => JobState::Canceled,
            "dead" => JobState::Dead,
            other => return Err(Error::Corrupt(format!("unknown job state `{other}`"))),
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed | JobState::Canceled | JobState::Dead)
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub state: JobState,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
    /// When this attempt became claimable: enqueue, a backoff's end, or a dead worker's lease expiry.
    pub run_after: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub cancel_requested: bool,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub progress_done: i64,
    pub progress_total: i64,
    /// The worker's per-item results so far (JSON), kept across retries.
    pub results: Option<String>,
    /// Position in the queue: enqueue order, and the cursor for listings.
    pub seq: i64,
}

/// One page of a job listing, newest first, and the cursor for the next page.
#[derive(Debug, Clone)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// Pass back as `before` for the next (older) page; `None` on the last page.
    pub next: Option<i64>,
}

/// A worker's report after an item: items done of total, and the results so far (JSON).
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub done: i64,
    pub total: i64,
    pub results: &'a str,
}

/// How retries are spaced: `base * 2^(attempt - 1)`, capped.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    fn delay_ms(self, attempt: i64) -> i64 {
        let exponent = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let delay = self.base.saturating_mul(2u32.saturating_pow(exponent)).min(self.max);
        i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)
    }
}

/// The queue, over a migrated [`Db`].
#[derive(Debug, Clone)]
pub struct Queue {
    db: Db,
}

const COLUMNS: &str = "id, state, payload, attempts, max_attempts, run_after, lease_owner, lease_until, \
     cancel_requested, error, created_at, started_at, finished_at, progress_done, progress_total, results, seq";

impl Queue {
    pub fn new(db: Db) -> Queue {
        Queue { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Adds a job, runnable at once. Returns its id.
    pub async fn enqueue(&self, payload: &str, max_attempts: u32, now: i64) -> Result<String> {
        self.enqueue_reading(payload, max_attempts, now, &[]).await
    }

    /// Adds a job that reads `originals`, which then stay stored until it finishes even if
    /// their images are deleted: the references are written in the job's own transaction.
    pub async fn enqueue_reading(
        &self,
        payload: &str,
        max_attempts: u32,
        now: i64,
        originals: &[Sha256Hex],
    ) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        // SQLite has one writer, so MAX(seq) + 1 is race-free there; PostgreSQL has a sequence.
        let sql = match self.db.backend {
            Backend::Sqlite => {
                "INSERT INTO jobs (id, state, payload, max_attempts, run_after, created_at, seq) \
                 VALUES ($1, 'queued', $2, $3, $4, $4, (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs))"
            }
            Backend::Postgres => {
                "INSERT INTO jobs (id, state, payload, max_attempts, run_after, created_at) \
                 VALUES ($1, 'queued', $2, $3, $4, $4)"
            }
        };
        let mut tx = self.db.pool.begin().await.map_err(Error::db("enqueue"))?;
        sqlx::query(sql)
            .bind(&id)
            .bind(payload)
            .bind(i64::from(max_attempts.max(1)))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(Error::db("enqueue"))?;
        let mut seen = std::collections::BTreeSet::new();
        for sha in originals.iter().filter(|sha| seen.insert(sha.as_str())) {
            sqlx::query("INSERT INTO job_originals (job_id, sha256) VALUES ($1, $2)")
                .bind(&id)
                .bind(sha.as_str())
                .execute(&mut *tx)
                .await
                .map_err(Error::db("enqueue"))?;
        }
        if self.db.backend == Backend::Postgres {
            // Wakes idle workers in every process at once (see `subscribe`); delivered on commit.
            sqlx::query("SELECT pg_notify('atelier_jobs', $1)")
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(Error::db("notify"))?;
        }
        tx.commit().await.map_err(Error::db("enqueue"))?;
        Ok(id)
    }

    /// Claims the oldest runnable job for `worker`, or a running job whose lease expired.
    /// A job that expired on its last attempt is marked `dead` instead of being handed out.
    pub async fn claim(&self, worker: &str, lease: Duration, now: i64) -> Result<Option<Job>> {
        self.bury_expired(now).await?;
        let lock = match self.db.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, \
             started_at = COALESCE(started_at, $3), \
             run_after = CASE WHEN state = 'running' THEN lease_until ELSE run_after END \
             WHERE id = (SELECT id FROM jobs \
                 WHERE (state = 'queued' AND run_after <= $3 AND cancel_requested = 0) \
                    OR (state = 'running' AND lease_until < $3 AND attempts < max_attempts) \
                 ORDER BY seq LIMIT 1{lock}) \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(worker)
            .bind(now.saturating_add(lease_ms(lease)))
            .bind(now)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(Error::db("claim"))?;
        row.map(|row| job_from_row(&row)).transpose()
    }

    /// Extends `worker`'s lease. `false` means the lease was lost (expired and taken, or the
    /// job was canceled): the worker must stop and must not report a result.
    pub async fn heartbeat(&self, id: &str, worker: &str, lease: Duration, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running' \
             AND cancel_requested = 0",
        )
        .bind(now.saturating_add(lease_ms(lease)))
        .bind(id)
        .bind(worker)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("heartbeat"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Records progress and the results so far, and extends the lease. `false` means the
    /// worker lost the job (lease taken, or cancel requested) and must stop.
    pub async fn progress(
        &self,
        id: &str,
        worker: &str,
        progress: Progress<'_>,
        lease: Duration,
        now: i64,
    ) -> Result<bool> {
        let Progress { done, total, results } = progress;
        let updated = sqlx::query(
            "UPDATE jobs SET progress_done = $1, progress_total = $2, results = $3, lease_until = $4 \
             WHERE id = $5 AND lease_owner = $6 AND state = 'running' AND cancel_requested = 0",
        )
        .bind(done)
        .bind(total)
        .bind(results)
        .bind(now.saturating_add(lease_ms(lease)))
        .bind(id)
        .bind(worker)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("progress"))?;
        Ok(updated.rows_affected() == 1)
    }

    /// Records success. Refused (`false`) when `worker` no longer holds the job.
    pub async fn complete(&self, id: &str, worker: &str, now: i64) -> Result<bool> {
        self.finish(id, worker, JobState::Succeeded, None, now).await
    }

    /// Records a failure. Retries after a backoff while attempts remain, else `dead`;
    /// `retryable: false` (bad input) fails the job at once. Returns the new state, or
    /// `None` when `worker` no longer holds the job.
    pub async fn fail(
        &self,
        id: &str,
        worker: &str,
        error: &str,
        retryable: bool,
        backoff: Backoff,
        now: i64,
    ) -> Result<Option<JobState>> {
        let Some(job) = self.get(id).await? else { return Ok(None) };
        if job.state != JobState::Running || job.lease_owner.as_deref() != Some(worker) {
            return Ok(None);
        }
        if !retryable {
            return Ok(self.finish(id, worker, JobState::Failed, Some(error), now).await?.then_some(JobState::Failed));
        }
        if job.attempts >= job.max_attempts {
            return Ok(self.finish(id, worker, JobState::Dead, Some(error), now).await?.then_some(JobState::Dead));
        }
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, error = $1, run_after = $2 \
             WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
        )
        .bind(error)
        .bind(now.saturating_add(backoff.delay_ms(job.attempts)))
        .bind(id)
        .bind(worker)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("fail"))?;
        Ok((done.rows_affected() == 1).then_some(JobState::Queued))
    }

    /// Cancels a job: a queued one at once; a running one is flagged, its heartbeat fails,
    /// and its worker stops at the next item boundary and calls [`Queue::finish_canceled`].
    /// Final jobs are left as they are. Returns the state after the call.
    pub async fn cancel(&self, id: &str, now: i64) -> Result<Option<JobState>> {
        sqlx::query("UPDATE jobs SET state = 'canceled', finished_at = $1 WHERE id = $2 AND state = 'queued'")
            .bind(now)
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(Error::db("cancel"))?;
        sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE id = $1 AND state = 'running'")
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(Error::db("cancel"))?;
        Ok(self.get(id).await?.map(|job| job.state))
    }

    /// The worker's acknowledgement of a cancellation it observed.
    pub async fn finish_canceled(&self, id: &str, worker: &str, now: i64) -> Result<bool> {
        self.finish(id, worker, JobState::Canceled, None, now).await
    }

    /// Puts a `dead` or `failed` job back in the queue with a fresh attempt budget.
    pub async fn retry(&self, id: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $1, error = NULL, finished_at = NULL, \
             lease_owner = NULL, lease_until = NULL WHERE id = $2 AND state IN ('dead', 'failed')",
        )
        .bind(now)
        .bind(id)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("retry"))?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn get(&self, id: &str) -> Result<Option<Job>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(Error::db("get job"))?;
        row.map(|row| job_from_row(&row)).transpose()
    }

    /// Jobs newest first, optionally in one state, older than the `before` cursor.
    pub async fn list(&self, state: Option<JobState>, before: Option<i64>, limit: u32) -> Result<JobPage> {
        let limit = i64::from(limit.clamp(1, 1000));
        // Only present filters enter the SQL: PostgreSQL cannot type a bare `$1 IS NULL`.
        let mut conditions = Vec::new();
        if state.is_some() {
            conditions.push(format!("state = ${}", conditions.len() + 1));
        }
        if before.is_some() {
            conditions.push(format!("seq < ${}", conditions.len() + 1));
        }
        let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!("SELECT {COLUMNS} FROM jobs {filter} ORDER BY seq DESC LIMIT ${}", conditions.len() + 1);
        let mut query = sqlx::query(&sql);
        if let Some(state) = state {
            query = query.bind(state.as_str());
        }
        if let Some(before) = before {
            query = query.bind(before);
        }
        // One extra row says whether another page follows.
        let rows = query.bind(limit + 1).fetch_all(&self.db.pool).await.map_err(Error::db("list jobs"))?;
        let mut jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>>>()?;
        let more = jobs.len() as i64 > limit;
        jobs.truncate(limit as usize);
        let next = if more { jobs.last().map(|job| job.seq) } else { None };
        Ok(JobPage { jobs, next })
    }

    /// How many jobs are in each state (for `/metrics`).
    pub async fn counts(&self) -> Result<Vec<(JobState, i64)>> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state ORDER BY state")
            .fetch_all(&self.db.pool)
            .await
            .map_err(Error::db("count jobs"))?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state").map_err(Error::db("count jobs"))?;
                Ok((JobState::parse(&state)?, row.try_get::<i64, _>("n").map_err(Error::db("count jobs"))?))
            })
            .collect()
    }

    async fn finish(&self, id: &str, worker: &str, state: JobState, error: Option<&str>, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET state = $1, error = $2, finished_at = $3, lease_owner = NULL, lease_until = NULL \
             WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
        )
        .bind(state.as_str())
        .bind(error)
        .bind(now)
        .bind(id)
        .bind(worker)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("finish job"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Running jobs whose lease expired on their last attempt will not be retried: mark
    /// them `dead` (their worker died, and so did the last chance).
    async fn bury_expired(&self, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET state = 'dead', finished_at = $1, lease_owner = NULL, lease_until = NULL, \
             error = COALESCE(error, 'the worker stopped responding (lease expired) on the last attempt') \
             WHERE state = 'running' AND lease_until < $1 AND attempts >= max_attempts",
        )
        .bind(now)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("bury expired jobs"))?;
        Ok(())
    }
}

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

/// Milliseconds since the Unix epoch, the queue's unit of time.
pub fn now_ms() -> i64 {
    let elapsed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
}

fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)
}

fn job_from_row(row: &AnyRow) -> Result<Job> {
    let read = || Error::db("read job");
    Ok(Job {
        id: row.try_get("id").map_err(read())?,
        state: JobState::parse(&row.try_get::<String, _>("state").map_err(read())?)?,
        payload: row.try_get("payload").map_err(read())?,
        attempts: row.try_get("attempts").map_err(read())?,
        max_attempts: row.try_get("max_attempts").map_err(read())?,
        run_after: row.try_get("run_after").map_err(read())?,
        lease_owner: row.try_get("lease_owner").map_err(read())?,
        lease_until: row.try_get("lease_until").map_err(read())?,
        cancel_requested: row.try_get::<i64, _>("cancel_requested").map_err(read())? != 0,
        error: row.try_get("error").map_err(read())?,
        created_at: row.try_get("created_at").map_err(read())?,
        started_at: row.try_get("started_at").map_err(read())?,
        finished_at: row.try_get("finished_at").map_err(read())?,
        progress_done: row.try_get("progress_done").map_err(read())?,
        progress_total: row.try_get("progress_total").map_err(read())?,
        results: row.try_get("results").map_err(read())?,
        seq: row.try_get("seq").map_err(read())?,
    })
}
