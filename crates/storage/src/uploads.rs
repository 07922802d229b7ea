//! Resumable upload sessions: a declared size, the bytes received so far, and the parts
//! (each a blob under `uploads/{id}/`) that hold them. Parts are accepted strictly in
//! order, so a session's state is one number a client can ask for and resume from.
//!
//! A session belongs to the user who opened it: [`Uploads::get`] takes the caller's scope,
//! and the other methods act on a session the caller has already found that way.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::blob::BlobStore;
use crate::db::row_int;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::key::BlobKey;
use crate::scope::Scope;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UploadSession {
    pub id: String,
    /// The total size the client declared.
    pub size: i64,
    /// Bytes received so far: the offset of the next part.
    pub received: i64,
    pub created_at: i64,
    pub expires_at: i64,
    /// The user who opened it; the image it completes into is theirs.
    pub owner_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPart {
    pub offset: i64,
    pub length: i64,
    pub key: BlobKey,
}

/// What became of a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartOutcome {
    /// Recorded; the session has now received this many bytes.
    Accepted { received: i64 },
    /// Another part got there first, or the client is out of step: resume from `received`.
    OutOfStep { received: i64 },
    /// No such session, or it expired.
    Gone,
}

#[derive(Debug, Clone)]
pub struct Uploads {
    db: Db,
}

const COLUMNS: &str = "id, size, received, created_at, expires_at, owner_id";

/// A completion that has not finished in this long was interrupted (a crash), and may be
/// taken over.
const COMPLETION_STALE_MS: i64 = 10 * 60 * 1000;

impl Uploads {
    pub fn new(db: Db) -> Uploads {
        Uploads { db }
    }

    pub async fn create(&self, owner: Option<&str>, size: u64, now: i64, ttl_ms: i64) -> Result<UploadSession> {
        let session = UploadSession {
            id: uuid::Uuid::new_v4().to_string(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            received: 0,
            created_at: now,
            expires_at: now.saturating_add(ttl_ms),
            owner_id: owner.map(str::to_string),
        };
        sqlx::query(
            "INSERT INTO uploads (id, size, received, created_at, expires_at, owner_id) VALUES ($1, $2, 0, $3, $4, $5)",
        )
        .bind(&session.id)
        .bind(session.size)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(owner)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("create upload"))?;
        Ok(session)
    }

    /// A session in `scope` that has not expired.
    pub async fn get(&self, scope: Scope<'_>, id: &str, now: i64) -> Result<Option<UploadSession>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM uploads WHERE id = $1 AND expires_at > $2 AND {}",
            scope.condition("owner_id", 3)
        ))
        .bind(id)
        .bind(now)
        .bind(scope.owner())
        .fetch_optional(&self.db.pool)
        .await
        .map_err(Error::db("get upload"))?;
        row.map(|row| session(&row)).transpose()
    }

    /// Records a part whose bytes are already stored under `key`, if the session is still
    /// at `offset`. On anything but `Accepted` the caller deletes the blob it wrote.
    pub async fn add_part(&self, id: &str, offset: i64, length: i64, key: &BlobKey, now: i64) -> Result<PartOutcome> {
        let mut tx = self.db.pool.begin().await.map_err(Error::db("add upload part"))?;
        let moved = sqlx::query(
            "UPDATE uploads SET received = received + $1 WHERE id = $2 AND received = $3 \
             AND received + $1 <= size AND expires_at > $4 AND completing_since IS NULL",
        )
        .bind(length)
        .bind(id)
        .bind(offset)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(Error::db("add upload part"))?;
        if moved.rows_affected() == 0 {
            drop(tx);
            return Ok(match self.get(Scope::All, id, now).await? {
                Some(session) => PartOutcome::OutOfStep { received: session.received },
                None => PartOutcome::Gone,
            });
        }
        sqlx::query("INSERT INTO upload_parts (upload_id, start_offset, length, blob_key) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(offset)
            .bind(length)
            .bind(key.as_str())
            .execute(&mut *tx)
            .await
            .map_err(Error::db("add upload part"))?;
        tx.commit().await.map_err(Error::db("add upload part"))?;
        Ok(PartOutcome::Accepted { received: offset + length })
    }

    /// The session's parts in order.
    pub async fn parts(&self, id: &str) -> Result<Vec<UploadPart>> {
        let rows = sqlx::query(
            "SELECT start_offset, length, blob_key FROM upload_parts WHERE upload_id = $1 ORDER BY start_offset",
        )
        .bind(id)
        .fetch_all(&self.db.pool)
        .await
        .map_err(Error::db("list upload parts"))?;
        rows.iter()
            .map(|row| {
                let key: String = row.try_get("blob_key").map_err(Error::db("read upload part"))?;
                Ok(UploadPart {
                    offset: row_int(row, "start_offset")?,
                    length: row_int(row, "length")?,
                    key: BlobKey::parse(&key)?,
                })
            })
            .collect()
    }

    /// Marks the session as being completed, so parts and a second completion are refused
    /// meanwhile. `false` if another completion is under way (or the session is gone).
    pub async fn begin_completion(&self, id: &str, now: i64) -> Result<bool> {
        let claimed = sqlx::query(
            "UPDATE uploads SET completing_since = $1 WHERE id = $2 AND expires_at > $1 \
             AND (completing_since IS NULL OR completing_since < $3)",
        )
        .bind(now)
        .bind(id)
        .bind(now - COMPLETION_STALE_MS)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("complete upload"))?;
        Ok(claimed.rows_affected() > 0)
    }

    /// Lets a completion that failed for a passing reason be tried again.
    pub async fn abandon_completion(&self, id: &str) -> Result<()> {
        sqlx::query("UPDATE uploads SET completing_since = NULL WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(Error::db("complete upload"))?;
        Ok(())
    }

    /// Deletes a session and its parts' blobs. Blobs first: a crash in between leaves a row
    /// that [`Uploads::expired`] finds again, never an orphaned blob.
    pub async fn remove(&self, id: &str, blobs: &dyn BlobStore) -> Result<()> {
        for part in blobs.list(&BlobKey::upload_prefix(id)?).await? {
            blobs.delete(&part.key).await?;
        }
        for sql in ["DELETE FROM upload_parts WHERE upload_id = $1", "DELETE FROM uploads WHERE id = $1"] {
            sqlx::query(sql).bind(id).execute(&self.db.pool).await.map_err(Error::db("remove upload"))?;
        }
        Ok(())
    }

    /// Ids of up to `limit` expired sessions, for [`Uploads::remove`].
    pub async fn expired(&self, now: i64, limit: u32) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM uploads WHERE expires_at <= $1 LIMIT $2")
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.db.pool)
            .await
            .map_err(Error::db("find expired uploads"))?;
        rows.iter().map(|row| row.try_get("id").map_err(Error::db("find expired uploads"))).collect()
    }
}

fn session(row: &AnyRow) -> Result<UploadSession> {
    Ok(UploadSession {
        id: row.try_get("id").map_err(Error::db("read upload"))?,
        size: row_int(row, "size")?,
        received: row_int(row, "received")?,
        created_at: row_int(row, "created_at")?,
        expires_at: row_int(row, "expires_at")?,
        owner_id: row.try_get("owner_id").map_err(Error::db("read upload"))?,
    })
}
