//! Credits: each user's balance and the ledger that explains it. Every change (an admin's
//! grant or take, a job's charge or refund, a signed-URL render's charge) updates the
//! balance and writes a ledger row with the balance after it, in one transaction, so
//! `users.balance = SUM(credit_ledger.amount)` always holds and a balance never goes
//! below zero (a CHECK refuses it too).

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::db::{row_int, Db};
use crate::error::{Error, Result};

/// Why a balance changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// An admin added credits.
    Grant,
    /// An admin removed credits.
    Take,
    /// Work was paid for: a job when enqueued (or retried), a render.
    Charge,
    /// Paid-for work that did not happen: a job's items that did not succeed.
    Refund,
}

impl LedgerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Grant => "grant",
            LedgerKind::Take => "take",
            LedgerKind::Charge => "charge",
            LedgerKind::Refund => "refund",
        }
    }

    fn parse(text: &str) -> Result<LedgerKind> {
        Ok(match text {
            "grant" => LedgerKind::Grant,
            "take" => LedgerKind::Take,
            "charge" => LedgerKind::Charge,
            "refund" => LedgerKind::Refund,
            other => return Err(Error::Corrupt(format!("unknown ledger kind `{other}`"))),
        })
    }
}

/// One change to a balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: String,
    pub user_id: String,
    /// The user's rows count from 1 in the order they were written.
    pub seq: i64,
    /// Positive for grants and refunds, negative for takes and charges.
    pub amount: i64,
    pub kind: LedgerKind,
    pub job_id: Option<String>,
    /// The admin who granted or took.
    pub actor_id: Option<String>,
    pub note: Option<String>,
    pub balance_after: i64,
    pub created_at: i64,
}

/// One page of a user's ledger, newest first.
#[derive(Debug, Clone)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    /// Pass back as `before` for the next (older) page; `None` on the last page.
    pub next: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Credits {
    db: Db,
}

const COLUMNS: &str = "id, user_id, seq, amount, kind, job_id, actor_id, note, balance_after, created_at";

impl Credits {
    pub fn new(db: Db) -> Credits {
        Credits { db }
    }

    /// Adds `amount` (> 0) to the balance. The new balance, or `None` for no such user.
    pub async fn grant(
        &self,
        user: &str,
        amount: i64,
        actor: Option<&str>,
        note: Option<&str>,
        now: i64,
    ) -> Result<Option<i64>> {
        let entry = Entry { user, amount: positive(amount)?, kind: LedgerKind::Grant, job_id: None, actor, note };
        self.change(entry, now).await
    }

    /// Removes `amount` (> 0); [`Error::InsufficientCredits`] rather than going below zero.
    pub async fn take(
        &self,
        user: &str,
        amount: i64,
        actor: Option<&str>,
        note: Option<&str>,
        now: i64,
    ) -> Result<Option<i64>> {
        let entry = Entry { user, amount: -positive(amount)?, kind: LedgerKind::Take, job_id: None, actor, note };
        self.change(entry, now).await
    }

    /// Charges `amount` (> 0) for work outside the queue (a signed-URL render), noting
    /// `reference`; [`Error::InsufficientCredits`] when the balance does not cover it.
    pub async fn charge(&self, user: &str, amount: i64, reference: &str, now: i64) -> Result<Option<i64>> {
        let amount = -positive(amount)?;
        let entry = Entry { user, amount, kind: LedgerKind::Charge, job_id: None, actor: None, note: Some(reference) };
        self.change(entry, now).await
    }

    /// Gives back `amount` (> 0) of a [`Credits::charge`] whose work failed.
    pub async fn refund(&self, user: &str, amount: i64, reference: &str, now: i64) -> Result<Option<i64>> {
        let amount = positive(amount)?;
        let entry = Entry { user, amount, kind: LedgerKind::Refund, job_id: None, actor: None, note: Some(reference) };
        self.change(entry, now).await
    }

    /// The user's balance, or `None` for no such user.
    pub async fn balance(&self, user: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT balance FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(Error::db("read balance"))?;
        row.map(|row| row_int(&row, "balance")).transpose()
    }

