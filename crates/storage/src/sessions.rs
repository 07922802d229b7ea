//! Refresh tokens, stored as hashes, in rotation families. A login starts a family; each
//! refresh spends its token and issues the next one in the family. A token spent twice
//! was copied: the second use revokes the whole family, so whoever holds the copy (thief
//! or owner) has to log in again.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::db::{row_int, Db};
use crate::error::{Error, Result};

/// A refresh token as stored (its hash only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    pub id: String,
    pub user_id: String,
    pub family: String,
    pub token_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What came of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was good and is now spent; its successor (the new hash) is stored.
    Rotated { user_id: String, family: String },
    /// The token had been spent already: the family is revoked now.
    Reused { user_id: String, family: String },
    /// Unknown, expired or revoked, or its user is disabled.
    Invalid,
}

#[derive(Debug, Clone)]
pub struct Sessions {
    db: Db,
}

impl Sessions {
    pub fn new(db: Db) -> Sessions {
        Sessions { db }
    }

    /// Stores a new token for `user`, in `family` or (when `None`) a new one.
    pub async fn issue(
        &self,
        user: &str,
        family: Option<&str>,
        token_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<RefreshRecord> {
        let family = family.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
        let mut tx = self.db.pool.begin().await.map_err(Error::db("issue refresh token"))?;
        let record = insert(&mut tx, user, &family, token_hash, now, expires_at).await?;
        tx.commit().await.map_err(Error::db("issue refresh token"))?;
        Ok(record)
    }

    /// Spends the token hashed as `old_hash` and stores `new_hash` as its successor,
    /// valid for `ttl_ms`. One transaction, and the spend is a compare-and-set on
    /// `used_at`: of two concurrent rotations of one token exactly one is `Rotated`, and
    /// the other is `Reused` (and revokes the family, the winner's new token included).
    pub async fn rotate(&self, old_hash: &str, new_hash: &str, now: i64, ttl_ms: i64) -> Result<Rotation> {
        let mut tx = self.db.pool.begin().await.map_err(Error::db("rotate refresh token"))?;
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $1 \
             AND user_id IN (SELECT id FROM users WHERE disabled_at IS NULL) RETURNING user_id, family",
        )
        .bind(now)
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(Error::db("rotate refresh token"))?;
        if let Some(row) = spent {
            let user_id: String = row.try_get("user_id").map_err(Error::db("rotate refresh token"))?;
            let family: String = row.try_get("family").map_err(Error::db("rotate refresh token"))?;
            insert(&mut tx, &user_id, &family, new_hash, now, now.saturating_add(ttl_ms)).await?;
            tx.commit().await.map_err(Error::db("rotate refresh token"))?;
            return Ok(Rotation::Rotated { user_id, family });
        }
        let row = sqlx::query("SELECT user_id, family, used_at FROM refresh_tokens WHERE token_hash = $1")
            .bind(old_hash)
            .fetch_optional(&mut *tx)
            .await
            .map_err(Error::db("rotate refresh token"))?;
        let Some(row) = row else { return Ok(Rotation::Invalid) };
        let used_at: Option<i64> = row.try_get("used_at").map_err(Error::db("rotate refresh token"))?;
        if used_at.is_none() {
            return Ok(Rotation::Invalid); // expired, revoked, or the user is disabled
        }
        let user_id: String = row.try_get("user_id").map_err(Error::db("rotate refresh token"))?;
        let family: String = row.try_get("family").map_err(Error::db("rotate refresh token"))?;
        revoke_where(&mut tx, "family = $2", &family, now).await?;
        tx.commit().await.map_err(Error::db("rotate refresh token"))?;
        Ok(Rotation::Reused { user_id, family })
    }

    /// Revokes one token (logout). `false` when it was unknown or already revoked.
    pub async fn revoke(&self, token_hash: &str, now: i64) -> Result<bool> {
        let mut tx = self.db.pool.begin().await.map_err(Error::db("revoke refresh token"))?;
        let revoked = revoke_where(&mut tx, "token_hash = $2", token_hash, now).await?;
        tx.commit().await.map_err(Error::db("revoke refresh token"))?;
        Ok(revoked > 0)
    }

