//! Image records: what was uploaded (format, size, content hash), pointing at the blob
//! that holds the bytes; their listing, deletion, and the collection of originals that
//! nothing uses any more.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::blob::BlobStore;
use crate::db::{row_int, Db};
use crate::error::{Error, Result};
use crate::key::{BlobKey, Sha256Hex};
use crate::scope::Scope;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageRecord {
    pub id: String,
    pub sha256: String,
    /// Lowercase format name (`jpeg`, `png`, ...), as sniffed from the bytes.
    pub format: String,
    pub width: i64,
    pub height: i64,
    pub bytes: i64,
    pub created_at: i64,
    /// The user who uploaded it; `None` for images from before users.
    pub owner_id: Option<String>,
}

impl ImageRecord {
    /// Where the original's bytes are stored.
    pub fn blob_key(&self) -> Result<BlobKey> {
        Ok(BlobKey::original(&self.hash()?))
    }

    pub fn hash(&self) -> Result<Sha256Hex> {
        Sha256Hex::parse(&self.sha256).ok_or_else(|| Error::Corrupt(format!("image {} has a bad hash", self.id)))
    }
}

/// The new image's facts, before it has an id.
#[derive(Debug, Clone)]
pub struct NewImage<'a> {
    pub sha256: &'a Sha256Hex,
    pub format: &'a str,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

/// One page of images, newest first.
#[derive(Debug, Clone)]
pub struct ImagePage {
    pub images: Vec<ImageRecord>,
    /// Pass back as `before` for the next page; `None` on the last one.
    pub next: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Images {
    db: Db,
}

const COLUMNS: &str = "id, sha256, format, width, height, bytes, created_at, owner_id";

/// An original is in use while a live image row names it or an unfinished job reads it.
const IN_USE: &str = "(EXISTS (SELECT 1 FROM images l WHERE l.sha256 = $1 AND l.deleted_at IS NULL) \
     OR EXISTS (SELECT 1 FROM job_originals r JOIN jobs j ON j.id = r.job_id \
                WHERE r.sha256 = $1 AND j.state IN ('queued', 'running')))";

impl Images {
    pub fn new(db: Db) -> Images {
        Images { db }
    }

    /// Records an image owned by `owner`. Store its bytes after this returns: the row,
    /// written first, keeps a concurrent [`Images::collect`] from deleting the blob the
    /// caller is about to write.
    pub async fn insert(&self, owner: Option<&str>, image: NewImage<'_>, now: i64) -> Result<ImageRecord> {
        let mut records = self.insert_many(owner, &[image], now).await?;
        records.pop().ok_or_else(|| Error::Corrupt("inserting one image returned none".into()))
    }