    /// The sum of the user's ledger, which always equals their balance (for audits and tests).
    pub async fn ledger_total(&self, user: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM credit_ledger WHERE user_id = $1",
        )
        .bind(user)
        .fetch_one(&self.db.pool)
        .await
        .map_err(Error::db("sum ledger"))?;
        row_int(&row, "total")
    }

    /// The user's ledger, newest first, older than the `before` cursor.
    pub async fn history(&self, user: &str, before: Option<i64>, limit: u32) -> Result<LedgerPage> {
        let limit = i64::from(limit.clamp(1, 1000));
        let sql =
            format!("SELECT {COLUMNS} FROM credit_ledger WHERE user_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3");
        let rows = sqlx::query(&sql)
            .bind(user)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit + 1)
            .fetch_all(&self.db.pool)
            .await
            .map_err(Error::db("read ledger"))?;
        let mut entries = rows.iter().map(entry_from_row).collect::<Result<Vec<_>>>()?;
        let more = entries.len() as i64 > limit;
        entries.truncate(limit as usize);
        let next = if more { entries.last().map(|entry| entry.seq) } else { None };
        Ok(LedgerPage { entries, next })
    }

    async fn change(&self, entry: Entry<'_>, now: i64) -> Result<Option<i64>> {
        let mut tx = self.db.pool.begin().await.map_err(Error::db("change balance"))?;
        let Some(balance) = apply(&mut tx, &entry, now).await? else {
            return match read_balance(&mut tx, entry.user).await? {
                None => Ok(None),
                Some(_) if entry.amount > 0 => {
                    Err(Error::Conflict(format!("the balance would pass the most it can hold, {MAX_BALANCE}")))
                }
                Some(available) => Err(Error::InsufficientCredits { needed: -entry.amount, available }),
            };
        };
        tx.commit().await.map_err(Error::db("change balance"))?;
        Ok(Some(balance))
    }
}

/// A change to write: `amount` is signed as it lands on the balance.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    pub user: &'a str,
    pub amount: i64,
    pub kind: LedgerKind,
    pub job_id: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub note: Option<&'a str>,
}

/// Changes the balance by `entry.amount` and writes its ledger row, inside `tx`. Returns the
/// new balance; `None` when the user does not exist or the balance would go below zero
/// or pass [`MAX_BALANCE`] (then nothing was written). The balance update comes first: it takes the user's row
/// lock (on SQLite, the write lock), which orders concurrent changes and makes the
/// ledger's next `seq` safe to compute. A zero amount takes the lock and writes no row.
pub(crate) async fn apply(tx: &mut Transaction<'_, Any>, entry: &Entry<'_>, now: i64) -> Result<Option<i64>> {
    let updated = sqlx::query(
        "UPDATE users SET balance = balance + $1 WHERE id = $2 AND balance + $1 >= 0 AND balance <= $3 - $1 \
             RETURNING balance",
    )
    .bind(entry.amount)
    .bind(entry.user)
    .bind(MAX_BALANCE)
    .fetch_optional(&mut **tx)
    .await
    .map_err(Error::db("change balance"))?;
    let Some(row) = updated else { return Ok(None) };
    let balance = row_int(&row, "balance")?;
    if entry.amount == 0 {
        return Ok(Some(balance));
    }
    sqlx::query(
        "INSERT INTO credit_ledger (id, user_id, seq, amount, kind, job_id, actor_id, note, balance_after, created_at) \
         VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM credit_ledger WHERE user_id = $2), \
         $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(entry.user)
    .bind(entry.amount)
    .bind(entry.kind.as_str())
    .bind(entry.job_id)
    .bind(entry.actor)
    .bind(entry.note)
    .bind(balance)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(Error::db("write ledger"))?;
    Ok(Some(balance))
}

/// The balance as `tx` sees it, or `None` for no such user.
pub(crate) async fn read_balance(tx: &mut Transaction<'_, Any>, user: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT balance FROM users WHERE id = $1")
        .bind(user)
        .fetch_optional(&mut **tx)
        .await
        .map_err(Error::db("read balance"))?;
    row.map(|row| row_int(&row, "balance")).transpose()
}

/// The most one grant, take, charge or refund may move: far beyond any real use, and small
/// enough that no sum of them overflows before [`MAX_BALANCE`] stops it.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// The most a balance may hold. The database would overflow long after; this stops first,
/// with an error that says so rather than a failed statement.
pub const MAX_BALANCE: i64 = 1_000_000_000_000_000;

fn positive(amount: i64) -> Result<i64> {
    if amount > 0 && amount <= MAX_AMOUNT {
        Ok(amount)
    } else {
        Err(Error::Conflict(format!("a credit amount must be 1 to {MAX_AMOUNT}, not {amount}")))
    }
}

fn entry_from_row(row: &AnyRow) -> Result<LedgerEntry> {
    let read = || Error::db("read ledger");
    Ok(LedgerEntry {
        id: row.try_get("id").map_err(read())?,
        user_id: row.try_get("user_id").map_err(read())?,
        seq: row_int(row, "seq")?,
        amount: row_int(row, "amount")?,
        kind: LedgerKind::parse(&row.try_get::<String, _>("kind").map_err(read())?)?,
        job_id: row.try_get("job_id").map_err(read())?,
        actor_id: row.try_get("actor_id").map_err(read())?,
        note: row.try_get("note").map_err(read())?,
        balance_after: row_int(row, "balance_after")?,
        created_at: row_int(row, "created_at")?,
    })
}
