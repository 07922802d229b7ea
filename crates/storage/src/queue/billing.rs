//! Paying for jobs. Enqueueing charges the owner `items × cost_per_item` up front and
//! checks their concurrent-jobs quota, in the transaction that inserts the job; a job that
//! ends (succeeded, failed, dead, canceled) is settled in the transaction that ends it,
//! refunding what did not buy a succeeded item; a retry charges again for the items still
//! to do. Over a job's life its owner pays exactly `cost_per_item` per succeeded item.
//!
//! Lock order is the job's row, then the user's row (enqueue touches no existing job), so
//! these transactions cannot deadlock one another.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::credits::{apply, read_balance, Entry, LedgerKind};
use crate::db::{row_int, Backend, Db};
use crate::error::{Error, Quota, Result};
use crate::key::Sha256Hex;
use crate::scope::Scope;

use super::Queue;

/// A job to enqueue and how it is paid for. [`Enqueue::new`] is a job nobody pays for.
#[derive(Debug, Clone, Copy)]
pub struct Enqueue<'a> {
    pub payload: &'a str,
    pub max_attempts: u32,
    /// Originals the job reads: they stay stored until it finishes, even if their images
    /// are deleted.
    pub originals: &'a [Sha256Hex],
    /// The user who pays; `None` charges nobody and checks no quota.
    pub owner: Option<&'a str>,
    /// How many items the job has: what is charged for, and its progress total.
    pub items: i64,
    pub cost_per_item: i64,
    /// The owner's limit on jobs queued or running at once.
    pub max_concurrent: Option<i64>,
}