    /// [`Images::insert`] for many images in one transaction (an archive's entries): all
    /// of them or none. Originals are locked in hash order, so two imports sharing some
    /// never wait on each other in a cycle.
    pub async fn insert_many(
        &self,
        owner: Option<&str>,
        images: &[NewImage<'_>],
        now: i64,
    ) -> Result<Vec<ImageRecord>> {
        let what = "insert images";
        let records: Vec<ImageRecord> = images
            .iter()
            .map(|image| ImageRecord {
                id: uuid::Uuid::new_v4().to_string(),
                sha256: image.sha256.as_str().to_string(),
                format: image.format.to_string(),
                width: i64::from(image.width),
                height: i64::from(image.height),
                bytes: i64::try_from(image.bytes).unwrap_or(i64::MAX),
                created_at: now,
                owner_id: owner.map(str::to_string),
            })
            .collect();
        let mut hashes: Vec<&str> = records.iter().map(|r| r.sha256.as_str()).collect();
        hashes.sort_unstable();
        hashes.dedup();
        let mut tx = self.db.pool.begin().await.map_err(Error::db(what))?;
        for hash in hashes {
            lock_original(&mut tx, hash).await?;
        }
        for record in &records {
            sqlx::query(&format!("INSERT INTO images ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
                .bind(&record.id)
                .bind(&record.sha256)
                .bind(&record.format)
                .bind(record.width)
                .bind(record.height)
                .bind(record.bytes)
                .bind(record.created_at)
                .bind(owner)
                .execute(&mut *tx)
                .await
                .map_err(Error::db(what))?;
        }
        tx.commit().await.map_err(Error::db(what))?;
        Ok(records)
    }

    /// A live (not deleted) image in `scope`.
    pub async fn get(&self, scope: Scope<'_>, id: &str) -> Result<Option<ImageRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM images WHERE id = $1 AND deleted_at IS NULL AND {}",
            scope.condition("owner_id", 2)
        ))
        .bind(id)
        .bind(scope.owner())
        .fetch_optional(&self.db.pool)
        .await
        .map_err(Error::db("get image"))?;
        row.map(|row| record(&row)).transpose()
    }

    /// Live images in `scope`, newest first, after the `before` cursor a previous page
    /// returned. A cursor this function did not make is `None` in, an error out: callers
    /// check it with [`Images::valid_cursor`] first.
    pub async fn list(&self, scope: Scope<'_>, before: Option<&str>, limit: u32) -> Result<ImagePage> {
        let limit = i64::from(limit.clamp(1, 1000));
        let owned = scope.condition("owner_id", 1);
        let rows = match before.map(parse_cursor) {
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM images WHERE deleted_at IS NULL AND {owned} \
                     ORDER BY created_at DESC, id DESC LIMIT $2"
                ))
                .bind(scope.owner())
                .bind(limit + 1)
                .fetch_all(&self.db.pool)
                .await
            }
            Some(None) => return Err(Error::Corrupt("an invalid image cursor reached storage".into())),
            Some(Some((at, id))) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM images WHERE deleted_at IS NULL AND {owned} \
                     AND (created_at < $2 OR (created_at = $2 AND id < $3)) \
                     ORDER BY created_at DESC, id DESC LIMIT $4"
                ))
                .bind(scope.owner())
                .bind(at)
                .bind(id)
                .bind(limit + 1)
                .fetch_all(&self.db.pool)
                .await
            }
        }
        .map_err(Error::db("list images"))?;
        let mut images = rows.iter().map(record).collect::<Result<Vec<_>>>()?;
        let more = images.len() as i64 > limit;
        images.truncate(limit as usize);
        let next = if more { images.last().map(|image| format!("{}_{}", image.created_at, image.id)) } else { None };
        Ok(ImagePage { images, next })
    }

    pub fn valid_cursor(cursor: &str) -> bool {
        parse_cursor(cursor).is_some()
    }

    /// The bytes of `owner`'s live images, for the storage quota. Each user is charged for
    /// their own images, even where two share one stored original.
    pub async fn bytes_stored(&self, owner: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS total FROM images WHERE owner_id = $1 AND deleted_at IS NULL",
        )
        .bind(owner)
        .fetch_one(&self.db.pool)
        .await
        .map_err(Error::db("sum image bytes"))?;
        row_int(&row, "total")
    }

    /// Hides an image in `scope` at once. Its bytes stay while anything else uses them;
    /// call [`Images::collect`] afterwards. `false` when there was no such live image.
    pub async fn delete(&self, scope: Scope<'_>, id: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(&format!(
            "UPDATE images SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL AND {}",
            scope.condition("owner_id", 3)
        ))
        .bind(now)
        .bind(id)
        .bind(scope.owner())
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("delete image"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes up to `limit` originals that only deleted images name and no unfinished job
    /// reads, with their deleted rows. Safe to run anywhere, any time, concurrently: each
    /// original is decided under its lock row. Returns how many were deleted.
    pub async fn collect(&self, blobs: &dyn BlobStore, limit: u32) -> Result<u64> {
        let candidates = sqlx::query(
            "SELECT DISTINCT i.sha256 FROM images i WHERE i.deleted_at IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM images l WHERE l.sha256 = i.sha256 AND l.deleted_at IS NULL) LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.db.pool)
        .await
        .map_err(Error::db("find unused originals"))?;
        let mut deleted = 0;
        for row in candidates {
            let sha: String = row.try_get("sha256").map_err(Error::db("find unused originals"))?;
            if self.collect_one(blobs, &sha).await? {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    async fn collect_one(&self, blobs: &dyn BlobStore, sha: &str) -> Result<bool> {
        let hash = Sha256Hex::parse(sha).ok_or_else(|| Error::Corrupt(format!("original {sha} has a bad hash")))?;
        let mut tx = self.db.pool.begin().await.map_err(Error::db("collect original"))?;
        lock_original(&mut tx, sha).await?;
        let in_use: AnyRow = sqlx::query(&format!("SELECT CASE WHEN {IN_USE} THEN 1 ELSE 0 END AS used"))
            .bind(sha)
            .fetch_one(&mut *tx)
            .await
            .map_err(Error::db("collect original"))?;
        let used: i64 = row_int(&in_use, "used")?;
        if used != 0 {
            return Ok(false);
        }
        // Deleted while the lock row is held: an upload of the same bytes waits for the
        // commit, then stores them again.
        blobs.delete(&BlobKey::original(&hash)).await?;
        for sql in [
            "DELETE FROM images WHERE sha256 = $1 AND deleted_at IS NOT NULL",
            "DELETE FROM originals WHERE sha256 = $1",
        ] {
            sqlx::query(sql).bind(sha).execute(&mut *tx).await.map_err(Error::db("collect original"))?;
        }
        tx.commit().await.map_err(Error::db("collect original"))?;
        Ok(true)
    }
}

/// Takes (creating if need be) the lock row of an original. It is the transaction's first
/// statement and a write, so SQLite takes its write lock here rather than failing to
/// upgrade a read lock later.
async fn lock_original(tx: &mut sqlx::Transaction<'_, sqlx::Any>, sha: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO originals (sha256) VALUES ($1) ON CONFLICT (sha256) DO UPDATE SET sha256 = excluded.sha256",
    )
    .bind(sha)
    .execute(&mut **tx)
    .await
    .map_err(Error::db("lock original"))?;
    Ok(())
}

fn parse_cursor(cursor: &str) -> Option<(i64, &str)> {
    let (at, id) = cursor.split_once('_')?;
    let valid_id = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    Some((at.parse().ok()?, id)).filter(|_| valid_id)
}

fn record(row: &AnyRow) -> Result<ImageRecord> {
    let read = || Error::db("read image");
    Ok(ImageRecord {
        id: row.try_get("id").map_err(read())?,
        sha256: row.try_get("sha256").map_err(read())?,
        format: row.try_get("format").map_err(read())?,
        width: row.try_get("width").map_err(read())?,
        height: row.try_get("height").map_err(read())?,
        bytes: row.try_get("bytes").map_err(read())?,
        created_at: row.try_get("created_at").map_err(read())?,
        owner_id: row.try_get("owner_id").map_err(read())?,
    })
}