    /// Revokes every token of a family. Returns how many were live.
    pub async fn revoke_family(&self, family: &str, now: i64) -> Result<u64> {
        let mut tx = self.db.pool.begin().await.map_err(Error::db("revoke refresh tokens"))?;
        let revoked = revoke_where(&mut tx, "family = $2", family, now).await?;
        tx.commit().await.map_err(Error::db("revoke refresh tokens"))?;
        Ok(revoked)
    }

    /// Revokes every token of a user (log out everywhere). Returns how many were live.
    pub async fn revoke_all(&self, user: &str, now: i64) -> Result<u64> {
        let mut tx = self.db.pool.begin().await.map_err(Error::db("revoke refresh tokens"))?;
        let revoked = revoke_user(&mut tx, user, now).await?;
        tx.commit().await.map_err(Error::db("revoke refresh tokens"))?;
        Ok(revoked)
    }

    /// Whether the sign-in `family` is still live: it holds a token that is neither spent,
    /// revoked nor expired. Access tokens name their family, so logging out (or a detected
    /// reuse) ends them at once rather than when they expire.
    pub async fn family_live(&self, family: &str, now: i64) -> Result<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM refresh_tokens WHERE family = $1 AND used_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(family)
        .bind(now)
        .fetch_one(&self.db.pool)
        .await
        .map_err(Error::db("check a session"))?;
        Ok(row_int(&row, "n")? > 0)
    }

    pub async fn get(&self, token_hash: &str) -> Result<Option<RefreshRecord>> {
        let row = sqlx::query(
            "SELECT id, user_id, family, token_hash, created_at, expires_at, used_at, revoked_at \
             FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(Error::db("get refresh token"))?;
        row.map(|row| record(&row)).transpose()
    }

    /// Deletes tokens that expired before `before`, up to `limit`; they can no longer be
    /// rotated, and a reuse of one is refused as invalid anyway.
    pub async fn purge_expired(&self, before: i64, limit: u32) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM refresh_tokens WHERE id IN \
             (SELECT id FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(i64::from(limit))
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("purge refresh tokens"))?;
        Ok(done.rows_affected())
    }
}

/// Revokes every live token of `user` inside `tx` (a password change, a disabled account).
pub(crate) async fn revoke_user(tx: &mut Transaction<'_, Any>, user: &str, now: i64) -> Result<u64> {
    revoke_where(tx, "user_id = $2", user, now).await
}

async fn revoke_where(tx: &mut Transaction<'_, Any>, condition: &str, value: &str, now: i64) -> Result<u64> {
    let done =
        sqlx::query(&format!("UPDATE refresh_tokens SET revoked_at = $1 WHERE {condition} AND revoked_at IS NULL"))
            .bind(now)
            .bind(value)
            .execute(&mut **tx)
            .await
            .map_err(Error::db("revoke refresh tokens"))?;
    Ok(done.rows_affected())
}

async fn insert(
    tx: &mut Transaction<'_, Any>,
    user: &str,
    family: &str,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<RefreshRecord> {
    let record = RefreshRecord {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.to_string(),
        family: family.to_string(),
        token_hash: token_hash.to_string(),
        created_at: now,
        expires_at,
        used_at: None,
        revoked_at: None,
    };
    sqlx::query(
        "INSERT INTO refresh_tokens (id, user_id, family, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&record.id)
    .bind(&record.user_id)
    .bind(&record.family)
    .bind(&record.token_hash)
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await
    .map_err(Error::db("issue refresh token"))?;
    Ok(record)
}

fn record(row: &AnyRow) -> Result<RefreshRecord> {
    let read = || Error::db("read refresh token");
    Ok(RefreshRecord {
        id: row.try_get("id").map_err(read())?,
        user_id: row.try_get("user_id").map_err(read())?,
        family: row.try_get("family").map_err(read())?,
        token_hash: row.try_get("token_hash").map_err(read())?,
        created_at: row_int(row, "created_at")?,
        expires_at: row_int(row, "expires_at")?,
        used_at: row.try_get("used_at").map_err(read())?,
        revoked_at: row.try_get("revoked_at").map_err(read())?,
    })
}
