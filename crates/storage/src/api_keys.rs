//! API keys: long-lived credentials for scripts. A key is `atl_{prefix}_{secret}`; the
//! prefix is stored in the clear to find the row, the secret only as a hash the caller
//! computed and checks.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{row_int, Db};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
    /// Comma-separated, e.g. `read,write`.
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// Updated at most once a minute (see [`ApiKeys::touch`]).
    pub last_used_at: Option<i64>,
}

/// A key to store.
#[derive(Debug, Clone, Copy)]
pub struct NewApiKey<'a> {
    pub user_id: &'a str,
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub scopes: &'a str,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ApiKeys {
    db: Db,
}

const COLUMNS: &str =
    "id, user_id, name, prefix, secret_hash, scopes, created_at, expires_at, revoked_at, last_used_at";

/// `last_used_at` is coarse on purpose: a write per request would make every key-authenticated
/// call a database write.
const TOUCH_EVERY_MS: i64 = 60_000;

impl ApiKeys {
    pub fn new(db: Db) -> ApiKeys {
        ApiKeys { db }
    }

    /// Stores a key; `None` when its prefix is taken (generate another).
    pub async fn create(&self, key: NewApiKey<'_>, now: i64) -> Result<Option<ApiKeyRecord>> {
        let record = ApiKeyRecord {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: key.user_id.to_string(),
            name: key.name.to_string(),
            prefix: key.prefix.to_string(),
            secret_hash: key.secret_hash.to_string(),
            scopes: key.scopes.to_string(),
            created_at: now,
            expires_at: key.expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        let inserted = sqlx::query(&format!(
            "INSERT INTO api_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL) \
             ON CONFLICT (prefix) DO NOTHING"
        ))
        .bind(&record.id)
        .bind(&record.user_id)
        .bind(&record.name)
        .bind(&record.prefix)
        .bind(&record.secret_hash)
        .bind(&record.scopes)
        .bind(now)
        .bind(record.expires_at)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("create api key"))?;
        Ok((inserted.rows_affected() == 1).then_some(record))
    }

    /// A user's keys, revoked ones included, newest first.
    pub async fn list(&self, user: &str) -> Result<Vec<ApiKeyRecord>> {
        let rows =
            sqlx::query(&format!("SELECT {COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id"))
                .bind(user)
                .fetch_all(&self.db.pool)
                .await
                .map_err(Error::db("list api keys"))?;
        rows.iter().map(record).collect()
    }

    /// The live (not revoked, not expired) key with this prefix. The caller still checks
    /// the secret against `secret_hash`, and that the user is not disabled.
    pub async fn find_by_prefix(&self, prefix: &str, now: i64) -> Result<Option<ApiKeyRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)"
        ))
        .bind(prefix)
        .bind(now)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(Error::db("find api key"))?;
        row.map(|row| record(&row)).transpose()
    }

    /// Revokes one of `user`'s keys. `false` when `user` has no such live key (another
    /// user's key is not found either).
    pub async fn revoke(&self, user: &str, id: &str, now: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .bind(user)
                .execute(&self.db.pool)
                .await
                .map_err(Error::db("revoke api key"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that the key was used, unless that was recorded within the last minute.
    pub async fn touch(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now)
        .bind(id)
        .bind(now.saturating_sub(TOUCH_EVERY_MS))
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("touch api key"))?;
        Ok(())
    }
}

fn record(row: &AnyRow) -> Result<ApiKeyRecord> {
    let read = || Error::db("read api key");
    Ok(ApiKeyRecord {
        id: row.try_get("id").map_err(read())?,
        user_id: row.try_get("user_id").map_err(read())?,
        name: row.try_get("name").map_err(read())?,
        prefix: row.try_get("prefix").map_err(read())?,
        secret_hash: row.try_get("secret_hash").map_err(read())?,
        scopes: row.try_get("scopes").map_err(read())?,
        created_at: row_int(row, "created_at")?,
        expires_at: row.try_get("expires_at").map_err(read())?,
        revoked_at: row.try_get("revoked_at").map_err(read())?,
        last_used_at: row.try_get("last_used_at").map_err(read())?,
    })
}