impl<'a> Enqueue<'a> {
    pub fn new(payload: &'a str, max_attempts: u32) -> Enqueue<'a> {
        Enqueue { payload, max_attempts, originals: &[], owner: None, items: 0, cost_per_item: 0, max_concurrent: None }
    }
}

impl Queue {
    /// Adds a job, runnable at once, and returns its id. With an owner, in one transaction:
    /// the charge ([`Error::InsufficientCredits`] when the balance is short), the
    /// concurrent-jobs check ([`Error::QuotaExceeded`]), the job, and the references to its
    /// originals; on an error nothing is written.
    pub async fn submit(&self, job: Enqueue<'_>, now: i64) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let items = job.items.max(0);
        let cost_per_item = if job.owner.is_some() { job.cost_per_item.max(0) } else { 0 };
        let cost = items
            .checked_mul(cost_per_item)
            .ok_or_else(|| Error::Conflict(format!("{items} items at {cost_per_item} credits each is too many")))?;
        let mut tx = self.db.pool.begin().await.map_err(Error::db("enqueue"))?;
        if let Some(owner) = job.owner {
            // Runs even when the cost is zero: the user's row lock (SQLite: the write lock)
            // serialises this owner's enqueues, so the count below cannot go stale.
            let entry = Entry {
                user: owner,
                amount: -cost,
                kind: LedgerKind::Charge,
                job_id: Some(&id),
                actor: None,
                note: None,
            };
            if apply(&mut tx, &entry, now).await?.is_none() {
                return Err(shortfall(&mut tx, owner, cost).await);
            }
            if let Some(limit) = job.max_concurrent {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS n FROM jobs WHERE owner_id = $1 AND state IN ('queued', 'running')",
                )
                .bind(owner)
                .fetch_one(&mut *tx)
                .await
                .map_err(Error::db("enqueue"))?;
                let used = row_int(&row, "n")?;
                if used >= limit {
                    return Err(Error::QuotaExceeded { what: Quota::Jobs, limit, used });
                }
            }
        }
        // SQLite has one writer, so MAX(seq) + 1 is race-free there; PostgreSQL has a sequence.
        let (seq_column, seq_value) = match self.db.backend {
            Backend::Sqlite => (", seq", ", (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs)"),
            Backend::Postgres => ("", ""),
        };
        sqlx::query(&format!(
            "INSERT INTO jobs (id, state, payload, max_attempts, run_after, created_at, owner_id, cost_per_item, \
             charged, progress_total{seq_column}) VALUES ($1, 'queued', $2, $3, $4, $4, $5, $6, $7, $8{seq_value})"
        ))
        .bind(&id)
        .bind(job.payload)
        .bind(i64::from(job.max_attempts.max(1)))
        .bind(now)
        .bind(job.owner)
        .bind(cost_per_item)
        .bind(cost)
        .bind(items)
        .execute(&mut *tx)
        .await
        .map_err(Error::db("enqueue"))?;
        let mut seen = std::collections::BTreeSet::new();
        for sha in job.originals.iter().filter(|sha| seen.insert(sha.as_str())) {
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
}

/// Refunds, inside `tx`, whatever a job that just ended was charged beyond its succeeded
/// items. Idempotent: `refunded` records what was given back already.
pub(super) async fn settle(tx: &mut Transaction<'_, Any>, id: &str, now: i64) -> Result<()> {
    let row = sqlx::query(&format!("SELECT {SETTLE_COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut **tx)
        .await
        .map_err(Error::db("settle job"))?;
    settle_row(tx, id, &row, now).await
}

/// What [`settle`] reads of a job: a statement that ends one returns these, and saves a query.
pub(super) const SETTLE_COLUMNS: &str = "owner_id, charged, refunded, cost_per_item, items_succeeded";

/// [`settle`], given the job's [`SETTLE_COLUMNS`] as the statement that ended it returned them.
pub(super) async fn settle_row(tx: &mut Transaction<'_, Any>, id: &str, row: &AnyRow, now: i64) -> Result<()> {
    let owner: Option<String> = row.try_get("owner_id").map_err(Error::db("settle job"))?;
    let Some(owner) = owner else { return Ok(()) };
    let used = row_int(row, "cost_per_item")?.saturating_mul(row_int(row, "items_succeeded")?);
    let refund = row_int(row, "charged")? - row_int(row, "refunded")? - used;
    if refund <= 0 {
        return Ok(());
    }
    let entry =
        Entry { user: &owner, amount: refund, kind: LedgerKind::Refund, job_id: Some(id), actor: None, note: None };
    if apply(tx, &entry, now).await?.is_none() {
        return Err(Error::Corrupt(format!("job {id} is owned by user {owner}, who does not exist")));
    }
    sqlx::query("UPDATE jobs SET refunded = refunded + $1 WHERE id = $2")
        .bind(refund)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(Error::db("settle job"))?;
    Ok(())
}

/// See [`Queue::retry`].
pub(super) async fn retry(db: &Db, scope: Scope<'_>, id: &str, now: i64) -> Result<bool> {
    let mut tx = db.pool.begin().await.map_err(Error::db("retry"))?;
    let row = sqlx::query(&format!(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $1, error = NULL, finished_at = NULL, \
         lease_owner = NULL, lease_until = NULL WHERE id = $2 AND state IN ('dead', 'failed') AND {} \
         RETURNING owner_id, cost_per_item, progress_total, items_succeeded",
        scope.condition("owner_id", 3)
    ))
    .bind(now)
    .bind(id)
    .bind(scope.owner())
    .fetch_optional(&mut *tx)
    .await
    .map_err(Error::db("retry"))?;
    let Some(row) = row else { return Ok(false) };
    let owner: Option<String> = row.try_get("owner_id").map_err(Error::db("retry"))?;
    let left = (row_int(&row, "progress_total")? - row_int(&row, "items_succeeded")?).max(0);
    let cost = row_int(&row, "cost_per_item")?.saturating_mul(left);
    if let (Some(owner), true) = (owner, cost > 0) {
        let entry =
            Entry { user: &owner, amount: -cost, kind: LedgerKind::Charge, job_id: Some(id), actor: None, note: None };
        if apply(&mut tx, &entry, now).await?.is_none() {
            return Err(shortfall(&mut tx, &owner, cost).await);
        }
        sqlx::query("UPDATE jobs SET charged = charged + $1 WHERE id = $2")
            .bind(cost)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(Error::db("retry"))?;
    }
    tx.commit().await.map_err(Error::db("retry"))?;
    Ok(true)
}

/// Why a charge of `needed` was refused: the balance is short, or there is no such user.
async fn shortfall(tx: &mut Transaction<'_, Any>, user: &str, needed: i64) -> Error {
    match read_balance(tx, user).await {
        Ok(Some(available)) => Error::InsufficientCredits { needed, available },
        Ok(None) => Error::Conflict(format!("user {user} does not exist")),
        Err(err) => err,
    }
}
