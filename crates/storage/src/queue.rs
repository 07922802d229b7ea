//! The durable job queue: at-least-once delivery with leases. A job is claimed by one
//! worker at a time; the worker extends its lease by heartbeat; a job whose lease ran out
//! (its worker died) is claimed again; failures retry with exponential backoff until
//! `max_attempts`, then the job is `dead`. On PostgreSQL claims use `FOR UPDATE SKIP
//! LOCKED`, so many workers claim concurrently without blocking one another; SQLite has
//! one writer, so its single-statement claim is atomic by construction.
//!
//! Every method takes `now` (milliseconds since the epoch) from the caller: the queue has
//! no clock of its own, which makes leases and backoff testable without sleeping.
//!
//! A job with an owner is paid for when enqueued and settled when it ends (`billing`): the
//! charge, the refund and the state change share one transaction.

mod billing;
mod depth;
mod signal;

pub use billing::Enqueue;
pub use signal::JobSignal;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{row_int, Backend, Db};
use crate::error::{Error, Result};
use crate::scope::Scope;

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
    /// The user who enqueued it and pays for it; `None` for jobs from before users.
    pub owner_id: Option<String>,
    pub cost_per_item: i64,
    /// Credits taken for this job, retries' charges included.
    pub charged: i64,
    /// Credits given back for items that did not succeed.
    pub refunded: i64,
    /// Items that succeeded, as of the worker's last progress report.
    pub items_succeeded: i64,
}

/// One page of a job listing, newest first, and the cursor for the next page.
#[derive(Debug, Clone)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// Pass back as `before` for the next (older) page; `None` on the last page.
    pub next: Option<i64>,
}

/// A worker's report after an item: items done of total, how many of those succeeded (what
/// the owner pays for), and the results so far (JSON).
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub done: i64,
    pub total: i64,
    pub succeeded: i64,
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
    /// When this queue (and its clones) last looked for jobs to bury, as `now` was given.
    buried_at: Arc<AtomicI64>,
}

/// How often a busy queue looks for jobs to bury. Looking on every claim cost one of the
/// six statements a trivial job took, for jobs that are rare (a worker died on the last
/// attempt) and lose nothing by waiting a second.
const BURY_EVERY_MS: i64 = 1_000;

const COLUMNS: &str = "id, state, payload, attempts, max_attempts, run_after, lease_owner, lease_until, \
     cancel_requested, error, created_at, started_at, finished_at, progress_done, progress_total, results, seq, \
     owner_id, cost_per_item, charged, refunded, items_succeeded";

impl Queue {
    pub fn new(db: Db) -> Queue {
        Queue { db, buried_at: Arc::new(AtomicI64::new(i64::MIN)) }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Adds a job nobody pays for, runnable at once. Returns its id.
    pub async fn enqueue(&self, payload: &str, max_attempts: u32, now: i64) -> Result<String> {
        self.submit(Enqueue::new(payload, max_attempts), now).await
    }

    /// Claims the oldest runnable job for `worker`, or a running job whose lease expired.
    /// A job that expired on its last attempt is marked `dead` instead of being handed out:
    /// at the latest a second after a busy queue's last look, at once when a claim finds
    /// nothing.
    pub async fn claim(&self, worker: &str, lease: Duration, now: i64) -> Result<Option<Job>> {
        let buried = self.bury_due(now);
        if buried {
            self.bury_expired(now).await?;
        }
        let lock = match self.db.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        // `finished_at IS NULL` names the partial index of unfinished jobs by `seq`
        // (migration 0010): the claim reads the queue's head, not the whole queue.
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, \
             started_at = COALESCE(started_at, $3), \
             run_after = CASE WHEN state = 'running' THEN lease_until ELSE run_after END \
             WHERE id = (SELECT id FROM jobs WHERE finished_at IS NULL \
                 AND ((state = 'queued' AND run_after <= $3 AND cancel_requested = 0) \
                    OR (state = 'running' AND lease_until < $3 AND attempts < max_attempts)) \
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
        if row.is_none() && !buried {
            self.bury_expired(now).await?;
        }
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
        let Progress { done, total, succeeded, results } = progress;
        let updated = sqlx::query(
            "UPDATE jobs SET progress_done = $1, progress_total = $2, results = $3, lease_until = $4, \
             items_succeeded = $7 WHERE id = $5 AND lease_owner = $6 AND state = 'running' AND cancel_requested = 0",
        )
        .bind(done)
        .bind(total)
        .bind(results)
        .bind(now.saturating_add(lease_ms(lease)))
        .bind(id)
        .bind(worker)
        .bind(succeeded)
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
        let Some(job) = self.get(Scope::All, id).await? else { return Ok(None) };
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

    /// Cancels a job in `scope`: a queued one at once (and refunded); a running one is
    /// flagged, its heartbeat fails, and its worker stops at the next item boundary and
    /// calls [`Queue::finish_canceled`]. Final jobs are left as they are. Returns the state
    /// after the call, `None` when there is no such job in scope.
    pub async fn cancel(&self, scope: Scope<'_>, id: &str, now: i64) -> Result<Option<JobState>> {
        let mut tx = self.db.pool.begin().await.map_err(Error::db("cancel"))?;
        let canceled = sqlx::query(&format!(
            "UPDATE jobs SET state = 'canceled', finished_at = $1 WHERE id = $2 AND state = 'queued' AND {}",
            scope.condition("owner_id", 3)
        ))
        .bind(now)
        .bind(id)
        .bind(scope.owner())
        .execute(&mut *tx)
        .await
        .map_err(Error::db("cancel"))?;
        if canceled.rows_affected() == 1 {
            billing::settle(&mut tx, id, now).await?;
        }
        tx.commit().await.map_err(Error::db("cancel"))?;
        sqlx::query(&format!(
            "UPDATE jobs SET cancel_requested = 1 WHERE id = $1 AND state = 'running' AND {}",
            scope.condition("owner_id", 2)
        ))
        .bind(id)
        .bind(scope.owner())
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("cancel"))?;
        Ok(self.get(scope, id).await?.map(|job| job.state))
    }

    /// The worker's acknowledgement of a cancellation it observed.
    pub async fn finish_canceled(&self, id: &str, worker: &str, now: i64) -> Result<bool> {
        self.finish(id, worker, JobState::Canceled, None, now).await
    }

    /// Puts a `dead` or `failed` job in `scope` back in the queue with a fresh attempt
    /// budget, charging its owner again for the items that have not succeeded (they were
    /// refunded when it ended): [`crate::Error::InsufficientCredits`] when the balance does
    /// not cover them. `false` when there is no such job in scope, or it is not retryable.
    pub async fn retry(&self, scope: Scope<'_>, id: &str, now: i64) -> Result<bool> {
        billing::retry(&self.db, scope, id, now).await
    }

    /// A job in `scope`.
    pub async fn get(&self, scope: Scope<'_>, id: &str) -> Result<Option<Job>> {
        let row =
            sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1 AND {}", scope.condition("owner_id", 2)))
                .bind(id)
                .bind(scope.owner())
                .fetch_optional(&self.db.pool)
                .await
                .map_err(Error::db("get job"))?;
        row.map(|row| job_from_row(&row)).transpose()
    }

    /// Jobs in `scope` newest first, optionally in one state, older than the `before` cursor.
    pub async fn list(
        &self,
        scope: Scope<'_>,
        state: Option<JobState>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<JobPage> {
        let limit = i64::from(limit.clamp(1, 1000));
        // Only present filters enter the SQL: PostgreSQL cannot type a bare `$1 IS NULL`.
        let mut conditions = vec![scope.condition("owner_id", 1)];
        if state.is_some() {
            conditions.push(format!("state = ${}", conditions.len() + 1));
        }
        if before.is_some() {
            conditions.push(format!("seq < ${}", conditions.len() + 1));
        }
        let filter = conditions.join(" AND ");
        let sql =
            format!("SELECT {COLUMNS} FROM jobs WHERE {filter} ORDER BY seq DESC LIMIT ${}", conditions.len() + 1);
        let mut query = sqlx::query(&sql).bind(scope.owner());
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

    /// When the longest-waiting queued job was submitted, or `None` when nothing is queued:
    /// how far behind the workers are (for the admins' queue health).
    pub async fn oldest_queued_at(&self) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT MIN(created_at) AS oldest FROM jobs WHERE state = 'queued'")
            .fetch_one(&self.db.pool)
            .await
            .map_err(Error::db("oldest queued job"))?;
        row.try_get::<Option<i64>, _>("oldest").map_err(Error::db("oldest queued job"))
    }

    /// Ends `worker`'s job in a final state and settles its bill, in one transaction.
    async fn finish(&self, id: &str, worker: &str, state: JobState, error: Option<&str>, now: i64) -> Result<bool> {
        let mut tx = self.db.pool.begin().await.map_err(Error::db("finish job"))?;
        let done = sqlx::query(&format!(
            "UPDATE jobs SET state = $1, error = $2, finished_at = $3, lease_owner = NULL, lease_until = NULL \
             WHERE id = $4 AND lease_owner = $5 AND state = 'running' RETURNING {}",
            billing::SETTLE_COLUMNS
        ))
        .bind(state.as_str())
        .bind(error)
        .bind(now)
        .bind(id)
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await
        .map_err(Error::db("finish job"))?;
        if let Some(row) = &done {
            billing::settle_row(&mut tx, id, row, now).await?;
        }
        tx.commit().await.map_err(Error::db("finish job"))?;
        Ok(done.is_some())
    }

    /// Whether a claim at `now` should look for jobs to bury first; claims it for this call.
    /// A `now` before the last look (another clock, or a test's) counts as due.
    fn bury_due(&self, now: i64) -> bool {
        let last = self.buried_at.load(Ordering::Relaxed);
        let due = now < last || now.saturating_sub(last) >= BURY_EVERY_MS;
        due && self.buried_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }

    /// Running jobs whose lease expired on their last attempt will not be retried: mark
    /// them `dead` (their worker died, and so did the last chance) and settle them, one
    /// transaction each, so no transaction holds more than one job's lock.
    async fn bury_expired(&self, now: i64) -> Result<()> {
        let expired = sqlx::query(
            "SELECT id FROM jobs WHERE state = 'running' AND lease_until < $1 AND attempts >= max_attempts LIMIT 100",
        )
        .bind(now)
        .fetch_all(&self.db.pool)
        .await
        .map_err(Error::db("bury expired jobs"))?;
        for row in expired {
            let id: String = row.try_get("id").map_err(Error::db("bury expired jobs"))?;
            let mut tx = self.db.pool.begin().await.map_err(Error::db("bury expired jobs"))?;
            let buried = sqlx::query(
                "UPDATE jobs SET state = 'dead', finished_at = $1, lease_owner = NULL, lease_until = NULL, \
                 error = COALESCE(error, 'the worker stopped responding (lease expired) on the last attempt') \
                 WHERE id = $2 AND state = 'running' AND lease_until < $1 AND attempts >= max_attempts",
            )
            .bind(now)
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(Error::db("bury expired jobs"))?;
            if buried.rows_affected() == 1 {
                billing::settle(&mut tx, &id, now).await?;
            }
            tx.commit().await.map_err(Error::db("bury expired jobs"))?;
        }
        Ok(())
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
        owner_id: row.try_get("owner_id").map_err(read())?,
        cost_per_item: row_int(row, "cost_per_item")?,
        charged: row_int(row, "charged")?,
        refunded: row_int(row, "refunded")?,
        items_succeeded: row_int(row, "items_succeeded")?,
    })
}
